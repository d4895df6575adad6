package llmmetrics_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// complete stands for an LLM client call.
func complete(ctx context.Context, m *llmmetrics.Metrics, model string, fail bool) (err error) {
	ctx, call := m.StartCall(ctx, llmmetrics.Request{Provider: "openai", Model: model})
	defer call.End(&err) // err is the named result: End reads its final value

	_ = ctx // send the request with ctx
	if fail {
		return llmmetrics.NewError(llmmetrics.HTTPErrorType(429), errors.New("429 Too Many Requests"))
	}
	call.SetUsage(llmmetrics.Usage{InputTokens: 1200, OutputTokens: 300})
	return nil
}

func ExampleMetrics_StartCall() {
	reader := sdkmetric.NewManualReader()
	m, err := llmmetrics.New(
		llmmetrics.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		llmmetrics.WithLogger(slog.New(slog.DiscardHandler)),
		llmmetrics.WithPrices(llmmetrics.DefaultPrices()))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	_ = complete(ctx, m, "gpt-4o", false)
	_ = complete(ctx, m, "gpt-4o", true)

	price, _ := m.Price("openai", "gpt-4o")
	fmt.Printf("gpt-4o: $%.2f in, $%.2f out per million tokens\n", price.Input, price.Output)
	fmt.Printf("one call: $%.4f\n", price.Cost(llmmetrics.Usage{InputTokens: 1200, OutputTokens: 300}))
	// Output:
	// gpt-4o: $2.50 in, $10.00 out per million tokens
	// one call: $0.0060
}
