package otelobs

import (
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// config is what the options set. Environment variables are read separately
// (see settings) and take precedence where both name the same thing.
type config struct {
	serviceName    string
	serviceVersion string
	attributes     []attribute.KeyValue
	logger         *slog.Logger
	readers        []sdkmetric.Reader
	processors     []sdktrace.SpanProcessor
	views          []sdkmetric.View
	gatherers      []prometheus.Gatherer
	consoleWriter  io.Writer
	noGlobals      bool
	lookup         lookupFunc
	spanBuffer     int
	strictEnv      bool
	noRuntime      bool
}

// Option configures Setup.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func newConfig(opts []Option) config {
	c := config{lookup: os.LookupEnv, consoleWriter: os.Stdout, spanBuffer: DefaultSpanBuffer}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithServiceName sets the default service.name. OTEL_SERVICE_NAME and a
// service.name in OTEL_RESOURCE_ATTRIBUTES take precedence, so operators can
// rename a deployment without a rebuild. Without either, the executable's
// name is used.
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) { c.serviceName = name })
}

// WithServiceVersion sets the default service.version. Without it, the main
// module's version from the build information is used when there is one.
// OTEL_RESOURCE_ATTRIBUTES takes precedence.
func WithServiceVersion(version string) Option {
	return optionFunc(func(c *config) { c.serviceVersion = version })
}

// WithResourceAttributes adds attributes to the resource that describes the
// service (for example deployment.environment.name). OTEL_RESOURCE_ATTRIBUTES
// takes precedence over them.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) { c.attributes = append(c.attributes, attrs...) })
}

// WithLogger sets the logger for Setup's start-up line, its warnings, and the
// errors the SDK reports while running (export failures, for example), which
// are de-duplicated so that an absent Collector does not flood the log. The
// default is slog.Default(). OTEL_LOG_LEVEL sets the minimum level.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMetricReader adds a metric reader next to the ones chosen by
// OTEL_METRICS_EXPORTER, for example an sdkmetric.ManualReader in tests. It is
// added even when OTEL_METRICS_EXPORTER=none, and it is shut down with the
// MeterProvider.
func WithMetricReader(r sdkmetric.Reader) Option {
	return optionFunc(func(c *config) {
		if r != nil {
			c.readers = append(c.readers, r)
		}
	})
}

// WithSpanProcessor adds a span processor next to the exporters chosen by
// OTEL_TRACES_EXPORTER, for example one wrapping an in-memory exporter in
// tests. It is shut down with the TracerProvider.
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.processors = append(c.processors, p)
		}
	})
}

// WithView adds views to the MeterProvider.
func WithView(views ...sdkmetric.View) Option {
	return optionFunc(func(c *config) { c.views = append(c.views, views...) })
}

// WithPrometheusGatherer adds a client_golang gatherer whose metrics are
// served next to the OpenTelemetry ones on the Prometheus endpoint: for
// example prometheus.DefaultGatherer, to keep metrics an application already
// registers with client_golang (and its go_* and process_* collectors).
func WithPrometheusGatherer(g prometheus.Gatherer) Option {
	return optionFunc(func(c *config) {
		if g != nil {
			c.gatherers = append(c.gatherers, g)
		}
	})
}

// WithConsoleWriter sets where the console exporters write; the default is
// os.Stdout.
func WithConsoleWriter(w io.Writer) Option {
	return optionFunc(func(c *config) {
		if w != nil {
			c.consoleWriter = w
		}
	})
}

// WithoutGlobals makes Setup leave the global MeterProvider, TracerProvider,
// propagator and error handler alone. Use the Telemetry's accessors instead,
// for example to run several set-ups side by side in tests.
func WithoutGlobals() Option {
	return optionFunc(func(c *config) { c.noGlobals = true })
}

// withLookupEnv replaces os.LookupEnv for the variables Setup reads itself.
// The OTLP exporters still read the process environment, so it is for tests
// of the parsing only.
func withLookupEnv(f lookupFunc) Option {
	return optionFunc(func(c *config) { c.lookup = f })
}

// WithSpanBuffer sets how many spans each span exporter holds while its
// endpoint does not answer (DefaultSpanBuffer without it), the batch being
// sent included. The held spans are delivered in order once the endpoint
// answers; past the bound the oldest are dropped and counted in
// otelobs_telemetry_dropped_total (see DroppedMetricName). The bound must
// hold two of the batch span processor's batches (2 × 512 spans by default,
// OTEL_BSP_MAX_EXPORT_BATCH_SIZE): Setup fails otherwise.
func WithSpanBuffer(spans int) Option {
	return optionFunc(func(c *config) { c.spanBuffer = spans })
}

// WithStrictEnv makes a bad environment value an error from Setup (an
// *EnvError naming the variable, the value and what is accepted) instead of
// a warning with the default applied. OTELOBS_STRICT_ENV=true does the same;
// use either in CI and development, where a typo should stop the build
// rather than quietly run on defaults.
func WithStrictEnv() Option {
	return optionFunc(func(c *config) { c.strictEnv = true })
}

// WithoutRuntimeMetrics leaves out the Go runtime's and the process's
// metrics, which Setup otherwise records on both export paths: the runtime's
// through go.opentelemetry.io/contrib/instrumentation/runtime
// (go_memory_used_bytes, go_goroutine_count, go_memory_allocated_bytes_total,
// go_memory_gc_goal_bytes, go_config_gogc_percent, …) and, on Linux, the
// conventions' process.* instruments (process_cpu_time_seconds_total,
// process_memory_usage_bytes, process_memory_virtual_bytes,
// process_thread_count, process_unix_file_descriptor_count,
// process_uptime_seconds).
func WithoutRuntimeMetrics() Option {
	return optionFunc(func(c *config) { c.noRuntime = true })
}
