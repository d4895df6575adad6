package openaimetrics_test

import (
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentorchestrator/observability/internal/fakellm"
	"github.com/agentorchestrator/observability/otelobs"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/openaimetrics"
)

// BenchmarkOption measures the option's own cost per call: the same calls
// to the loopback fake in the same run, through a bare client (client=bare)
// and through one with the option (client=option), recording on a real SDK
// MeterProvider (Setup's reservoirs, a manual reader) and a TracerProvider
// that samples every span (none exported). Compare with
// benchstat -col /client.
func BenchmarkOption(b *testing.B) {
	fake := fakellm.OpenAI(b)
	fake.SetFallback(fakellm.Reply{Text: "func add(a, b int) int { return a + b } // with tests", ToolCalls: 1,
		Usage: fakellm.Usage{Input: 1200, Output: 300, CacheRead: 400, Reasoning: 50}})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()), sdkmetric.WithView(otelobs.ReservoirViews()...))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = mp.Shutdown(b.Context()); _ = tp.Shutdown(b.Context()) })
	m, err := llmmetrics.New(llmmetrics.WithMeterProvider(mp), llmmetrics.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	base := []option.RequestOption{option.WithBaseURL(fake.URL + "/v1"), option.WithAPIKey("sk-bench")}
	clients := []struct {
		name   string
		client openai.Client
	}{
		{"bare", openai.NewClient(base...)},
		{"option", openai.NewClient(append(base, openaimetrics.Option(m, openaimetrics.WithProvider("openai")))...)},
	}
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("You are a coder agent. Write the content of the files for your task; answer with the file content only."),
		openai.UserMessage("Implement add(a, b) in math.go\nObjective: Create a simple hello world function\nFiles: math.go"),
	}}
	streamParams := params
	streamParams.StreamOptions.IncludeUsage = openai.Bool(true) // the same bytes on the wire either way
	for _, kind := range []string{"json", "stream"} {
		for _, c := range clients {
			b.Run("call="+kind+"/client="+c.name, func(b *testing.B) {
				b.ReportAllocs()
				defer fakellm.CPUPerOp(b)()
				for b.Loop() {
					if kind == "json" {
						if _, err := c.client.Chat.Completions.New(b.Context(), params); err != nil {
							b.Fatal(err)
						}
						continue
					}
					s := c.client.Chat.Completions.NewStreaming(b.Context(), streamParams)
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
