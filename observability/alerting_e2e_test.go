//go:build e2e

package observability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/otelobs"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// TestAlertReachesWebhook: real Prometheus, configured by configure.sh with
// the shipped alerts.yml, scrapes a program instrumented with llmmetrics;
// the program calls a model with no price, LLMUnpricedModel fires, and real
// Alertmanager, with the shipped alertmanager.yml, delivers it to a webhook.
func TestAlertReachesWebhook(t *testing.T) {
	// The webhook receiver.
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer hook.Close()

	// Alertmanager with the shipped configuration; its secrets (the URLs)
	// come from files, here in a temporary folder, and groups wait 1 s.
	secrets := t.TempDir()
	for name, content := range map[string]string{"webhook_url": hook.URL, "slack_webhook_url": "http://127.0.0.1:1/unused"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	amConf, err := os.ReadFile("alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(amConf), "/etc/alertmanager/secrets", secrets)
	conf = strings.Replace(conf, "group_wait: 30s", "group_wait: 1s", 1)
	am := backends.StartAlertmanager(t, conf)

	// The instrumented program, serving /metrics.
	backends.CleanEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "prometheus"})
	tel, err := otelobs.Setup(t.Context(), otelobs.WithoutGlobals())
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	llm, err := llmmetrics.New(llmmetrics.WithMeterProvider(tel.MeterProvider()), llmmetrics.WithTracerProvider(tel.TracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())
	app := httptest.NewServer(mux)
	defer app.Close()

	// Prometheus, configured by configure.sh.
	appURL, _ := url.Parse(app.URL)
	amURL, _ := url.Parse(am.URL)
	env := fmt.Sprintf("API_HOST=%s\nALERTMANAGER_HOST=127.0.0.1\nALERTMANAGER_PORT=%s\nPROMETHEUS_SCRAPE_INTERVAL=1s\n",
		appURL.Host, amURL.Port())
	dir, out, ok := configure(t, env)
	if !ok {
		t.Fatalf("configure.sh: %s", out)
	}
	promConf, _ := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
	rules, _ := os.ReadFile(filepath.Join(dir, "alerts.yml"))
	prom := backends.StartPrometheus(t, backends.PrometheusConfig{ConfigYAML: string(promConf),
		Files: map[string]string{"alerts.yml": string(rules)}})

	// Two scrapes of the counter, then an unpriced call.
	backends.Eventually(t, 30*time.Second, "the first scrape", func(ctx context.Context) error {
		s, err := prom.Query(ctx, `up{job="agent-orchestrator"} == 1`)
		if err != nil || len(s) != 1 {
			return fmt.Errorf("up = %v (%v)", s, err)
		}
		return nil
	})
	llm.RecordCall(t.Context(), llmmetrics.Request{Provider: "openai", Model: "gpt-unreleased"},
		llmmetrics.Usage{InputTokens: 10, OutputTokens: 5}, time.Second, nil)
	time.Sleep(1500 * time.Millisecond)
	llm.RecordCall(t.Context(), llmmetrics.Request{Provider: "openai", Model: "gpt-unreleased"},
		llmmetrics.Usage{InputTokens: 10, OutputTokens: 5}, time.Second, nil)

	backends.Eventually(t, 90*time.Second, "the alert at the webhook", func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		for _, body := range got {
			var msg struct {
				Status string
				Alerts []struct{ Labels map[string]string }
			}
			if json.Unmarshal([]byte(body), &msg) == nil && msg.Status == "firing" {
				for _, a := range msg.Alerts {
					if a.Labels["alertname"] == "LLMUnpricedModel" && a.Labels["model"] == "gpt-unreleased" {
						return nil
					}
				}
			}
		}
		return fmt.Errorf("%d webhook calls so far: %v", len(got), got)
	})
}
