package backends

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Dashboard is what the end-to-end tests read of the shipped Grafana
// dashboard (observability/grafana/dashboards/agent-orchestrator-overview.json):
// its variables and its panels' queries.
type Dashboard struct {
	Templating struct {
		List []DashboardVariable `json:"list"`
	} `json:"templating"`
	Panels []DashboardPanel `json:"panels"`
}

// DashboardVariable is one dashboard variable.
type DashboardVariable struct {
	Name string `json:"name"`
	// Type is "query" (a label_values() query) or "datasource".
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

// DashboardPanel is one panel and its queries.
type DashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

// LoadDashboard reads the shipped dashboard, or fails the test.
func LoadDashboard(t testing.TB) *Dashboard {
	t.Helper()
	b, err := os.ReadFile(RepoPath("observability", "grafana", "dashboards", "agent-orchestrator-overview.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard: %v", err)
	}
	return &d
}

var labelValuesQuery = regexp.MustCompile(`^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// Resolve runs the dashboard's query variables on p in order, as Grafana
// does with each set to All without an allValue: each label_values()
// selector with the variables before it set to every value they found. It
// returns each variable's values and the variables as regular expressions
// of exactly those values, for Expr.
func (d *Dashboard) Resolve(ctx context.Context, p *Prometheus) (map[string][]string, map[string]string, error) {
	values, vars := map[string][]string{}, map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			return nil, nil, fmt.Errorf("variable %s: query %s: %v", v.Name, v.Query, err)
		}
		m := labelValuesQuery.FindStringSubmatch(q.Query)
		if m == nil {
			return nil, nil, fmt.Errorf("variable %s: query %q: want label_values([selector,] label)", v.Name, q.Query)
		}
		params := url.Values{}
		if m[1] != "" {
			params.Set("match[]", Expr(m[1], vars))
		}
		var got []string
		if err := p.API(ctx, "label/"+m[2]+"/values", params, &got); err != nil {
			return nil, nil, fmt.Errorf("variable %s: %v", v.Name, err)
		}
		values[v.Name], vars[v.Name] = got, Regexp(got...)
	}
	return values, vars, nil
}

// Regexp is the regular expression that matches exactly the values (none:
// nothing but the empty string).
func Regexp(values ...string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return "(" + strings.Join(quoted, "|") + ")"
}

var dashboardVarRef = regexp.MustCompile(`\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}|\$([a-zA-Z_][a-zA-Z0-9_]*)`)

// Expr sets a dashboard query's variables ($name, ${name}) to vars (regular
// expressions), escaped for the PromQL "…" string each stands in, as the
// dashboard writes them; unknown names stay.
func Expr(q string, vars map[string]string) string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return dashboardVarRef.ReplaceAllStringFunc(q, func(ref string) string {
		m := dashboardVarRef.FindStringSubmatch(ref)
		if v, ok := vars[m[1]+m[2]]; ok {
			return esc.Replace(v)
		}
		return ref
	})
}
