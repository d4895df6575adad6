// Package otelobs gives a Go service OpenTelemetry metrics and traces with one
// call, configured by the standard OTEL_* environment variables, with
// exemplars that link metrics to traces on both export paths: Prometheus pull
// from the service's own /metrics, and OTLP push to an OpenTelemetry
// Collector.
//
//	tel, err := otelobs.Setup(ctx)
//	if err != nil {
//		return err
//	}
//	defer func() { err = errors.Join(err, tel.Shutdown(context.WithoutCancel(ctx))) }()
//	mux.Handle("GET /metrics", tel.MetricsHandler())
//
// Setup is the only package of this module that imports the OpenTelemetry SDK
// and exporters. The domain packages (gitmetrics, taskmetrics, llmmetrics)
// use only the API and the global providers Setup installs.
//
// # Environment variables
//
// Setup reads these itself. An empty value counts as unset; enumerated values
// are case-insensitive. A bad value is logged as a warning, once per
// variable, naming the variable, the value and what is accepted, and the
// default applies, as the specification asks (an unknown boolean such as
// OTEL_SDK_DISABLED=yes is false): a telemetry setting never takes the
// application down. Summary.EnvWarnings lists them. WithStrictEnv, or
// OTELOBS_STRICT_ENV=true, makes every bad value an *EnvError from Setup
// instead, all reported at once: use it in CI and development. Variables of
// an exporter that is not selected are not checked, since nothing reads
// them.
//
//	Variable                                 Values                                       Default
//	OTEL_SDK_DISABLED                        true, false                                  false (true: no-op providers, /metrics serves only WithPrometheusGatherer's)
//	OTEL_SERVICE_NAME                        any                                          WithServiceName, else unknown_service:<executable>
//	OTEL_RESOURCE_ATTRIBUTES                 key=value,… (values URL-encoded)             none
//	OTEL_METRICS_EXPORTER                    prometheus, otlp, console, none, or a list   prometheus (spec: otlp)
//	OTEL_TRACES_EXPORTER                     otlp, console, none, or a list               otlp if OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT is set, else none (spec: otlp)
//	OTEL_EXPORTER_OTLP_PROTOCOL              grpc, http/protobuf                          http/protobuf
//	OTEL_EXPORTER_OTLP_{METRICS,TRACES}_PROTOCOL  as above                                OTEL_EXPORTER_OTLP_PROTOCOL
//	OTEL_METRIC_EXPORT_INTERVAL              milliseconds > 0                             15000 (spec: 60000)
//	OTEL_METRIC_EXPORT_TIMEOUT               milliseconds > 0                             30000
//	OTEL_METRICS_EXEMPLAR_FILTER             trace_based, always_on, always_off           trace_based
//	OTEL_TRACES_SAMPLER                      always_on, always_off, traceidratio,         parentbased_always_on
//	                                         parentbased_always_on, parentbased_always_off,
//	                                         parentbased_traceidratio
//	OTEL_TRACES_SAMPLER_ARG                  0 … 1 (ratio samplers only)                  1
//	OTEL_PROPAGATORS                         tracecontext, baggage, b3, b3multi, jaeger,  tracecontext,baggage
//	                                         xray, ottrace, none (a list)
//	OTEL_EXPORTER_PROMETHEUS_HOST            host or IP                                   localhost (only used when a listener is asked for)
//	OTEL_EXPORTER_PROMETHEUS_PORT            0 … 65535 (0: any free port)                 9464 (only used when a listener is asked for)
//	OTEL_LOG_LEVEL                           debug, info, warn, error, none               info
//	OTELOBS_CARDINALITY_LIMIT                series per instrument, 0 = no limit          2000 (the SDK's)
//	OTELOBS_STRICT_ENV                       true, false                                  false (true: a bad value fails Setup)
//	OTEL_CONFIG_FILE                         must be unset                                (declarative config is not supported)
//
// Setting OTEL_EXPORTER_PROMETHEUS_HOST or _PORT starts a stand-alone /metrics
// listener, for programs without an HTTP server of their own; without them,
// mount MetricsHandler on the application's mux.
//
// These are validated by Setup (certificates must parse, a client
// certificate needs its key at the same level, generic or per signal, since
// the exporters ignore half a pair; header names must be valid, compression
// is lower case as the exporters require) and then read by the OTLP exporters
// and the SDK themselves (each also in the OTEL_EXPORTER_OTLP_TRACES_… and
// OTEL_EXPORTER_OTLP_METRICS_… forms, which win over the generic one):
//
//	OTEL_EXPORTER_OTLP_ENDPOINT              http(s) URL                                  http://localhost:4318 (http/protobuf), http://localhost:4317 (grpc)
//	OTEL_EXPORTER_OTLP_HEADERS               key=value,… (values URL-encoded)             none
//	OTEL_EXPORTER_OTLP_TIMEOUT               milliseconds                                 10000
//	OTEL_EXPORTER_OTLP_COMPRESSION           gzip, none                                   none
//	OTEL_EXPORTER_OTLP_INSECURE              true, false                                  false
//	OTEL_EXPORTER_OTLP_CERTIFICATE           path of a PEM file                           system roots
//	OTEL_EXPORTER_OTLP_CLIENT_KEY            path of a PEM file                           none
//	OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE    path of a PEM file                           none
//	OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE  cumulative, delta, lowmemory       cumulative (keep it for Prometheus)
//	OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION  explicit_bucket_histogram,  explicit_bucket_histogram
//	                                         base2_exponential_bucket_histogram
//	OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE
//	                                         positive integers, no spaces                 the SDK's
//	OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_EXPORT_BATCH_SIZE
//	                                         non-negative integers, no spaces             the SDK's
//	OTEL_ATTRIBUTE_*_LIMIT, OTEL_SPAN_*_LIMIT,
//	OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, OTEL_LINK_ATTRIBUTE_COUNT_LIMIT
//	                                         integers, no spaces; negative: no limit      the SDK's
//
// # Defaults, and why they differ from the specification
//
// The specification defaults both exporters to otlp. A program started that
// way with no Collector running logs an export error every few seconds and
// shows nothing. Setup's defaults make a fresh `go run` useful on its own:
// metrics are served for Prometheus to pull (mount MetricsHandler), and traces
// are exported only when an OTLP endpoint is configured. Spans are still
// created and sampled without an exporter, so exemplars carry trace ids either
// way. Set OTEL_METRICS_EXPORTER=otlp and OTEL_TRACES_EXPORTER=otlp for the
// specification's behaviour. Without an endpoint variable, the OTLP exporters
// use the specification's plain-http default rather than the Go exporters'
// TLS one.
//
// # Names on both paths
//
// The Prometheus exporter is pinned to the UnderscoreEscapingWithSuffixes
// translation, which is also what the Collector's prometheus exporter and
// Prometheus's OTLP receiver use, so an instrument gets the same series name
// on both paths (histogram git.merge.duration in seconds becomes
// git_merge_duration_seconds_bucket/_sum/_count). Pull drops the
// otel_scope_name/otel_scope_version labels, which the OTLP receiver does not
// add either. What still differs is job and instance: on pull they come from
// the scrape configuration; through the OTLP receiver they are service.name
// and service.instance.id.
//
// # Outages of the Collector
//
// Every span exporter sits behind a buffer: the batch span processor hands
// each batch over at once, and one goroutine delivers the batches in order.
// When an attempt fails in a way a later one may not (a refused connection,
// a timeout, HTTP 429 or 502-504, gRPC UNAVAILABLE), the batch is tried
// again, 250 ms later at first and then at most every 5 s, while new spans
// queue behind it; the OTLP exporters alone drop such a batch (the HTTP one
// does not retry a refused connection), so the traces of a Collector restart
// would be lost. Up to DefaultSpanBuffer spans (16384, about 13 MiB of git.merge spans; see
// WithSpanBuffer) are held; beyond that the oldest are dropped. What is
// dropped, refused by the endpoint for good, or still held when Shutdown
// gives up (it makes one attempt more, not a wait) is counted in
// otelobs_telemetry_dropped_total by signal and reason (see
// DroppedMetricName), on /metrics and through OTLP; the TelemetryDropped
// alert watches it. Telemetry.ForceFlush waits until the held spans are
// delivered. Metrics need no buffer: with cumulative temporality the next
// export carries the totals.
//
// # Build tags
//
// -tags otelobs_nootlp builds Setup without the OTLP exporters (and gRPC,
// which they import): a service that only serves /metrics is then 10.9 MB
// instead of 17.6 MB. Setup warns about otlp in OTEL_METRICS_EXPORTER or
// OTEL_TRACES_EXPORTER and leaves it out.
//
// # Exemplars
//
// A histogram or counter measurement recorded with a context that holds a
// sampled span carries that span's trace_id and span_id as an exemplar (the
// default trace_based filter). Gauges and up-down counters carry none on the
// pull path. MetricsHandler serves OpenMetrics to scrapers that ask for it,
// which Prometheus does by default; Prometheus must run with
// --enable-feature=exemplar-storage to keep them.
package otelobs
