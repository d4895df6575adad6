package otelobs

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Names of the environment variables Setup reads itself. The OTLP exporters
// and the SDK read the pass-through variables (endpoint, headers, TLS, batch
// span processor, limits) on their own; Setup validates those first so that a
// bad value is an error from Setup instead of a log line at export time.
const (
	envSDKDisabled         = "OTEL_SDK_DISABLED"
	envConfigFile          = "OTEL_CONFIG_FILE"
	envServiceName         = "OTEL_SERVICE_NAME"
	envResourceAttributes  = "OTEL_RESOURCE_ATTRIBUTES"
	envMetricsExporter     = "OTEL_METRICS_EXPORTER"
	envTracesExporter      = "OTEL_TRACES_EXPORTER"
	envOTLPProtocol        = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envOTLPMetricsProtocol = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
	envOTLPTracesProtocol  = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envOTLPEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPMetricsEndpoint = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	envOTLPTracesEndpoint  = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envExportInterval      = "OTEL_METRIC_EXPORT_INTERVAL"
	envExportTimeout       = "OTEL_METRIC_EXPORT_TIMEOUT"
	envExemplarFilter      = "OTEL_METRICS_EXEMPLAR_FILTER"
	envTracesSampler       = "OTEL_TRACES_SAMPLER"
	envTracesSamplerArg    = "OTEL_TRACES_SAMPLER_ARG"
	envPropagators         = "OTEL_PROPAGATORS"
	envPrometheusHost      = "OTEL_EXPORTER_PROMETHEUS_HOST"
	envPrometheusPort      = "OTEL_EXPORTER_PROMETHEUS_PORT"
	envLogLevel            = "OTEL_LOG_LEVEL"
	envCardinalityLimit    = "OTELOBS_CARDINALITY_LIMIT"
	envStrictEnv           = "OTELOBS_STRICT_ENV"
	envTemporality         = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
	envHistogramAgg        = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"
)

// Exporter and protocol names, as the OpenTelemetry specification spells them.
const (
	exporterPrometheus = "prometheus"
	exporterOTLP       = "otlp"
	exporterConsole    = "console"
	exporterNone       = "none"

	protocolGRPC         = "grpc"
	protocolHTTPProtobuf = "http/protobuf"
)

// Defaults where Setup departs from, or has to pick within, the specification.
const (
	// defaultExportInterval is 15 s instead of the specification's 60 s: the
	// Prometheus OTLP guide recommends it, and a 60 s push leaves gaps in
	// dashboards built on short rate() windows.
	defaultExportInterval = 15 * time.Second
	defaultExportTimeout  = 30 * time.Second
	defaultPrometheusHost = "localhost"
	defaultPrometheusPort = 9464
)

// EnvError reports an environment variable whose value Setup cannot use. It
// names the variable, the value and what would have been accepted.
type EnvError struct {
	// Var is the environment variable's name.
	Var string
	// Value is the value found, as set.
	Value string
	// Reason says what is wrong with the value.
	Reason string
	// Accepted describes the values that would be accepted.
	Accepted string

	readBy string // "": Setup; else who reads the variable itself
}

// ignored says what becomes of the value when Setup only warns.
func (e *EnvError) ignored() string {
	if e.readBy == "" {
		return "ignored, the default applies"
	}
	return "read by " + e.readBy + " itself, which ignores what it cannot use"
}

// Error implements error.
func (e *EnvError) Error() string {
	return fmt.Sprintf("otelobs: %s=%q: %s; accepted: %s", e.Var, e.Value, e.Reason, e.Accepted)
}

// settings is everything Setup resolved from the environment.
type settings struct {
	disabled bool

	metricsExporters []string
	tracesExporters  []string
	// otlpEndpointOnly: OTEL_EXPORTER_OTLP_ENDPOINT is set (as the OTel
	// Operator injects it) and OTEL_METRICS_EXPORTER is not, so traces are
	// pushed and metrics stay on pull.
	otlpEndpointOnly bool
	metricsProtocol  string
	tracesProtocol   string

	exportInterval time.Duration
	exportTimeout  time.Duration

	exemplarFilter     exemplar.Filter
	exemplarFilterName string
	sampler            sdktrace.Sampler
	samplerName        string
	propagator         propagation.TextMapPropagator
	propagatorNames    []string

	// prometheusListen is true when OTEL_EXPORTER_PROMETHEUS_HOST or _PORT is
	// set: Setup then serves /metrics on a listener of its own.
	prometheusListen bool
	prometheusHost   string
	prometheusPort   int

	cardinalityLimit    int
	cardinalityLimitSet bool

	logLevel slog.Level
	logOff   bool

	// strict is OTELOBS_STRICT_ENV=true: a bad value fails Setup.
	strict bool
	// bspDefaults undo bad OTEL_BSP_* values, which the SDK would read
	// itself (a delay of 0 spins): the default applies, as the warning says.
	bspDefaults []sdktrace.BatchSpanProcessorOption
	// bspBatch is the largest batch the batch span processor exports.
	bspBatch int
}

// lookupFunc reads one environment variable, like os.LookupEnv.
type lookupFunc func(string) (string, bool)

// envReader reads variables and collects every problem, so that one Setup call
// reports all bad values at once.
type envReader struct {
	lookup lookupFunc
	errs   []error
	// readBy names who reads the variables being checked, when not Setup
	// (the exporters, the SDK).
	readBy string
}

// get returns the trimmed value of name; an empty value counts as unset, as
// the specification requires.
func (r *envReader) get(name string) (string, bool) {
	v, ok := r.lookup(name)
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

func (r *envReader) fail(name, value, reason, accepted string) {
	r.errs = append(r.errs, &EnvError{Var: name, Value: value, Reason: reason, Accepted: accepted, readBy: r.readBy})
}

// unused runs read and forgets its problems when skip is set: the
// variables of an exporter that is not selected are read by nothing, so a
// bad value there must not count.
func (r *envReader) unused(skip bool, read func()) {
	n := len(r.errs)
	read()
	if skip {
		r.errs = r.errs[:n]
	}
}

// bool reads a boolean variable ("true" or "false", any case).
func (r *envReader) bool(name string, def bool) bool {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	r.fail(name, v, "not a boolean", "true, false")
	return def
}

// millis reads a duration given in integer milliseconds.
func (r *envReader) millis(name string, def time.Duration, allowZero bool) time.Duration {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || (n == 0 && !allowZero) || n > int64(24*time.Hour/time.Millisecond) {
		accepted := "a positive whole number of milliseconds, at most 86400000"
		if allowZero {
			accepted = "a non-negative whole number of milliseconds, at most 86400000"
		}
		r.fail(name, v, "not a valid number of milliseconds", accepted)
		return def
	}
	return time.Duration(n) * time.Millisecond
}

// nonNegInt reads a non-negative integer.
func (r *envReader) nonNegInt(name string) (int, bool) {
	v, ok := r.get(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.fail(name, v, "not a non-negative integer", "0, 1, 2, …")
		return 0, false
	}
	return n, true
}

// oneOf reads an enumerated value, case-insensitively.
func (r *envReader) oneOf(name, def string, accepted ...string) string {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	lv := strings.ToLower(v)
	for _, a := range accepted {
		if lv == a {
			return a
		}
	}
	r.fail(name, v, "unknown value", strings.Join(accepted, ", "))
	return def
}

// list reads a comma-separated list of enumerated values. Duplicates are
// dropped; "none" may not be combined with other values. hints maps values
// users try that are not supported to a sentence saying what to use instead.
func (r *envReader) list(name string, def []string, accepted []string, hints map[string]string) []string {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	acceptedText := strings.Join(accepted, ", ") + " (or a comma-separated list of them)"
	var out []string
	seen := map[string]bool{}
	for part := range strings.SplitSeq(v, ",") {
		p := strings.ToLower(strings.TrimSpace(part))
		if p == "" {
			r.fail(name, v, "empty element in list", acceptedText)
			return def
		}
		known := false
		for _, a := range accepted {
			known = known || p == a
		}
		if !known {
			reason := fmt.Sprintf("unknown exporter %q", p)
			if h, ok := hints[p]; ok {
				reason += " (" + h + ")"
			}
			r.fail(name, v, reason, acceptedText)
			return def
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if seen[exporterNone] && len(out) > 1 {
		r.fail(name, v, `"none" cannot be combined with other exporters`, acceptedText)
		return def
	}
	if seen[exporterNone] {
		return nil
	}
	return out
}

var exporterHints = map[string]string{
	"logging": "renamed to console in the specification",
	"zipkin":  "not built in; send OTLP to a Collector with a zipkin exporter",
	"jaeger":  "Jaeger accepts OTLP: use otlp",
	"stdout":  "use console",
}

// loadSettings reads and validates every variable Setup depends on. It returns
// the joined EnvErrors of every bad value, and settings in which each of
// them is replaced by its default.
func loadSettings(lookup lookupFunc) (settings, error) {
	r := &envReader{lookup: lookup}
	var s settings

	if v, ok := r.get(envConfigFile); ok {
		r.fail(envConfigFile, v, "declarative configuration files are not supported by otelobs.Setup "+
			"(the specification says every other variable must then be ignored, so it cannot be merged)",
			"unset; or build the SDK with go.opentelemetry.io/contrib/otelconf yourself")
	}

	s.disabled = r.bool(envSDKDisabled, false)

	s.logLevel = slog.LevelInfo
	switch r.oneOf(envLogLevel, "info", "debug", "info", "warn", "error", "none") {
	case "debug":
		s.logLevel = slog.LevelDebug
	case "warn":
		s.logLevel = slog.LevelWarn
	case "error":
		s.logLevel = slog.LevelError
	case "none":
		s.logOff = true
	}

	metricsAccepted := []string{exporterPrometheus, exporterOTLP, exporterConsole, exporterNone}
	tracesAccepted := []string{exporterOTLP, exporterConsole, exporterNone}
	hints := exporterHints
	if !otlpAvailable {
		metricsAccepted = []string{exporterPrometheus, exporterConsole, exporterNone}
		tracesAccepted = []string{exporterConsole, exporterNone}
		hints = maps.Clone(exporterHints)
		hints[exporterOTLP] = "this binary was built with -tags otelobs_nootlp, without the OTLP exporters"
	}
	s.metricsExporters = r.list(envMetricsExporter, []string{exporterPrometheus}, metricsAccepted, hints)
	_, metricsSet := r.get(envMetricsExporter)
	_, s.otlpEndpointOnly = r.get(envOTLPEndpoint)
	s.otlpEndpointOnly = s.otlpEndpointOnly && !metricsSet

	// Traces default to OTLP only when an OTLP endpoint is configured, so a
	// program started with no Collector around does not log export errors.
	defTraces := []string(nil)
	if _, ok := r.get(envOTLPEndpoint); ok && otlpAvailable {
		defTraces = []string{exporterOTLP}
	}
	if _, ok := r.get(envOTLPTracesEndpoint); ok && otlpAvailable {
		defTraces = []string{exporterOTLP}
	}
	s.tracesExporters = r.list(envTracesExporter, defTraces, tracesAccepted, hints)
	otlpMetrics := contains(s.metricsExporters, exporterOTLP)
	otlpTraces := contains(s.tracesExporters, exporterOTLP)
	periodic := otlpMetrics || contains(s.metricsExporters, exporterConsole)

	protocols := []string{protocolGRPC, protocolHTTPProtobuf}
	protoHint := func(name, def string) string {
		if v, ok := r.get(name); ok && strings.EqualFold(v, "http/json") {
			r.fail(name, v, "http/json is not implemented by the OpenTelemetry Go exporters", strings.Join(protocols, ", "))
			return def
		}
		return r.oneOf(name, def, protocols...)
	}
	var generic string
	r.unused(!otlpMetrics && !otlpTraces, func() { generic = protoHint(envOTLPProtocol, protocolHTTPProtobuf) })
	r.unused(!otlpMetrics, func() { s.metricsProtocol = protoHint(envOTLPMetricsProtocol, generic) })
	r.unused(!otlpTraces, func() { s.tracesProtocol = protoHint(envOTLPTracesProtocol, generic) })

	r.unused(!periodic, func() {
		s.exportInterval = r.millis(envExportInterval, defaultExportInterval, false)
		s.exportTimeout = r.millis(envExportTimeout, defaultExportTimeout, false)
	})

	s.exemplarFilterName = r.oneOf(envExemplarFilter, "trace_based", "trace_based", "always_on", "always_off")
	switch s.exemplarFilterName {
	case "always_on":
		s.exemplarFilter = exemplar.AlwaysOnFilter
	case "always_off":
		s.exemplarFilter = exemplar.AlwaysOffFilter
	default:
		s.exemplarFilter = exemplar.TraceBasedFilter
	}

	s.sampler, s.samplerName = readSampler(r)
	s.propagator, s.propagatorNames = readPropagators(r)

	_, hostSet := r.get(envPrometheusHost)
	_, portSet := r.get(envPrometheusPort)
	s.prometheusListen = hostSet || portSet
	s.prometheusHost = defaultPrometheusHost
	if v, ok := r.get(envPrometheusHost); ok {
		s.prometheusHost = v
	}
	s.prometheusPort = defaultPrometheusPort
	if v, ok := r.get(envPrometheusPort); ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			r.fail(envPrometheusPort, v, "not a TCP port", "0 (any free port) to 65535")
		} else {
			s.prometheusPort = p
		}
	}

	s.cardinalityLimit, s.cardinalityLimitSet = r.nonNegInt(envCardinalityLimit)

	s.strict = r.bool(envStrictEnv, false)

	validatePassThrough(r, otlpMetrics, otlpTraces, len(s.tracesExporters) > 0)
	s.bspDefaults = bspDefaults(r.errs)
	s.bspBatch = bspBatchSize(lookup, r.errs)
	return s, errors.Join(r.errs...)
}

func readSampler(r *envReader) (sdktrace.Sampler, string) {
	samplers := []string{"always_on", "always_off", "traceidratio",
		"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}
	name := "parentbased_always_on"
	if v, ok := r.get(envTracesSampler); ok {
		switch lv := strings.ToLower(v); lv {
		case "jaeger_remote", "parentbased_jaeger_remote", "xray":
			r.fail(envTracesSampler, v, "not implemented by the OpenTelemetry Go SDK", strings.Join(samplers, ", "))
		default:
			name = r.oneOf(envTracesSampler, name, samplers...)
		}
	}
	ratio := 1.0
	if name == "traceidratio" || name == "parentbased_traceidratio" {
		if v, ok := r.get(envTracesSamplerArg); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
				r.fail(envTracesSamplerArg, v, "not a sampling probability for "+name, "a number from 0 to 1")
			} else {
				ratio = f
			}
		}
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), name
	case "always_off":
		return sdktrace.NeverSample(), name
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), fmt.Sprintf("%s(%g)", name, ratio)
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), name
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), fmt.Sprintf("%s(%g)", name, ratio)
	default:
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), name
	}
}

// readPropagators composes the propagators named in OTEL_PROPAGATORS through
// contrib's autoprop registry, which knows tracecontext, baggage, b3, b3multi,
// jaeger, xray, ottrace and none. autoprop.NewTextMapPropagator would only
// report an unknown name through otel.Handle; Setup wants it as an error.
func readPropagators(r *envReader) (propagation.TextMapPropagator, []string) {
	const accepted = "tracecontext, baggage, b3, b3multi, jaeger, xray, ottrace, none (comma-separated)"
	def := func() (propagation.TextMapPropagator, []string) {
		return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
			[]string{"tracecontext", "baggage"}
	}
	v, ok := r.get(envPropagators)
	if !ok {
		return def()
	}
	var names []string
	for p := range strings.SplitSeq(v, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			r.fail(envPropagators, v, "empty element in list", accepted)
			return def()
		}
		names = append(names, p)
	}
	prop, err := autoprop.TextMapPropagator(names...)
	if err != nil {
		r.fail(envPropagators, v, err.Error(), accepted)
		return def()
	}
	return prop, names
}
