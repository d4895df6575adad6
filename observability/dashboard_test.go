//go:build e2e

package observability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/agentorchestrator/observability/internal/backends"
)

// Dashboard is the part of a Grafana dashboard the tests read.
type Dashboard struct {
	UID         string `json:"uid"`
	Title       string `json:"title"`
	Annotations struct {
		List []struct {
			Name       string          `json:"name"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Datasource json.RawMessage `json:"datasource"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			IncludeAll bool            `json:"includeAll"`
			Multi      bool            `json:"multi"`
			AllValue   string          `json:"allValue"`
			Current    struct {
				Value json.RawMessage `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID          int             `json:"id"`
		Title       string          `json:"title"`
		Type        string          `json:"type"`
		Datasource  json.RawMessage `json:"datasource"`
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
			Datasource json.RawMessage `json:"datasource"`
			Expr       string          `json:"expr"`
			Exemplar   bool            `json:"exemplar"`
			RefID      string          `json:"refId"`
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

const dashboardFile = "grafana/dashboards/agent-orchestrator-overview.json"

// allVars sets every dashboard variable to All.
var allVars = map[string]string{"job": ".*", "instance": ".*", "worker_profile": ".*"}

// Expr returns a panel query with the dashboard variables set to vars
// (raw regular expressions, as the variables' values are), or to All for
// nil.
func Expr(q string, vars map[string]string) string {
	if vars == nil {
		vars = allVars
	}
	// Longest first: $instance before a variable named $inst would be.
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	for _, k := range names {
		q = strings.ReplaceAll(q, "$"+k, vars[k])
	}
	return q
}

// TestDashboard: the guide's 8 panels and the budget panel with their
// thresholds; every query parses (promtool) and names only series the SDK
// or the example server produces; histogram panels show exemplars.
func TestDashboard(t *testing.T) {
	d, err := LoadDashboard(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Agent Orchestrator - Overview" || len(d.Panels) != 9 {
		t.Fatalf("dashboard %q with %d panels", d.Title, len(d.Panels))
	}
	want := map[string][]string{ // title → threshold colours, the guide's green/yellow/red
		"Active Merges": {"green", "red"}, "Active Tasks": {"green", "yellow", "red"},
		"Git Merge Duration": {"green", "yellow", "red"}, "Merge Results": {"green"},
		"Task States": {"green"}, "Task Execution Duration": {"green", "red"},
		"Total LLM Cost": {"green", "yellow", "red"}, "LLM Requests by Model": {"green"},
		"LLM Budget": {"green", "yellow", "red"},
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
			checkSeriesNames(t, known, p.Title, Expr(tg.Expr, nil))
			if strings.Contains(tg.Expr, "_bucket") && !tg.Exemplar {
				t.Errorf("%s: histogram query without exemplars", p.Title)
			}
			fmt.Fprintf(&rules, "      - record: dashboard:q%d\n        expr: %q\n", n, Expr(tg.Expr, nil))
		}
	}
	f := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "promtool", "check", "rules", f)
}

// TestDashboardVariables: every panel, target, annotation and variable
// queries the data source variable, whose default is the provisioned
// default Prometheus (so that exemplars keep its link to Jaeger); job and
// instance are multi-value query variables with All, from label_values()
// on target_info, which every export path has (the SDK writes it on
// /metrics, Prometheus's OTLP receiver from each push, and remote_write
// forwards it), instance and worker_profile for the variables before them.
func TestDashboardVariables(t *testing.T) {
	d, err := LoadDashboard(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	const ref = `{"type":"prometheus","uid":"${datasource}"}`
	same := func(where string, raw json.RawMessage) {
		var a, b any
		if json.Unmarshal(raw, &a) != nil || json.Unmarshal([]byte(ref), &b) != nil || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: data source %s, want %s", where, raw, ref)
		}
	}
	for _, a := range d.Annotations.List {
		same("annotation "+a.Name, a.Datasource)
	}
	for _, p := range d.Panels {
		same(p.Title, p.Datasource)
		for _, tg := range p.Targets {
			same(p.Title+" "+tg.RefID, tg.Datasource)
		}
	}
	var names []string
	queries := map[string]string{}
	for _, v := range d.Templating.List {
		names = append(names, v.Name)
		if v.Type == "datasource" {
			var plugin, current string
			_ = json.Unmarshal(v.Query, &plugin)
			_ = json.Unmarshal(v.Current.Value, &current)
			if v.Name != "datasource" || plugin != "prometheus" || current != provisionedDefault(t) {
				t.Errorf("data source variable %s of %q, current %q: want datasource, of prometheus, current the provisioned default %q",
					v.Name, plugin, current, provisionedDefault(t))
			}
			continue
		}
		same("variable "+v.Name, v.Datasource)
		var q struct{ Query string }
		_ = json.Unmarshal(v.Query, &q)
		if v.Type != "query" || q.Query != v.Definition || !v.Multi || !v.IncludeAll || v.AllValue != ".*" {
			t.Errorf("variable %s: type %s, query %q (definition %q), multi %v, includeAll %v, allValue %q: want a multi-value query variable with All (.*)",
				v.Name, v.Type, q.Query, v.Definition, v.Multi, v.IncludeAll, v.AllValue)
		}
		queries[v.Name] = q.Query
	}
	if got := strings.Join(names, ","); got != "datasource,job,instance,worker_profile" {
		t.Errorf("variables %s, want datasource,job,instance,worker_profile (each after those it reads)", got)
	}
	for name, want := range map[string]string{
		"job":            `label_values(target_info, job)`,
		"instance":       `label_values(target_info{job=~"$job"}, instance)`,
		"worker_profile": `label_values(active_workers{job=~"$job", instance=~"$instance"}, worker_profile)`,
	} {
		if queries[name] != want {
			t.Errorf("variable %s: query %q, want %q", name, queries[name], want)
		}
	}
}

// provisionedDefault is the uid of the default Prometheus data source that
// datasources.yml provisions.
func provisionedDefault(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("grafana/provisioning/datasources/datasources.yml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Datasources []struct {
			UID       string `yaml:"uid"`
			Type      string `yaml:"type"`
			IsDefault bool   `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	for _, d := range p.Datasources {
		if d.Type == "prometheus" && d.IsDefault {
			return d.UID
		}
	}
	t.Fatal("datasources.yml has no default Prometheus data source")
	return ""
}

// literalRegexp is the regular expression matching exactly v, as it stands
// inside a PromQL "…" string (its backslashes doubled).
func literalRegexp(v string) string { return strings.ReplaceAll(regexp.QuoteMeta(v), `\`, `\\`) }

// exampleServerSeries are the series the budget panel reads, which only the
// example server writes (internal/contract's workload has none of them),
// as TestRunBudget finds them on its /metrics.
var exampleServerSeries = []string{
	`agentorch_budget_limit_dollars{scope="run"}`, `agentorch_budget_limit_dollars{scope="total"}`,
	`agentorch_budget_spent_dollars{scope="run"}`, `agentorch_budget_spent_dollars{scope="total"}`,
	`agentorch_runs_total{state="completed"}`, `agentorch_runs_total{state="budget_exceeded"}`,
}

// TestDashboardFiltersJobAndInstance: promtool's rule unit test on every
// series of the contract's pull golden and the example server's, all of
// one job and instance: each panel query has data (a number, not NaN) with
// the variables set to that job and instance, and none with another job or
// another instance. A selector without the job or instance matcher would
// still find the series.
func TestDashboardFiltersJobAndInstance(t *testing.T) {
	d, err := LoadDashboard(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(backends.RepoPath("internal", "contract", "testdata", "pull-series.golden"))
	if err != nil {
		t.Fatal(err)
	}
	const labels = `job="agent-orchestrator", instance="10.0.0.5:8000"`
	var in strings.Builder
	for _, s := range append(strings.Split(strings.TrimSpace(string(golden)), "\n"), exampleServerSeries...) {
		name, rest, ok := strings.Cut(s, "{")
		series := name + "{" + labels + "}"
		if ok {
			series = name + "{" + labels + ", " + rest
		}
		fmt.Fprintf(&in, "      - series: %q\n        values: '0+1x10'\n", series)
	}
	right := map[string]string{"job": "agent-orchestrator", "instance": literalRegexp("10.0.0.5:8000"), "worker_profile": ".*"}
	others := map[string]map[string]string{
		"another job":      {"job": "other", "instance": ".*", "worker_profile": ".*"},
		"another instance": {"job": ".*", "instance": literalRegexp("10.0.0.6:8000"), "worker_profile": ".*"},
	}
	var tests strings.Builder
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			q := Expr(tg.Expr, right)
			fmt.Fprintf(&tests, "      # %s %s\n      - expr: %q\n        eval_time: 10m\n        exp_samples: [{labels: '{}', value: 1}]\n",
				p.Title, tg.RefID, "clamp_max(count(("+q+") == ("+q+")), 1)")
			for _, what := range []string{"another job", "another instance"} {
				fmt.Fprintf(&tests, "      # %s %s, %s\n      - expr: %q\n        eval_time: 10m\n        exp_samples: []\n",
					p.Title, tg.RefID, what, "count("+Expr(tg.Expr, others[what])+")")
			}
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "none.yml"), []byte("groups: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	test := "rule_files: [none.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n" + in.String() +
		"    promql_expr_test:\n" + tests.String()
	f := filepath.Join(dir, "dashboard_test.yml")
	if err := os.WriteFile(f, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run(t, "promtool", "test", "rules", f); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}
