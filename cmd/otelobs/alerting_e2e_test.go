//go:build e2e

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/internal/doctor"
)

// TestDoctorAlertingChain breaks the alerting chain one link at a time on
// real Prometheus and Alertmanager, and checks that doctor's step 7 names
// the broken link and its fix while the rest of the chain passes. The
// healthy chain is TestDoctorAllGreen's.
func TestDoctorAlertingChain(t *testing.T) {
	jaeger := backends.StartJaeger(t)
	app, _ := pullApp(t, nil, "http://"+jaeger.OTLPHTTP)
	// prometheus starts Prometheus scraping the app (and itself, so that a
	// rule can match two series) with rules and alerting as given.
	prometheus := func(t *testing.T, rules, alertmanager string) *backends.Prometheus {
		conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: agent-orchestrator
    static_configs:
      - targets: [%q]
  - job_name: prometheus
    static_configs:
      - targets: [%q]
`, hostPort(app), backends.SelfAddress)
		files := map[string]string{}
		if rules != "" {
			conf += "rule_files: [rules.yml]\n"
			files["rules.yml"] = rules
		}
		if alertmanager != "" {
			conf += fmt.Sprintf("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [%q]\n", alertmanager)
		}
		prom := backends.StartPrometheus(t, backends.PrometheusConfig{ConfigYAML: conf, Files: files})
		if alertmanager != "" {
			backends.Eventually(t, 30*time.Second, "Alertmanager discovered", func(ctx context.Context) error {
				var data struct {
					Active []any `json:"activeAlertmanagers"`
				}
				if err := prom.API(ctx, "alertmanagers", nil, &data); err != nil || len(data.Active) == 0 {
					return fmt.Errorf("none yet (%v)", err)
				}
				return nil
			})
		}
		return prom
	}
	alwaysFiring := "groups:\n  - name: test\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1)\n"
	run := func(t *testing.T, prom *backends.Prometheus, c chain) doctor.Report {
		r, _ := doctorRun(t, stack{app: app, prom: prom.URL, jaeger: jaeger.QueryURL, alerting: c})
		return r
	}

	t.Run("no rules loaded", func(t *testing.T) {
		c := startChain(t, nil)
		r := run(t, prometheus(t, "", hostPort(c.am)), c)
		wantCheck(t, r, "alerting.rules", doctor.Fail, "no alert rules loaded", "rule_files: [alerts.yml]", "promtool check rules")
		wantCheck(t, r, "alerting.alertmanagers", doctor.Pass)
	})
	t.Run("a rule that fails to evaluate", func(t *testing.T) {
		c := startChain(t, nil)
		// Two up series (two jobs) on the "one" side of a one-to-one match.
		broken := alwaysFiring + "      - alert: Broken\n        expr: vector(1) + on() up\n"
		prom := prometheus(t, broken, hostPort(c.am))
		waitRuleHealth(t, prom, "Broken", "err")
		wantCheck(t, run(t, prom, c), "alerting.rules", doctor.Fail, "1 rules fail to evaluate", "Broken (group test)")
	})
	t.Run("no Alertmanager", func(t *testing.T) {
		c := startChain(t, nil)
		wantCheck(t, run(t, prometheus(t, alwaysFiring, ""), c), "alerting.alertmanagers", doctor.Fail,
			"sends alerts to no Alertmanager", "ALERTMANAGER_HOST")
	})
	t.Run("Prometheus cannot reach Alertmanager", func(t *testing.T) {
		c := startChain(t, nil)
		// An Alertmanager address that hangs up: a closed port could be
		// taken by another test's process before Prometheus sends.
		prom := prometheus(t, alwaysFiring, hostPort(hangUpURL(t)))
		waitCounter(t, prom.URL+"/metrics", "prometheus_notifications_errors_total")
		r := run(t, prom, c)
		wantCheck(t, r, "alerting.alertmanagers", doctor.Pass)
		wantCheck(t, r, "alerting.prometheus_sends", doctor.Fail, "sends of alerts to", "failed", "ALERTMANAGER_HOST")
		wantCheck(t, r, "alerting.alertmanager", doctor.Pass) // the one doctor reaches is fine
	})
	t.Run("Alertmanager cannot deliver", func(t *testing.T) {
		// The receivers' URLs answer nothing.
		dead := closedURL(t) + "/hook\n"
		c := startChain(t, map[string]string{"slack_webhook_url": dead, "webhook_url": dead})
		prom := prometheus(t, alwaysFiring, hostPort(c.am))
		waitCounter(t, c.am+"/metrics", "alertmanager_notifications_failed_total")
		r := run(t, prom, c)
		wantCheck(t, r, "alerting.prometheus_sends", doctor.Pass)
		wantCheck(t, r, "alerting.alertmanager", doctor.Fail, "since Alertmanager started", "slack notifications", "observability/secrets/")
		wantCheck(t, r, "alerting.secrets", doctor.Pass) // present and URLs: the endpoint is what fails
	})
	t.Run("Alertmanager down", func(t *testing.T) {
		c := startChain(t, nil)
		prom := prometheus(t, alwaysFiring, hostPort(c.am))
		c.am = closedURL(t)
		wantCheck(t, run(t, prom, c), "alerting.alertmanager", doctor.Fail, "does not answer", "alerts are not delivered", "amtool check-config")
	})
	t.Run("a secret file that holds no URL", func(t *testing.T) {
		c := startChain(t, map[string]string{"slack_webhook_url": "xoxb-not-a-url\n"})
		r := run(t, prometheus(t, alwaysFiring, hostPort(c.am)), c)
		wantCheck(t, r, "alerting.secrets", doctor.Fail, "slack_webhook_url (api_url_file", "not one http(s) URL", "restart Alertmanager")
		if c, _ := r.Find("alerting.secrets"); strings.Contains(c.Summary+c.Fix, "xoxb") {
			t.Errorf("doctor printed the secret: %+v", c)
		}
	})
	t.Run("no secret files", func(t *testing.T) {
		c := startChain(t, map[string]string{"slack_webhook_url": "-", "webhook_url": "-"})
		wantCheck(t, run(t, prometheus(t, alwaysFiring, hostPort(c.am)), c), "alerting.secrets", doctor.Skip,
			"slack_webhook_url", "webhook_url", "alerts routed there are not delivered", "observability/secrets/README.md")
	})
}

// waitRuleHealth waits until Prometheus reports the rule's health.
func waitRuleHealth(t *testing.T, prom *backends.Prometheus, rule, health string) {
	t.Helper()
	backends.Eventually(t, 30*time.Second, rule+" health "+health, func(ctx context.Context) error {
		var data struct {
			Groups []struct {
				Rules []struct{ Name, Health string } `json:"rules"`
			} `json:"groups"`
		}
		if err := prom.API(ctx, "rules", nil, &data); err != nil {
			return err
		}
		for _, g := range data.Groups {
			for _, r := range g.Rules {
				if r.Name == rule && r.Health == health {
					return nil
				}
			}
		}
		return fmt.Errorf("not yet: %+v", data)
	})
}

// waitCounter waits until a counter of a /metrics page is above 0.
func waitCounter(t *testing.T, url, name string) {
	t.Helper()
	backends.Eventually(t, 60*time.Second, name+" > 0", func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for line := range strings.SplitSeq(string(b), "\n") {
			if strings.HasPrefix(line, name) && !strings.HasSuffix(line, " 0") {
				return nil
			}
		}
		return fmt.Errorf("%s is 0 or absent", name)
	})
}
