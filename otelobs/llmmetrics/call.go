package llmmetrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// Operation is the kind of GenAI call (gen_ai.operation.name).
type Operation string

// The operations the GenAI semantic conventions define (the values of
// semconv's GenAIOperationName*, which a test compares them with). Any other
// value is recorded as _OTHER on metrics. What a call is for in the
// application (planning, coding) is not an operation: put it in an
// attribute of the application's own on the call's span.
const (
	OperationChat            Operation = "chat"
	OperationTextCompletion  Operation = "text_completion"
	OperationGenerateContent Operation = "generate_content"
	OperationEmbeddings      Operation = "embeddings"
	OperationRetrieval       Operation = "retrieval"
	OperationCreateAgent     Operation = "create_agent"
	OperationInvokeAgent     Operation = "invoke_agent"
	OperationExecuteTool     Operation = "execute_tool"
	OperationInvokeWorkflow  Operation = "invoke_workflow"
)

// operations are the known operations, and _OTHER last.
var operations = [...]Operation{OperationChat, OperationTextCompletion, OperationGenerateContent,
	OperationEmbeddings, OperationRetrieval, OperationCreateAgent, OperationInvokeAgent, OperationExecuteTool,
	OperationInvokeWorkflow, Operation(Other)}

func (o Operation) index() int {
	for i, x := range operations[:len(operations)-1] {
		if o == x {
			return i
		}
	}
	return len(operations) - 1
}

func (o Operation) normalize() Operation {
	if o == "" {
		return OperationChat
	}
	return operations[o.index()]
}

// Request describes an LLM call. Provider and Model become metric labels
// after normalisation (lower case, at most 64 characters, provider aliases
// such as gemini → google, and caps on distinct values: see the package
// documentation); the other fields go on the span only. gen_ai.provider.name
// comes from Provider as passed in, so that vertex_ai (gcp.vertex_ai) and
// gemini (gcp.gemini) stay apart on spans and GenAI metrics while both are
// priced and labelled as google.
type Request struct {
	// Provider is the LLM provider, e.g. "openai", "anthropic".
	Provider string
	// Model is the requested model, e.g. "gpt-4o".
	Model string
	// Operation defaults to chat.
	Operation Operation
	// ServerAddress is the API host, if any (server.address on the span).
	ServerAddress string
	// Stream says that the response is streamed (gen_ai.request.stream);
	// report its chunks with CallOp.Chunk.
	Stream bool
}

// Usage is the token usage a provider reported for a call. Every count is a
// total of its kind: the cache and reasoning counts are parts of the input
// and output counts, not additions to them. How each provider's usage fields
// map to it is in the package documentation.
type Usage struct {
	// InputTokens are all prompt tokens: uncached ones, cache reads and
	// cache writes.
	InputTokens int64
	// OutputTokens are all completion tokens, reasoning included.
	OutputTokens int64
	// CachedInputTokens are the part of InputTokens read from a prompt cache.
	CachedInputTokens int64
	// CacheWriteInputTokens are the part of InputTokens written to a prompt
	// cache.
	CacheWriteInputTokens int64
	// ReasoningTokens are the part of OutputTokens spent on reasoning.
	ReasoningTokens int64
}

// clamp makes the counts consistent: none negative, cache reads and writes
// within the input (reads first), reasoning within the output.
func (u Usage) clamp() Usage {
	u.InputTokens, u.OutputTokens = max(u.InputTokens, 0), max(u.OutputTokens, 0)
	u.CachedInputTokens = min(max(u.CachedInputTokens, 0), u.InputTokens)
	u.CacheWriteInputTokens = min(max(u.CacheWriteInputTokens, 0), u.InputTokens-u.CachedInputTokens)
	u.ReasoningTokens = min(max(u.ReasoningTokens, 0), u.OutputTokens)
	return u
}

// Result is what End computed for a call.
type Result struct {
	// CostUSD is the call's cost in US dollars; 0 when not Priced.
	CostUSD float64
	// Priced is false when the model is not in the price table: the call was
	// counted in llm_cost_unpriced_total instead.
	Priced bool
	// Provider and Model are the label values recorded.
	Provider, Model string
}

// Span attribute keys beyond the GenAI conventions (cost has no convention
// yet; these follow the open proposal's shape).
const (
	costSpanKey     = attribute.Key("gen_ai.usage.cost.amount")
	costCurrencyKey = attribute.Key("gen_ai.usage.cost.currency")
	costSourceKey   = attribute.Key("gen_ai.usage.cost.source")
	toolCallsKey    = attribute.Key("agent_orchestrator.llm.tool_calls")
)

// CallOp is one LLM call in progress, returned by StartCall. Set the usage
// when the response arrives, and end it with a pointer to the error the
// call ends with, so that a deferred End records the final values:
//
//	ctx, call := m.StartCall(ctx, llmmetrics.Request{Provider: "openai", Model: "gpt-4o"})
//	defer call.End(&err) // err is the named result
//	…
//	call.SetUsage(llmmetrics.Usage{InputTokens: resp.Usage.PromptTokens, OutputTokens: resp.Usage.CompletionTokens})
//
// No prompt, completion or credential is ever recorded. End records once: a
// second End returns the first one's Result and records nothing. A CallOp
// is safe for concurrent use and must not be copied (go vet says so).
type CallOp struct {
	m     *Metrics
	e     *entry
	ctx   context.Context
	span  trace.Span
	start time.Time
	op    Operation
	// borrowed says that the span is someone else's (StartCallIn): End
	// adds to it but does not end it.
	borrowed bool

	mu            sync.Mutex
	usage         Usage
	rateLimited   bool
	responseModel string
	toolCalls     int64
	chunks        int64
	lastChunk     time.Time
	firstChunk    time.Duration
	done          bool
	res           Result
}

var clientKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

type spanAttrsKey struct{}

// ContextWithSpanAttributes returns ctx with attributes that the span of
// every call started in it gets (StartCall, StartCallIn, and so the calls
// the SDK options record): what a call is for in the application, for
// example. They go on spans only, never on metrics, whose labels stay
// bounded. Attributes already in ctx are kept, and come first.
func ContextWithSpanAttributes(ctx context.Context, attrs ...attribute.KeyValue) context.Context {
	old := spanAttributes(ctx)
	return context.WithValue(ctx, spanAttrsKey{}, append(old[:len(old):len(old)], attrs...))
}

func spanAttributes(ctx context.Context) []attribute.KeyValue {
	a, _ := ctx.Value(spanAttrsKey{}).([]attribute.KeyValue)
	return a
}

// StartCall starts an LLM call: a span named "{operation} {model}" with the
// gen_ai.* request attributes, which the returned context carries.
func (m *Metrics) StartCall(ctx context.Context, req Request) (context.Context, *CallOp) {
	e := m.labels.get(req.Provider, req.Model)
	op := req.Operation.normalize()
	ctx, span := m.tracer.Start(ctx, e.genAIFor(op).spanName, clientKind...)
	if span.IsRecording() {
		span.SetAttributes(
			semconv.GenAIOperationNameKey.String(string(op)),
			semconv.GenAIProviderNameKey.String(e.genAIProvider),
			semconv.GenAIRequestModel(req.Model),
		)
		if req.ServerAddress != "" {
			span.SetAttributes(semconv.ServerAddress(req.ServerAddress))
		}
		if req.Stream {
			span.SetAttributes(semconv.GenAIRequestStream(true))
		}
		if a := spanAttributes(ctx); len(a) > 0 {
			span.SetAttributes(a...)
		}
	}
	return ctx, &CallOp{m: m, e: e, ctx: ctx, span: span, start: time.Now(), op: op}
}

// StartCallIn is StartCall for a call whose span is already in ctx,
// started by an SDK that traces its own calls (anthropic-sdk-go does): the
// call's measurements take that span as their exemplar, and End adds the
// usage, cost and error type to it, but leaves ending it to its owner. No
// span of its own is started, so the trace shows the call once.
func (m *Metrics) StartCallIn(ctx context.Context, req Request) *CallOp {
	e := m.labels.get(req.Provider, req.Model)
	span := trace.SpanFromContext(ctx)
	if a := spanAttributes(ctx); len(a) > 0 && span.IsRecording() {
		span.SetAttributes(a...)
	}
	return &CallOp{m: m, e: e, ctx: ctx, span: span, start: time.Now(), op: req.Operation.normalize(), borrowed: true}
}

// Chunk reports that a chunk of a streamed response arrived now. The first
// one records gen_ai.client.operation.time_to_first_chunk (from StartCall),
// each later one gen_ai.client.operation.time_per_output_chunk (from the
// chunk before). Time to first chunk keeps an exemplar that leads to the
// call's span; the per-chunk times, one per token for many APIs, do not:
// offering each to the exemplar reservoir would cost more than the rest of
// the measurement. After End it does nothing.
func (c *CallOp) Chunk() {
	if c == nil || c.m == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	if c.chunks == 0 {
		c.firstChunk = now.Sub(c.start)
		c.m.firstChunk.Record(c.ctx, c.firstChunk.Seconds(), c.e.genAIFor(c.op).duration.Record...)
	} else {
		c.m.perChunk.Record(context.Background(), now.Sub(c.lastChunk).Seconds(), c.e.genAIFor(c.op).duration.Record...)
	}
	c.chunks++
	c.lastChunk = now
}

// SetToolCalls records how many tool calls the model asked for in its
// response (counted in llm_tool_calls_total by End). They are part of the
// response, not requests of their own; a tool the application runs is
// StartTool's.
func (c *CallOp) SetToolCalls(n int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.toolCalls = max(int64(n), 0)
	c.mu.Unlock()
}

// SetRateLimit records the rate-limit state a response reported (the gauges
// llm_rate_limit_remaining, llm_rate_limit_limit and
// llm_rate_limit_retry_after_seconds); RateLimitFromHeaders reads it from the
// headers. Unknown fields (negative) are left as they were. After End it
// does nothing.
func (c *CallOp) SetRateLimit(rl RateLimit) {
	if c == nil || c.m == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		c.m.recordRateLimit(c.ctx, c.e.labelSet, rl)
	}
}

// SetUsage records the token usage the provider reported (the last call
// before End wins). Negative counts are taken as 0, and cached tokens are
// capped at the input tokens.
//
// On a span StartCallIn borrowed, the usage and its cost go on the span at
// once too: its owner may end it before End runs (an SDK that ends its span
// when the caller closes a stream).
func (c *CallOp) SetUsage(u Usage) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.usage = u.clamp()
	if c.borrowed && !c.done && c.m != nil && c.span.IsRecording() {
		res := Result{Priced: c.e.priced}
		if c.e.priced {
			res.CostUSD = c.e.price.Cost(c.usage)
		}
		c.span.SetAttributes(c.usageAttributes(res)...)
	}
}

// SetResponseModel records the model that actually answered (on the span).
func (c *CallOp) SetResponseModel(model string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.responseModel = model
	c.mu.Unlock()
}

// RateLimited counts a rate-limit response (HTTP 429) now, for example one
// that the client then retried within this call. A call that ends with an
// error of type rate_limited without RateLimited having been called is
// counted once by End. After End it does nothing.
func (c *CallOp) RateLimited() {
	if c == nil || c.m == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.rateLimited = true
	c.m.rateLimits.Add(c.ctx, 1, c.e.base.Add...)
	c.span.AddEvent("rate_limited")
}

// End finishes the call with the error *errp (errp may be nil: no error):
// it counts the request, its tokens and its cost (or the unpriced request),
// records the duration and, on error, the error type, and ends the span.
// The measurements are recorded with the call span's context, so their
// exemplars lead to it. Only the first End records; End on a nil *CallOp
// does nothing.
func (c *CallOp) End(errp *error) Result { return c.end(errp, time.Now(), false) }

// EndAt is End for a call that ended at t, which its recorder learned only
// later (a retried call whose caller gave up during the wait): the duration
// and the span end at t.
func (c *CallOp) EndAt(errp *error, t time.Time) Result { return c.end(errp, t, true) }

func (c *CallOp) end(errp *error, t time.Time, dated bool) Result {
	if c == nil || c.m == nil {
		return Result{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return c.res
	}
	c.done = true
	var err error
	if errp != nil {
		err = *errp
	}
	res := c.m.record(c.ctx, c.e, c.op, c.usage, max(t.Sub(c.start), 0), err, c.rateLimited)
	if c.toolCalls > 0 {
		c.m.toolCalls.Add(c.ctx, c.toolCalls, c.e.base.Add...)
	}
	c.res = res
	if c.span.IsRecording() {
		c.span.SetAttributes(c.usageAttributes(res)...)
		if err != nil {
			c.span.SetAttributes(semconv.ErrorTypeKey.String(string(Classify(err))))
			c.span.SetStatus(codes.Error, instr.ScrubError(err))
		}
	}
	switch {
	case c.borrowed:
	case dated:
		c.span.End(trace.WithTimestamp(t))
	default:
		c.span.End() // no option to allocate
	}
	return res
}

// usageAttributes are the span attributes of the usage, the answering
// model, the stream's first chunk, the tool calls and the cost.
func (c *CallOp) usageAttributes(res Result) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs,
		semconv.GenAIUsageInputTokens(int(c.usage.InputTokens)),
		semconv.GenAIUsageOutputTokens(int(c.usage.OutputTokens)),
	)
	if c.usage.CachedInputTokens > 0 {
		attrs = append(attrs, semconv.GenAIUsageCacheReadInputTokensKey.Int64(c.usage.CachedInputTokens))
	}
	if c.usage.CacheWriteInputTokens > 0 {
		attrs = append(attrs, semconv.GenAIUsageCacheCreationInputTokensKey.Int64(c.usage.CacheWriteInputTokens))
	}
	if c.usage.ReasoningTokens > 0 {
		attrs = append(attrs, semconv.GenAIUsageReasoningOutputTokensKey.Int64(c.usage.ReasoningTokens))
	}
	if c.chunks > 0 {
		attrs = append(attrs, semconv.GenAIResponseTimeToFirstChunk(c.firstChunk.Seconds()))
	}
	if c.toolCalls > 0 {
		attrs = append(attrs, toolCallsKey.Int64(c.toolCalls))
	}
	if c.responseModel != "" {
		attrs = append(attrs, semconv.GenAIResponseModel(c.responseModel))
	}
	if res.Priced {
		attrs = append(attrs, costSpanKey.Float64(res.CostUSD), costCurrencyKey.String("USD"), costSourceKey.String("local"))
	}
	return attrs
}

// RecordCall records a finished call that was timed elsewhere, without a
// span of its own; ctx's span (if sampled) becomes the exemplar.
func (m *Metrics) RecordCall(ctx context.Context, req Request, u Usage, d time.Duration, err error) Result {
	return m.record(ctx, m.labels.get(req.Provider, req.Model), req.Operation.normalize(), u.clamp(), d, err, false)
}

func (m *Metrics) record(ctx context.Context, e *entry, op Operation, u Usage, d time.Duration, err error, rateLimited bool) Result {
	res := Result{Provider: e.provider, Model: e.model, Priced: e.priced}
	if e.providerFolded || e.modelFolded {
		m.countFolded(ctx, e)
	}
	secs := d.Seconds()
	outcome := 0
	var et ErrorType
	if err != nil {
		outcome = 1
		et = Classify(err)
	}

	m.requests.Add(ctx, 1, e.base.Add...)
	m.duration.Record(ctx, secs, e.outcome[outcome].Record...)
	if err != nil {
		m.errors.Add(ctx, 1, e.opts(lazyKey{kind: lazyError, a: string(et)}).Add...)
		if et == ErrorRateLimited && !rateLimited {
			m.rateLimits.Add(ctx, 1, e.base.Add...)
		}
	}
	if total := u.InputTokens + u.OutputTokens; total > 0 {
		m.tokens.Add(ctx, total, e.base.Add...)
		// The types partition the total: input and output are what is
		// left of each after the cache and reasoning parts.
		for i, n := range [len(tokenTypes)]int64{
			u.InputTokens - u.CachedInputTokens - u.CacheWriteInputTokens,
			u.OutputTokens - u.ReasoningTokens,
			u.CachedInputTokens, u.CacheWriteInputTokens, u.ReasoningTokens,
		} {
			if n > 0 || i < 2 {
				m.tokensByType.Add(ctx, n, e.byType[i].Add...)
			}
		}
	}
	if e.priced {
		res.CostUSD = e.price.Cost(u)
		m.cost.Add(ctx, res.CostUSD, e.base.Add...)
	} else {
		m.unpriced.Add(ctx, 1, e.base.Add...)
		if !e.warned.Swap(true) {
			switch m.labels.unpricedWarning(e.provider, e.realModel) {
			case warnModel:
				m.logger.Warn("llmmetrics: no price for this model; its calls are counted in llm_cost_unpriced_total, "+
					"not in llm_cost_dollars_total. Add it to a price file named by "+PricesFileEnv,
					"provider", e.provider, "model", e.realModel)
			case warnLastOnce:
				m.logger.Warn(fmt.Sprintf("llmmetrics: %d unpriced models warned about; further ones are not logged "+
					"(llm_cost_unpriced_total still counts their calls)", maxWarned))
			}
		}
	}
	m.recordGenAI(ctx, e, op, u, secs, et)
	return res
}

// recordGenAI records the GenAI semantic-convention instruments.
func (m *Metrics) recordGenAI(ctx context.Context, e *entry, op Operation, u Usage, secs float64, et ErrorType) {
	g := e.genAIFor(op)
	dur := g.duration
	if et != "" {
		dur = e.opts(lazyKey{kind: lazyGenAIDuration, op: op, a: string(et)})
	}
	if m.conventions.v141() {
		m.genAIDuration.Record(ctx, secs, dur.Record...)
		// Only calls that reported usage: zeros would drag the distribution.
		if et == "" && u.InputTokens+u.OutputTokens > 0 {
			m.genAITokens.Record(ctx, u.InputTokens, g.input.Record...)
			m.genAITokens.Record(ctx, u.OutputTokens, g.output.Record...)
		}
	}
	if m.conventions.latest() {
		m.genAIInference.Record(ctx, secs, dur.Record...)
		if u.InputTokens > 0 {
			m.genAIInput.Add(ctx, u.InputTokens, g.usage.Add...)
		}
		if u.OutputTokens > 0 {
			m.genAIOutput.Add(ctx, u.OutputTokens, g.usage.Add...)
		}
		if u.CachedInputTokens > 0 {
			m.genAICacheRead.Add(ctx, u.CachedInputTokens, g.usage.Add...)
		}
	}
}

// countFolded counts a call whose provider or model label is _OTHER because
// of a bound, and says so once.
func (m *Metrics) countFolded(ctx context.Context, e *entry) {
	if e.providerFolded {
		m.folded.Add(ctx, 0)
	}
	if e.modelFolded {
		m.folded.Add(ctx, 1)
	}
	if m.foldWarned.CompareAndSwap(false, true) {
		m.logger.Warn(fmt.Sprintf("llmmetrics: more than %d provider/model label pairs (or %d extra providers): further ones are recorded as %s, "+
			"counted in otelobs_label_folded_total; costs stay exact (WithMaxSeries raises the bound)", m.labels.maxSeries, maxExtraProviders, Other),
			"provider", e.provider, "model", e.realModel)
	}
}
