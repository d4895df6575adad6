package otelobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	otelruntime "go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// scopeName is the instrumentation scope of the SDK's own instruments.
const scopeName = "github.com/agentorchestrator/observability/otelobs"

// Telemetry is what Setup configured: the providers, the Prometheus handler,
// and the exporters behind them. Call Shutdown before the program exits so
// that buffered spans and metrics are sent.
//
// A Telemetry is safe for concurrent use.
type Telemetry struct {
	mp       metric.MeterProvider
	tp       trace.TracerProvider
	prop     propagation.TextMapPropagator
	res      *resource.Resource
	handler  http.Handler
	listener net.Listener
	logger   *slog.Logger
	summary  Summary

	// flushers are ForceFlush funcs of the SDK providers.
	flushers []func(context.Context) error

	mu   sync.Mutex
	done bool
	// What Shutdown stops: the listener, what owns the
	// metric readers, what owns the span processors. Before the providers
	// exist, the owners are the readers and processors themselves. (A
	// scrape in progress at Shutdown may get an empty page.)
	listenerShutdown []func(context.Context) error
	metricShutdown   []func(context.Context) error
	spanShutdown     []func(context.Context) error

	resourceWarnings []*EnvError // OTEL_RESOURCE_ATTRIBUTES ignored
	spools           []*spool    // one per span exporter
}

// Summary describes the configuration Setup resolved, for start-up logs and
// diagnostics.
type Summary struct {
	// Disabled is true when OTEL_SDK_DISABLED=true made every provider a no-op.
	Disabled bool
	// ServiceName is the resource's service.name.
	ServiceName string
	// MetricsExporters and TracesExporters are the exporters in use, in the
	// order given (nil for none).
	MetricsExporters []string
	TracesExporters  []string
	// MetricsEndpoint and TracesEndpoint are the OTLP endpoints resolved from
	// the environment, when OTLP is in use.
	MetricsEndpoint string
	TracesEndpoint  string
	// PrometheusListener is the address of the stand-alone /metrics listener,
	// when one was started.
	PrometheusListener string
	// Sampler, ExemplarFilter and Propagators are the resolved names.
	Sampler        string
	ExemplarFilter string
	Propagators    []string
	// EnvWarnings are the environment values Setup ignored (and logged),
	// using the default instead, each as the *EnvError text that
	// WithStrictEnv would return.
	EnvWarnings []string
}

// LogValue gives the summary to slog as a group of attributes (service,
// metrics, metrics_endpoint, prometheus_listener, traces, traces_endpoint,
// sampler, exemplar_filter, propagators, env_warnings; the empty ones
// left out), so that a JSON log has them as fields.
func (s Summary) LogValue() slog.Value {
	if s.Disabled {
		return slog.GroupValue(slog.Bool("disabled", true))
	}
	list := func(v []string) string {
		if len(v) == 0 {
			return "none"
		}
		return strings.Join(v, ",")
	}
	attrs := []slog.Attr{slog.String("service", s.ServiceName), slog.String("metrics", list(s.MetricsExporters))}
	if s.MetricsEndpoint != "" {
		attrs = append(attrs, slog.String("metrics_endpoint", s.MetricsEndpoint))
	}
	if s.PrometheusListener != "" {
		attrs = append(attrs, slog.String("prometheus_listener", "http://"+s.PrometheusListener+"/metrics"))
	}
	attrs = append(attrs, slog.String("traces", list(s.TracesExporters)))
	if s.TracesEndpoint != "" {
		attrs = append(attrs, slog.String("traces_endpoint", s.TracesEndpoint))
	}
	attrs = append(attrs, slog.String("sampler", s.Sampler), slog.String("exemplar_filter", s.ExemplarFilter),
		slog.String("propagators", list(s.Propagators)))
	if len(s.EnvWarnings) > 0 {
		attrs = append(attrs, slog.Int("env_warnings", len(s.EnvWarnings)))
	}
	return slog.GroupValue(attrs...)
}

// String renders the summary as one log-friendly line.
func (s Summary) String() string {
	if s.Disabled {
		return "OTEL_SDK_DISABLED=true: metrics and traces are off"
	}
	parts := []string{}
	for _, a := range s.LogValue().Group() {
		parts = append(parts, a.Key+"="+a.Value.String())
	}
	return strings.Join(parts, " ")
}

// Setup configures OpenTelemetry metrics and traces for a service from the
// standard OTEL_* environment variables (see the package documentation for
// each variable, its values and its default) and the options, installs the
// providers and the propagator as the globals unless WithoutGlobals is given,
// and returns the Telemetry that owns them.
//
// A bad environment value is logged as a warning that names the variable,
// the value and the accepted values, and the default applies, as the
// specification asks (Summary lists them); with WithStrictEnv or
// OTELOBS_STRICT_ENV=true it is an error instead (errors.As finds an
// *EnvError for each). Setup never
// panics and does not wait for a Collector: exporters connect in the
// background, so an unreachable endpoint costs no start-up time. When Setup
// fails half way, it shuts down what it had already started.
func Setup(ctx context.Context, opts ...Option) (tel *Telemetry, err error) {
	cfg := newConfig(opts)
	s, envErr := loadSettings(cfg.lookup)
	if cfg.spanBuffer < 2*s.bspBatch {
		// The bound counts the batch in flight: a smaller one would drop
		// spans with the Collector up.
		return nil, fmt.Errorf("otelobs: WithSpanBuffer(%d): the buffer must hold at least two batches of the batch span processor (2 × %d spans, OTEL_BSP_MAX_EXPORT_BATCH_SIZE)",
			cfg.spanBuffer, s.bspBatch)
	}
	strict := cfg.strictEnv || s.strict
	if envErr != nil && strict {
		return nil, envErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("otelobs: setup: %w", err)
	}
	logger := newLogger(cfg.logger, s)
	cfg.strictEnv = strict
	warnings := envWarnings(envErr)

	t := &Telemetry{logger: logger, prop: s.propagator}
	defer func() {
		if err != nil {
			// Undo what was started; the context may be done already.
			err = errors.Join(err, t.Shutdown(context.WithoutCancel(ctx)))
			tel = nil
		}
	}()

	if s.disabled {
		t.setupDisabled(cfg)
	} else if err := t.setupSDK(ctx, cfg, s); err != nil {
		return nil, err
	}

	warnings = append(warnings, t.resourceWarnings...)
	for _, w := range warnings {
		t.summary.EnvWarnings = append(t.summary.EnvWarnings, w.Error())
		logger.Warn(w.Error() + "; " + w.ignored() + " (WithStrictEnv or " + envStrictEnv + "=true makes this an error)")
	}
	if !cfg.noGlobals {
		otel.SetMeterProvider(t.mp)
		otel.SetTracerProvider(t.tp)
		otel.SetTextMapPropagator(t.prop)
		otel.SetErrorHandler(newErrorHandler(logger))
		otel.SetLogger(logr.New(sdkLogSink{l: logger}))
	}
	logger.Info("otelobs: telemetry configured", "config", t.summary)
	if s.otlpEndpointOnly && t.summary.TracesEndpoint != "" && contains(s.metricsExporters, exporterPrometheus) && !contains(s.metricsExporters, exporterOTLP) {
		logger.Info("otelobs: OTEL_EXPORTER_OTLP_ENDPOINT sends traces to " + t.summary.TracesEndpoint + "; metrics stay on pull " +
			"(/metrics, the default): set OTEL_METRICS_EXPORTER=otlp, or prometheus,otlp, to push them there too")
	}
	return t, nil
}

func (t *Telemetry) setupDisabled(cfg config) {
	// The application's readers and processors will never be used: stop
	// them with the rest, so that their goroutines end.
	for _, r := range cfg.readers {
		t.metricShutdown = append(t.metricShutdown, r.Shutdown)
	}
	for _, p := range cfg.processors {
		t.spanShutdown = append(t.spanShutdown, p.Shutdown)
	}
	t.mp = metricnoop.NewMeterProvider()
	t.tp = tracenoop.NewTracerProvider()
	t.res = resource.Empty()
	// An empty but valid exposition: the scrape target stays UP.
	t.handler = newPrometheusHandler(prometheus.NewRegistry(), cfg.gatherers, t.logger)
	t.summary = Summary{Disabled: true}
}

func (t *Telemetry) setupSDK(ctx context.Context, cfg config, s settings) error {
	// Until the providers own them, a failure shuts the application's
	// readers and processors down directly.
	for _, r := range cfg.readers {
		t.metricShutdown = append(t.metricShutdown, r.Shutdown)
	}
	for _, p := range cfg.processors {
		t.spanShutdown = append(t.spanShutdown, p.Shutdown)
	}
	res, warn, err := buildResource(ctx, cfg, t.logger)
	if err != nil {
		return err
	}
	if warn != nil {
		t.resourceWarnings = append(t.resourceWarnings, warn)
	}
	t.res = res
	serviceName, _ := res.Set().Value("service.name")
	t.summary = Summary{
		ServiceName:      serviceName.AsString(),
		MetricsExporters: s.metricsExporters,
		TracesExporters:  s.tracesExporters,
		Sampler:          s.samplerName,
		ExemplarFilter:   s.exemplarFilterName,
		Propagators:      s.propagatorNames,
	}
	if strings.HasPrefix(t.summary.ServiceName, "unknown_service") {
		t.logger.Warn("otelobs: service.name is not set; set OTEL_SERVICE_NAME", "service.name", t.summary.ServiceName)
	}

	// Traces first: the metric readers may start a listener, which is the
	// most likely step to fail, and everything started is undone then.
	spanExporters, err := newSpanExporters(ctx, cfg, s)
	for _, e := range spanExporters {
		t.spanShutdown = append(t.spanShutdown, e.Shutdown)
	}
	if err != nil {
		return err
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(s.sampler)}
	dropped := &dropCounts{}
	for _, e := range spanExporters {
		sp := newSpool(e, cfg.spanBuffer, bspExportTimeout(cfg.lookup), t.logger, dropped)
		t.spools = append(t.spools, sp)
		dropped.used[signalTraces] = true
		tpOpts = append(tpOpts, sdktrace.WithBatcher(sp, s.bspDefaults...))
	}
	for _, p := range cfg.processors {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(p))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	// The provider's Shutdown shuts its processors and exporters down.
	t.spanShutdown = []func(context.Context) error{tp.Shutdown}
	t.tp = tp
	t.flushers = append(t.flushers, tp.ForceFlush)
	for _, sp := range t.spools {
		// The processors' ForceFlush hands their spans to the spools,
		// which deliver them.
		t.flushers = append(t.flushers, sp.ForceFlush)
	}
	if contains(s.tracesExporters, exporterOTLP) {
		t.summary.TracesEndpoint = otlpEndpoint(cfg.lookup, "TRACES", s.tracesProtocol)
	}
	if len(spanExporters) == 0 && len(cfg.processors) == 0 && s.samplerName != "always_off" &&
		s.samplerName != "parentbased_always_off" && s.exemplarFilterName != "always_off" {
		// Spans are sampled and their ids written into exemplars, but
		// stored nowhere: every exemplar link would lead to no trace.
		t.logger.Warn("otelobs: traces are sampled but no span exporter is configured (OTEL_TRACES_EXPORTER=none): exemplars will name traces that are stored nowhere; "+
			"send them to the Collector with OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318, "+
			"or set OTEL_METRICS_EXEMPLAR_FILTER=always_off", "sampler", s.samplerName)
	}

	readers, promGatherer, err := newMetricReaders(ctx, cfg, s, dropped)
	if err != nil {
		return err
	}
	mpOpts := []sdkmetric.Option{
		sdkmetric.WithResource(res),
		sdkmetric.WithExemplarFilter(s.exemplarFilter),
	}
	if s.cardinalityLimitSet {
		mpOpts = append(mpOpts, sdkmetric.WithCardinalityLimit(s.cardinalityLimit))
	}
	for _, r := range append(readers, cfg.readers...) {
		mpOpts = append(mpOpts, sdkmetric.WithReader(r))
	}
	mpOpts = append(mpOpts, sdkmetric.WithView(ReservoirViews(cfg.views...)...))
	mp := sdkmetric.NewMeterProvider(mpOpts...)
	t.metricShutdown = []func(context.Context) error{mp.Shutdown}
	t.mp = mp
	t.flushers = append(t.flushers, mp.ForceFlush)
	if err := dropped.register(mp.Meter(scopeName)); err != nil {
		return fmt.Errorf("otelobs: register %s: %w", DroppedMetricName, err)
	}
	if !cfg.noRuntime {
		// The Go runtime's metrics (go.memory.used, go.goroutine.count, …)
		// as OTel instruments, so that both paths carry the same go_*
		// series.
		if err := otelruntime.Start(otelruntime.WithMeterProvider(mp)); err != nil {
			return fmt.Errorf("otelobs: runtime metrics: %w", err)
		}
		if err := startProcessMetrics(mp.Meter(scopeName)); err != nil {
			return fmt.Errorf("otelobs: process metrics: %w", err)
		}
	}
	if contains(s.metricsExporters, exporterOTLP) {
		t.summary.MetricsEndpoint = otlpEndpoint(cfg.lookup, "METRICS", s.metricsProtocol)
	}

	t.handler = newPrometheusHandler(promGatherer, cfg.gatherers, t.logger)
	if promGatherer != nil && s.prometheusListen {
		if err := t.listen(s); err != nil {
			return err
		}
	} else if s.prometheusListen {
		t.logger.Warn("otelobs: OTEL_EXPORTER_PROMETHEUS_HOST/PORT is set but OTEL_METRICS_EXPORTER does not "+
			"include prometheus; no /metrics listener was started", envMetricsExporter, s.metricsExporters)
	}
	return nil
}

// MeterProvider returns the MeterProvider Setup built (a no-op one when
// OTEL_SDK_DISABLED=true).
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// TracerProvider returns the TracerProvider Setup built (a no-op one when
// OTEL_SDK_DISABLED=true).
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// Propagator returns the propagator chosen by OTEL_PROPAGATORS.
func (t *Telemetry) Propagator() propagation.TextMapPropagator { return t.prop }

// Resource returns the resource describing the service.
func (t *Telemetry) Resource() *resource.Resource { return t.res }

// Summary returns the configuration Setup resolved.
func (t *Telemetry) Summary() Summary { return t.summary }

// MetricsHandler returns the http.Handler that serves the metrics in the
// Prometheus exposition formats; mount it on the application's own mux:
//
//	mux.Handle("GET /metrics", tel.MetricsHandler())
//
// It negotiates OpenMetrics when the scraper asks for it (Prometheus does by
// default), which is the only text format that carries exemplars. When
// OTEL_METRICS_EXPORTER does not include prometheus, it answers 404 with a
// sentence saying so; with OTEL_SDK_DISABLED=true it serves an empty
// exposition.
func (t *Telemetry) MetricsHandler() http.Handler { return t.handler }

// PrometheusAddr returns the address of the stand-alone /metrics listener
// started because OTEL_EXPORTER_PROMETHEUS_HOST or _PORT was set, or "".
func (t *Telemetry) PrometheusAddr() string {
	if t.listener == nil {
		return ""
	}
	return t.listener.Addr().String()
}

// ForceFlush exports all buffered spans and pushes all metrics now, waiting
// at most until ctx is done. Prometheus pull is not affected.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, f := range t.flushers {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown flushes and stops every exporter and the stand-alone listener,
// traces first with half of what is left of ctx's deadline (so that what
// their last attempt lost is in the metrics' final export), then metrics,
// waiting at most until ctx is done, and returns their errors joined, each
// named by its signal. Held spans get one attempt more, not a wait for the
// Collector: what is left is counted, logged and reported. Pass a
// context with a deadline: an unreachable Collector otherwise holds the final
// export until the exporter's own timeout. Calling Shutdown again does nothing
// and returns nil. The global providers are left in place; after Shutdown
// they record nothing.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	t.done = true
	run := func(name string, ctx context.Context, fns []func(context.Context) error) error {
		var errs []error
		for _, f := range fns {
			if err := f(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
		return errors.Join(errs...)
	}
	var listenerErr error
	var wg sync.WaitGroup
	wg.Go(func() { listenerErr = run("metrics listener", ctx, t.listenerShutdown) })

	// Traces first, with half of what is left of the deadline, then
	// metrics: the spans' last attempt and what it lost reach the metrics'
	// final export, and a metric export hanging until the deadline cannot
	// leave the span processors unflushed (the SDK's
	// TracerProvider.Shutdown does nothing once its context is done).
	tctx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		tctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)/2))
		defer cancel()
	}
	tracesErr := run("traces", tctx, t.spanShutdown)
	for _, sp := range t.spools {
		// The batch span processor drops its exporter's error when its
		// own context ends at the same moment.
		if err := sp.shutdownErr(time.Second); err != nil && (tracesErr == nil || !strings.Contains(tracesErr.Error(), err.Error())) {
			tracesErr = errors.Join(tracesErr, fmt.Errorf("traces: %w", err))
		}
	}
	metricsErr := run("metrics", ctx, t.metricShutdown)
	wg.Wait()
	if err := errors.Join(listenerErr, metricsErr, tracesErr); err != nil {
		return fmt.Errorf("otelobs: shutdown: %w", err)
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// envWarnings flattens loadSettings' joined error into its *EnvErrors, one
// per variable.
func envWarnings(err error) []*EnvError {
	var out []*EnvError
	seen := map[string]bool{}
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var e *EnvError
		if errors.As(err, &e) && !seen[e.Var] {
			seen[e.Var] = true
			out = append(out, e)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// CheckEnv checks the process's environment as Setup reads it and returns
// the joined *EnvErrors of the values Setup would ignore with a warning (or
// refuse under WithStrictEnv), or nil. otelobs doctor runs it in the shell
// that starts the application; a test or a CI step can too.
func CheckEnv() error {
	_, err := loadSettings(os.LookupEnv)
	if _, rerr := resource.New(context.Background(), resource.WithFromEnv()); rerr != nil {
		v, _ := os.LookupEnv(envResourceAttributes)
		err = errors.Join(err, &EnvError{Var: envResourceAttributes, Value: v, Reason: rerr.Error(), Accepted: resourceAccepted})
	}
	return err
}
