package llmmetrics

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

func TestUsageClamp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want Usage }{
		{Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 4, CacheWriteInputTokens: 3, ReasoningTokens: 2},
			Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 4, CacheWriteInputTokens: 3, ReasoningTokens: 2}},
		// Parts larger than their whole are cut: reads first, then writes.
		{Usage{InputTokens: 10, CachedInputTokens: 8, CacheWriteInputTokens: 8, OutputTokens: 1, ReasoningTokens: 9},
			Usage{InputTokens: 10, CachedInputTokens: 8, CacheWriteInputTokens: 2, OutputTokens: 1, ReasoningTokens: 1}},
		{Usage{InputTokens: -1, OutputTokens: -2, CachedInputTokens: -3, CacheWriteInputTokens: -4, ReasoningTokens: -5}, Usage{}},
	} {
		if got := tt.in.clamp(); got != tt.want {
			t.Errorf("%+v.clamp() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestCostByTokenType checks Cost against a hand calculation with every
// token type.
func TestCostByTokenType(t *testing.T) {
	t.Parallel()
	p := Price{Input: 3, Output: 15, CachedInput: 0.3, CacheWrite: 3.75}
	u := Usage{InputTokens: 10_000, CachedInputTokens: 6_000, CacheWriteInputTokens: 3_000, OutputTokens: 500, ReasoningTokens: 200}
	// 1,000 × 3 + 6,000 × 0.3 + 3,000 × 3.75 + 500 × 15 (reasoning is output) = 23,550 µ$.
	if c := p.Cost(u); math.Abs(c-0.02355) > 1e-12 {
		t.Errorf("Cost = %v, want 0.02355", c)
	}
}

func TestTokensByTypePartitionTheTotal(t *testing.T) {
	t.Parallel()
	h := setup(t)
	_, call := h.m.StartCall(t.Context(), Request{Provider: "anthropic", Model: "claude-sonnet-4-5"})
	call.SetUsage(Usage{InputTokens: 10_000, CachedInputTokens: 6_000, CacheWriteInputTokens: 3_000, OutputTokens: 500, ReasoningTokens: 200})
	if res := call.End(nil); math.Abs(res.CostUSD-0.02355) > 1e-12 {
		t.Errorf("cost %v", res.CostUSD)
	}
	pm := "model=claude-sonnet-4-5,provider=anthropic"
	got := h.collect(t)
	equal(t, TokensByTypeName, points(t, got[TokensByTypeName]), map[string]float64{
		pm + ",token_type=input": 1000, pm + ",token_type=cached_input": 6000, pm + ",token_type=cache_write": 3000,
		pm + ",token_type=output": 300, pm + ",token_type=reasoning": 200,
	})
	equal(t, TokensName, points(t, got[TokensName]), map[string]float64{pm: 10_500})
}

func TestGatewayLookups(t *testing.T) {
	t.Parallel()
	p := DefaultPrices().Merge(mustParse(t, "acme shared-1 1 2\nbeta shared-1 3 4\n"))
	gpt4o, _ := p.Lookup("openai", "gpt-4o")
	sonnet, _ := p.Lookup("anthropic", "claude-sonnet-4-5")
	for _, tt := range []struct {
		provider, model string
		want            Price
		ok              bool
	}{
		{"openrouter", "openai/gpt-4o", gpt4o, true},                         // vendor/model
		{"openrouter", "anthropic/claude-sonnet-4-5-20250929", sonnet, true}, // vendor/model, dated
		{"my-proxy", "gpt-4o", gpt4o, true},                                  // unknown provider: a gateway
		{"litellm", "claude-sonnet-4-5", sonnet, true},                       // gateway, by name alone
		{"openai_compatible", "gpt-4o-2024-08-06", gpt4o, true},              // gateway, dated
		{"groq", "gpt-4o", Price{}, false},                                   // a known provider is no gateway
		{"ollama", "llama3", Price{}, false},                                 // self-hosted: no price
		{"litellm", "shared-1", Price{}, false},                              // two providers disagree
		{"openrouter", "unknownvendor/whatever", Price{}, false},
	} {
		got, ok := p.Lookup(tt.provider, tt.model)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Lookup(%s, %s) = %v %v, want %v %v", tt.provider, tt.model, got, ok, tt.want, tt.ok)
		}
	}
}

func mustParse(t *testing.T, s string) *Prices {
	t.Helper()
	p, err := ParsePrices(strings.NewReader(s), "test")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPriceFileColumns(t *testing.T) {
	t.Parallel()
	p := mustParse(t, "a m4 1 2\na m5 1 2 0.1\na m6 1 2 0.1 1.25\n")
	for model, want := range map[string]Price{"m4": {1, 2, 1, 1}, "m5": {1, 2, 0.1, 1}, "m6": {1, 2, 0.1, 1.25}} {
		if got, _ := p.Lookup("a", model); got != want {
			t.Errorf("%s = %v, want %v", model, got, want)
		}
	}
	if _, err := ParsePrices(strings.NewReader("a m 1 2 3 4 5\n"), "x"); err == nil || !strings.Contains(err.Error(), "want 4 to 6 fields") {
		t.Errorf("7 fields: %v", err)
	}
	if _, err := ParsePrices(strings.NewReader("a m 1 2 3 -4\n"), "x"); err == nil || !strings.Contains(err.Error(), "cache_write") {
		t.Errorf("negative cache write: %v", err)
	}
}

func TestRateLimitFromHeaders(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tt := range []struct {
		name string
		h    http.Header
		want RateLimit
		ok   bool
	}{
		{"none", hdr(), NoRateLimit, false},
		{"openai", hdr("x-ratelimit-limit-requests", "500", "x-ratelimit-remaining-requests", "0",
			"x-ratelimit-limit-tokens", "30000", "x-ratelimit-remaining-tokens", "100"),
			RateLimit{RequestsLimit: 500, RequestsRemaining: 0, TokensLimit: 30000, TokensRemaining: 100}, true},
		{"anthropic", hdr("anthropic-ratelimit-requests-limit", "50", "anthropic-ratelimit-tokens-remaining", "7", "retry-after", "3"),
			RateLimit{RequestsLimit: 50, RequestsRemaining: -1, TokensLimit: -1, TokensRemaining: 7, RetryAfter: 3 * time.Second}, true},
		{"retry-after-ms wins", hdr("retry-after-ms", "250", "retry-after", "9"), withRetry(250 * time.Millisecond), true},
		{"HTTP date", hdr("retry-after", now.Add(90*time.Second).Format(http.TimeFormat)), withRetry(90 * time.Second), true},
		{"past date, junk, negatives", hdr("retry-after", now.Add(-time.Hour).Format(http.TimeFormat),
			"x-ratelimit-remaining-tokens", "-5", "x-ratelimit-limit-tokens", "lots"), NoRateLimit, false},
		{"capped", hdr("retry-after", "1e12"), withRetry(maxRetryAfter), true},
	} {
		got, ok := RateLimitFromHeaders(tt.h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func withRetry(d time.Duration) RateLimit { r := NoRateLimit; r.RetryAfter = d; return r }

func TestChunksAndToolCallsAndSpanAttributes(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := ContextWithSpanAttributes(t.Context(), attribute.String("app.purpose", "plan"))
	ctx = ContextWithSpanAttributes(ctx, attribute.String("app.task", "t1"))
	_, call := h.m.StartCall(ctx, Request{Provider: "openai", Model: "gpt-4o", Stream: true})
	call.Chunk()
	call.Chunk()
	call.Chunk()
	call.SetToolCalls(3)
	call.SetRateLimit(RateLimit{RequestsLimit: 10, RequestsRemaining: 1, TokensLimit: -1, TokensRemaining: -1})
	call.End(nil)
	call.Chunk() // after End: nothing
	call.SetRateLimit(RateLimit{RequestsLimit: 99, RequestsRemaining: 99, TokensLimit: -1, TokensRemaining: -1})
	g := []attribute.KeyValue{attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "gpt-4o")}
	if n := h.tel.Histogram(GenAITimeToFirstChunkName, g...).Count; n != 1 {
		t.Errorf("first chunks: %d", n)
	}
	if n := h.tel.Histogram(GenAITimePerOutputChunkName, g...).Count; n != 2 {
		t.Errorf("later chunks: %d", n)
	}
	pm := []attribute.KeyValue{ProviderKey.String("openai"), ModelKey.String("gpt-4o")}
	if n := h.tel.Value(ToolCallsName, pm...); n != 3 {
		t.Errorf("tool calls %v", n)
	}
	if n := h.tel.Value(RateLimitLimitName, append(pm, LimitTypeKey.String("requests"))...); n != 10 {
		t.Errorf("limit %v after End changed it", n)
	}
	s := h.tel.Span("chat gpt-4o")
	if s.Attr("app.purpose") != "plan" || s.Attr("app.task") != "t1" || s.Attr("gen_ai.request.stream") != "true" ||
		s.Attr("agent_orchestrator.llm.tool_calls") != "3" {
		t.Errorf("span %v", s.Attributes)
	}
}

func TestAgentAndToolSpans(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx, agent := h.m.StartAgent(t.Context(), Agent{Name: "coder", ID: "worker-2", Provider: "gemini"})
	_, call := h.m.StartCall(ctx, Request{Provider: "openai", Model: "gpt-4o"})
	call.SetToolCalls(1)
	call.End(nil)
	_, tool := h.m.StartTool(ctx, Tool{Name: "write_file", CallID: "call_1", Type: "made-up"})
	err := errors.New("disk full")
	tool.End(&err)
	tool.End(nil) // once
	agent.End(nil)
	a, c, tl := h.tel.Span("invoke_agent coder"), h.tel.Span("chat gpt-4o"), h.tel.Span("execute_tool write_file")
	if a.Attr("gen_ai.operation.name") != "invoke_agent" || a.Attr("gen_ai.agent.name") != "coder" ||
		a.Attr("gen_ai.agent.id") != "worker-2" || a.Attr("gen_ai.provider.name") != "gcp.gemini" || a.Kind != trace.SpanKindInternal {
		t.Errorf("agent span %v", a.Attributes)
	}
	if c.ParentID != a.SpanID || tl.ParentID != a.SpanID {
		t.Error("the call and the tool are not the agent step's children")
	}
	if tl.Attr("gen_ai.tool.name") != "write_file" || tl.Attr("gen_ai.tool.type") != "function" || tl.Attr("gen_ai.tool.call.id") != "call_1" ||
		tl.Status != codes.Error || tl.Attr("error.type") != Other {
		t.Errorf("tool span %+v", tl)
	}
	// Tool runs and agent steps are not requests.
	if n := h.tel.Value(RequestsName, ProviderKey.String("openai"), ModelKey.String("gpt-4o")); n != 1 {
		t.Errorf("requests %v", n)
	}
}
