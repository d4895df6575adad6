package otelobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var quiet = slog.New(slog.DiscardHandler)

// setupEnv runs Setup without globals, with env as the only variables Setup
// itself reads.
func setupEnv(t *testing.T, env map[string]string, opts ...Option) *Telemetry {
	t.Helper()
	opts = append([]Option{withLookupEnv(mapLookup(env)), WithoutGlobals(), WithLogger(quiet)}, opts...)
	tel, err := Setup(t.Context(), opts...)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

// recordInSpan records a merge histogram and counter inside a sampled span
// and returns the span's context.
func recordInSpan(t *testing.T, tel *Telemetry) trace.SpanContext {
	t.Helper()
	ctx, span := tel.TracerProvider().Tracer("test").Start(t.Context(), "git.merge")
	defer span.End()
	m := tel.MeterProvider().Meter("test")
	h, err := m.Float64Histogram("git.merge.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.01, 0.1, 1, 10))
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Int64Counter("git.merge", metric.WithUnit("{merge}"))
	if err != nil {
		t.Fatal(err)
	}
	attrs := metric.WithAttributes(attribute.String("result", "success"))
	h.Record(ctx, 0.42, attrs)
	c.Add(ctx, 1, attrs)
	return span.SpanContext()
}

func scrape(t *testing.T, h http.Handler, accept string) (string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String(), rec.Header().Get("Content-Type")
}

func TestMetricsHandlerServesExemplarsWithOpenMetrics(t *testing.T) {
	t.Parallel()
	tel := setupEnv(t, nil, WithServiceName("handler-test"))
	sc := recordInSpan(t, tel)

	body, ctype := scrape(t, tel.MetricsHandler(), "application/openmetrics-text;version=1.0.0")
	if !strings.HasPrefix(ctype, "application/openmetrics-text") {
		t.Fatalf("Content-Type = %q, want OpenMetrics", ctype)
	}
	// The exemplar's label order is not fixed: look for both labels.
	for _, series := range []string{
		`git_merge_duration_seconds_bucket{result="success",le="1.0"} 1 # {`,
		`git_merge_total{result="success"} 1.0 # {`,
	} {
		found := false
		for line := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(line, series) &&
				strings.Contains(line, fmt.Sprintf(`trace_id="%s"`, sc.TraceID())) &&
				strings.Contains(line, fmt.Sprintf(`span_id="%s"`, sc.SpanID())) {
				found = true
			}
		}
		if !found {
			t.Errorf("OpenMetrics body lacks %s… with the span's exemplar:\n%s", series, body)
		}
	}
	if strings.Contains(body, "otel_scope_name") {
		t.Errorf("scope labels are exposed; they must be off for parity with the OTLP path:\n%s", body)
	}
	if !strings.Contains(body, `target_info{`) || !strings.Contains(body, `service_name="handler-test"`) {
		t.Errorf("target_info with service_name missing:\n%s", body)
	}

	// The classic text format cannot carry exemplars.
	plain, ctype := scrape(t, tel.MetricsHandler(), "text/plain")
	if !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("Content-Type = %q", ctype)
	}
	if strings.Contains(plain, "trace_id") {
		t.Errorf("plain text carries exemplars:\n%s", plain)
	}
	if !strings.Contains(plain, `git_merge_total{result="success"} 1`) {
		t.Errorf("plain text lacks the counter:\n%s", plain)
	}
}

func TestSetupWithManualReaderAndSpanProcessor(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewInMemoryExporter()
	tel := setupEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "none"},
		WithMetricReader(reader), WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(spans)))
	sc := recordInSpan(t, tel)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	exemplars := histogramExemplars(t, rm, "git.merge.duration")
	tid := sc.TraceID()
	if len(exemplars) != 1 || !bytes.Equal(exemplars[0].TraceID, tid[:]) {
		t.Fatalf("exemplars = %+v, want one with trace %s", exemplars, sc.TraceID())
	}
	if got := spans.GetSpans(); len(got) != 1 || got[0].SpanContext.TraceID() != sc.TraceID() {
		t.Fatalf("spans = %v", got)
	}
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "OTEL_METRICS_EXPORTER=prometheus") {
		t.Fatalf("handler without the prometheus exporter = %d %q", rec.Code, rec.Body)
	}
}

func histogramExemplars(t *testing.T, rm metricdata.ResourceMetrics, name string) []metricdata.Exemplar[float64] {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("%s is %T", name, m.Data)
			}
			var out []metricdata.Exemplar[float64]
			for _, dp := range h.DataPoints {
				out = append(out, dp.Exemplars...)
			}
			return out
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

func TestSetupSamplerAndExemplarFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want int
	}{
		{"default", nil, 1},
		{"sampler always_off", map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, 0},
		{"ratio zero", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}, 0},
		{"filter always_off", map[string]string{"OTEL_METRICS_EXEMPLAR_FILTER": "always_off"}, 0},
		{"filter always_on unsampled", map[string]string{"OTEL_TRACES_SAMPLER": "always_off", "OTEL_METRICS_EXEMPLAR_FILTER": "always_on"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"OTEL_METRICS_EXPORTER": "none"}
			for k, v := range tt.env {
				env[k] = v
			}
			reader := sdkmetric.NewManualReader()
			tel := setupEnv(t, env, WithMetricReader(reader))
			recordInSpan(t, tel)
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(t.Context(), &rm); err != nil {
				t.Fatal(err)
			}
			if got := len(histogramExemplars(t, rm, "git.merge.duration")); got != tt.want {
				t.Errorf("exemplars = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSetupCardinalityLimit(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	tel := setupEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "none", "OTELOBS_CARDINALITY_LIMIT": "3"},
		WithMetricReader(reader))
	c, err := tel.MeterProvider().Meter("test").Int64Counter("llm.requests")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		c.Add(t.Context(), 1, metric.WithAttributes(attribute.Int("i", i)))
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	sum := appScope(rm).Metrics[0].Data.(metricdata.Sum[int64])
	if len(sum.DataPoints) != 3 {
		t.Fatalf("series = %d, want 3 (2 + overflow)", len(sum.DataPoints))
	}
	overflow := false
	for _, dp := range sum.DataPoints {
		if v, ok := dp.Attributes.Value("otel.metric.overflow"); ok && v.AsBool() {
			overflow = dp.Value == 8
		}
	}
	if !overflow {
		t.Errorf("no overflow series holding the other 8 increments: %+v", sum.DataPoints)
	}
}

func TestSetupConsoleExporters(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	tel := setupEnv(t, map[string]string{
		"OTEL_METRICS_EXPORTER":       "console",
		"OTEL_TRACES_EXPORTER":        "console",
		"OTEL_METRIC_EXPORT_INTERVAL": "50",
	}, WithConsoleWriter(&buf))
	recordInSpan(t, tel)
	// The periodic reader exports on its own within a few intervals.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "git.merge.duration") {
		if time.Now().After(deadline) {
			t.Fatalf("no periodic console export after 10 s:\n%s", buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"Name":"git.merge"`) {
		t.Errorf("span not written to the console:\n%s", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func TestSetupDisabled(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	tel := setupEnv(t, map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_METRICS_EXPORTER": "otlp"},
		WithMetricReader(reader))
	if _, ok := tel.MeterProvider().(metricnoop.MeterProvider); !ok {
		t.Errorf("MeterProvider is %T, want the no-op one", tel.MeterProvider())
	}
	_, span := tel.TracerProvider().Tracer("t").Start(t.Context(), "x")
	if span.SpanContext().IsValid() {
		t.Error("disabled tracer makes real spans")
	}
	if !tel.Summary().Disabled || !strings.Contains(tel.Summary().String(), "OTEL_SDK_DISABLED") {
		t.Errorf("summary = %+v", tel.Summary())
	}
	body, _ := scrape(t, tel.MetricsHandler(), "")
	if strings.TrimSpace(body) != "" {
		t.Errorf("disabled /metrics serves %q", body)
	}
	if err := tel.ForceFlush(t.Context()); err != nil {
		t.Error(err)
	}
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
	if err := reader.Collect(t.Context(), &metricdata.ResourceMetrics{}); !errors.Is(err, sdkmetric.ErrReaderShutdown) {
		t.Errorf("the application's reader was not shut down with the disabled SDK: %v", err)
	}
}

func TestSetupStandaloneListener(t *testing.T) {
	t.Parallel()
	tel := setupEnv(t, map[string]string{
		"OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
		"OTEL_EXPORTER_PROMETHEUS_PORT": "0",
	})
	addr := tel.PrometheusAddr()
	if addr == "" || !strings.Contains(tel.Summary().String(), addr) {
		t.Fatalf("addr %q, summary %q", addr, tel.Summary())
	}
	recordInSpan(t, tel)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "git_merge_total") {
		t.Fatalf("GET /metrics = %d:\n%s", resp.StatusCode, body)
	}
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("listener still accepts after Shutdown")
	}
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatalf("second Shutdown = %v, want nil", err)
	}
}

// shutdownRecorder is a span processor that records whether it was shut down.
type shutdownRecorder struct {
	sdktrace.SpanProcessor
	mu   sync.Mutex
	done bool
}

func (s *shutdownRecorder) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	return s.SpanProcessor.Shutdown(ctx)
}

func TestSetupFailureHalfWayShutsDownWhatStarted(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	proc := &shutdownRecorder{SpanProcessor: sdktrace.NewSimpleSpanProcessor(tracetest.NewInMemoryExporter())}
	reader := sdkmetric.NewManualReader()
	tel, err := Setup(t.Context(), withLookupEnv(mapLookup(map[string]string{
		"OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
		"OTEL_EXPORTER_PROMETHEUS_PORT": port,
	})), WithoutGlobals(), WithLogger(quiet), WithSpanProcessor(proc), WithMetricReader(reader))
	if err == nil {
		tel.Shutdown(t.Context())
		t.Fatal("Setup succeeded on a busy port")
	}
	if tel != nil {
		t.Error("Setup returned a Telemetry with its error")
	}
	for _, want := range []string{"OTEL_EXPORTER_PROMETHEUS_PORT", port} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	proc.mu.Lock()
	done := proc.done
	proc.mu.Unlock()
	if !done {
		t.Error("the TracerProvider started before the failure was not shut down")
	}
	if err := reader.Collect(t.Context(), &metricdata.ResourceMetrics{}); !errors.Is(err, sdkmetric.ErrReaderShutdown) {
		t.Errorf("the MeterProvider started before the failure was not shut down: Collect = %v", err)
	}
}

// TestSetupStrictEnv: with WithStrictEnv, or OTELOBS_STRICT_ENV=true, a bad
// value is an *EnvError and Setup changes nothing.
func TestSetupStrictEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
	}{
		{"option", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus,statsd"}, []Option{WithStrictEnv()}},
		{"variable", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus,statsd", "OTELOBS_STRICT_ENV": "TRUE"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := otel.GetMeterProvider()
			tel, err := Setup(t.Context(), append([]Option{withLookupEnv(mapLookup(tc.env)), WithLogger(quiet)}, tc.opts...)...)
			if err == nil || tel != nil {
				t.Fatalf("Setup = %v, %v; want an error", tel, err)
			}
			var envErr *EnvError
			if !errors.As(err, &envErr) || envErr.Var != "OTEL_METRICS_EXPORTER" || envErr.Value != "prometheus,statsd" {
				t.Fatalf("error = %v", err)
			}
			if otel.GetMeterProvider() != before {
				t.Error("a failed Setup replaced the global MeterProvider")
			}
		})
	}
}

// TestSetupBadEnvWarns: by default, as the specification asks, a bad value
// is a warning (once per variable, with the variable, the value and what is
// accepted), the default applies, and Summary lists it; a bad
// OTELOBS_STRICT_ENV is itself only a warning.
func TestSetupBadEnvWarns(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	env := map[string]string{
		"OTEL_METRICS_EXPORTER": "prometheus,statsd", // the default: prometheus
		"OTEL_PROPAGATORS":      "xray-lambda",       // the default: tracecontext,baggage
		"OTEL_LOG_LEVEL":        "warning",           // the default: info
		"OTEL_SDK_DISABLED":     "yes",               // not true: false
		"OTELOBS_STRICT_ENV":    "on",
	}
	tel := setupEnv(t, env, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	s := tel.Summary()
	if s.Disabled || !slices.Equal(s.MetricsExporters, []string{"prometheus"}) || !slices.Equal(s.Propagators, []string{"tracecontext", "baggage"}) {
		t.Errorf("summary %+v: want the defaults", s)
	}
	if len(s.EnvWarnings) != len(env) || !strings.Contains(s.String(), "env_warnings=5") {
		t.Errorf("EnvWarnings = %q, want one per variable", s.EnvWarnings)
	}
	out := buf.String()
	for v := range env {
		if n := strings.Count(out, "otelobs: "+v+"="); n != 1 {
			t.Errorf("%s warned %d times:\n%s", v, n, out)
		}
	}
	for _, want := range []string{`\"statsd\"`, "accepted: prometheus, otlp", "the default applies", "OTELOBS_STRICT_ENV=true"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	body, _ := scrape(t, tel.MetricsHandler(), "")
	if !strings.Contains(body, "target_info") {
		t.Errorf("the default exporter does not serve:\n%s", body)
	}
}

func TestSetupCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Setup(ctx, withLookupEnv(mapLookup(nil)), WithoutGlobals(), WithLogger(quiet)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Setup with a cancelled context = %v", err)
	}
}

// keepGlobals restores the OTel globals a test's Setup replaces (the SDK
// logger goes back to discarding).
func keepGlobals(t *testing.T) {
	mp, tp, prop := otel.GetMeterProvider(), otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetMeterProvider(mp)
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
		otel.SetLogger(logr.Discard())
	})
}

func TestSetupInstallsGlobals(t *testing.T) {
	keepGlobals(t)
	tel, err := Setup(t.Context(), withLookupEnv(mapLookup(map[string]string{"OTEL_PROPAGATORS": "b3multi"})), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	if otel.GetTracerProvider() != tel.TracerProvider() {
		t.Error("global TracerProvider not set")
	}
	ctx, span := otel.Tracer("t").Start(t.Context(), "s")
	span.End()
	if !span.SpanContext().IsSampled() {
		t.Error("global tracer does not sample by default")
	}
	carrier := map[string]string{}
	otel.GetTextMapPropagator().Inject(ctx, mapCarrier(carrier))
	if carrier["x-b3-traceid"] != span.SpanContext().TraceID().String() {
		t.Errorf("global propagator injected %v", carrier)
	}
}

type mapCarrier map[string]string

func (m mapCarrier) Get(k string) string { return m[k] }
func (m mapCarrier) Set(k, v string)     { m[k] = v }
func (m mapCarrier) Keys() []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestSetupResource(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test,service.version=9.9.9")
	tel := setupEnv(t, nil, WithServiceName("from-option"), WithServiceVersion("1.2.3"),
		WithResourceAttributes(attribute.String("team", "orchestrator")))
	set := tel.Resource().Set()
	want := map[string]string{
		"service.name":                "from-env",
		"service.version":             "9.9.9",
		"deployment.environment.name": "test",
		"team":                        "orchestrator",
		"telemetry.sdk.language":      "go",
	}
	for k, v := range want {
		if got, ok := set.Value(attribute.Key(k)); !ok || got.AsString() != v {
			t.Errorf("%s = %q, want %q", k, got.AsString(), v)
		}
	}
	for _, k := range []string{"service.instance.id", "host.name", "process.pid", "process.runtime.version"} {
		if _, ok := set.Value(attribute.Key(k)); !ok {
			t.Errorf("resource lacks %s", k)
		}
	}
	if tel.Summary().ServiceName != "from-env" {
		t.Errorf("summary service = %q", tel.Summary().ServiceName)
	}
}

// TestSetupResourceDefaultsToSpec: with no name given, service.name is the
// specification's unknown_service:<executable>, and Setup warns.
func TestSetupResourceDefaultsToSpec(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tel := setupEnv(t, nil, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if name, want := tel.Summary().ServiceName, "unknown_service:"+filepath.Base(exe); name != want {
		t.Errorf("service.name = %q, want %q", name, want)
	}
	if !strings.Contains(buf.String(), "service.name is not set; set OTEL_SERVICE_NAME") {
		t.Errorf("no warning:\n%s", buf.String())
	}
}

// TestSetupBadResourceAttributes: a malformed OTEL_RESOURCE_ATTRIBUTES is
// discarded whole with a warning (OTEL_SERVICE_NAME still applies), or is an
// error under WithStrictEnv.
func TestSetupBadResourceAttributes(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team,deployment.environment=prod")
	t.Setenv("OTEL_SERVICE_NAME", "checkout")
	env := map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team,deployment.environment=prod", "OTEL_SERVICE_NAME": "checkout"}
	_, err := Setup(t.Context(), withLookupEnv(mapLookup(env)), WithoutGlobals(), WithLogger(quiet), WithStrictEnv())
	var envErr *EnvError
	if !errors.As(err, &envErr) || envErr.Var != "OTEL_RESOURCE_ATTRIBUTES" {
		t.Fatalf("strict: error = %v, want an EnvError for OTEL_RESOURCE_ATTRIBUTES", err)
	}
	tel := setupEnv(t, env)
	if _, ok := tel.Resource().Set().Value("deployment.environment"); ok || tel.Summary().ServiceName != "checkout" ||
		len(tel.Summary().EnvWarnings) != 1 || !strings.Contains(tel.Summary().EnvWarnings[0], "OTEL_RESOURCE_ATTRIBUTES") {
		t.Errorf("resource %v, summary %+v: want the variable discarded, the service named, one warning", tel.Resource(), tel.Summary())
	}
}

// TestSetupUnreachableCollector: with OTLP pointed at a closed port, Setup
// returns at once, recording does not block, and Shutdown is bounded by its
// context.
func TestSetupUnreachableCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			env := map[string]string{
				"OTEL_METRICS_EXPORTER":       "otlp",
				"OTEL_TRACES_EXPORTER":        "otlp",
				"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + addr,
				"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
				"OTEL_METRIC_EXPORT_INTERVAL": "100",
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			start := time.Now()
			tel, err := Setup(ctx, withLookupEnv(mapLookup(env)), WithoutGlobals(), WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Setup took %v with no Collector", d)
			}
			if s := tel.Summary(); s.MetricsEndpoint == "" || s.TracesEndpoint == "" {
				t.Errorf("summary lacks the endpoints: %s", s)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range 1000 {
					recordInSpan(t, tel)
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("recording blocked while the Collector is unreachable")
			}
			sctx, scancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer scancel()
			start = time.Now()
			_ = tel.Shutdown(sctx) // an export error is expected
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Shutdown took %v with a 500ms context", d)
			}
		})
	}
}

func TestErrorHandlerDeduplicates(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	h := newErrorHandler(slog.New(slog.NewTextHandler(&buf, nil)))
	now := time.Unix(0, 0)
	h.now = func() time.Time { return now }
	for range 5 {
		h.Handle(errors.New("failed to upload metrics: connection refused"))
	}
	h.Handle(errors.New("another error"))
	h.Handle(nil)
	if n := strings.Count(buf.String(), "connection refused"); n != 1 {
		t.Fatalf("logged %d times within the interval, want 1:\n%s", n, buf.String())
	}
	now = now.Add(2 * time.Minute)
	h.Handle(errors.New("failed to upload metrics: connection refused"))
	if !regexp.MustCompile(`repeats_suppressed=4`).MatchString(buf.String()) {
		t.Fatalf("suppressed count not logged:\n%s", buf.String())
	}
	if strings.Count(buf.String(), "another error") != 1 {
		t.Fatalf("distinct error not logged once:\n%s", buf.String())
	}
}

func TestLogLevelFromEnv(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tel, err := Setup(t.Context(), withLookupEnv(mapLookup(map[string]string{"OTEL_LOG_LEVEL": "warn"})),
		WithoutGlobals(), WithLogger(base))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	if strings.Contains(buf.String(), "telemetry configured") {
		t.Errorf("info line logged at OTEL_LOG_LEVEL=warn:\n%s", buf.String())
	}
	tel2, err := Setup(t.Context(), withLookupEnv(mapLookup(nil)), WithoutGlobals(), WithLogger(base))
	if err != nil {
		t.Fatal(err)
	}
	defer tel2.Shutdown(context.Background())
	if !strings.Contains(buf.String(), "telemetry configured") || !strings.Contains(buf.String(), "config.metrics=prometheus") {
		t.Errorf("start-up line missing:\n%s", buf.String())
	}
}

// TestStartupLogIsStructured: the start-up line's configuration is slog
// attributes, which a JSON handler writes as fields.
func TestStartupLogIsStructured(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	setupEnv(t, map[string]string{"OTEL_PROPAGATORS": "b3"}, WithServiceName("svc"),
		WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	var line struct {
		Msg    string
		Config map[string]any
	}
	for l := range strings.SplitSeq(buf.String(), "\n") {
		if strings.Contains(l, "telemetry configured") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]any{"service": "svc", "metrics": "prometheus", "traces": "none", "sampler": "parentbased_always_on",
		"exemplar_filter": "trace_based", "propagators": "b3"}
	if !maps.Equal(line.Config, want) {
		t.Errorf("config fields %v, want %v", line.Config, want)
	}
}

func TestSetupExporterLists(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
	var buf syncBuffer
	tel := setupEnv(t, map[string]string{
		"OTEL_METRICS_EXPORTER":       "prometheus,otlp,console",
		"OTEL_TRACES_EXPORTER":        "otlp,console",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + addr,
	}, WithConsoleWriter(&buf))
	s := tel.Summary()
	if strings.Join(s.MetricsExporters, ",") != "prometheus,otlp,console" || strings.Join(s.TracesExporters, ",") != "otlp,console" {
		t.Fatalf("summary = %s", s)
	}
	if s.MetricsEndpoint != "http://"+addr+"/v1/metrics" || s.TracesEndpoint != "http://"+addr+"/v1/traces" {
		t.Errorf("endpoints = %q, %q", s.MetricsEndpoint, s.TracesEndpoint)
	}
	recordInSpan(t, tel)
	if body, _ := scrape(t, tel.MetricsHandler(), ""); !strings.Contains(body, "git_merge_total") {
		t.Errorf("prometheus reader missing from the list:\n%s", body)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_ = tel.Shutdown(ctx) // the OTLP half fails: nothing listens
	out := buf.String()
	if !strings.Contains(out, `"Name":"git.merge"`) || !strings.Contains(out, "git.merge.duration") {
		t.Errorf("console exporters in the list wrote nothing:\n%s", out)
	}
}

func TestSetupListenerVariablesWithoutPrometheusWarn(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	tel, err := Setup(t.Context(), withLookupEnv(mapLookup(map[string]string{
		"OTEL_METRICS_EXPORTER":         "none",
		"OTEL_EXPORTER_PROMETHEUS_PORT": "0",
	})), WithoutGlobals(), WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	if tel.PrometheusAddr() != "" {
		t.Errorf("listener started without the prometheus exporter: %s", tel.PrometheusAddr())
	}
	if !strings.Contains(buf.String(), "does not include prometheus") {
		t.Errorf("no warning:\n%s", buf.String())
	}
}

func TestSetupServesExtraGatherer(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	legacy := prometheus.NewCounter(prometheus.CounterOpts{Name: "legacy_jobs_total", Help: "Jobs."})
	reg.MustRegister(legacy)
	legacy.Add(3)
	tel := setupEnv(t, nil, WithPrometheusGatherer(reg))
	recordInSpan(t, tel)
	body, _ := scrape(t, tel.MetricsHandler(), "")
	for _, want := range []string{"legacy_jobs_total 3", "git_merge_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"0.0.0.0": false, "::": false, "10.0.0.1": false, "example.com": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v", host, got)
		}
	}
}

func TestCounterExemplarReservoirAndUserViews(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	renamed := sdkmetric.NewView(sdkmetric.Instrument{Name: "user.counter"}, sdkmetric.Stream{Name: "user.renamed"})
	tel := setupEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "none", "OTEL_METRICS_EXEMPLAR_FILTER": "always_on"},
		WithMetricReader(reader), WithView(renamed))
	m := tel.MeterProvider().Meter("t")
	c, _ := m.Int64Counter("plain.counter", metric.WithUnit("{x}"), metric.WithDescription("d"))
	u, _ := m.Int64Counter("user.counter")
	for range 20 {
		c.Add(t.Context(), 1)
		u.Add(t.Context(), 1)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Metrics{}
	for _, m := range appScope(rm).Metrics {
		got[m.Name] = m
	}
	plain := got["plain.counter"]
	if plain.Unit != "{x}" || plain.Description != "d" {
		t.Errorf("the reservoir view changed the stream: %+v", plain)
	}
	if dp := plain.Data.(metricdata.Sum[int64]).DataPoints[0]; dp.Value != 20 || len(dp.Exemplars) != 1 {
		t.Errorf("plain counter: value %d, %d exemplars; want 20 and 1", dp.Value, len(dp.Exemplars))
	}
	// The exemplar is the latest measurement's.
	ctx, span := tel.TracerProvider().Tracer("t").Start(t.Context(), "latest")
	c.Add(ctx, 1)
	span.End()
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, m := range appScope(rm).Metrics {
		if m.Name == "plain.counter" {
			ex := m.Data.(metricdata.Sum[int64]).DataPoints[0].Exemplars
			tid := span.SpanContext().TraceID()
			if len(ex) != 1 || string(ex[0].TraceID) != string(tid[:]) {
				t.Errorf("counter exemplar %+v is not the latest measurement's (%s)", ex, tid)
			}
		}
	}
	if _, ok := got["user.renamed"]; !ok || len(got) != 2 {
		t.Errorf("the application's view was not applied alone: %v", got)
	}
}

// TestUserViewsKeepReservoirs: a view of the application's that does not
// choose a reservoir (here one that renames, one that changes buckets)
// keeps Setup's (the latest exemplar, where the SDK's default keeps
// GOMAXPROCS random ones); a view that chooses its own keeps that; up-down
// counters keep no exemplar, which Prometheus would not show.
func TestUserViewsKeepReservoirs(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	tel := setupEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "none", "OTEL_METRICS_EXEMPLAR_FILTER": "always_on"},
		WithMetricReader(reader),
		WithView(
			sdkmetric.NewView(sdkmetric.Instrument{Name: "renamed"}, sdkmetric.Stream{Name: "user.renamed"}),
			sdkmetric.NewView(sdkmetric.Instrument{Name: "rebucketed"}, sdkmetric.Stream{
				Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: []float64{1, 2}}}),
			sdkmetric.NewView(sdkmetric.Instrument{Name: "own"}, sdkmetric.Stream{
				ExemplarReservoirProviderSelector: func(sdkmetric.Aggregation) exemplar.ReservoirProvider {
					return exemplar.FixedSizeReservoirProvider(3)
				}}),
		))
	m := tel.MeterProvider().Meter("t")
	renamed, _ := m.Int64Counter("renamed")
	rebucketed, _ := m.Float64Histogram("rebucketed")
	own, _ := m.Int64Counter("own")
	gauge, _ := m.Int64UpDownCounter("updown")
	var last trace.SpanContext
	for i := range 20 {
		ctx, span := tel.TracerProvider().Tracer("t").Start(t.Context(), "s")
		renamed.Add(ctx, 1)
		rebucketed.Record(ctx, float64(i%3)) // 0 and 1 in (-Inf, 1], 2 in (1, 2]: two buckets hit
		own.Add(ctx, 1)
		gauge.Add(ctx, 1)
		last = span.SpanContext()
		span.End()
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	lastID := last.TraceID()
	for _, mt := range appScope(rm).Metrics {
		switch d := mt.Data.(type) {
		case metricdata.Sum[int64]:
			ex := d.DataPoints[0].Exemplars
			counts[mt.Name] = len(ex)
			if mt.Name == "user.renamed" && (len(ex) != 1 || string(ex[0].TraceID) != string(lastID[:])) {
				t.Errorf("renamed counter exemplars %+v: want the latest measurement's alone", ex)
			}
		case metricdata.Histogram[float64]:
			counts[mt.Name] = len(d.DataPoints[0].Exemplars)
		}
	}
	want := map[string]int{"user.renamed": 1, "rebucketed": 2, "own": 3, "updown": 0}
	if !maps.Equal(counts, want) {
		t.Errorf("exemplars per instrument %v, want %v", counts, want)
	}
}

func TestHistogramKeepsLatestExemplarPerBucket(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	tel := setupEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "none"}, WithMetricReader(reader))
	h, _ := tel.MeterProvider().Meter("t").Float64Histogram("d", metric.WithExplicitBucketBoundaries(1, 10, 100))
	tracer := tel.TracerProvider().Tracer("t")
	last := map[float64]trace.SpanContext{}
	for _, v := range []float64{0.5, 5, 0.7, 50, 5.5} {
		ctx, span := tracer.Start(t.Context(), "s")
		h.Record(ctx, v)
		span.End()
		bucket := map[bool]float64{true: 1}[v <= 1] + map[bool]float64{true: 10}[v > 1 && v <= 10] + map[bool]float64{true: 100}[v > 10]
		last[bucket] = span.SpanContext()
	}
	h.Record(context.Background(), 500) // no span in the context: no exemplar, no slot

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	dp := appScope(rm).Metrics[0].Data.(metricdata.Histogram[float64]).DataPoints[0]
	if dp.Count != 6 || len(dp.Exemplars) != 3 {
		t.Fatalf("count %d, %d exemplars; want 6 and 3 (one per bucket hit in a span)", dp.Count, len(dp.Exemplars))
	}
	for _, e := range dp.Exemplars {
		bucket := 100.0
		if e.Value <= 1 {
			bucket = 1
		} else if e.Value <= 10 {
			bucket = 10
		}
		want := last[bucket]
		tid, sid := want.TraceID(), want.SpanID()
		if string(e.TraceID) != string(tid[:]) || string(e.SpanID) != string(sid[:]) {
			t.Errorf("bucket ≤%v: exemplar %v is not the latest measurement's span", bucket, e.Value)
		}
	}
	// Collecting again keeps them.
	var again metricdata.ResourceMetrics
	_ = reader.Collect(t.Context(), &again)
	if n := len(appScope(again).Metrics[0].Data.(metricdata.Histogram[float64]).DataPoints[0].Exemplars); n != 3 {
		t.Errorf("second collection: %d exemplars", n)
	}
}

// TestSetupWarnsOfTracesStoredNowhere: sampled traces without a span
// exporter make exemplars that lead nowhere; Setup says so once, and only
// then.
func TestSetupWarnsOfTracesStoredNowhere(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
		warn bool
	}{
		{"no exporter", nil, nil, true},
		{"explicit none", map[string]string{"OTEL_TRACES_EXPORTER": "none"}, nil, true},
		{"otlp", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, nil, false},
		{"own processor", nil, []Option{WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(tracetest.NewInMemoryExporter()))}, false},
		{"never sampled", map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, nil, false},
		{"no exemplars", map[string]string{"OTEL_METRICS_EXEMPLAR_FILTER": "always_off"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			opts := append([]Option{WithLogger(slog.New(slog.NewTextHandler(&buf, nil)))}, tc.opts...)
			setupEnv(t, tc.env, opts...)
			got := strings.Count(buf.String(), "stored nowhere")
			if want := map[bool]int{true: 1, false: 0}[tc.warn]; got != want {
				t.Errorf("%d warnings, want %d:\n%s", got, want, buf.String())
			}
		})
	}
}

// keptSpans is an in-memory span exporter whose Shutdown keeps what it
// holds (tracetest's clears it).
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }

// hangingExporter is a metric exporter whose Export blocks until its
// context ends, as one to an unreachable endpoint does.
type hangingExporter struct{}

func (hangingExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}
func (hangingExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}
func (hangingExporter) Export(ctx context.Context, _ *metricdata.ResourceMetrics) error {
	<-ctx.Done()
	return ctx.Err()
}
func (hangingExporter) ForceFlush(context.Context) error { return nil }
func (hangingExporter) Shutdown(context.Context) error   { return nil }

// TestShutdownFlushesSpansWhileMetricsHang: a metric export that hangs
// until Shutdown's deadline does not starve the span processors: every
// buffered span is exported, and the error names the signal that failed.
func TestShutdownFlushesSpansWhileMetricsHang(t *testing.T) {
	t.Parallel()
	spans := keptSpans{tracetest.NewInMemoryExporter()}
	bsp := sdktrace.NewBatchSpanProcessor(spans, sdktrace.WithBatchTimeout(time.Hour))
	reader := sdkmetric.NewPeriodicReader(hangingExporter{}, sdkmetric.WithInterval(time.Hour))
	tel := setupEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "none"}, WithSpanProcessor(bsp), WithMetricReader(reader))
	c, err := tel.MeterProvider().Meter("test").Int64Counter("c")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(t.Context(), 1)
	const n = 100
	for range n {
		_, span := tel.TracerProvider().Tracer("test").Start(t.Context(), "buffered")
		span.End()
	}
	if got := len(spans.GetSpans()); got != 0 {
		t.Fatalf("%d spans exported before Shutdown: the test needs them buffered", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err = tel.Shutdown(ctx)
	if got := len(spans.GetSpans()); got != n {
		t.Errorf("%d of %d buffered spans exported at shutdown while the metric export hung", got, n)
	}
	if err == nil || !strings.Contains(err.Error(), "metrics:") || strings.Contains(err.Error(), "traces:") {
		t.Errorf("Shutdown error %v: want the metrics' failure, named, and none for traces", err)
	}
}

// TestSDKLogsFollowTheLogger: the SDK's own warnings (here a duplicate
// instrument) reach WithLogger's logger, at warn, and OTEL_LOG_LEVEL
// applies to them.
func TestSDKLogsFollowTheLogger(t *testing.T) {
	keepGlobals(t)
	for _, tc := range []struct {
		level string
		want  bool
	}{{"info", true}, {"error", false}} {
		var buf bytes.Buffer
		tel, err := Setup(t.Context(), withLookupEnv(mapLookup(map[string]string{"OTEL_LOG_LEVEL": tc.level})),
			WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		if err != nil {
			t.Fatal(err)
		}
		m := tel.MeterProvider().Meter("test")
		if _, err := m.Int64Counter("dup", metric.WithUnit("s")); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Float64Histogram("dup", metric.WithUnit("ms")); err != nil {
			t.Fatal(err)
		}
		_ = tel.Shutdown(context.Background())
		got := strings.Contains(buf.String(), "level=WARN msg=\"otel: duplicate")
		if got != tc.want {
			t.Errorf("OTEL_LOG_LEVEL=%s: the SDK's duplicate-instrument warning logged %v, want %v:\n%s", tc.level, got, tc.want, buf.String())
		}
	}
}

// TestOTLPEndpointAloneSaysWhereMetricsGo: an OTLP endpoint alone pushes
// traces and leaves metrics on pull; the start-up log says so, and how to
// push them too.
func TestOTLPEndpointAloneSaysWhereMetricsGo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_METRICS_EXPORTER": "prometheus"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_METRICS_EXPORTER": "otlp"}, false},
		{nil, false},
	} {
		var buf bytes.Buffer
		setupEnv(t, tc.env, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
		got := strings.Contains(buf.String(), "metrics stay on pull") && strings.Contains(buf.String(), "OTEL_METRICS_EXPORTER=otlp")
		if got != tc.want {
			t.Errorf("%v: said %v, want %v:\n%s", tc.env, got, tc.want, buf.String())
		}
	}
}

// TestSDKLogSink: the SDK's names join, its credentials are scrubbed from
// errors and values, and its V(8) dumps stay below debug.
func TestSDKLogSink(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := logr.New(sdkLogSink{l: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	l = l.WithName("otlp").WithName("exporter")
	l.Error(fmt.Errorf("Post \"http://c:4318/v1/traces?key=SECRETKEY9x\": refused"), "export failed", "url", "http://c:4318/?token=SECRETKEY9x")
	l.V(8).Info("collection", "data", "a whole ResourceMetrics")
	l.V(1).Info("dropped attributes")
	out := buf.String()
	if strings.Contains(out, "SECRETKEY9x") || !strings.Contains(out, "logger=otlp.exporter") || strings.Contains(out, "ResourceMetrics") ||
		!strings.Contains(out, `level=WARN msg="otel: dropped attributes"`) {
		t.Errorf("SDK log:\n%s", out)
	}
}

// TestShutdownReportsLostSpans: with the Collector down, the last export
// fails, and Shutdown's error says so, for traces.
func TestShutdownReportsLostSpans(t *testing.T) {
	env := map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
		"OTEL_METRICS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_TIMEOUT": "2000"}
	for k, v := range env {
		t.Setenv(k, v) // the exporter reads its own variables
	}
	tel := setupEnv(t, env)
	_, span := tel.TracerProvider().Tracer("test").Start(t.Context(), "lost")
	span.End()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := tel.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "traces: the last 1 spans were not exported") {
		t.Errorf("Shutdown = %v, want the traces' lost export named", err)
	}
}

// TestReservoirsConcurrent: Setup's exemplar reservoirs hold no lock of
// their own (the SDK serialises each one); recording from many goroutines
// while collecting is race-free (run with -race) and keeps exemplars.
func TestReservoirsConcurrent(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	tel := setupEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "none"}, WithMetricReader(reader))
	m := tel.MeterProvider().Meter("test")
	c, _ := m.Int64Counter("c")
	h, _ := m.Float64Histogram("h", metric.WithExplicitBucketBoundaries(0.1, 1, 10))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				ctx, span := tel.TracerProvider().Tracer("t").Start(t.Context(), "s")
				c.Add(ctx, 1)
				h.Record(ctx, float64((g+i)%20))
				span.End()
			}
		})
	}
	var rm metricdata.ResourceMetrics
	for range 50 {
		if err := reader.Collect(t.Context(), &rm); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	var exemplars int
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch d := mt.Data.(type) {
			case metricdata.Sum[int64]:
				exemplars += len(d.DataPoints[0].Exemplars)
			case metricdata.Histogram[float64]:
				exemplars += len(d.DataPoints[0].Exemplars)
			}
		}
	}
	if exemplars != 1+4 { // the counter's latest, and one per bucket hit (4 of 4)
		t.Errorf("%d exemplars, want 5", exemplars)
	}
}

// TestScrapeProblemLoggedOnce: two scopes emitting the same series (which
// the pull path cannot tell apart without scope labels) make every scrape
// report a problem; it is logged once, not per scrape.
func TestScrapeProblemLoggedOnce(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	tel := setupEnv(t, nil, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	for _, scope := range []string{"a", "b"} {
		c, err := tel.MeterProvider().Meter(scope).Int64Counter("dup.count")
		if err != nil {
			t.Fatal(err)
		}
		c.Add(t.Context(), 1)
	}
	for range 5 {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		tel.MetricsHandler().ServeHTTP(httptest.NewRecorder(), req)
	}
	if n := strings.Count(buf.String(), "serving /metrics"); n != 1 {
		t.Errorf("%d log lines for 5 scrapes with one problem:\n%s", n, buf.String())
	}
}

// TestBadBSPValueGetsTheDefault: without WithStrictEnv, a bad
// OTEL_BSP_SCHEDULE_DELAY is warned about and the SDK's default (5 s)
// really applies: the SDK, which reads the variable itself, would otherwise
// use 0 and spin, exporting each span at once.
func TestBadBSPValueGetsTheDefault(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "0")
	var out, log syncBuffer
	tel := setupEnv(t, map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_BSP_SCHEDULE_DELAY": "0"},
		WithConsoleWriter(&out), WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	_, span := tel.TracerProvider().Tracer("t").Start(t.Context(), "s")
	span.End()
	time.Sleep(500 * time.Millisecond)
	if out.String() != "" {
		t.Errorf("the span was exported within 500 ms: the delay of 0 applied")
	}
	if !strings.Contains(log.String(), "OTEL_BSP_SCHEDULE_DELAY") || !strings.Contains(log.String(), "the default applies") {
		t.Errorf("no warning:\n%s", log.String())
	}
	if err := tel.ForceFlush(t.Context()); err != nil || !strings.Contains(out.String(), `"Name":"s"`) {
		t.Errorf("ForceFlush = %v; exported %q", err, out.String())
	}
}

// appScope is the first scope of rm that is not Setup's own (runtime
// metrics, dropped telemetry): the test's instruments.
func appScope(rm metricdata.ResourceMetrics) metricdata.ScopeMetrics {
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != scopeName && !strings.Contains(sm.Scope.Name, "instrumentation/runtime") {
			return sm
		}
	}
	return metricdata.ScopeMetrics{}
}

// TestRuntimeAndProcessMetrics: Setup records the Go runtime's and the
// process's metrics, with their conventional names on /metrics, unless
// WithoutRuntimeMetrics.
func TestRuntimeAndProcessMetrics(t *testing.T) {
	t.Parallel()
	body, _ := scrape(t, setupEnv(t, nil).MetricsHandler(), "")
	for _, want := range []string{"go_goroutine_count ", "go_memory_used_bytes{", `process_cpu_time_seconds_total{cpu_mode="user"} `,
		"process_memory_usage_bytes ", "process_unix_file_descriptor_count ", "process_uptime_seconds "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "process_memory_usage_bytes 0\n") {
		t.Error("resident memory is 0")
	}
	body, _ = scrape(t, setupEnv(t, nil, WithoutRuntimeMetrics()).MetricsHandler(), "")
	if strings.Contains(body, "go_goroutine_count") || strings.Contains(body, "process_cpu_time") {
		t.Errorf("WithoutRuntimeMetrics left some in:\n%s", body)
	}
}
