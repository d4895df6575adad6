package openaimetrics

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentorchestrator/observability/otelobs"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/internal/wire"
)

const (
	benchRequest = `{"messages":[{"content":"You are a coder agent. Write the content of the files for your task; answer with the file content only.","role":"system"},{"content":"Implement add(a, b) in math.go\nObjective: Create a simple hello world function\nFiles: math.go","role":"user"}],"model":"gpt-4o"}`
	benchJSON    = `{"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"func add(a, b int) int { return a + b } // with tests","tool_calls":[{"id":"call_0","type":"function","function":{"name":"run_tests","arguments":"{}"}}]},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":400},"completion_tokens_details":{"reasoning_tokens":50}}}`
)

// benchStream is a chat completion stream of n content chunks, with its
// usage chunk.
func benchStream(n int) string {
	var b strings.Builder
	chunk := func(delta string) {
		b.WriteString(`data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n")
	}
	chunk(`{"role":"assistant","content":""}`)
	for range n {
		chunk(`{"content":"word "}`)
	}
	b.WriteString(`data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// BenchmarkMiddleware measures the option's own work per call, without the
// network: the same request through a next that answers at once from
// memory, bare (mw=none), with the call recorded by hand as a client
// without the option would (mw=record: StartCall, SetUsage, a Chunk per
// chunk, End), or through the middleware (mw=option), and the answer read
// to its end as the SDK does. Compare with benchstat -col /mw.
func BenchmarkMiddleware(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()), sdkmetric.WithView(otelobs.ReservoirViews()...))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = mp.Shutdown(b.Context()); _ = tp.Shutdown(b.Context()) })
	m, err := llmmetrics.New(llmmetrics.WithMeterProvider(mp), llmmetrics.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	w := wire.New(m, "openai", dialect{streamUsage: true})
	stream := benchStream(40)
	for _, tt := range []struct {
		name, ct, body string
	}{{"json", "application/json", benchJSON}, {"stream", "text/event-stream", stream}} {
		next := func(r *http.Request) (*http.Response, error) {
			_, _ = io.Copy(io.Discard, r.Body)
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {tt.ct}},
				Body: io.NopCloser(strings.NewReader(tt.body)), Request: r}, nil
		}
		for _, mw := range []string{"none", "record", "option"} {
			b.Run("call="+tt.name+"/mw="+mw, func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 4096)
				reqBody := []byte(benchRequest)
				if tt.name == "stream" {
					reqBody = []byte(strings.Replace(benchRequest, `"model"`, `"stream":true,"stream_options":{"include_usage":true},"model"`, 1))
				}
				for b.Loop() {
					req, _ := http.NewRequestWithContext(b.Context(), http.MethodPost, "https://api.openai.com/v1/chat/completions", bytes.NewReader(reqBody))
					req.Header.Set(wire.RetryCountHeader, "0")
					var res *http.Response
					var call *llmmetrics.CallOp
					switch mw {
					case "none":
						res, err = next(req)
					case "record":
						var ctx = req.Context()
						ctx, call = m.StartCall(ctx, llmmetrics.Request{Provider: "openai", Model: "gpt-4o", Stream: tt.name == "stream"})
						res, err = next(req.WithContext(ctx))
					default:
						res, err = w.Handle(req, next)
					}
					if err != nil {
						b.Fatal(err)
					}
					for {
						n, err := res.Body.Read(buf)
						if call != nil && tt.name == "stream" {
							for range bytes.Count(buf[:n], []byte("\n\n")) {
								call.Chunk()
							}
						}
						if err != nil {
							break
						}
					}
					_ = res.Body.Close()
					if call != nil {
						call.SetUsage(llmmetrics.Usage{InputTokens: 1200, OutputTokens: 300, CachedInputTokens: 400, ReasoningTokens: 50})
						call.SetToolCalls(1)
						call.End(nil)
					}
				}
			})
		}
	}
}
