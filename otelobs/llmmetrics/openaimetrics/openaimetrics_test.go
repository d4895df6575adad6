package openaimetrics_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/agentorchestrator/observability/internal/fakellm"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics/openaimetrics"
	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

type harness struct {
	tel    *otelobstest.Telemetry
	m      *llmmetrics.Metrics
	fake   *fakellm.Server
	client openai.Client
}

func setup(t *testing.T, opts ...option.RequestOption) *harness {
	t.Helper()
	h := &harness{tel: otelobstest.New(t), fake: fakellm.OpenAI(t)}
	var err error
	h.m, err = llmmetrics.New(llmmetrics.WithMeterProvider(h.tel.MeterProvider()), llmmetrics.WithTracerProvider(h.tel.TracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	base := []option.RequestOption{option.WithBaseURL(h.fake.URL + "/v1"), option.WithAPIKey("sk-test-secret"),
		option.WithMaxRetryDelay(50 * time.Millisecond), openaimetrics.Option(h.m, openaimetrics.WithProvider("openai"))}
	h.client = openai.NewClient(append(base, opts...)...)
	return h
}

func chat(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("write the tests")}}
}

// pm returns the provider and model attributes (a new slice each time:
// attribute.NewSet sorts what it is given).
func pm() []attribute.KeyValue {
	return []attribute.KeyValue{llmmetrics.ProviderKey.String("openai"), llmmetrics.ModelKey.String("gpt-4o")}
}

func with(kv ...attribute.KeyValue) []attribute.KeyValue { return append(pm(), kv...) }

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestChatCompletion(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.fake.Script(fakellm.Reply{Model: "gpt-4o-2024-08-06", Text: "done", ToolCalls: 2,
		Usage: fakellm.Usage{Input: 1000, Output: 300, CacheRead: 400, Reasoning: 100}})
	resp, err := h.client.Chat.Completions.New(t.Context(), chat("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.PromptTokens != 1000 || len(resp.Choices[0].Message.ToolCalls) != 2 {
		t.Fatalf("the SDK's response was changed: %+v", resp.Usage)
	}
	if u := openaimetrics.Usage(resp.Usage); u != (llmmetrics.Usage{InputTokens: 1000, OutputTokens: 300, CachedInputTokens: 400, ReasoningTokens: 100}) {
		t.Errorf("Usage(%+v) = %+v", resp.Usage, u)
	}
	// gpt-4o: $2.50 input, $10 output, $1.25 cached input per million.
	// By hand: 600 × 2.50 + 400 × 1.25 + 300 × 10 = 5,000 µ$.
	want := (600*2.5 + 400*1.25 + 300*10.0) / 1e6
	near(t, "cost", h.tel.Value(llmmetrics.CostName, pm()...), want)
	for typ, n := range map[string]float64{"input": 600, "cached_input": 400, "output": 200, "reasoning": 100} {
		near(t, typ+" tokens", h.tel.Value(llmmetrics.TokensByTypeName, with(llmmetrics.TokenTypeKey.String(typ))...), n)
	}
	near(t, "tokens", h.tel.Value(llmmetrics.TokensName, pm()...), 1300)
	near(t, "requests", h.tel.Value(llmmetrics.RequestsName, pm()...), 1)
	near(t, "tool calls", h.tel.Value(llmmetrics.ToolCallsName, pm()...), 2)

	span := h.tel.Span("chat gpt-4o")
	if span.Attr("gen_ai.response.model") != "gpt-4o-2024-08-06" || span.Attr("gen_ai.usage.input_tokens") != "1000" ||
		span.Attr("gen_ai.usage.cache_read.input_tokens") != "400" || span.Attr("gen_ai.usage.reasoning.output_tokens") != "100" ||
		span.Attr("server.address") != "127.0.0.1" {
		t.Errorf("span attributes: %v", span.Attributes)
	}
	if ex := h.tel.Exemplars(llmmetrics.CostName, pm()...); len(ex) != 1 || ex[0].TraceID != span.TraceID {
		t.Errorf("the cost's exemplar does not lead to the call's span: %+v", ex)
	}
	for _, s := range h.tel.SpansContaining("sk-test-secret") {
		t.Errorf("the API key is in a span: %s", s)
	}
}

func TestRetriedRateLimitIsOneRequest(t *testing.T) {
	t.Parallel()
	h := setup(t)
	limited := fakellm.Reply{Status: 429, Header: map[string]string{
		"retry-after-ms": "20", "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0",
		"x-ratelimit-limit-tokens": "30000", "x-ratelimit-remaining-tokens": "1200"}}
	h.fake.Script(limited, limited, fakellm.Reply{Text: "ok", Usage: fakellm.Usage{Input: 10, Output: 5},
		Header: map[string]string{"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499"}})
	if _, err := h.client.Chat.Completions.New(t.Context(), chat("gpt-4o")); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.Requests()); n != 3 {
		t.Fatalf("the fake saw %d attempts, want 3 (the SDK retries 429 twice)", n)
	}
	near(t, "requests", h.tel.Value(llmmetrics.RequestsName, pm()...), 1)
	near(t, "rate-limit events", h.tel.Value(llmmetrics.RateLimitEventsName, pm()...), 2)
	near(t, "requests remaining", h.tel.Value(llmmetrics.RateLimitRemainingName, with(llmmetrics.LimitTypeKey.String("requests"))...), 499)
	near(t, "tokens remaining", h.tel.Value(llmmetrics.RateLimitRemainingName, with(llmmetrics.LimitTypeKey.String("tokens"))...), 1200)
	near(t, "tokens limit", h.tel.Value(llmmetrics.RateLimitLimitName, with(llmmetrics.LimitTypeKey.String("tokens"))...), 30000)
	near(t, "retry after", h.tel.Value(llmmetrics.RateLimitRetryAfterName, pm()...), 0.02)
	span := h.tel.Span("chat gpt-4o")
	if span.Status != codes.Unset || strings.Count(strings.Join(span.Events, ","), "rate_limited") != 2 {
		t.Errorf("span: status %v, events %v", span.Status, span.Events)
	}
	if d := h.tel.Histogram(llmmetrics.RequestDurationName, with(llmmetrics.OutcomeKey.String("success"))...); d.Count != 1 || d.Sum < 0.04 {
		t.Errorf("duration %+v: want one call that spans both waits (≥ 40 ms)", d)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		replies  []fakellm.Reply
		attempts int
		want     llmmetrics.ErrorType
	}{
		{"server errors retried until the SDK gives up", []fakellm.Reply{{Status: 500}, {Status: 502}, {Status: 503}}, 3, llmmetrics.ErrorServer},
		{"auth is not retried", []fakellm.Reply{{Status: 401}}, 1, llmmetrics.ErrorAuth},
		{"bad request", []fakellm.Reply{{Status: 400}}, 1, llmmetrics.ErrorClient},
		{"rate limited to the end", []fakellm.Reply{{Status: 429}, {Status: 429}, {Status: 429}}, 3, llmmetrics.ErrorRateLimited},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			h.fake.Script(tt.replies...)
			_, err := h.client.Chat.Completions.New(t.Context(), chat("gpt-4o"))
			if err == nil {
				t.Fatal("no error")
			}
			if got := openaimetrics.Classify(err); got != tt.want {
				t.Errorf("Classify(%v) = %s, want %s", err, got, tt.want)
			}
			if n := len(h.fake.Requests()); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			near(t, "requests", h.tel.Value(llmmetrics.RequestsName, pm()...), 1)
			near(t, "errors", h.tel.Value(llmmetrics.RequestErrorsName, with(llmmetrics.ErrorTypeKey.String(string(tt.want)))...), 1)
			if s := h.tel.Span("chat gpt-4o"); s.Status != codes.Error || s.Attr("error.type") != string(tt.want) {
				t.Errorf("span status %v, error.type %q", s.Status, s.Attr("error.type"))
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	h := setup(t, option.WithBaseURL("http://127.0.0.1:1/v1"), option.WithMaxRetries(0))
	_, err := h.client.Chat.Completions.New(t.Context(), chat("gpt-4o"))
	if got := openaimetrics.Classify(err); got != llmmetrics.ErrorConnection {
		t.Errorf("Classify(%v) = %s", err, got)
	}
	near(t, "connection errors", h.tel.Value(llmmetrics.RequestErrorsName, with(llmmetrics.ErrorTypeKey.String("connection"))...), 1)
}

func TestStream(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.fake.Script(fakellm.Reply{Text: "one two three four", ToolCalls: 1, FirstChunkDelay: 60 * time.Millisecond,
		ChunkDelay: 5 * time.Millisecond, Usage: fakellm.Usage{Input: 50, Output: 20}})
	stream := h.client.Chat.Completions.NewStreaming(t.Context(), chat("gpt-4o"))
	var acc openai.ChatCompletionAccumulator
	var text strings.Builder
	for stream.Next() {
		c := stream.Current()
		if len(c.Choices) == 0 {
			t.Error("the caller saw the usage chunk it did not ask for")
			continue
		}
		acc.AddChunk(c)
		text.WriteString(c.Choices[0].Delta.Content)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "one two three four" {
		t.Errorf("text %q", text.String())
	}
	if body := h.fake.Requests()[0].Body; body["stream_options"].(map[string]any)["include_usage"] != true {
		t.Errorf("the stream did not ask for its usage: %v", body)
	}
	near(t, "tokens", h.tel.Value(llmmetrics.TokensName, pm()...), 70)
	near(t, "tool calls", h.tel.Value(llmmetrics.ToolCallsName, pm()...), 1)
	g := []attribute.KeyValue{attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "gpt-4o")}
	first := h.tel.Histogram(llmmetrics.GenAITimeToFirstChunkName, g...)
	if first.Count != 1 || first.Sum < 0.06 {
		t.Errorf("time to first chunk %+v, want one ≥ 60 ms", first)
	}
	// Four words and the tool call: four chunks after the first.
	if per := h.tel.Histogram(llmmetrics.GenAITimePerOutputChunkName, g...); per.Count != 4 {
		t.Errorf("time per output chunk: %d, want 4", per.Count)
	}
	if s := h.tel.Span("chat gpt-4o"); s.Attr("gen_ai.request.stream") != "true" || s.Attr("gen_ai.response.time_to_first_chunk") == "" {
		t.Errorf("span %v", s.Attributes)
	}
}

func TestStreamAskedForUsageKeepsIt(t *testing.T) {
	t.Parallel()
	h := setup(t)
	p := chat("gpt-4o")
	p.StreamOptions.IncludeUsage = openai.Bool(true)
	stream := h.client.Chat.Completions.NewStreaming(t.Context(), p)
	sawUsage := false
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) == 0 && c.Usage.TotalTokens > 0 {
			sawUsage = true
		}
	}
	if err := stream.Err(); err != nil || !sawUsage {
		t.Errorf("err %v; usage chunk seen: %v", err, sawUsage)
	}
	near(t, "tokens", h.tel.Value(llmmetrics.TokensName, pm()...), 12)
}

func TestStreamAbandonedAndCut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		reply  fakellm.Reply
		read   int
		chunks uint64
		want   llmmetrics.ErrorType
	}{
		{"abandoned after two chunks", fakellm.Reply{Text: "a b c d e f", ChunkDelay: time.Millisecond}, 3, 2, llmmetrics.ErrorCanceled},
		{"cut after three chunks", fakellm.Reply{Text: "a b c d e f", CutAfter: 3}, 100, 3, llmmetrics.ErrorConnection},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t, option.WithMaxRetries(0))
			h.fake.Script(tt.reply)
			stream := h.client.Chat.Completions.NewStreaming(t.Context(), chat("gpt-4o"))
			for i := 0; i < tt.read && stream.Next(); i++ {
			}
			_ = stream.Close()
			near(t, "requests", h.tel.Value(llmmetrics.RequestsName, pm()...), 1)
			near(t, "errors", h.tel.Value(llmmetrics.RequestErrorsName, with(llmmetrics.ErrorTypeKey.String(string(tt.want)))...), 1)
			g := []attribute.KeyValue{attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
				attribute.String("gen_ai.request.model", "gpt-4o")}
			if first := h.tel.Histogram(llmmetrics.GenAITimeToFirstChunkName, g...); first.Count != 1 {
				t.Errorf("time to first chunk: %d", first.Count)
			}
			if per := h.tel.Histogram(llmmetrics.GenAITimePerOutputChunkName, g...); per.Count+1 < tt.chunks {
				t.Errorf("chunks recorded: %d after the first, want at least %d", per.Count, tt.chunks-1)
			}
			if s := h.tel.Span("chat gpt-4o"); s.Status != codes.Error {
				t.Errorf("span status %v", s.Status)
			}
		})
	}
}

func TestEmbeddings(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.fake.Script(fakellm.Reply{Usage: fakellm.Usage{Input: 2_000_000}})
	_, err := h.client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	e := []attribute.KeyValue{llmmetrics.ProviderKey.String("openai"), llmmetrics.ModelKey.String("text-embedding-3-small")}
	// $0.02 per million input tokens: 2M tokens cost $0.04.
	near(t, "embeddings cost", h.tel.Value(llmmetrics.CostName, e...), 0.04)
	h.tel.Span("embeddings text-embedding-3-small")
}

func TestOtherEndpointsPassThrough(t *testing.T) {
	t.Parallel()
	h := setup(t)
	_, _ = h.client.Models.List(context.Background())
	if n := len(h.tel.Ended()); n != 0 {
		t.Errorf("%d spans for a request that is not a model call", n)
	}
}

func TestProviderFromHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"api.openai.com": "openai", "myres.openai.azure.com": "azure", "openrouter.ai": "openrouter",
		"API.GROQ.COM": "groq", "localhost:11434": "ollama", "127.0.0.1:8000": openaimetrics.OpenAICompatible,
		"generativelanguage.googleapis.com": "gemini", "evil.com.api.openai.com.example": openaimetrics.OpenAICompatible,
	} {
		if got := openaimetrics.ProviderFromHost(host); got != want {
			t.Errorf("ProviderFromHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestClassifyFallsBack(t *testing.T) {
	t.Parallel()
	if got := openaimetrics.Classify(context.DeadlineExceeded); got != llmmetrics.ErrorTimeout {
		t.Errorf("deadline: %s", got)
	}
	if got := openaimetrics.Classify(errors.New("x")); got != llmmetrics.ErrorOther {
		t.Errorf("unknown: %s", got)
	}
}

// TestRequestBodyOption: a body given as a *bytes.Reader (whose GetBody the
// SDK builds by rewinding that same reader) is still sent whole.
func TestRequestBodyOption(t *testing.T) {
	t.Parallel()
	h := setup(t, option.WithMaxRetries(0))
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	_, err := h.client.Chat.Completions.New(t.Context(), chat("gpt-4o"), option.WithRequestBody("application/json", bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "requests", h.tel.Value(llmmetrics.RequestsName, pm()...), 1)
}

func TestUsageDeepSeek(t *testing.T) {
	t.Parallel()
	var u openai.CompletionUsage
	if err := u.UnmarshalJSON([]byte(`{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"prompt_cache_hit_tokens":6,"prompt_cache_miss_tokens":4}`)); err != nil {
		t.Fatal(err)
	}
	if got := openaimetrics.Usage(u); got != (llmmetrics.Usage{InputTokens: 10, OutputTokens: 2, CachedInputTokens: 6}) {
		t.Errorf("Usage = %+v", got)
	}
}

// TestProviderFromTheBaseURL: without WithProvider, the label comes from the
// host; the fake's 127.0.0.1 is an OpenAI-compatible gateway, whose gpt-4o
// is priced by its name alone.
func TestProviderFromTheBaseURL(t *testing.T) {
	t.Parallel()
	tel, fake := otelobstest.New(t), fakellm.OpenAI(t)
	m, err := llmmetrics.New(llmmetrics.WithMeterProvider(tel.MeterProvider()), llmmetrics.WithTracerProvider(tel.TracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	client := openai.NewClient(option.WithBaseURL(fake.URL+"/v1"), option.WithAPIKey("k"), openaimetrics.Option(m))
	fake.Script(fakellm.Reply{Usage: fakellm.Usage{Input: 1_000_000}})
	if _, err := client.Chat.Completions.New(t.Context(), chat("gpt-4o")); err != nil {
		t.Fatal(err)
	}
	near(t, "gateway cost", tel.Value(llmmetrics.CostName, llmmetrics.ProviderKey.String(openaimetrics.OpenAICompatible),
		llmmetrics.ModelKey.String("gpt-4o")), 2.5)
}
