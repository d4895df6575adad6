//go:build e2e

// End-to-end: doctor against real Prometheus, Jaeger and Collector, healthy
// and broken on purpose, one failure mode per test. Run with -tags e2e (the
// project's test command does).

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/internal/contract"
	"github.com/agentorchestrator/observability/internal/doctor"
	"github.com/agentorchestrator/observability/otelobs"
)

// stack is what a doctor run is pointed at.
type stack struct {
	app, prom, jaeger          string
	collectorHealth, colMetric string
	datasources                string
	alerting                   chain
}

// doctorRun runs `otelobs doctor -json` against the stack and returns the
// report and the exit code; the report, as text, goes to the test log.
func doctorRun(t *testing.T, s stack, extra ...string) (doctor.Report, int) {
	t.Helper()
	if s.datasources == "" {
		s.datasources = backends.RepoPath("observability", "grafana", "provisioning", "datasources")
	}
	if s.collectorHealth == "" {
		s.collectorHealth = closedURL(t) + "/"
	}
	if s.colMetric == "" {
		s.colMetric = closedURL(t) + "/metrics"
	}
	env := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(env, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if s.alerting.am == "" {
		s.alerting = chain{am: closedURL(t), secrets: t.TempDir()}
	}
	if s.alerting.config == "" {
		s.alerting.config = backends.RepoPath("observability", "alertmanager.yml")
	}
	args := append([]string{"doctor", "-env", env, "-app", s.app, "-prometheus", s.prom, "-jaeger", s.jaeger,
		"-grafana", closedURL(t), "-datasources", s.datasources,
		"-collector-health", s.collectorHealth, "-collector-metrics", s.colMetric,
		"-alertmanager", s.alerting.am, "-alertmanager-config", s.alerting.config, "-secrets", s.alerting.secrets}, extra...)
	var out, errOut bytes.Buffer
	code := run(t.Context(), append(args, "-json"), &out, &errOut)
	var r doctor.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor -json: %v\n%s%s", err, out.String(), errOut.String())
	}
	var text strings.Builder
	_ = r.WriteText(&text)
	t.Logf("otelobs doctor:\n%s%s", text.String(), errOut.String())
	return r, code
}

// closedURL is the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	return fmt.Sprintf("http://127.0.0.1:%d", backends.FreePort(t))
}

// hangUpURL is an address that accepts connections and closes them at
// once, for the test's length: unlike a closed port, no other process of
// a parallel test run can start listening there.
func hangUpURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return "http://" + ln.Addr().String()
}

// wantCheck asserts a check's status and that its summary and fix say
// what they must.
func wantCheck(t *testing.T, r doctor.Report, id string, status doctor.Status, words ...string) {
	t.Helper()
	c, ok := r.Find(id)
	if !ok {
		t.Errorf("no check %s in %+v", id, r.Checks)
		return
	}
	if c.Status != status {
		t.Errorf("%s: %s (%s; fix %q), want %s", id, c.Status, c.Summary, c.Fix, status)
	}
	for _, w := range words {
		if !strings.Contains(c.Summary+"\n"+c.Fix, w) {
			t.Errorf("%s: %q / %q does not say %q", id, c.Summary, c.Fix, w)
		}
	}
}

// runContract runs the contract workload twice with the providers (nil:
// the globals) and returns the last run's trace id.
func runContract(t *testing.T, mp metric.MeterProvider, tp trace.TracerProvider) string {
	t.Helper()
	in, err := contract.NewInstruments(mp, tp)
	if err != nil {
		t.Fatal(err)
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	contract.Run(t.Context(), in, tp.Tracer("doctor-test"), 1)
	return contract.Run(t.Context(), in, tp.Tracer("doctor-test"), 2)
}

// pullApp sets up the SDK for pull with traces to tracesEndpoint (OTLP/HTTP
// base URL), serves /metrics on ln and records the contract workload.
func pullApp(t *testing.T, ln net.Listener, tracesEndpoint string) (url, traceID string) {
	t.Helper()
	tel := backends.SetupTelemetry(t, map[string]string{
		"OTEL_SERVICE_NAME":           "doctor-test",
		"OTEL_METRICS_EXPORTER":       "prometheus",
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": tracesEndpoint,
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())
	srv := httptest.NewUnstartedServer(mux)
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	t.Cleanup(srv.Close)
	traceID = runContract(t, nil, nil)
	if err := tel.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return srv.URL, traceID
}

// configuredPrometheus starts Prometheus as configure.sh sets it up for
// API_HOST=host:port, scraping every second, with the shipped alerts.yml,
// sending alerts to a healthy alerting chain, which it returns.
func configuredPrometheus(t *testing.T, target string, extra backends.PrometheusConfig) (*backends.Prometheus, chain) {
	t.Helper()
	c := startChain(t, nil)
	return backends.StartConfiguredPrometheus(t, fmt.Sprintf(
		"API_HOST=%s\nPROMETHEUS_SCRAPE_INTERVAL=1s\nALERTMANAGER_HOST=%s\n", target, hostPort(c.am)), extra), c
}

// chain is an alerting chain for doctor's step 7: Alertmanager's URL, the
// alertmanager.yml doctor reads and the folder of its secret files.
type chain struct {
	am, config, secrets string
}

// startChain starts Alertmanager with the shipped alertmanager.yml, its
// secret files (Slack's and the webhook's URLs) in a folder of their own
// holding the URLs of a local receiver, or the content given per file.
func startChain(t *testing.T, content map[string]string) chain {
	t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(hook.Close)
	secrets := t.TempDir()
	for _, f := range []string{"slack_webhook_url", "webhook_url"} {
		c, ok := content[f]
		if !ok {
			c = hook.URL + "/" + f + "\n"
		}
		if c == "-" { // no such file
			continue
		}
		if err := os.WriteFile(filepath.Join(secrets, f), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	shipped := backends.RepoPath("observability", "alertmanager.yml")
	b, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	// Notifications at once, and a failed one given up after a second (its
	// retries last a group_interval), instead of after 30 s and 5 min.
	conf := strings.NewReplacer("/etc/alertmanager/secrets/", secrets+"/",
		"group_wait: 30s", "group_wait: 0s", "group_interval: 5m", "group_interval: 1s").Replace(string(b))
	am := backends.StartAlertmanager(t, conf)
	return chain{am: am.URL, config: shipped, secrets: secrets}
}

func hostPort(rawURL string) string {
	u, _ := url.Parse(rawURL)
	return u.Host
}

// TestDoctorAllGreen: a healthy pull stack, with traces through the
// Collector to Jaeger, passes every check, and doctor exits 0. The same
// stack with a data source linking traceID fails only the Grafana check,
// and a Prometheus that asks for the plain text format first fails the
// scrape job check.
func TestDoctorAllGreen(t *testing.T) {
	_, jaeger, col := backends.StartPushStack(t)
	app, traceID := pullApp(t, nil, col.HTTPEndpoint)
	scraper, alerting := configuredPrometheus(t, hostPort(app), backends.PrometheusConfig{})
	scraper.WaitForExemplar(t, "git_merge_duration_seconds_bucket", traceID)
	jaeger.WaitForTrace(t, traceID)
	s := stack{app: app, prom: scraper.URL, jaeger: jaeger.QueryURL, collectorHealth: col.HealthURL, colMetric: col.MetricsURL,
		alerting: alerting}

	r, code := doctorRun(t, s)
	if code != 0 || !r.OK || r.Mode != doctor.ModePull {
		t.Errorf("exit %d, ok %v, mode %s; want 0, true, pull; failed: %+v", code, r.OK, r.Mode, r.Failed())
	}
	for _, id := range []string{"app.metrics", "app.exemplars", "contract.series", "prometheus.ready", "prometheus.exemplar_storage",
		"prometheus.scrape_job", "prometheus.target", "exemplars.git_merge_duration_seconds", "exemplars.task_execution_duration_seconds",
		"exemplars.llm_cost_dollars_total", "trace", "grafana.exemplar_link", "grafana.traces_to_metrics", "collector.health", "collector.pipeline",
		"alerting.rules", "alerting.alertmanagers", "alerting.prometheus_sends", "alerting.alertmanager", "alerting.secrets"} {
		wantCheck(t, r, id, doctor.Pass)
	}
	wantCheck(t, r, "collector.pipeline", doctor.Pass, "otlp_grpc/jaeger sent")

	t.Run("wrong datasource label", func(t *testing.T) {
		b, err := os.ReadFile(backends.RepoPath("observability", "grafana", "provisioning", "datasources", "datasources.yml"))
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(b), "- name: trace_id", "- name: traceID", 1)
		if broken == string(b) {
			t.Fatal("datasources.yml has no '- name: trace_id' to break")
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "datasources.yml"), []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		s := s
		s.datasources = dir
		r, code := doctorRun(t, s)
		if code != 1 || len(r.Failed()) != 1 {
			t.Errorf("exit %d with failures %+v; want 1 with the Grafana check only", code, r.Failed())
		}
		wantCheck(t, r, "grafana.exemplar_link", doctor.Fail, "links exemplar label traceID", "the exemplars carry trace_id", "name: trace_id")
	})

	t.Run("scrape without OpenMetrics", func(t *testing.T) {
		conf := fmt.Sprintf("global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: agent-orchestrator\n"+
			"    scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0]\n    static_configs: [{targets: [%q]}]\n", hostPort(app))
		textFirst := backends.StartPrometheus(t, backends.PrometheusConfig{ConfigYAML: conf})
		textFirst.WaitForTargetHealth(t, "agent-orchestrator", "up")
		s := s
		s.prom = textFirst.URL
		r, code := doctorRun(t, s)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		wantCheck(t, r, "prometheus.scrape_job", doctor.Fail, "PrometheusText0.0.4 first", "scrape_protocols: [OpenMetricsText1.0.0")
		wantCheck(t, r, "exemplars.git_merge_duration_seconds", doctor.Fail, "asks for the plain text format first")
	})
}

// TestDoctorLoopbackBoundApp: the app listens on 127.0.0.1 only while
// Prometheus scrapes another address of the machine (127.0.0.2 here, the
// loopback stand-in for a VM's IP): the target is DOWN, and doctor says the
// app is bound to loopback and how to bind it to the scraped address or to
// every interface.
func TestDoctorLoopbackBoundApp(t *testing.T) {
	jaeger := backends.StartJaeger(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app, _ := pullApp(t, ln, "http://"+jaeger.OTLPHTTP)
	port := ln.Addr().(*net.TCPAddr).Port
	prom, _ := configuredPrometheus(t, fmt.Sprintf("127.0.0.2:%d", port), backends.PrometheusConfig{})
	prom.WaitForTargetHealth(t, "agent-orchestrator", "down")

	r, code := doctorRun(t, stack{app: app, prom: prom.URL, jaeger: jaeger.QueryURL})
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantCheck(t, r, "app.metrics", doctor.Pass)
	wantCheck(t, r, "prometheus.target", doctor.Fail, "DOWN", "connection refused",
		fmt.Sprintf("listens on loopback only (127.0.0.1:%d)", port), fmt.Sprintf("ORCH_ADDR=127.0.0.2:%d", port), "ORCH_ADDR=:"+fmt.Sprint(port))
	wantCheck(t, r, "exemplars.git_merge_duration_seconds", doctor.Fail, "cannot scrape the app")
}

// TestDoctorExemplarStorageOff: Prometheus without exemplar storage fails
// its check, and the empty query_exemplars is explained by it.
func TestDoctorExemplarStorageOff(t *testing.T) {
	jaeger := backends.StartJaeger(t)
	app, _ := pullApp(t, nil, "http://"+jaeger.OTLPHTTP)
	prom, _ := configuredPrometheus(t, hostPort(app), backends.PrometheusConfig{NoExemplarStorage: true})
	prom.WaitForTargetHealth(t, "agent-orchestrator", "up")
	prom.WaitForData(t, "git_merge_duration_seconds_bucket")

	r, code := doctorRun(t, stack{app: app, prom: prom.URL, jaeger: jaeger.QueryURL})
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantCheck(t, r, "app.exemplars", doctor.Pass)
	wantCheck(t, r, "prometheus.exemplar_storage", doctor.Fail, "exemplar storage is off", "--enable-feature=exemplar-storage")
	wantCheck(t, r, "exemplars.git_merge_duration_seconds", doctor.Fail, "none on git_merge_duration_seconds_bucket", "exemplar storage is off")
	wantCheck(t, r, "trace", doctor.Skip)
}

// TestDoctorOpenMetricsOff: an app hand-wired with the OTel Prometheus
// exporter and promhttp's default handler (no OpenMetrics) serves its
// metrics without exemplars; doctor says why and how to fix it.
func TestDoctorOpenMetricsOff(t *testing.T) {
	backends.CleanEnv(t, nil)
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })
	in, err := contract.NewInstruments(mp, tp)
	if err != nil {
		t.Fatal(err)
	}
	contract.Run(t.Context(), in, tp.Tracer("doctor-test"), 1)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	prom, _ := configuredPrometheus(t, hostPort(srv.URL), backends.PrometheusConfig{})
	prom.WaitForTargetHealth(t, "agent-orchestrator", "up")
	prom.WaitForData(t, "git_merge_duration_seconds_bucket")

	r, code := doctorRun(t, stack{app: srv.URL, prom: prom.URL, jaeger: closedURL(t)})
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantCheck(t, r, "app.exemplars", doctor.Fail, "answered text/plain to an OpenMetrics request", "EnableOpenMetrics: true")
	wantCheck(t, r, "exemplars.git_merge_duration_seconds", doctor.Fail, "does not speak OpenMetrics")
}

// TestDoctorCollectorDown: an app that pushes OTLP to a Collector that is
// not running; doctor finds push mode from the app and says the exports
// are lost.
func TestDoctorCollectorDown(t *testing.T) {
	jaeger := backends.StartJaeger(t)
	prom := backends.StartPrometheus(t, backends.PrometheusConfig{OTLPReceiver: true})
	ports := backends.NewCollectorPorts(t)
	backends.CleanEnv(t, map[string]string{
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": fmt.Sprintf("http://127.0.0.1:%d", ports.HTTP),
		"OTEL_METRIC_EXPORT_INTERVAL": "500",
		"OTEL_EXPORTER_OTLP_TIMEOUT":  "500",
	})
	tel, err := otelobs.Setup(t.Context(), otelobs.WithoutGlobals(), otelobs.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The exports fail: that is the point of the test.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = tel.Shutdown(ctx)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	runContract(t, tel.MeterProvider(), tel.TracerProvider())

	r, code := doctorRun(t, stack{app: app.URL, prom: prom.URL, jaeger: jaeger.QueryURL,
		collectorHealth: fmt.Sprintf("http://127.0.0.1:%d/", ports.Health), colMetric: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports.Metrics)})
	if code != 1 || r.Mode != doctor.ModePush {
		t.Errorf("exit %d, mode %s; want 1, push", code, r.Mode)
	}
	wantCheck(t, r, "app.metrics", doctor.Skip, "push mode")
	wantCheck(t, r, "prometheus.otlp_receiver", doctor.Pass)
	wantCheck(t, r, "contract.series", doctor.Fail, "missing from Prometheus")
	wantCheck(t, r, "exemplars.git_merge_duration_seconds", doctor.Fail, "check the Collector (step 6)")
	wantCheck(t, r, "collector.health", doctor.Fail, "connection refused", "the app's OTLP exports are lost", "start the Collector")
}

// TestDoctorPushAllGreen: a healthy push stack, the app sending metrics and
// traces over OTLP through the Collector, passes every check; doctor finds
// push mode from the app and reads the contract series from Prometheus.
func TestDoctorPushAllGreen(t *testing.T) {
	prom, jaeger, col := backends.StartPushStack(t)
	tel := backends.SetupTelemetry(t, map[string]string{
		"OTEL_SERVICE_NAME":           "doctor-test",
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": col.HTTPEndpoint,
		"OTEL_METRIC_EXPORT_INTERVAL": "500",
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	traceID := runContract(t, nil, nil)
	if err := tel.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	prom.WaitForExemplar(t, "llm_cost_dollars_total", traceID)
	jaeger.WaitForTrace(t, traceID)

	r, code := doctorRun(t, stack{app: app.URL, prom: prom.URL, jaeger: jaeger.QueryURL,
		collectorHealth: col.HealthURL, colMetric: col.MetricsURL, alerting: startChain(t, nil)})
	// This Prometheus has no rules and no Alertmanager: step 7 says so
	// (TestDoctorAlertingChain covers it); every other check passes.
	var failed []doctor.Check
	for _, c := range r.Failed() {
		if c.ID != "alerting.rules" && c.ID != "alerting.alertmanagers" {
			failed = append(failed, c)
		}
	}
	if code != 1 || len(failed) > 0 || r.Mode != doctor.ModePush {
		t.Errorf("exit %d, mode %s; want 1 (step 7 only), push; failed: %+v", code, r.Mode, r.Failed())
	}
	wantCheck(t, r, "alerting.rules", doctor.Fail, "no alert rules loaded")
	wantCheck(t, r, "alerting.alertmanager", doctor.Pass)
	wantCheck(t, r, "app.metrics", doctor.Skip, "push mode")
	wantCheck(t, r, "prometheus.otlp_receiver", doctor.Pass)
	wantCheck(t, r, "contract.series", doctor.Pass, "in Prometheus")
	wantCheck(t, r, "trace", doctor.Pass)
	wantCheck(t, r, "collector.pipeline", doctor.Pass, "otlp_http/prometheus sent", "otlp_grpc/jaeger sent")
}
