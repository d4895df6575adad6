package anthropicmetrics_test

import (
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentorchestrator/observability/internal/fakellm"
	"github.com/agentorchestrator/observability/otelobs"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/anthropicmetrics"
)

// BenchmarkOption is openaimetrics' BenchmarkOption for the Messages API:
// the same calls to the loopback fake through a bare client and through one
// with the option, in the same run; the SDK's own spans go to the same
// sampling TracerProvider in both. Compare with benchstat -col /client.
func BenchmarkOption(b *testing.B) {
	fake := fakellm.Anthropic(b)
	fake.SetFallback(fakellm.Reply{Text: "func add(a, b int) int { return a + b } // with tests", ToolCalls: 1,
		Usage: fakellm.Usage{Input: 1200, Output: 300, CacheRead: 400, CacheWrite: 100}})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()), sdkmetric.WithView(otelobs.ReservoirViews()...))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = mp.Shutdown(b.Context()); _ = tp.Shutdown(b.Context()) })
	m, err := llmmetrics.New(llmmetrics.WithMeterProvider(mp), llmmetrics.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	base := []option.RequestOption{option.WithBaseURL(fake.URL), option.WithAPIKey("sk-bench"), option.WithTracerProvider(tp)}
	clients := []struct {
		name   string
		client anthropic.Client
	}{
		{"bare", anthropic.NewClient(base...)},
		{"option", anthropic.NewClient(append(base, anthropicmetrics.Option(m))...)},
	}
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 2048,
		System: []anthropic.TextBlockParam{{Text: "You are a coder agent. Write the content of the files for your task; answer with the file content only."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(
			"Implement add(a, b) in math.go\nObjective: Create a simple hello world function\nFiles: math.go"))}}
	for _, kind := range []string{"json", "stream"} {
		for _, c := range clients {
			b.Run("call="+kind+"/client="+c.name, func(b *testing.B) {
				b.ReportAllocs()
				defer fakellm.CPUPerOp(b)()
				for b.Loop() {
					if kind == "json" {
						if _, err := c.client.Messages.New(b.Context(), params); err != nil {
							b.Fatal(err)
						}
						continue
					}
					s := c.client.Messages.NewStreaming(b.Context(), params)
					for s.Next() {
					}
					if err := s.Err(); err != nil {
						b.Fatal(err)
					}
					_ = s.Close()
				}
			})
		}
	}
}
