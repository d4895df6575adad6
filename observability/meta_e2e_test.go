//go:build e2e

package observability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/internal/backends"
)

// TestStackWatchesItself runs the stack's parts for real with two of them
// broken on purpose, and Prometheus with the shipped alerts.yml scraping
// itself, the Collector and Alertmanager, as prometheus.yml does:
//   - the Collector's Prometheus endpoint refuses every export (HTTP 400, a
//     permanent error, so it is counted at once rather than retried);
//   - Alertmanager's only receiver is a webhook on a closed port.
//
// It proves that every series of testdata/stack-series.txt that these parts
// produce exists under that name at its source (the alert rules read them),
// and that CollectorExportFailing and AlertmanagerNotificationsFailing fire
// on the real series (the Collector's failure counter is born at its first
// failure and grows with each export after). TargetDown stays silent: every
// target is up.
func TestStackWatchesItself(t *testing.T) {
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "refused by the test", http.StatusBadRequest)
	}))
	t.Cleanup(refuse.Close)
	closed := fmt.Sprintf("127.0.0.1:%d", backends.FreePort(t))
	col := backends.StartCollectorAnyPorts(t, backends.RepoPath("collector", "otel-collector.yaml"),
		"PROMETHEUS_OTLP_ENDPOINT="+refuse.URL+"/api/v1/otlp", "JAEGER_OTLP_ENDPOINT="+closed)
	am := backends.StartAlertmanager(t, fmt.Sprintf(`route:
  receiver: hook
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs:
      - url: http://%s/
`, closed))
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	host := func(u string) string { return strings.TrimPrefix(strings.TrimSuffix(u, "/"), "http://") }
	colMetrics := host(strings.TrimSuffix(col.MetricsURL, "/metrics"))
	prom := backends.StartPrometheus(t, backends.PrometheusConfig{
		Files: map[string]string{"alerts.yml": string(rules)},
		ConfigYAML: fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: [%q]
  - job_name: otel-collector
    static_configs:
      - targets: [%q]
  - job_name: alertmanager
    static_configs:
      - targets: [%q]
`, host(am.URL), backends.SelfAddress, colMetrics, host(am.URL)),
	})

	// Metric points into the Collector, one a second (the alert sees a
	// failure counter grow, not its birth), and one span: every export fails.
	post := func(path, body string) error {
		resp, err := http.Post(col.HTTPEndpoint+path, "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST %s: %s", path, resp.Status)
		}
		return nil
	}
	now := time.Now().UnixNano()
	metric := func() string {
		return fmt.Sprintf(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"meta-test"}}]},`+
			`"scopeMetrics":[{"metrics":[{"name":"meta_test","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"%d"}]}}]}]}]}`, time.Now().UnixNano())
	}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	go func() {
		for ctx.Err() == nil {
			_ = post("/v1/metrics", metric())
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	if err := post("/v1/traces", fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"meta-test"}}]},`+
		`"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"meta",`+
		`"kind":1,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`, now, now)); err != nil {
		t.Fatal(err)
	}

	// Each series of stack-series.txt, at its source's /metrics.
	sources := map[string]string{"prometheus": prom.URL + "/metrics", "alertmanager": am.URL + "/metrics", "otel-collector": col.MetricsURL}
	for name, source := range stackSeries(t) {
		u, ok := sources[source]
		if !ok {
			continue // the SDK's, the example server's and scrapes' own: checked where they are made
		}
		backends.Eventually(t, 60*time.Second, name+" at "+source, func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			for line := range strings.SplitSeq(string(b), "\n") {
				if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
					return nil
				}
			}
			return fmt.Errorf("no %s in %s's /metrics", name, source)
		})
	}

	// The alerts, on the series Prometheus scraped.
	for _, alert := range []string{"CollectorExportFailing", "AlertmanagerNotificationsFailing"} {
		backends.Eventually(t, 90*time.Second, alert+" firing", func(ctx context.Context) error {
			s, err := prom.Query(ctx, `ALERTS{alertstate="firing", alertname="`+alert+`"}`)
			if err != nil || len(s) == 0 {
				return fmt.Errorf("not firing yet (%v)", err)
			}
			return nil
		})
	}
	s, err := prom.Query(t.Context(), `ALERTS{alertname="CollectorExportFailing"}`)
	if err != nil || len(s) != 1 || s[0].Metric["exporter"] != "otlp_http/prometheus" {
		t.Errorf("CollectorExportFailing: %v %v, want one alert for exporter otlp_http/prometheus", s, err)
	}
	for _, job := range []string{"prometheus", "otel-collector", "alertmanager"} {
		if s, err := prom.Query(t.Context(), `up{job="`+job+`"} == 1`); err != nil || len(s) != 1 {
			t.Errorf("job %s is not up: %v %v", job, s, err)
		}
	}
	if s, err := prom.Query(t.Context(), `ALERTS{alertname="TargetDown"}`); err != nil || len(s) != 0 {
		t.Errorf("TargetDown with every target up: %v %v", s, err)
	}
}
