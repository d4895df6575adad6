package anthropicmetrics_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/agentorchestrator/observability/internal/fakellm"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/anthropicmetrics"
	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

const model = "claude-sonnet-4-5"

type harness struct {
	tel    *otelobstest.Telemetry
	fake   *fakellm.Server
	client anthropic.Client
}

// setup builds a client on the fake. The SDK's own spans go to the test's
// TracerProvider unless opts turn them off.
func setup(t *testing.T, opts ...option.RequestOption) *harness {
	t.Helper()
	h := &harness{tel: otelobstest.New(t), fake: fakellm.Anthropic(t)}
	m, err := llmmetrics.New(llmmetrics.WithMeterProvider(h.tel.MeterProvider()), llmmetrics.WithTracerProvider(h.tel.TracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	base := []option.RequestOption{option.WithBaseURL(h.fake.URL), option.WithAPIKey("sk-ant-test-secret"),
		option.WithTracerProvider(h.tel.TracerProvider()), anthropicmetrics.Option(m)}
	h.client = anthropic.NewClient(append(base, opts...)...)
	return h
}

func params() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: model, MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("write the tests"))}}
}

// pm returns the provider and model attributes, a new slice each time.
func pm() []attribute.KeyValue {
	return []attribute.KeyValue{llmmetrics.ProviderKey.String("anthropic"), llmmetrics.ModelKey.String(model)}
}

func with(kv ...attribute.KeyValue) []attribute.KeyValue { return append(pm(), kv...) }

func genAI() []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "anthropic"),
		attribute.String("gen_ai.request.model", model)}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// cacheUsage is a call that reads 6,000 input tokens from the cache, writes
// 3,000 to it and sends 1,000 more: Anthropic reports input_tokens 1,000.
var cacheUsage = fakellm.Usage{Input: 10_000, CacheRead: 6_000, CacheWrite: 3_000, Output: 500}

// By hand, at claude-sonnet-4-5's $3 input, $0.30 cache read, $3.75 cache
// write and $15 output per million tokens:
// 1,000 × 3 + 6,000 × 0.30 + 3,000 × 3.75 + 500 × 15 = 23,550 µ$.
// Reading input_tokens as the whole input would give 1,000 × 3 + 500 × 15
// = 10,500 µ$, 2.2× too little.
const cacheCost = 0.02355

func checkCacheCall(t *testing.T, h *harness) {
	t.Helper()
	near(t, "cost", h.tel.Value(llmmetrics.CostName, pm()...), cacheCost)
	for typ, n := range map[string]float64{"input": 1000, "cached_input": 6000, "cache_write": 3000, "output": 500} {
		near(t, typ+" tokens", h.tel.Value(llmmetrics.TokensByTypeName, with(llmmetrics.TokenTypeKey.String(typ))...), n)
	}
	near(t, "tokens", h.tel.Value(llmmetrics.TokensName, pm()...), 10_500)
	near(t, "requests", h.tel.Value(llmmetrics.RequestsName, pm()...), 1)
}

func TestMessageOnTheSDKsSpan(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.fake.Script(fakellm.Reply{Text: "done", ToolCalls: 1, Usage: cacheUsage})
	msg, err := h.client.Messages.New(t.Context(), params())
	if err != nil {
		t.Fatal(err)
	}
	if msg.Usage.InputTokens != 1000 {
		t.Fatalf("the SDK's response was changed: %+v", msg.Usage)
	}
	if u := anthropicmetrics.Usage(msg.Usage); u != (llmmetrics.Usage{InputTokens: 10_000, OutputTokens: 500, CachedInputTokens: 6000, CacheWriteInputTokens: 3000}) {
		t.Errorf("Usage(%+v) = %+v", msg.Usage, u)
	}
	checkCacheCall(t, h)
	near(t, "tool calls", h.tel.Value(llmmetrics.ToolCallsName, pm()...), 1)
	if n := len(h.tel.Spans("chat " + model)); n != 0 {
		t.Errorf("%d spans of our own next to the SDK's", n)
	}
	span := h.tel.Span("anthropic.messages.create")
	if span.Attr("gen_ai.usage.cost.amount") != "0.02355" || span.Attr("gen_ai.usage.cache_creation.input_tokens") != "3000" {
		t.Errorf("the SDK's span lacks the cost and cache writes: %v", span.Attributes)
	}
	if ex := h.tel.Exemplars(llmmetrics.CostName, pm()...); len(ex) != 1 || ex[0].SpanID != span.SpanID {
		t.Errorf("the cost's exemplar does not lead to the SDK's span: %+v", ex)
	}
	for _, s := range h.tel.SpansContaining("sk-ant-test-secret") {
		t.Errorf("the API key is in a span: %s", s)
	}
}

func TestMessageOwnSpanWhenTheSDKsAreOff(t *testing.T) {
	t.Parallel()
	h := setup(t, option.WithoutOpenTelemetry())
	h.fake.Script(fakellm.Reply{Text: "done", Usage: cacheUsage})
	if _, err := h.client.Messages.New(t.Context(), params()); err != nil {
		t.Fatal(err)
	}
	checkCacheCall(t, h)
	if s := h.tel.Span("chat " + model); s.Attr("gen_ai.usage.input_tokens") != "10000" || s.Attr("gen_ai.usage.cache_read.input_tokens") != "6000" {
		t.Errorf("span %v", s.Attributes)
	}
}

func TestRetriedRateLimitAndOverload(t *testing.T) {
	t.Parallel()
	h := setup(t, option.WithMaxRetries(3))
	limited := fakellm.Reply{Status: 429, Header: map[string]string{"retry-after": "0",
		"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0",
		"anthropic-ratelimit-tokens-limit": "40000", "anthropic-ratelimit-tokens-remaining": "3000"}}
	h.fake.Script(limited, fakellm.Reply{Status: 529}, fakellm.Reply{Text: "ok", Usage: fakellm.Usage{Input: 10, Output: 5},
		Header: map[string]string{"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49"}})
	if _, err := h.client.Messages.New(t.Context(), params()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.Requests()); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	near(t, "requests", h.tel.Value(llmmetrics.RequestsName, pm()...), 1)
	near(t, "rate-limit events", h.tel.Value(llmmetrics.RateLimitEventsName, pm()...), 1)
	near(t, "requests remaining", h.tel.Value(llmmetrics.RateLimitRemainingName, with(llmmetrics.LimitTypeKey.String("requests"))...), 49)
	near(t, "tokens remaining", h.tel.Value(llmmetrics.RateLimitRemainingName, with(llmmetrics.LimitTypeKey.String("tokens"))...), 3000)
	near(t, "tokens limit", h.tel.Value(llmmetrics.RateLimitLimitName, with(llmmetrics.LimitTypeKey.String("tokens"))...), 40000)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		replies  []fakellm.Reply
		attempts int
		want     llmmetrics.ErrorType
	}{
		{"overloaded until the SDK gives up", []fakellm.Reply{{Status: 529}, {Status: 529}, {Status: 529}}, 3, llmmetrics.ErrorServer},
		{"auth", []fakellm.Reply{{Status: 401}}, 1, llmmetrics.ErrorAuth},
		{"bad request", []fakellm.Reply{{Status: 400}}, 1, llmmetrics.ErrorClient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			h.fake.Script(tt.replies...)
			_, err := h.client.Messages.New(t.Context(), params())
			if got := anthropicmetrics.Classify(err); got != tt.want {
				t.Errorf("Classify(%v) = %s, want %s", err, got, tt.want)
			}
			if n := len(h.fake.Requests()); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			near(t, "requests", h.tel.Value(llmmetrics.RequestsName, pm()...), 1)
			near(t, "errors", h.tel.Value(llmmetrics.RequestErrorsName, with(llmmetrics.ErrorTypeKey.String(string(tt.want)))...), 1)
			if s := h.tel.Span("anthropic.messages.create"); s.Status != codes.Error || s.Attr("error.type") == "" {
				t.Errorf("span status %v, error.type %q", s.Status, s.Attr("error.type"))
			}
		})
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.fake.Script(fakellm.Reply{Text: "one two three", ToolCalls: 2, FirstChunkDelay: 60 * time.Millisecond,
		ChunkDelay: 5 * time.Millisecond, Usage: cacheUsage})
	stream := h.client.Messages.NewStreaming(t.Context(), params())
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if msg.Usage.OutputTokens != 500 || !strings.Contains(msg.Content[0].Text, "three") {
		t.Errorf("the SDK's stream was changed: %+v", msg.Usage)
	}
	checkCacheCall(t, h)
	near(t, "tool calls", h.tel.Value(llmmetrics.ToolCallsName, pm()...), 2)
	if first := h.tel.Histogram(llmmetrics.GenAITimeToFirstChunkName, genAI()...); first.Count != 1 || first.Sum < 0.06 {
		t.Errorf("time to first chunk %+v, want one ≥ 60 ms", first)
	}
	if per := h.tel.Histogram(llmmetrics.GenAITimePerOutputChunkName, genAI()...); per.Count != 2 {
		t.Errorf("time per output chunk: %d, want 2", per.Count)
	}
}

func TestStreamAbandonedAndCut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		reply fakellm.Reply
		read  int
		want  llmmetrics.ErrorType
	}{
		{"abandoned", fakellm.Reply{Text: "a b c d e f", ChunkDelay: time.Millisecond, Usage: cacheUsage}, 4, llmmetrics.ErrorCanceled},
		{"cut", fakellm.Reply{Text: "a b c d e f", CutAfter: 3, Usage: cacheUsage}, 100, llmmetrics.ErrorConnection},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t, option.WithMaxRetries(0))
			h.fake.Script(tt.reply)
			stream := h.client.Messages.NewStreaming(t.Context(), params())
			for i := 0; i < tt.read && stream.Next(); i++ {
			}
			_ = stream.Close()
			near(t, "errors", h.tel.Value(llmmetrics.RequestErrorsName, with(llmmetrics.ErrorTypeKey.String(string(tt.want)))...), 1)
			// message_start said what the input was: it is recorded.
			near(t, "cache reads", h.tel.Value(llmmetrics.TokensByTypeName, with(llmmetrics.TokenTypeKey.String("cached_input"))...), 6000)
		})
	}
}

// TestStreamUsageUpdates: a message_delta's usage updates the fields it
// has and keeps the others (absent or null), as the SDK's accumulator does.
func TestStreamUsageUpdates(t *testing.T) {
	t.Parallel()
	h := setup(t, option.WithMaxRetries(0))
	h.fake.Script(fakellm.Reply{Text: "a b", Usage: cacheUsage})
	// The fake's message_delta has output_tokens only; check the cache
	// counts of message_start survive it, and that the SDK agrees.
	stream := h.client.Messages.NewStreaming(t.Context(), params())
	var msg anthropic.Message
	for stream.Next() {
		_ = msg.Accumulate(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := anthropicmetrics.Usage(msg.Usage); got != (llmmetrics.Usage{InputTokens: 10_000, OutputTokens: 500, CachedInputTokens: 6000, CacheWriteInputTokens: 3000}) {
		t.Errorf("the SDK's accumulated usage maps to %+v", got)
	}
	checkCacheCall(t, h)
}

// TestAbandonedStreamKeepsTheCostOnTheSDKsSpan: the SDK ends its span when
// the caller closes the stream, before the option hears of it; the usage
// and cost of message_start are on the span already.
func TestAbandonedStreamKeepsTheCostOnTheSDKsSpan(t *testing.T) {
	t.Parallel()
	h := setup(t, option.WithMaxRetries(0))
	h.fake.Script(fakellm.Reply{Text: "a b c d e f", ChunkDelay: time.Millisecond, Usage: cacheUsage})
	stream := h.client.Messages.NewStreaming(t.Context(), params())
	for i := 0; i < 4 && stream.Next(); i++ {
	}
	_ = stream.Close()
	s := h.tel.Span("anthropic.messages.create")
	if s.Attr("gen_ai.usage.cache_read.input_tokens") != "6000" || s.Attr("gen_ai.usage.cost.amount") == "" {
		t.Errorf("the SDK's span of an abandoned stream: %v", s.Attributes)
	}
}
