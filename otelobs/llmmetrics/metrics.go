package llmmetrics

import (
	"log/slog"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/agentorchestrator/observability/otelobs/llmmetrics"

// Instrument names. The Prometheus series each one becomes is in the package
// documentation.
const (
	RequestsName            = "llm.requests"
	RequestErrorsName       = "llm.request.errors"
	RequestDurationName     = "llm.request.duration"
	TokensName              = "llm.tokens"
	TokensByTypeName        = "llm.tokens.by_type"
	CostName                = "llm.cost.dollars"
	UnpricedName            = "llm.cost.unpriced"
	RateLimitEventsName     = "llm.rate_limit.events"
	RateLimitRemainingName  = "llm.rate_limit.remaining"
	RateLimitLimitName      = "llm.rate_limit.limit"
	RateLimitRetryAfterName = "llm.rate_limit.retry_after"
	ToolCallsName           = "llm.tool_calls"

	GenAITimeToFirstChunkName   = "gen_ai.client.operation.time_to_first_chunk"
	GenAITimePerOutputChunkName = "gen_ai.client.operation.time_per_output_chunk"

	GenAITokenUsageName        = "gen_ai.client.token.usage"
	GenAIOperationDurationName = "gen_ai.client.operation.duration"
	GenAIInferenceDurationName = "gen_ai.client.inference.duration"
	GenAIInputTokensName       = "gen_ai.client.inference.usage.input_tokens"
	GenAIOutputTokensName      = "gen_ai.client.inference.usage.output_tokens"
	GenAICacheReadTokensName   = "gen_ai.client.inference.usage.cache_read.input_tokens"

	requestsDesc        = "LLM requests, by provider and model."
	requestErrorsDesc   = "Failed LLM requests, by provider, model and error type."
	requestDurationDesc = "Duration of LLM requests, by provider, model and outcome."
	tokensDesc          = "Billable LLM tokens (input and output), by provider and model."
	tokensByTypeDesc    = "LLM tokens by provider, model and token type (input, output, cached_input, cache_write, reasoning), which partition llm.tokens."
	costDesc            = "LLM cost in US dollars from the price table, by provider and model."
	unpricedDesc        = "LLM requests whose model has no price, so their cost is not in llm.cost.dollars."
	rateLimitDesc       = "Rate-limit responses (HTTP 429) from LLM providers, by provider and model."
	remainingDesc       = "Requests or tokens left in the provider's current rate-limit window, as its last response said."
	limitDesc           = "The provider's rate limit of requests or tokens per window, as its last response said."
	retryAfterDesc      = "The wait the provider's last rate-limit response asked for."
	toolCallsDesc       = "Tool calls the model asked for in its responses, by provider and model."
	firstChunkDesc      = "Time to receive the first chunk, measured from when the client issues the generation request to when the first chunk is received in the response stream."
	perChunkDesc        = "Time per output chunk, recorded for each chunk received after the first one, measured as the time elapsed from the end of the previous chunk to the end of the current chunk."
	genAITokenUsageDesc = "Number of input and output tokens used."
	genAIDurationDesc   = "GenAI operation duration."
	genAIInputDesc      = "Input tokens used by GenAI inference calls."
	genAIOutputDesc     = "Output tokens produced by GenAI inference calls."
	genAICacheReadDesc  = "Input tokens read from a prompt cache by GenAI inference calls."
)

// DurationBuckets are the request duration bounds in seconds, the GenAI
// semantic conventions' advice for gen_ai.client.operation.duration (the OTel
// Go semconv helpers omit it, and the SDK's default buckets assume
// milliseconds).
var DurationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}

// FirstChunkBuckets are the bounds in seconds of
// gen_ai.client.operation.time_to_first_chunk: the conventions' advice for
// time to first token (gen_ai.server.time_to_first_token).
var FirstChunkBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// PerChunkBuckets are the bounds in seconds of
// gen_ai.client.operation.time_per_output_chunk: the conventions' advice for
// time per output token (gen_ai.server.time_per_output_token).
var PerChunkBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5}

// TokenBuckets are the conventions' advice for gen_ai.client.token.usage.
var TokenBuckets = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}

// Metrics holds the LLM call instruments. Create it once with New and share
// it; it is safe for concurrent use.
type Metrics struct {
	tracer      trace.Tracer
	logger      *slog.Logger
	conventions Conventions
	labels      *labelCache

	requests     metric.Int64Counter
	errors       metric.Int64Counter
	duration     metric.Float64Histogram
	tokens       metric.Int64Counter
	tokensByType metric.Int64Counter
	cost         metric.Float64Counter
	unpriced     metric.Int64Counter
	rateLimits   metric.Int64Counter
	remaining    metric.Int64Gauge
	limit        metric.Int64Gauge
	retryAfter   metric.Float64Gauge
	toolCalls    metric.Int64Counter
	firstChunk   metric.Float64Histogram
	perChunk     metric.Float64Histogram
	folded       *instr.Folded
	foldWarned   atomic.Bool

	genAITokens    metric.Int64Histogram
	genAIDuration  metric.Float64Histogram
	genAIInference metric.Float64Histogram
	genAIInput     metric.Int64Counter
	genAIOutput    metric.Int64Counter
	genAICacheRead metric.Int64Counter
}

// New creates the instruments from the configured providers (by default the
// globals, which otelobs.Setup installs). It returns the joined errors of
// instruments that could not be created (replaced by no-ops) and of a price
// file that could not be used (the embedded table is used then), together
// with a usable *Metrics.
func New(opts ...Option) (*Metrics, error) {
	cfg, cfgErr := newConfig(opts)
	meter := cfg.Meter(ScopeName)
	m := &Metrics{
		tracer:      cfg.Tracer(ScopeName),
		logger:      cfg.logger,
		conventions: cfg.conventions,
		labels:      newLabelCache(cfg.maxSeries, cfg.prices),
	}
	errs := instr.NewErrors("llmmetrics")
	counter := func(dst *metric.Int64Counter, name, unit, desc string) {
		var err error
		if *dst, err = meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc)); errs.Failed(name, err) {
			*dst = noop.Int64Counter{}
		}
	}
	histogramOf := func(dst *metric.Float64Histogram, name, desc string, bounds []float64) {
		var err error
		if *dst, err = meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(bounds...)); errs.Failed(name, err) {
			*dst = noop.Float64Histogram{}
		}
	}
	histogram := func(dst *metric.Float64Histogram, name, desc string) { histogramOf(dst, name, desc, DurationBuckets) }
	gauge := func(dst *metric.Int64Gauge, name, desc string) {
		var err error
		if *dst, err = meter.Int64Gauge(name, metric.WithDescription(desc)); errs.Failed(name, err) {
			*dst = noop.Int64Gauge{}
		}
	}
	counter(&m.requests, RequestsName, "{request}", requestsDesc)
	counter(&m.errors, RequestErrorsName, "{request}", requestErrorsDesc)
	histogram(&m.duration, RequestDurationName, requestDurationDesc)
	counter(&m.tokens, TokensName, "{token}", tokensDesc)
	counter(&m.tokensByType, TokensByTypeName, "{token}", tokensByTypeDesc)
	var err error
	if m.cost, err = meter.Float64Counter(CostName, metric.WithDescription(costDesc)); errs.Failed(CostName, err) {
		m.cost = noop.Float64Counter{}
	}
	counter(&m.unpriced, UnpricedName, "{request}", unpricedDesc)
	counter(&m.rateLimits, RateLimitEventsName, "{event}", rateLimitDesc)
	gauge(&m.remaining, RateLimitRemainingName, remainingDesc)
	gauge(&m.limit, RateLimitLimitName, limitDesc)
	if m.retryAfter, err = meter.Float64Gauge(RateLimitRetryAfterName, metric.WithUnit("s"),
		metric.WithDescription(retryAfterDesc)); errs.Failed(RateLimitRetryAfterName, err) {
		m.retryAfter = noop.Float64Gauge{}
	}
	counter(&m.toolCalls, ToolCallsName, "{call}", toolCallsDesc)
	histogramOf(&m.firstChunk, GenAITimeToFirstChunkName, firstChunkDesc, FirstChunkBuckets)
	histogramOf(&m.perChunk, GenAITimePerOutputChunkName, perChunkDesc, PerChunkBuckets)
	m.folded = instr.NewFolded(meter, errs, "llmmetrics", string(ProviderKey), string(ModelKey))

	m.genAITokens, m.genAIInput, m.genAIOutput, m.genAICacheRead = noop.Int64Histogram{}, noop.Int64Counter{}, noop.Int64Counter{}, noop.Int64Counter{}
	m.genAIDuration, m.genAIInference = noop.Float64Histogram{}, noop.Float64Histogram{}
	if cfg.conventions.v141() {
		if m.genAITokens, err = meter.Int64Histogram(GenAITokenUsageName, metric.WithUnit("{token}"),
			metric.WithDescription(genAITokenUsageDesc),
			metric.WithExplicitBucketBoundaries(TokenBuckets...)); errs.Failed(GenAITokenUsageName, err) {
			m.genAITokens = noop.Int64Histogram{}
		}
		histogram(&m.genAIDuration, GenAIOperationDurationName, genAIDurationDesc)
	}
	if cfg.conventions.latest() {
		histogram(&m.genAIInference, GenAIInferenceDurationName, genAIDurationDesc)
		counter(&m.genAIInput, GenAIInputTokensName, "{token}", genAIInputDesc)
		counter(&m.genAIOutput, GenAIOutputTokensName, "{token}", genAIOutputDesc)
		counter(&m.genAICacheRead, GenAICacheReadTokensName, "{token}", genAICacheReadDesc)
	}
	if cfgErr != nil {
		errs.Failed("price table", cfgErr)
	}
	return m, errs.Err()
}

// Price returns the price the Metrics uses for a provider and model, after
// the same normalisation as the labels. It only looks the model up: asking
// for prices (say, of every model a request names, before refusing it)
// never uses up the label bound of WithMaxSeries.
func (m *Metrics) Price(provider, model string) (Price, bool) {
	return m.labels.price(provider, model)
}
