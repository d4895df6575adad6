//go:build e2e

package observability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dashboard is the part of a Grafana dashboard the tests read.
type Dashboard struct {
	UID    string `json:"uid"`
	Title  string `json:"title"`
	Panels []struct {
		ID          int    `json:"id"`
		Title       string `json:"title"`
		Type        string `json:"type"`
		FieldConfig struct {
			Defaults struct {
				Thresholds struct {
					Steps []struct {
						Color string   `json:"color"`
						Value *float64 `json:"value"`
					} `json:"steps"`
				} `json:"thresholds"`
			} `json:"defaults"`
		} `json:"fieldConfig"`
		Targets []struct {
			Expr     string `json:"expr"`
			Exemplar bool   `json:"exemplar"`
		} `json:"targets"`
	} `json:"panels"`
}

// LoadDashboard reads the shipped dashboard.
func LoadDashboard(path string) (Dashboard, error) {
	var d Dashboard
	b, err := os.ReadFile(path)
	if err != nil {
		return d, err
	}
	return d, json.Unmarshal(b, &d)
}

// Expr returns a panel query with the dashboard variables set to "all".
func Expr(q string) string { return strings.ReplaceAll(q, "$worker_profile", ".*") }

// TestDashboard: the guide's 8 panels with their thresholds; every query
// parses (promtool) and names only series the SDK produces; histogram
// panels show exemplars.
func TestDashboard(t *testing.T) {
	d, err := LoadDashboard("grafana/dashboards/agent-orchestrator-overview.json")
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Agent Orchestrator - Overview" || len(d.Panels) != 8 {
		t.Fatalf("dashboard %q with %d panels", d.Title, len(d.Panels))
	}
	want := map[string][]string{ // title → threshold colours, the guide's green/yellow/red
		"Active Merges": {"green", "red"}, "Active Tasks": {"green", "yellow", "red"},
		"Git Merge Duration": {"green", "yellow", "red"}, "Merge Results": {"green"},
		"Task States": {"green"}, "Task Execution Duration": {"green", "red"},
		"Total LLM Cost": {"green", "yellow", "red"}, "LLM Requests by Model": {"green"},
	}
	known := knownSeries(t)
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range d.Panels {
		colours, ok := want[p.Title]
		if !ok {
			t.Errorf("unexpected panel %q", p.Title)
			continue
		}
		var got []string
		for _, s := range p.FieldConfig.Defaults.Thresholds.Steps {
			got = append(got, s.Color)
		}
		if strings.Join(got, ",") != strings.Join(colours, ",") {
			t.Errorf("%s: thresholds %v, want %v", p.Title, got, colours)
		}
		for _, tg := range p.Targets {
			n++
			checkSeriesNames(t, known, p.Title, Expr(tg.Expr))
			if strings.Contains(tg.Expr, "_bucket") && !tg.Exemplar {
				t.Errorf("%s: histogram query without exemplars", p.Title)
			}
			fmt.Fprintf(&rules, "      - record: dashboard:q%d\n        expr: %q\n", n, Expr(tg.Expr))
		}
	}
	f := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "promtool", "check", "rules", f)
}

// TestGrafanaProvisioning: exemplars link by the label the SDK writes
// (trace_id) to the Jaeger data source, and traces link back to metrics.
func TestGrafanaProvisioning(t *testing.T) {
	b, err := os.ReadFile("grafana/provisioning/datasources/datasources.yml")
	if err != nil {
		t.Fatal(err)
	}
	ds := string(b)
	for _, want := range []string{"uid: prometheus", "uid: jaeger", "exemplarTraceIdDestinations:", "- name: trace_id",
		"datasourceUid: jaeger", "tracesToMetrics:", "datasourceUid: prometheus", "url: http://prometheus:9090", "url: http://jaeger:16686"} {
		if !strings.Contains(ds, want) {
			t.Errorf("datasources.yml lacks %q", want)
		}
	}
	if strings.Contains(ds, "traceID") {
		t.Error("datasources.yml names traceID; the exemplar label is trace_id")
	}
	p, err := os.ReadFile("grafana/provisioning/dashboards/dashboards.yml")
	if err != nil || !strings.Contains(string(p), "path: /var/lib/grafana/dashboards") {
		t.Errorf("dashboard provider: %v %s", err, p)
	}
}
