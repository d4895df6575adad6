package backends

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Configure copies observability/configure.sh, alerts.yml and .env.example
// into a temporary directory, writes env as its .env and runs configure.sh
// there. It returns the directory (with the generated prometheus.yml), the
// script's output and its error.
func Configure(t testing.TB, env string) (dir, out string, err error) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range []string{"configure.sh", "alerts.yml", ".env.example"} {
		b, err := os.ReadFile(RepoPath("observability", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("bash", filepath.Join(dir, "configure.sh")).CombinedOutput()
	return dir, string(b), err
}

// StartConfiguredPrometheus runs configure.sh on env and starts Prometheus
// with the prometheus.yml it generates and the shipped alerts.yml, as the
// stack does, plus extra (e.g. NoExemplarStorage).
func StartConfiguredPrometheus(t testing.TB, env string, extra PrometheusConfig) *Prometheus {
	t.Helper()
	dir, out, err := Configure(t, env)
	if err != nil {
		t.Fatalf("configure.sh: %v\n%s", err, out)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join(dir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	extra.ConfigYAML = string(conf)
	if extra.Files == nil {
		extra.Files = map[string]string{}
	}
	extra.Files["alerts.yml"] = string(rules)
	return StartPrometheus(t, extra)
}

// Webhook is a local Alertmanager webhook receiver.
type Webhook struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

// StartWebhook starts a webhook receiver on 127.0.0.1 that records every
// notification it gets.
func StartWebhook(t testing.TB) *Webhook {
	t.Helper()
	w := &Webhook{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies = append(w.bodies, string(b))
		w.mu.Unlock()
	}))
	t.Cleanup(w.Close)
	return w
}

// Firing returns nil once a firing notification carried an alert with all
// the labels given, else an error listing what arrived.
func (w *Webhook) Firing(labels map[string]string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, body := range w.bodies {
		var msg struct {
			Status string
			Alerts []struct{ Labels map[string]string }
		}
		if json.Unmarshal([]byte(body), &msg) != nil || msg.Status != "firing" {
			continue
		}
	alerts:
		for _, a := range msg.Alerts {
			for k, v := range labels {
				if a.Labels[k] != v {
					continue alerts
				}
			}
			return nil
		}
	}
	return fmt.Errorf("%d webhook calls so far: %v", len(w.bodies), w.bodies)
}

// StartShippedAlertmanager starts Alertmanager with the shipped
// observability/alertmanager.yml, its secret files written to a temporary
// directory with the webhook receiver's URL, and groups that wait 1 s
// instead of 30 s.
func StartShippedAlertmanager(t testing.TB, hook *Webhook) *Alertmanager {
	t.Helper()
	secrets := t.TempDir()
	for name, content := range map[string]string{"webhook_url": hook.URL, "slack_webhook_url": "http://127.0.0.1:1/unused"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(RepoPath("observability", "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(b), "/etc/alertmanager/secrets", secrets)
	if !strings.Contains(conf, "group_wait: 30s") {
		t.Fatal("alertmanager.yml: no group_wait: 30s to shorten")
	}
	conf = strings.Replace(conf, "group_wait: 30s", "group_wait: 1s", 1)
	return StartAlertmanager(t, conf)
}
