// Package llmmetrics instruments the Agent Orchestrator's LLM calls:
// requests, tokens by type, cost in dollars, rate limits, tool calls,
// duration and streaming latency, plus the GenAI semantic-convention
// instruments, with a span per call, and agent steps and tool runs as spans.
// It uses only the OpenTelemetry API.
//
// The official SDKs need no code beyond one client option, in packages of
// their own so that this one compiles neither SDK:
// openaimetrics.Option for github.com/openai/openai-go/v3 (and any
// OpenAI-compatible endpoint) and anthropicmetrics.Option for
// github.com/anthropics/anthropic-sdk-go/v2. Their documentation maps each
// API's usage fields to Usage. For other clients:
//
//	m, err := llmmetrics.New() // after otelobs.Setup; uses the global providers
//
//	ctx, call := m.StartCall(ctx, llmmetrics.Request{Provider: "openai", Model: "gpt-4o"})
//	defer call.End(&err) // err: the named result, read when End runs
//	resp, err := client.Do(ctx, …)
//	if err != nil { return err }
//	call.SetUsage(llmmetrics.Usage{InputTokens: resp.PromptTokens, OutputTokens: resp.CompletionTokens})
//
// # Instruments
//
//	OTel instrument          Kind       Unit       Attributes                      Prometheus series (both export paths)
//	llm.requests             counter    {request}  provider, model                 llm_requests_total
//	llm.request.errors       counter    {request}  provider, model, error_type     llm_request_errors_total
//	llm.request.duration     histogram  s          provider, model, outcome        llm_request_duration_seconds_bucket/_sum/_count
//	llm.tokens               counter    {token}    provider, model                 llm_tokens_total
//	llm.tokens.by_type       counter    {token}    provider, model, token_type     llm_tokens_by_type_total
//	llm.cost.dollars         counter    (none)     provider, model                 llm_cost_dollars_total
//	llm.cost.unpriced        counter    {request}  provider, model                 llm_cost_unpriced_total
//	llm.rate_limit.events    counter    {event}    provider, model                 llm_rate_limit_events_total
//	llm.rate_limit.remaining gauge      (none)     provider, model, limit_type     llm_rate_limit_remaining
//	llm.rate_limit.limit     gauge      (none)     provider, model, limit_type     llm_rate_limit_limit
//	llm.rate_limit.retry_after gauge    s          provider, model                 llm_rate_limit_retry_after_seconds
//	llm.tool_calls           counter    {call}     provider, model                 llm_tool_calls_total
//	otelobs.label.folded     counter    {measurement} package, label (provider, model)  otelobs_label_folded_total
//
// The rate-limit gauges hold what the provider's last response said
// (SetRateLimit, RateLimitFromHeaders), limit_type requests or tokens;
// llm.tool_calls counts the tool calls models asked for (SetToolCalls),
// which are not requests.
//
// otelobs.label.folded counts the calls whose provider or model label is
// _OTHER because of the series bound (WithMaxSeries, and 16 providers outside
// the known list); their costs and tokens stay exact under _OTHER. Its series
// exist at 0 from the start, and the first fold is logged once.
//
// GenAI semantic conventions (OTEL_SEMCONV_STABILITY_OPT_IN, or WithConventions):
//
//	default (v1.41):          gen_ai.client.token.usage (histogram, {token}; gen_ai.token.type)  gen_ai_client_token_usage_bucket/_sum/_count
//	                          gen_ai.client.operation.duration (histogram, s)                    gen_ai_client_operation_duration_seconds_bucket/_sum/_count
//	always, for streams:      gen_ai.client.operation.time_to_first_chunk (histogram, s)         gen_ai_client_operation_time_to_first_chunk_seconds_*
//	                          gen_ai.client.operation.time_per_output_chunk (histogram, s)       gen_ai_client_operation_time_per_output_chunk_seconds_*
//	gen_ai_latest_experimental: gen_ai.client.inference.duration (histogram, s)                  gen_ai_client_inference_duration_seconds_*
//	                          gen_ai.client.inference.usage.input_tokens (counter, {token})      gen_ai_client_inference_usage_input_tokens_total
//	                          gen_ai.client.inference.usage.output_tokens                        gen_ai_client_inference_usage_output_tokens_total
//	                          gen_ai.client.inference.usage.cache_read.input_tokens              gen_ai_client_inference_usage_cache_read_input_tokens_total
//	gen_ai_latest_experimental/dup: both sets.
//
// The GenAI instruments carry gen_ai.operation.name, gen_ai.provider.name,
// gen_ai.request.model and, on failure, error.type. Their buckets are the
// conventions' advice (DurationBuckets, TokenBuckets, FirstChunkBuckets,
// PerChunkBuckets), which the OTel Go semconv helpers omit;
// llm.request.duration uses the same duration buckets. CallOp.Chunk records
// the streaming pair.
//
// # Why these label sets
//
// llm_requests_total and llm_tokens_total carry exactly provider and model,
// so the guide's "tokens per request" query
//
//	rate(llm_tokens_total[5m]) / rate(llm_requests_total[5m])
//
// matches series one to one as written. The token type (input, output,
// cached_input, cache_write, reasoning, which add up to llm_tokens_total:
// input and output are what is left of each after the cache and reasoning
// parts) and the request's
// failure type live on their own instruments, llm_tokens_by_type_total and
// llm_request_errors_total, instead of extra labels that would break that
// division. Error rate: sum by (model) (rate(llm_request_errors_total[5m])) /
// sum by (model) (rate(llm_requests_total[5m])).
//
// # Label values are bounded
//
// provider and model are lower-cased, stripped to letters, digits and
// . _ : / -, and cut to 64 characters. Provider aliases fold to one value
// (gemini, vertex_ai, gcp.gemini → google; azure_openai → azure;
// mistral_ai → mistral; x_ai → xai; aws.bedrock → bedrock), while spans and
// the GenAI instruments keep the conventions' gen_ai.provider.name for the
// provider as passed in (vertex_ai → gcp.vertex_ai, gemini → gcp.gemini,
// azure → azure.ai.openai, bedrock → aws.bedrock). Providers outside
// the known list are admitted up to 16, then fold to _OTHER; provider and
// model pairs are capped at WithMaxSeries (DefaultMaxSeries, 200), after
// which a provider's new models fold to model _OTHER (their cost is still
// computed with their own price). Dated model snapshots
// (gpt-4o-2024-08-06) keep their own label value and are priced as their
// family, unless the table lists the snapshot itself because it is priced
// differently (gpt-4o-2024-05-13). error_type is one of the ErrorType constants, outcome is success
// or error, token_type one of the five above. A hostile or
// buggy caller therefore cannot create more than a few thousand series here.
// Independently, the SDK caps every instrument at 2000 attribute sets
// (OTELOBS_CARDINALITY_LIMIT in otelobs.Setup); past that, measurements fold
// into one series labelled otel_metric_overflow="true".
//
// # Cost
//
// Cost is computed locally from a price table (USD per million input,
// output, cache-read and cache-write tokens; reasoning is billed as output):
// the embedded table (PricesVersion), embedding models included, for
// common OpenAI, Anthropic, Google, Mistral, DeepSeek, Meta, xAI and Cohere
// models, overridden and extended by a file named in
// OTELOBS_LLM_PRICES_FILE (ParsePrices describes the format; a bad file is
// an error from New naming the file and line, and the embedded table is used
// meanwhile). Models reached through gateways resolve too: "vendor/model"
// ids as that vendor's model, and for a gateway provider (IsGateway) a
// model by its name alone (Prices.Lookup). There is no network fetch. A model with no price is never
// counted as $0: its calls go to llm_cost_unpriced_total, and its first call
// is logged, once per model for 256 models at most (model names come from
// callers), then once more to say that further ones are not logged.
//
// # Spans and exemplars
//
// StartCall starts a client span "{operation} {model}" with
// gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.model and
// server.address (and gen_ai.request.stream, and the attributes of
// ContextWithSpanAttributes); End adds gen_ai.usage.input_tokens/output_tokens,
// the cache and reasoning counts, gen_ai.response.time_to_first_chunk,
// gen_ai.response.model, the cost (gen_ai.usage.cost.amount, .currency,
// .source=local) and, on failure, error.type and an error status.
// StartCallIn records on a span an SDK started instead. StartAgent and
// StartTool start the conventions' invoke_agent and execute_tool spans.
// Prompts, completions and credentials are never recorded. Every measurement is
// recorded with the call span's context, so the exemplars on cost, tokens,
// requests and duration lead to the call's trace.
//
// # Concurrency and allocation
//
// Metrics is safe for concurrent use; a CallOp belongs to one goroutine and
// is ended once. Label sets are built once per provider and model and cached;
// recording a call of a model already seen allocates nothing beyond the span.
package llmmetrics
