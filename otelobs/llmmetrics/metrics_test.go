package llmmetrics

import (
	"context"
	"errors"
	"fmt"
	"github.com/agentorchestrator/observability/otelobs/internal/instr"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

type harness struct {
	m   *Metrics
	tel *otelobstest.Telemetry
	log *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func setup(t *testing.T, opts ...Option) *harness {
	t.Helper()
	tel := otelobstest.New(t)
	log := &syncBuffer{}
	m, err := New(append([]Option{
		WithMeterProvider(tel.MeterProvider()),
		WithTracerProvider(tel.TracerProvider()),
		WithLogger(slog.New(slog.NewTextHandler(log, nil))),
		WithPrices(DefaultPrices()),
		WithConventions(ConventionsV141),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{m: m, tel: tel, log: log}
}

func (h *harness) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	rm := h.tel.Collect()
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// points flattens a metric into "k=v,k=v" → value (sums) or count
// (histograms).
func points(t *testing.T, m metricdata.Metrics) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	key := func(s attribute.Set) string {
		var parts []string
		for _, kv := range s.ToSlice() {
			parts = append(parts, string(kv.Key)+"="+kv.Value.String())
		}
		return strings.Join(parts, ",")
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			out[key(dp.Attributes)] += float64(dp.Value)
		}
	case metricdata.Sum[float64]:
		for _, dp := range d.DataPoints {
			out[key(dp.Attributes)] += dp.Value
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			out[key(dp.Attributes)] += float64(dp.Count)
		}
	case metricdata.Histogram[int64]:
		for _, dp := range d.DataPoints {
			out[key(dp.Attributes)] += float64(dp.Sum)
		}
	default:
		t.Fatalf("%s: unexpected %T", m.Name, m.Data)
	}
	return out
}

func equal(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", name, got, want)
		return
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got, want)
			return
		}
	}
}

func TestSuccessfulCall(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx, call := h.m.StartCall(t.Context(), Request{Provider: "OpenAI", Model: "gpt-4", ServerAddress: "api.openai.com"})
	call.SetUsage(Usage{InputTokens: 1000, OutputTokens: 500, CachedInputTokens: 200})
	call.SetResponseModel("gpt-4-0613")
	res := call.End(nil)
	// gpt-4: $30 input, $60 output, $30 cached input per million.
	wantCost := (800*30.0 + 200*30.0 + 500*60.0) / 1e6
	if !res.Priced || math.Abs(res.CostUSD-wantCost) > 1e-12 || res.Provider != "openai" || res.Model != "gpt-4" {
		t.Fatalf("Result = %+v, want cost %v", res, wantCost)
	}

	pm := "model=gpt-4,provider=openai"
	got := h.collect(t)
	equal(t, RequestsName, points(t, got[RequestsName]), map[string]float64{pm: 1})
	equal(t, TokensName, points(t, got[TokensName]), map[string]float64{pm: 1500})
	equal(t, TokensByTypeName, points(t, got[TokensByTypeName]), map[string]float64{
		pm + ",token_type=input": 800, pm + ",token_type=output": 500, pm + ",token_type=cached_input": 200,
	})
	equal(t, CostName, points(t, got[CostName]), map[string]float64{pm: wantCost})
	equal(t, RequestDurationName, points(t, got[RequestDurationName]), map[string]float64{"model=gpt-4,outcome=success,provider=openai": 1})
	g := "gen_ai.operation.name=chat,gen_ai.provider.name=openai,gen_ai.request.model=gpt-4"
	equal(t, GenAIOperationDurationName, points(t, got[GenAIOperationDurationName]), map[string]float64{g: 1})
	equal(t, GenAITokenUsageName, points(t, got[GenAITokenUsageName]), map[string]float64{
		g + ",gen_ai.token.type=input": 1000, g + ",gen_ai.token.type=output": 500,
	})
	for _, name := range []string{RequestErrorsName, UnpricedName, RateLimitEventsName, GenAIInferenceDurationName} {
		if _, ok := got[name]; ok {
			t.Errorf("%s recorded for a successful, priced call", name)
		}
	}

	// The guide divides llm_tokens_total by llm_requests_total without
	// on()/ignoring(): their label sets must be identical.
	tok := got[TokensName].Data.(metricdata.Sum[int64]).DataPoints[0].Attributes
	req := got[RequestsName].Data.(metricdata.Sum[int64]).DataPoints[0].Attributes
	if !tok.Equals(&req) {
		t.Errorf("llm.tokens labels %v != llm.requests labels %v", tok.ToSlice(), req.ToSlice())
	}

	// Exemplars point at the call span.
	tid := trace.SpanContextFromContext(ctx).TraceID()
	costDP := got[CostName].Data.(metricdata.Sum[float64]).DataPoints[0]
	durDP := got[RequestDurationName].Data.(metricdata.Histogram[float64]).DataPoints[0]
	if len(costDP.Exemplars) != 1 || string(costDP.Exemplars[0].TraceID) != string(tid[:]) ||
		len(durDP.Exemplars) != 1 || string(durDP.Exemplars[0].TraceID) != string(tid[:]) {
		t.Errorf("exemplars: cost %+v duration %+v, want trace %s", costDP.Exemplars, durDP.Exemplars, tid)
	}

	spans := h.tel.Ended()
	if len(spans) != 1 || spans[0].Name != "chat gpt-4" || spans[0].SpanKind != trace.SpanKindClient {
		t.Fatalf("spans = %v", spans)
	}
	attrs := attribute.NewSet(spans[0].Attributes...)
	for k, v := range map[string]string{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4",
		"gen_ai.response.model": "gpt-4-0613", "gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": "500",
		"server.address": "api.openai.com", "gen_ai.usage.cost.currency": "USD", "gen_ai.usage.cost.source": "local",
		"gen_ai.usage.cost.amount": fmt.Sprint(wantCost),
	} {
		if got, _ := attrs.Value(attribute.Key(k)); got.String() != v {
			t.Errorf("span %s = %q, want %q", k, got.String(), v)
		}
	}
}

func TestUnpricedModelIsCountedNotFree(t *testing.T) {
	t.Parallel()
	h := setup(t)
	for range 3 {
		_, call := h.m.StartCall(t.Context(), Request{Provider: "openai", Model: "gpt-9-ultra"})
		call.SetUsage(Usage{InputTokens: 10, OutputTokens: 10})
		if res := call.End(nil); res.Priced || res.CostUSD != 0 {
			t.Fatalf("Result = %+v", res)
		}
	}
	got := h.collect(t)
	equal(t, UnpricedName, points(t, got[UnpricedName]), map[string]float64{"model=gpt-9-ultra,provider=openai": 3})
	if _, ok := got[CostName]; ok {
		t.Error("an unpriced model was added to llm.cost.dollars")
	}
	if n := strings.Count(h.log.String(), "no price for this model"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, h.log.String())
	}
	if !strings.Contains(h.log.String(), "model=gpt-9-ultra") {
		t.Errorf("log does not name the model:\n%s", h.log.String())
	}
}

func TestFailedCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		err          error
		markLimited  bool
		wantType     ErrorType
		wantLimitEvt float64
	}{
		{"429", NewError(ErrorRateLimited, errors.New("429 Too Many Requests")), false, ErrorRateLimited, 1},
		{"429 already counted", NewError(HTTPErrorType(429), errors.New("429")), true, ErrorRateLimited, 1},
		{"timeout", fmt.Errorf("call: %w", context.DeadlineExceeded), false, ErrorTimeout, 0},
		{"canceled", context.Canceled, false, ErrorCanceled, 0},
		{"auth", NewError(HTTPErrorType(401), errors.New("bad key")), false, ErrorAuth, 0},
		{"server", NewError(HTTPErrorType(503), errors.New("overloaded")), false, ErrorServer, 0},
		{"unknown", errors.New("boom"), false, ErrorOther, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			_, call := h.m.StartCall(t.Context(), Request{Provider: "anthropic", Model: "claude-sonnet-4-5"})
			if tt.markLimited {
				call.RateLimited()
			}
			call.End(errp(tt.err))
			pm := "model=claude-sonnet-4-5,provider=anthropic"
			got := h.collect(t)
			equal(t, RequestsName, points(t, got[RequestsName]), map[string]float64{pm: 1})
			equal(t, RequestErrorsName, points(t, got[RequestErrorsName]), map[string]float64{"error_type=" + string(tt.wantType) + "," + pm: 1})
			equal(t, RequestDurationName, points(t, got[RequestDurationName]), map[string]float64{"model=claude-sonnet-4-5,outcome=error,provider=anthropic": 1})
			if tt.wantLimitEvt > 0 {
				equal(t, RateLimitEventsName, points(t, got[RateLimitEventsName]), map[string]float64{pm: tt.wantLimitEvt})
			} else if _, ok := got[RateLimitEventsName]; ok {
				t.Error("rate-limit event for a non-429 error")
			}
			g := "error.type=" + string(tt.wantType) + ",gen_ai.operation.name=chat,gen_ai.provider.name=anthropic,gen_ai.request.model=claude-sonnet-4-5"
			equal(t, GenAIOperationDurationName, points(t, got[GenAIOperationDurationName]), map[string]float64{g: 1})
			if _, ok := got[GenAITokenUsageName]; ok {
				t.Error("token usage recorded for a failed call")
			}
			sp := h.tel.Ended()[0]
			if sp.Status.Code != codes.Error {
				t.Error("span status not error")
			}
			spanAttrs := attribute.NewSet(sp.Attributes...)
			if v, _ := spanAttrs.Value("error.type"); v.String() != string(tt.wantType) {
				t.Errorf("span error.type = %q", v.String())
			}
		})
	}
}

func TestLabelsAreBounded(t *testing.T) {
	t.Parallel()
	h := setup(t, WithMaxSeries(10))
	ctx := t.Context()
	for i := range 1000 {
		h.m.RecordCall(ctx, Request{Provider: "openai", Model: fmt.Sprintf("model-%d", i)}, Usage{InputTokens: 1}, time.Millisecond, nil)
	}
	for i := range 40 {
		h.m.RecordCall(ctx, Request{Provider: fmt.Sprintf("vendor%d", i), Model: "m"}, Usage{}, time.Millisecond, nil)
	}
	got := points(t, h.collect(t)[RequestsName])
	// The cap, plus at most one _OTHER model per provider: openai, the 16
	// admitted extra providers and the _OTHER provider.
	if len(got) > 10+1+maxExtraProviders+1 {
		t.Errorf("%d series for 1040 distinct label pairs: %v", len(got), got)
	}
	if got["model=_OTHER,provider=openai"] < 990 {
		t.Errorf("excess models not folded into _OTHER: %v", got)
	}
	// Every folded call is counted, by label, and said once: the models
	// past the cap (990 of openai's, and "m" of all 40 vendors, the series
	// being full), and the 24 vendors past the extra providers' bound.
	folded := points(t, h.collect(t)[instr.FoldedName])
	equal(t, instr.FoldedName, folded, map[string]float64{
		"label=model,package=llmmetrics":    990 + 40,
		"label=provider,package=llmmetrics": 40 - maxExtraProviders,
	})
	if n := strings.Count(h.log.String(), "otelobs_label_folded_total"); n != 1 {
		t.Errorf("the fold was logged %d times:\n%s", n, h.log.String())
	}

	h2 := setup(t)
	for _, raw := range []struct{ provider, model, wantP, wantM string }{
		{" Gemini ", "Gemini-2.5-Pro", "google", "gemini-2.5-pro"},
		{"vertex_ai", "gemini-2.5-pro", "google", "gemini-2.5-pro"},
		{"azure_openai", "gpt-4o", "azure", "gpt-4o"},
		{"x_ai", "Grok 4", "xai", "grok-4"},
		{"", "", "_OTHER", "_OTHER"},
		{"openai", strings.Repeat("x", 500), "openai", strings.Repeat("x", 64)},
		{"openai", "gpt-4o\n{evil=\"1\"}", "openai", "gpt-4o-evil-1"},
	} {
		res := h2.m.RecordCall(ctx, Request{Provider: raw.provider, Model: raw.model}, Usage{}, time.Millisecond, nil)
		if res.Provider != raw.wantP || res.Model != raw.wantM {
			t.Errorf("%q/%q → %q/%q, want %q/%q", raw.provider, raw.model, res.Provider, res.Model, raw.wantP, raw.wantM)
		}
	}
	extra := setup(t)
	for i := range 40 {
		extra.m.RecordCall(ctx, Request{Provider: fmt.Sprintf("vendor%d", i), Model: "m"}, Usage{}, time.Millisecond, nil)
	}
	providers := map[string]bool{}
	for k := range points(t, extra.collect(t)[RequestsName]) {
		providers[k] = true
	}
	if len(providers) != maxExtraProviders+1 {
		t.Errorf("%d provider series, want %d + _OTHER", len(providers), maxExtraProviders)
	}
}

func TestConventions(t *testing.T) {
	t.Parallel()
	v141 := []string{GenAITokenUsageName, GenAIOperationDurationName}
	latest := []string{GenAIInferenceDurationName, GenAIInputTokensName, GenAIOutputTokensName, GenAICacheReadTokensName}
	tests := []struct {
		env        string
		mode       Conventions
		want, none []string
	}{
		{"", ConventionsV141, v141, latest},
		{"http", ConventionsV141, v141, latest},
		{"http,gen_ai_latest_experimental", ConventionsLatest, latest, v141},
		{"gen_ai_latest_experimental/dup,database", ConventionsDup, append(append([]string{}, v141...), latest...), nil},
	}
	for _, tt := range tests {
		mode := conventionsFromEnv(func(string) string { return tt.env })
		if mode != tt.mode {
			t.Errorf("%q → %v, want %v", tt.env, mode, tt.mode)
		}
		h := setup(t, WithConventions(mode))
		_, call := h.m.StartCall(t.Context(), Request{Provider: "openai", Model: "gpt-4o"})
		call.SetUsage(Usage{InputTokens: 5, OutputTokens: 7, CachedInputTokens: 2})
		call.End(nil)
		got := h.collect(t)
		for _, n := range tt.want {
			if _, ok := got[n]; !ok {
				t.Errorf("%q: %s missing", tt.env, n)
			}
		}
		for _, n := range tt.none {
			if _, ok := got[n]; ok {
				t.Errorf("%q: %s emitted", tt.env, n)
			}
		}
		if mode.latest() {
			equal(t, GenAICacheReadTokensName, points(t, got[GenAICacheReadTokensName]), map[string]float64{
				"gen_ai.operation.name=chat,gen_ai.provider.name=openai,gen_ai.request.model=gpt-4o,gen_ai.token.modality=text": 2,
			})
		}
	}
}

func TestRecordCallUsesContextSpan(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(t.Context(), "task")
	h.m.RecordCall(ctx, Request{Provider: "openai", Model: "gpt-4o-mini-2024-07-18", Operation: "weird-op"},
		Usage{InputTokens: -5, OutputTokens: 3}, time.Second, nil)
	span.End()
	got := h.collect(t)
	equal(t, TokensName, points(t, got[TokensName]), map[string]float64{"model=gpt-4o-mini-2024-07-18,provider=openai": 3})
	cost := got[CostName].Data.(metricdata.Sum[float64]).DataPoints[0]
	if math.Abs(cost.Value-3*0.6/1e6) > 1e-15 {
		t.Errorf("dated snapshot not priced as its family: %v", cost.Value)
	}
	tid := span.SpanContext().TraceID()
	if string(cost.Exemplars[0].TraceID) != string(tid[:]) {
		t.Error("exemplar is not the context's span")
	}
	equal(t, GenAIOperationDurationName, points(t, got[GenAIOperationDurationName]), map[string]float64{
		"gen_ai.operation.name=_OTHER,gen_ai.provider.name=openai,gen_ai.request.model=gpt-4o-mini-2024-07-18": 1,
	})
	if len(h.tel.Ended()) != 0 {
		t.Error("RecordCall started a span")
	}
}

func TestZeroCallOp(t *testing.T) {
	t.Parallel()
	var c *CallOp // a nil op
	c.SetUsage(Usage{InputTokens: 1})
	c.RateLimited()
	c.SetResponseModel("m")
	if (c.End(nil) != Result{}) {
		t.Error("nil CallOp recorded")
	}
}

// TestCallOpRecordsTheFinalValuesOnce: the misuses the value API let
// through record the right data now. A deferred End sees the usage set
// after the defer line and the error returned (tokens and cost counted);
// SetUsage and RateLimited through another copy of the pointer are the
// op's own, and a 429 retried within the call then ending rate-limited
// counts one rate-limit event; a second End records nothing and returns the
// first Result.
func TestCallOpRecordsTheFinalValuesOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	call := func(ctx context.Context) (res Result, err error) {
		_, c := h.m.StartCall(ctx, Request{Provider: "openai", Model: "gpt-4o"})
		defer func() { res = c.End(&err) }()
		alias := c
		alias.RateLimited() // a 429, retried
		alias.SetUsage(Usage{InputTokens: 1000, OutputTokens: 100})
		return Result{}, NewError(ErrorRateLimited, errors.New("429 again"))
	}
	res, _ := call(t.Context())
	if !res.Priced || res.CostUSD <= 0 {
		t.Errorf("result %+v: the usage set after the defer line was lost", res)
	}
	_, c := h.m.StartCall(t.Context(), Request{Provider: "openai", Model: "gpt-4o"})
	c.SetUsage(Usage{InputTokens: 10, OutputTokens: 1})
	first := c.End(nil)
	if again := c.End(errp(errors.New("late"))); again != first {
		t.Errorf("second End = %+v, want the first's %+v", again, first)
	}
	c.RateLimited() // after End: nothing
	got := h.collect(t)
	equal(t, RequestsName, points(t, got[RequestsName]), map[string]float64{"model=gpt-4o,provider=openai": 2})
	equal(t, RateLimitEventsName, points(t, got[RateLimitEventsName]), map[string]float64{"model=gpt-4o,provider=openai": 1})
	equal(t, TokensName, points(t, got[TokensName]), map[string]float64{"model=gpt-4o,provider=openai": 1111})
}

// TestConcurrentCallsConcurrentSafe: many goroutines and models at once give
// exact totals.
func TestConcurrentCallsConcurrentSafe(t *testing.T) {
	t.Parallel()
	h := setup(t)
	const goroutines, each = 64, 50
	models := []Request{{Provider: "openai", Model: "gpt-4o"}, {Provider: "anthropic", Model: "claude-sonnet-4-5"},
		{Provider: "gemini", Model: "gemini-2.5-flash"}, {Provider: "openai", Model: "unknown-model"}}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				_, call := h.m.StartCall(context.Background(), models[(g+i)%len(models)])
				call.SetUsage(Usage{InputTokens: 10, OutputTokens: 5})
				var err error
				if i%10 == 0 {
					err = NewError(ErrorRateLimited, errors.New("429"))
				}
				call.End(errp(err))
			}
		})
	}
	wg.Wait()
	got := h.collect(t)
	sum := func(name string) (s float64) {
		for _, v := range points(t, got[name]) {
			s += v
		}
		return s
	}
	if n := sum(RequestsName); n != goroutines*each {
		t.Errorf("requests = %v", n)
	}
	if n := sum(TokensName); n != goroutines*each*15 {
		t.Errorf("tokens = %v", n)
	}
	if n := sum(RateLimitEventsName); n != goroutines*each/10 {
		t.Errorf("rate-limit events = %v", n)
	}
	if n := sum(UnpricedName); n != goroutines*each/4 {
		t.Errorf("unpriced = %v", n)
	}
}

func TestPriceFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.tsv", "# mine\nopenai gpt-4 1 2 0.5\nacme acme-1 3 4\ngemini gemini-9 1 2 0.5\n")
	t.Setenv(PricesFileEnv, good)
	p, err := LoadPrices()
	if err != nil {
		t.Fatal(err)
	}
	if pr, ok := p.Lookup("openai", "gpt-4"); !ok || pr != (Price{1, 2, 0.5, 1}) {
		t.Errorf("override: %v %v", pr, ok)
	}
	if pr, ok := p.Lookup("ACME", "acme-1"); !ok || pr != (Price{3, 4, 3, 3}) {
		t.Errorf("addition without cached price: %v %v", pr, ok)
	}
	if pr, ok := p.Lookup("vertex_ai", "gemini-9"); !ok || pr != (Price{1, 2, 0.5, 1}) {
		t.Errorf("a price listed under an alias (gemini) is not found under another (vertex_ai): %v %v", pr, ok)
	}
	if _, ok := p.Lookup("anthropic", "claude-3-5-haiku-20241022"); !ok {
		t.Error("embedded entries lost")
	}

	for _, tt := range []struct{ content, want string }{
		{"openai gpt-4 1\n", "bad.tsv:1: want 4 to 6 fields"},
		{"# c\n\nopenai gpt-4 1 x\n", "bad.tsv:3: output \"x\""},
		{"openai gpt-4 -1 2\n", "bad.tsv:1: input \"-1\""},
		{"openai gpt-4 1 2 NaN\n", "bad.tsv:1: cached_input"},
		{"openai a 1 2\nopenai a 1 2\n", "bad.tsv:2: openai a is listed twice"},
		{"!!! a 1 2\n", "bad.tsv:1: provider"},
	} {
		path := write("bad.tsv", tt.content)
		t.Setenv(PricesFileEnv, path)
		if _, err := LoadPrices(); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), PricesFileEnv) {
			t.Errorf("%q: err = %v, want %q", tt.content, err, tt.want)
		}
		m, err := New(WithMeterProvider(noop.NewMeterProvider()))
		if err == nil || !strings.Contains(err.Error(), "bad.tsv") {
			t.Errorf("New with a bad price file: err = %v", err)
		}
		if m == nil {
			t.Fatal("no Metrics with a bad price file")
		}
		if _, ok := m.Price("openai", "gpt-4o"); !ok {
			t.Error("embedded table not used after a bad price file")
		}
	}
	t.Setenv(PricesFileEnv, filepath.Join(dir, "missing.tsv"))
	if _, err := LoadPrices(); err == nil || !strings.Contains(err.Error(), "missing.tsv") {
		t.Errorf("missing file: %v", err)
	}
}

func TestEmbeddedPrices(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	if p.Len() < 40 {
		t.Errorf("embedded table has %d models", p.Len())
	}
	for _, tt := range []struct {
		provider, model string
		want            Price
		ok              bool
	}{
		{"openai", "gpt-4o-2024-08-06", Price{2.5, 10, 1.25, 2.5}, true},
		{"openai", "gpt-4-0613", Price{30, 60, 30, 30}, true},
		{"anthropic", "claude-sonnet-4-5-20250929", Price{3, 15, 0.3, 3.75}, true},
		{"anthropic", "claude-3-5-sonnet-latest", Price{3, 15, 0.3, 3.75}, true},
		{"google", "gemini-1.5-pro-002", Price{1.25, 5, 0.3125, 1.25}, true},
		{"openai", "gpt-4o-2024-05-13", Price{5, 15, 5, 5}, true},
		{"openai", "gpt-3.5-turbo-0613", Price{1.5, 2, 1.5, 1.5}, true},
		{"openai", "gpt-3.5-turbo-0125", Price{0.5, 1.5, 0.5, 0.5}, true},
		{"gemini", "gemini-2.5-pro", Price{1.25, 10, 0.31, 1.25}, true},
		{"openai", "gpt-4-1106-preview", Price{}, false},
		{"openai", "o3-pro", Price{}, false},
		{"anthropic", "gpt-4", Price{}, false},
	} {
		got, ok := p.Lookup(tt.provider, tt.model)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Lookup(%s, %s) = %v %v, want %v %v", tt.provider, tt.model, got, ok, tt.want, tt.ok)
		}
	}
	if c := (Price{Input: 2, Output: 8, CachedInput: 0.5}).Cost(Usage{InputTokens: 1e6, OutputTokens: 5e5, CachedInputTokens: 4e5}); math.Abs(c-(0.6*2+0.4*0.5+0.5*8)) > 1e-9 {
		t.Errorf("Cost = %v", c)
	}
}

func TestHTTPErrorTypeAndClassify(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]ErrorType{429: ErrorRateLimited, 401: ErrorAuth, 403: ErrorAuth, 408: ErrorTimeout,
		504: ErrorTimeout, 500: ErrorServer, 400: ErrorClient, 404: ErrorClient, 200: ErrorOther} {
		if got := HTTPErrorType(code); got != want {
			t.Errorf("HTTPErrorType(%d) = %s, want %s", code, got, want)
		}
	}
	bogus := &Error{Type: "made-up", Err: errors.New("x")}
	if Classify(bogus) != ErrorOther {
		t.Error("an unknown error type leaked into labels")
	}
	wrapped := fmt.Errorf("retry: %w", NewError(ErrorBudgetExceeded, nil))
	if Classify(wrapped) != ErrorBudgetExceeded || wrapped.Error() != "retry: budget_exceeded" {
		t.Errorf("Classify(%v) = %s", wrapped, Classify(wrapped))
	}
}

func TestNewJoinsErrorsAndStaysUsable(t *testing.T) {
	t.Parallel()
	m, err := New(WithMeterProvider(otelobstest.FailingMeterProvider()), WithPrices(DefaultPrices()), WithConventions(ConventionsDup))
	if !errors.Is(err, otelobstest.ErrInstrument) || m == nil {
		t.Fatalf("New = %v, %v", m, err)
	}
	for _, name := range []string{RequestsName, RequestErrorsName, RequestDurationName, TokensName, TokensByTypeName,
		CostName, UnpricedName, RateLimitEventsName, GenAITokenUsageName, GenAIOperationDurationName,
		GenAIInferenceDurationName, GenAIInputTokensName, GenAIOutputTokensName, GenAICacheReadTokensName} {
		if !strings.Contains(err.Error(), "llmmetrics: create "+name+":") {
			t.Errorf("error does not name %s", name)
		}
	}
	_, call := m.StartCall(t.Context(), Request{Provider: "openai", Model: "gpt-4o"})
	call.SetUsage(Usage{InputTokens: 1})
	call.End(errp(errors.New("x")))
}

// TestInstrumentMetadata pins each instrument's name, unit, description,
// kind and buckets (values are checked by the tests above).
func TestInstrumentMetadata(t *testing.T) {
	t.Parallel()
	h := setup(t, WithConventions(ConventionsDup))
	_, call := h.m.StartCall(t.Context(), Request{Provider: "openai", Model: "gpt-4o"})
	call.SetUsage(Usage{InputTokens: 3, OutputTokens: 2, CachedInputTokens: 1})
	call.RateLimited()
	call.End(errp(NewError(ErrorRateLimited, errors.New("429"))))
	_, call = h.m.StartCall(t.Context(), Request{Provider: "openai", Model: "gpt-4o"})
	call.SetUsage(Usage{InputTokens: 3, OutputTokens: 2, CachedInputTokens: 1})
	call.End(nil)
	h.m.RecordCall(t.Context(), Request{Provider: "openai", Model: "nope"}, Usage{}, time.Second, nil)
	got := h.collect(t)

	sum := func(name, unit, desc string, mono bool) metricdata.Metrics {
		return metricdata.Metrics{Name: name, Unit: unit, Description: desc,
			Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: mono}}
	}
	hist := func(name, unit, desc string, float bool) metricdata.Metrics {
		m := metricdata.Metrics{Name: name, Unit: unit, Description: desc}
		if float {
			m.Data = metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality}
		} else {
			m.Data = metricdata.Histogram[int64]{Temporality: metricdata.CumulativeTemporality}
		}
		return m
	}
	want := []metricdata.Metrics{
		sum(RequestsName, "{request}", requestsDesc, true),
		sum(RequestErrorsName, "{request}", requestErrorsDesc, true),
		hist(RequestDurationName, "s", requestDurationDesc, true),
		sum(TokensName, "{token}", tokensDesc, true),
		sum(TokensByTypeName, "{token}", tokensByTypeDesc, true),
		{Name: CostName, Description: costDesc, Data: metricdata.Sum[float64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true}},
		sum(UnpricedName, "{request}", unpricedDesc, true),
		sum(RateLimitEventsName, "{event}", rateLimitDesc, true),
		hist(GenAITokenUsageName, "{token}", genAITokenUsageDesc, false),
		hist(GenAIOperationDurationName, "s", genAIDurationDesc, true),
		hist(GenAIInferenceDurationName, "s", genAIDurationDesc, true),
		sum(GenAIInputTokensName, "{token}", genAIInputDesc, true),
		sum(GenAIOutputTokensName, "{token}", genAIOutputDesc, true),
		sum(GenAICacheReadTokensName, "{token}", genAICacheReadDesc, true),
		sum(instr.FoldedName, "{measurement}", instr.FoldedDescription, true),
	}
	if len(got) != len(want) {
		t.Errorf("%d instruments, want %d", len(got), len(want))
	}
	for _, w := range want {
		g, ok := got[w.Name]
		if !ok {
			t.Errorf("%s missing", w.Name)
			continue
		}
		// Compare everything but the data points, then the bucket bounds.
		switch d := g.Data.(type) {
		case metricdata.Sum[int64]:
			d.DataPoints = nil
			g.Data = d
		case metricdata.Sum[float64]:
			d.DataPoints = nil
			g.Data = d
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				if !slices.Equal(dp.Bounds, DurationBuckets) {
					t.Errorf("%s bounds %v", w.Name, dp.Bounds)
				}
			}
			d.DataPoints = nil
			g.Data = d
		case metricdata.Histogram[int64]:
			for _, dp := range d.DataPoints {
				if !slices.Equal(dp.Bounds, TokenBuckets) {
					t.Errorf("%s bounds %v", w.Name, dp.Bounds)
				}
			}
			d.DataPoints = nil
			g.Data = d
		}
		metricdatatest.AssertEqual(t, w, g)
	}
}

// TestPricedPastTheSeriesCap: a model folded into _OTHER by the cap is still
// priced as itself, and the unpriced warning names the real model.
func TestPricedPastTheSeriesCap(t *testing.T) {
	t.Parallel()
	h := setup(t, WithMaxSeries(1))
	ctx := t.Context()
	h.m.RecordCall(ctx, Request{Provider: "openai", Model: "gpt-4"}, Usage{InputTokens: 1}, time.Millisecond, nil)
	res := h.m.RecordCall(ctx, Request{Provider: "openai", Model: "gpt-4o"}, Usage{InputTokens: 1e6}, time.Millisecond, nil)
	if res.Model != Other || !res.Priced || math.Abs(res.CostUSD-2.5) > 1e-9 {
		t.Errorf("past the cap: %+v, want model _OTHER priced at $2.50", res)
	}
	h.m.RecordCall(ctx, Request{Provider: "openai", Model: "mystery-model"}, Usage{InputTokens: 1}, time.Millisecond, nil)
	if !strings.Contains(h.log.String(), "model=mystery-model") {
		t.Errorf("unpriced warning does not name the model:\n%s", h.log.String())
	}
	equal(t, CostName, points(t, h.collect(t)[CostName]), map[string]float64{
		"model=gpt-4,provider=openai": 30.0 / 1e6, "model=_OTHER,provider=openai": 2.5,
	})
}

// TestPriceRegistersNothing: asking for the prices of more models than the
// series cap (as an API does before refusing unpriced ones) leaves the cap
// to the models that are recorded.
func TestPriceRegistersNothing(t *testing.T) {
	t.Parallel()
	h := setup(t, WithMaxSeries(2))
	for i := range 10 {
		if _, ok := h.m.Price("openai", fmt.Sprintf("bogus-%d", i)); ok {
			t.Fatalf("bogus-%d is priced", i)
		}
	}
	if p, ok := h.m.Price("openai", "gpt-4o"); !ok || p.Input != 2.5 {
		t.Errorf("gpt-4o: %+v %v", p, ok)
	}
	res := h.m.RecordCall(t.Context(), Request{Provider: "openai", Model: "gpt-4o"}, Usage{InputTokens: 1}, time.Millisecond, nil)
	if res.Model != "gpt-4o" {
		t.Errorf("recorded as model %q after 10 price look-ups, want gpt-4o (the cap was used up)", res.Model)
	}
}

func TestNoTokenUsageWithoutUsage(t *testing.T) {
	t.Parallel()
	h := setup(t)
	_, call := h.m.StartCall(t.Context(), Request{Provider: "openai", Model: "gpt-4o", Operation: OperationEmbeddings})
	call.End(nil) // the provider reported no usage
	got := h.collect(t)
	if _, ok := got[GenAITokenUsageName]; ok {
		t.Error("gen_ai.client.token.usage recorded zeros for a call without usage")
	}
	if sp := h.tel.Ended(); len(sp) != 1 || sp[0].Name != "embeddings gpt-4o" {
		t.Errorf("span = %v", sp)
	}
}

// TestNoCredentialInSpans: a failed call's error that quotes the
// provider's URL with its key (a real *url.Error) reaches the span
// without the key.
func TestNoCredentialInSpans(t *testing.T) {
	h := setup(t)
	err := urlError()
	if !strings.Contains(err.Error(), secretKey) {
		t.Fatalf("the error does not carry the key, so this test proves nothing: %v", err)
	}
	_, call := h.m.StartCall(t.Context(), Request{Provider: "google", Model: "gemini-2.0-flash"})
	call.End(errp(err))
	spans := h.tel.Ended()
	if leaks := h.tel.SpansContaining(secretKey); len(leaks) > 0 || len(spans) != 1 || !strings.Contains(spans[0].Status.Description, "127.0.0.1:1") {
		t.Errorf("leaks %v in %+v", leaks, spans)
	}
}

// TestUnpricedWarningsBounded: any client can send model names; past the
// look-up cache's bound a warning per call would flood the log. Each model
// warns once, maxWarned in all, then one line says the rest are not logged;
// every call is still counted.
func TestUnpricedWarningsBounded(t *testing.T) {
	h := setup(t)
	const models = 20_000
	for i := range models {
		_, call := h.m.StartCall(t.Context(), Request{Provider: "openai", Model: fmt.Sprintf("no-such-model-%d", i)})
		call.End(nil)
		if i%2 == 0 { // the same model again, past the cache too
			_, call := h.m.StartCall(t.Context(), Request{Provider: "openai", Model: fmt.Sprintf("no-such-model-%d", i)})
			call.End(nil)
		}
	}
	log := h.log.String()
	if n := strings.Count(log, "no price for this model"); n != maxWarned {
		t.Errorf("%d model warnings for %d unpriced models, want %d", n, models, maxWarned)
	}
	if n := strings.Count(log, "further ones are not logged"); n != 1 {
		t.Errorf("%d suppression notes, want 1", n)
	}
	var total int64
	for _, dp := range h.collect(t)[UnpricedName].Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	if total != models*3/2 {
		t.Errorf("llm.cost.unpriced = %d, want %d: every call counted", total, models*3/2)
	}
}

// TestGenAIProviderNames: gen_ai.provider.name takes the conventions' value
// for the provider as passed in (Vertex AI and the Gemini API stay apart),
// while the provider label and the price are the family's.
func TestGenAIProviderNames(t *testing.T) {
	t.Parallel()
	h := setup(t)
	for _, tc := range []struct{ provider, genAI, label string }{
		{"vertex_ai", semconv.GenAIProviderNameGCPVertexAI.Value.AsString(), "google"},
		{"gcp.vertex_ai", semconv.GenAIProviderNameGCPVertexAI.Value.AsString(), "google"},
		{"gemini", semconv.GenAIProviderNameGCPGemini.Value.AsString(), "google"},
		{"google", semconv.GenAIProviderNameGCPGemini.Value.AsString(), "google"},
		{"bedrock", semconv.GenAIProviderNameAWSBedrock.Value.AsString(), "bedrock"},
		{"azure", semconv.GenAIProviderNameAzureAIOpenAI.Value.AsString(), "azure"},
		{"azure.ai.inference", semconv.GenAIProviderNameAzureAIInference.Value.AsString(), "azure"},
		{"mistral", semconv.GenAIProviderNameMistralAI.Value.AsString(), "mistral"},
		{"ollama", "ollama", "ollama"}, // not named by the conventions: the label
	} {
		before := len(h.tel.Ended())
		_, call := h.m.StartCall(t.Context(), Request{Provider: tc.provider, Model: "gemini-2.5-pro"})
		res := call.End(nil)
		spans := h.tel.Ended()[before:]
		if len(spans) != 1 {
			t.Fatalf("%d spans", len(spans))
		}
		var got string
		for _, a := range spans[0].Attributes {
			if a.Key == semconv.GenAIProviderNameKey {
				got = a.Value.AsString()
			}
		}
		if got != tc.genAI || res.Provider != tc.label {
			t.Errorf("%s: gen_ai.provider.name %q, label %q; want %q, %q", tc.provider, got, res.Provider, tc.genAI, tc.label)
		}
		if tc.label == "google" && !res.Priced {
			t.Errorf("%s: gemini-2.5-pro unpriced", tc.provider)
		}
	}
}

// TestOperationsAreTheConventions: the operations are exactly the values
// the conventions define; anything else, such as an application's "plan",
// is _OTHER on metrics.
func TestOperationsAreTheConventions(t *testing.T) {
	t.Parallel()
	want := map[string]bool{}
	for _, kv := range []attribute.KeyValue{
		semconv.GenAIOperationNameChat, semconv.GenAIOperationNameTextCompletion, semconv.GenAIOperationNameGenerateContent,
		semconv.GenAIOperationNameEmbeddings, semconv.GenAIOperationNameRetrieval, semconv.GenAIOperationNameCreateAgent,
		semconv.GenAIOperationNameInvokeAgent, semconv.GenAIOperationNameExecuteTool, semconv.GenAIOperationNameInvokeWorkflow,
	} {
		want[kv.Value.AsString()] = true
	}
	got := map[string]bool{}
	for _, op := range operations[:len(operations)-1] {
		got[string(op)] = true
	}
	if !maps.Equal(got, want) {
		t.Errorf("operations %v, want the conventions' %v", got, want)
	}
	if op := Operation("plan").normalize(); op != Operation(Other) {
		t.Errorf("plan → %q, want _OTHER", op)
	}
}

// errp is a pointer to e, for End.
func errp(e error) *error { return &e }

// secretKey is the key in urlError's URL.
const secretKey = "SECRETKEY123"

// urlError is the error Go's HTTP client returns for a request to a closed
// port whose URL carries an API key in its query, as Gemini, Vertex and many
// gateways take it (instr.TestScrubRealURLError makes the real request).
func urlError() error {
	return fmt.Errorf("calling the provider: %w", &url.Error{Op: "Get", URL: "http://127.0.0.1:1/v1/models?key=" + secretKey,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}})
}

// TestClassifyTransportErrors: the errors Go's HTTP client really returns
// are classed: a closed port and an untrusted certificate as connection, a
// server slower than the client's timeout as timeout.
func TestClassifyTransportErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	for _, tc := range []struct {
		name    string
		url     string
		timeout time.Duration
		want    ErrorType
	}{
		{"closed port", closed, 10 * time.Second, ErrorConnection},
		{"untrusted certificate", untrusted.URL, 10 * time.Second, ErrorConnection},
		{"slow server", slow.URL, 200 * time.Millisecond, ErrorTimeout},
	} {
		client := &http.Client{Timeout: tc.timeout}
		resp, err := client.Get(tc.url)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: no error", tc.name)
		}
		if got := Classify(fmt.Errorf("calling the model: %w", err)); got != tc.want {
			t.Errorf("%s: Classify(%v) = %s, want %s", tc.name, err, got, tc.want)
		}
	}
}
