//go:build e2e

package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/internal/backends"
)

// TestAlertFromServerReachesWebhook: real Prometheus, configured by
// configure.sh with the shipped alerts.yml, scrapes the example server; runs
// that call a model with no price make LLMUnpricedModel fire, and real
// Alertmanager, with the shipped alertmanager.yml, delivers it to a local
// webhook.
func TestAlertFromServerReachesWebhook(t *testing.T) {
	hook := backends.StartWebhook(t)
	am := backends.StartShippedAlertmanager(t, hook)

	backends.CleanEnv(t, nil)
	// No budget: under one, a run on a model with no price is refused.
	s := startApp(t, testEnv(t, map[string]string{"ORCH_RUN_BUDGET_USD": "0", "ORCH_TOTAL_BUDGET_USD": "0"}))
	appURL, _ := url.Parse(s.URL)
	amURL, _ := url.Parse(am.URL)
	prom := backends.StartConfiguredPrometheus(t, fmt.Sprintf(
		"API_HOST=%s\nALERTMANAGER_HOST=127.0.0.1\nALERTMANAGER_PORT=%s\nPROMETHEUS_SCRAPE_INTERVAL=1s\n",
		appURL.Host, amURL.Port()), backends.PrometheusConfig{})
	backends.Eventually(t, 30*time.Second, "the first scrape", func(ctx context.Context) error {
		got, err := prom.Query(ctx, `up{job="agent-orchestrator"} == 1`)
		if err != nil || len(got) != 1 {
			return fmt.Errorf("up = %v (%v)", got, err)
		}
		return nil
	})

	// Two runs on an unpriced model, scraped in between, so that increase()
	// has two samples that differ.
	ws := filepath.Join(s.root, "alert-workspace")
	for range 2 {
		code, body := s.post(t, guideBody(ws, "openai", "gpt-unreleased"), nil)
		if code != 202 {
			t.Fatalf("POST /runs = %d %v", code, body)
		}
		if v := s.wait(t, body["run_id"].(string)); v.State != "completed" {
			t.Fatalf("run: %+v", v)
		}
		time.Sleep(1500 * time.Millisecond)
	}
	backends.Eventually(t, 90*time.Second, "LLMUnpricedModel at the webhook", func(context.Context) error {
		return hook.Firing(map[string]string{"alertname": "LLMUnpricedModel", "provider": "openai", "model": "gpt-unreleased"})
	})
}
