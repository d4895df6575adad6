package openaimetrics

import (
	"testing"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/internal/wire"
)

// TestDialectReadsOnlyTheTopLevel: keys named like usage fields elsewhere
// in a response (after the usage object, in a message, in a string) are
// not read as usage.
func TestDialectReadsOnlyTheTopLevel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, endpoint, body string
		want                 wire.Result
	}{
		{"chat, keys after usage", "/chat/completions", `{"model":"gpt-4o","choices":[{"message":{"content":"\"usage\":{\"prompt_tokens\":7}","tool_calls":[{"id":"a"},{"id":"b"}]}},{"message":{"tool_calls":[{"id":"c"}]}}],` +
			`"usage":{"prompt_tokens":10,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":1}},"metadata":{"prompt_tokens":99,"input_tokens":98}}`,
			wire.Result{Model: "gpt-4o", HasUsage: true, ToolCalls: 3,
				Usage: llmmetrics.Usage{InputTokens: 10, OutputTokens: 4, CachedInputTokens: 3, ReasoningTokens: 1}}},
		{"responses API", "/responses", `{"model":"o3","output":[{"type":"reasoning"},{"type":"function_call"},{"type":"message"}],` +
			`"usage":{"input_tokens":20,"output_tokens":8,"input_tokens_details":{"cached_tokens":5},"output_tokens_details":{"reasoning_tokens":6}}}`,
			wire.Result{Model: "o3", HasUsage: true, ToolCalls: 1,
				Usage: llmmetrics.Usage{InputTokens: 20, OutputTokens: 8, CachedInputTokens: 5, ReasoningTokens: 6}}},
		{"DeepSeek cache hits", "/chat/completions", `{"model":"deepseek-chat","usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_cache_hit_tokens":6,"prompt_cache_miss_tokens":4}}`,
			wire.Result{Model: "deepseek-chat", HasUsage: true, Usage: llmmetrics.Usage{InputTokens: 10, OutputTokens: 2, CachedInputTokens: 6}}},
		{"no usage", "/chat/completions", `{"model":"m","choices":[]}`, wire.Result{Model: "m"}},
	} {
		if got := (dialect{}).Response(wire.Info{Endpoint: tt.endpoint}, tt.body); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestDialectRequest(t *testing.T) {
	t.Parallel()
	d := dialect{streamUsage: true}
	for _, tt := range []struct {
		path, body string
		ok         bool
		want       wire.Info
	}{
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"\"model\":\"x\""}],"model":"gpt-4o"}`, true,
			wire.Info{Operation: llmmetrics.OperationChat, Model: "gpt-4o", Endpoint: "/chat/completions"}},
		{"/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`, true,
			wire.Info{Operation: llmmetrics.OperationEmbeddings, Model: "text-embedding-3-small", Endpoint: "/embeddings"}},
		{"/openai/deployments/d/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true,
			wire.Info{Operation: llmmetrics.OperationTextCompletion, Model: "m", Stream: true, Endpoint: "/completions"}},
		{"/v1/responses", `{"model":"o3","stream":true}`, true, wire.Info{Operation: llmmetrics.OperationChat, Model: "o3", Stream: true, Endpoint: "/responses"}},
		{"/v1/models", `{}`, false, wire.Info{}},
		{"/v1/chat/completions/abc", `{}`, false, wire.Info{}},
	} {
		got, ok := d.Request(tt.path, tt.body)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s %s: %+v %v, want %+v %v", tt.path, tt.body, got, ok, tt.want, tt.ok)
		}
	}
	got, _ := d.Request("/v1/chat/completions", `{"model":"gpt-4o","stream":true}`)
	if !got.HideUsage || got.Body != `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}` {
		t.Errorf("stream without usage: %+v", got)
	}
}

func TestDialectStreamEvents(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, data  string
		hideUsage   bool
		chunk, hide bool
		want        wire.Result
	}{
		{"compact content", `{"model":"gpt-4o","choices":[{"delta":{"content":"hi"}}]}`, false, true, false, wire.Result{Model: "gpt-4o"}},
		{"spaced JSON", `{"model": "gpt-4o", "choices": [{"delta": {"content": "hi"}}]}`, false, true, false, wire.Result{Model: "gpt-4o"}},
		{"empty first choice, content in the second", `{"choices":[{"delta":{"content":""}},{"delta":{"content":"x"}}]}`, false, true, false, wire.Result{}},
		{"role only", `{"choices":[{"delta":{"role":"assistant","content":""}}]}`, false, false, false, wire.Result{}},
		{"reasoning", `{"choices":[{"delta":{"content":null,"reasoning_content":"think"}}]}`, false, true, false, wire.Result{}},
		{"spaced usage chunk, hidden", `{"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}`, true, false, true,
			wire.Result{HasUsage: true, Usage: llmmetrics.Usage{InputTokens: 5, OutputTokens: 2}}},
		{"usage with content is not hidden", `{"choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`, true, true, false,
			wire.Result{HasUsage: true, Usage: llmmetrics.Usage{InputTokens: 5, OutputTokens: 1}}},
		{"null usage", `{"choices":[{"delta":{"content":"x"}}],"usage":null}`, true, true, false, wire.Result{}},
		{"text about usage", `{"choices":[{"delta":{"content":"the \"usage\": {} key"}}]}`, true, true, false, wire.Result{}},
		{"tool call", `{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f"}}]}}]}`, false, true, false, wire.Result{ToolCalls: 1}},
		{"tool call arguments", `{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}`, false, true, false, wire.Result{}},
	} {
		var r wire.Result
		chunk, hide := dialect{}.Event(&r, nil, []byte(tt.data), tt.hideUsage)
		if chunk != tt.chunk || hide != tt.hide || r != tt.want {
			t.Errorf("%s: chunk %v hide %v %+v, want %v %v %+v", tt.name, chunk, hide, r, tt.chunk, tt.hide, tt.want)
		}
	}
	for _, tt := range []struct {
		name, event, data string
		want              llmmetrics.ErrorType
	}{
		{"chat error", "", `{"error":{"message":"overloaded","type":"server_error"}}`, llmmetrics.ErrorServer},
		{"chat rate limit", "", `{"error": {"message": "slow down", "code": "rate_limit_exceeded"}}`, llmmetrics.ErrorRateLimited},
		{"responses failed", "response.failed", `{"type":"response.failed","response":{"error":{"code":"server_error"}}}`, llmmetrics.ErrorServer},
		{"responses error", "error", `{"type":"error","code":"rate_limit_exceeded","message":"x"}`, llmmetrics.ErrorRateLimited},
	} {
		var r wire.Result
		dialect{}.Event(&r, []byte(tt.event), []byte(tt.data), false)
		if r.Err == nil || llmmetrics.Classify(r.Err) != tt.want || r.Done {
			t.Errorf("%s: %+v, want an error of type %s", tt.name, r, tt.want)
		}
	}
}
