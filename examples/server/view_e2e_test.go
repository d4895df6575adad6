//go:build e2e

// The view in a real browser: the server's runs through the real Collector
// into real Prometheus and Jaeger, drawn by `otelobs view` in headless
// Chromium.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/internal/view"
	"github.com/agentorchestrator/observability/otelobs"
	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// hostileModels are label values a user's metrics may carry (model names
// come from callers); the page must show them as text.
var hostileModels = []string{`<script>window.__xss=1</script>`, `"><img src=x onerror="window.__xss=2">`}

// hostileTarget serves llm_requests_total with hostile model names, as
// another app's /metrics might.
func hostileTarget(t *testing.T) string {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llm_requests_total", Help: "LLM requests."}, []string{"provider", "model"})
	reg.MustRegister(c)
	for _, m := range hostileModels {
		c.WithLabelValues("other", m).Add(3)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// cappedInstance is the service.instance.id of TestE2EViewInBrowser's
// second server, whose run budget stops its run.
const cappedInstance = "budget-capped"

// pctText and runsText format a value as the LLM Budget panel does.
func pctText(v float64) string  { return view.FormatValue(v, "percentunit", nil) }
func runsText(n float64) string { return view.FormatValue(n, "suffix: runs", nil) }

// checkBudgetLegend checks the LLM Budget panel's legend: each line named
// in want shows that last value, and a line whose want is "" is absent.
func checkBudgetLegend(t *testing.T, ctx context.Context, where string, want map[string]string) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('[data-panel="LLM Budget"] .legend li')]`+
		`.map(li => [li.querySelector('.name').textContent, (li.querySelector('.val') || {}).textContent || '']))`))
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		line, ok := got[name]
		if w == "" && ok || w != "" && !strings.Contains(line, "last "+w+" ") {
			t.Errorf("%s: LLM Budget line %q shows %q, want last %q (\"\": no line); the legend: %v", where, name, line, w, got)
		}
	}
}

// startView serves the view on 127.0.0.1 for prom and jaeger, drawing the
// dashboard at path.
func startView(t *testing.T, prom *backends.Prometheus, jaeger *backends.Jaeger, dashboard string) (*view.Server, string) {
	t.Helper()
	v, err := view.New(view.Config{PrometheusURL: prom.URL, JaegerURL: jaeger.QueryURL, Dashboard: dashboard,
		Datasources: backends.RepoPath("observability", "grafana", "provisioning", "datasources"),
		MinStep:     time.Second, AllowedHosts: view.LoopbackHosts})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	return v, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// panelStates waits until no panel is loading and returns each panel's
// state and text.
func panelStates(t *testing.T, ctx context.Context) map[string][2]string {
	t.Helper()
	// The page script marks the body once every panel has answered; waiting
	// for the element also waits out a navigation in progress.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-loaded] main.grid`))); err != nil {
		t.Fatalf("the dashboard did not load: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelectorAll('[data-panel]').length > 0 && document.querySelectorAll('[data-panel][data-state="loading"]').length === 0`,
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("the panels did not load: %v", err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string][2]string](
		`Object.fromEntries([...document.querySelectorAll('[data-panel]')].map(e => [e.dataset.panel, [e.dataset.state, e.querySelector('.panel-body').innerText]]))`))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// screenshotDir is where the screenshots go (docs/ to refresh the README's
// pictures; a temporary folder when unset). Read before the tests clear
// the OTELOBS_ variables.
var screenshotDir = os.Getenv("OTELOBS_SCREENSHOT_DIR")

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := screenshotDir
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

func TestE2EViewInBrowser(t *testing.T) {
	s, prom, jaeger := e2eStackWith(t, "push", map[string]string{
		"ORCH_SIM_LATENCY_SCALE": "0.05", "ORCH_SIM_CONFLICT_RATE": "0.5",
		"ORCH_SIM_RATE_LIMIT_RATE": "0.05", "ORCH_TOTAL_BUDGET_USD": "0",
	}, backends.PrometheusConfig{
		// Another app's target, and an alert that fires at once: the
		// dashboard's annotation draws it.
		ConfigYAML: fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [rules.yml]\n"+
			"scrape_configs:\n  - job_name: other-app\n    static_configs: [{targets: [%q]}]\n", hostileTarget(t)),
		Files: map[string]string{"rules.yml": "groups:\n  - name: view\n    rules:\n      - alert: ViewTestAlert\n        expr: vector(1)\n        labels: {severity: info}\n"},
	})
	// A second instance of the server on the same Collector, whose run
	// budget stops its one run at its first coder call: the fleet the job
	// and instance variables choose from, and a budget stop for the budget
	// panel. It runs first, so that the newest exemplars are the main
	// instance's merges.
	capped := startE2EApp(t, map[string]string{"ORCH_RUN_BUDGET_USD": "0.10", "ORCH_SIM_LATENCY_SCALE": "0.05"},
		otelobs.WithResourceAttributes(attribute.String("service.instance.id", cappedInstance)))
	if code, body := capped.post(t, guideBody(filepath.Join(capped.root, "capped"), "openai", "gpt-4"), nil); code != 202 {
		t.Fatalf("POST /runs to the capped instance = %d %v", code, body)
	} else if v := capped.wait(t, body["run_id"].(string)); v.State != orchestrator.StateBudgetExceeded {
		t.Fatalf("the capped instance's run ended %s, want %s", v.State, orchestrator.StateBudgetExceeded)
	}
	if err := capped.app.tel.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(s.root, "test-workspace")
	// Runs spread over a quarter of a minute, so that rate() has several
	// samples and the last minute's charts have a shape, two at a time on
	// one workspace, so that coders conflict.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var runs []string
	for i := range 8 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 2 * time.Second)
			code, body := s.post(t, guideBody(filepath.Join(ws, strconv.Itoa(i%4)), "openai", "gpt-4"), nil)
			if code != 202 {
				t.Errorf("POST /runs = %d %v", code, body)
				return
			}
			v := s.wait(t, body["run_id"].(string))
			mu.Lock()
			runs = append(runs, v.TraceID)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(runs) != 8 {
		t.Fatalf("%d of 8 runs finished", len(runs))
	}
	if err := s.app.tel.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	prom.WaitForData(t, `histogram_quantile(0.95, sum by (le) (rate(git_merge_duration_seconds_bucket[5m])))`)
	prom.WaitForData(t, `sum by (model) (rate(llm_requests_total{job="other-app"}[5m]))`)
	prom.WaitForData(t, `ALERTS{alertname="ViewTestAlert", alertstate="firing"}`)
	prom.WaitForData(t, `agentorch_runs_total{state="budget_exceeded", instance="`+cappedInstance+`"}`)
	var mainInstance string
	backends.Eventually(t, 30*time.Second, "both instances' target_info", func(ctx context.Context) error {
		info, err := prom.Series(ctx, `target_info{job="agent-orchestrator"}`)
		if err != nil || len(info) != 2 {
			return fmt.Errorf("target_info: %v (%v), want the two instances", info, err)
		}
		for _, sr := range info {
			if sr["instance"] != cappedInstance {
				mainInstance = sr["instance"]
			}
		}
		return nil
	})
	// The budget panel is checked with no run in progress: wait until the
	// run shares have read 0 for 10 s, longer than a step of the panel's
	// range query, whose last point (at a step-aligned time) could
	// otherwise fall before the scrape that saw the last run end.
	prom.WaitForData(t, `max(max_over_time(agentorch_budget_spent_dollars{scope="run"}[10s])) == 0`)
	panels := len(backends.LoadDashboard(t).Panels)
	// What the capped instance spent before its stop, against the default
	// process cap ($100).
	spent, err := prom.Query(t.Context(), `agentorch_budget_spent_dollars{instance="`+cappedInstance+`", scope="total"}`)
	if err != nil || len(spent) != 1 || spent[0].Float() <= 0 {
		t.Fatalf("the capped instance's spend: %v (%v), want one positive sample", spent, err)
	}
	cappedSpent := spent[0].Float()

	v, base := startView(t, prom, jaeger, backends.RepoPath("observability", "grafana", "dashboards", "agent-orchestrator-overview.json"))
	ctx := backends.Browser(t, 1600, 1100)

	t.Run("every panel has data", func(t *testing.T) {
		before := v.Stats()
		start := time.Now()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?from=now-1m&to=now&refresh=off")); err != nil {
			t.Fatal(err)
		}
		states := panelStates(t, ctx)
		t.Logf("first complete render in %v, %d Prometheus requests", time.Since(start).Round(time.Millisecond), v.Stats().Queries-before.Queries)
		if len(states) != panels {
			t.Errorf("%d panels drawn, want the dashboard's %d: %v", len(states), panels, states)
		}
		for title, st := range states {
			if st[0] != view.StateOK {
				t.Errorf("panel %q: state %s: %s", title, st[0], st[1])
			}
		}
		// The stat shows Prometheus's number, formatted in the panel's unit.
		cost, err := prom.Query(t.Context(), `sum(llm_cost_dollars_total)`)
		if err != nil || len(cost) != 1 {
			t.Fatalf("sum(llm_cost_dollars_total): %v %v", cost, err)
		}
		if st, want := states["Total LLM Cost"], view.FormatValue(cost[0].Float(), "currencyUSD", nil); strings.TrimSpace(st[1]) != want {
			t.Errorf("Total LLM Cost shows %q, Prometheus says %s", st[1], want)
		}
		bands, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-panel="Git Merge Duration"] .bands title')].map(e => e.textContent)`))
		if !slices.Contains(bands, "ViewTestAlert") {
			alerts, err := prom.Query(t.Context(), `ALERTS`)
			t.Errorf("the firing alert is not drawn as an annotation on Git Merge Duration: %v (panel: %q; ALERTS now: %v %v)",
				bands, states["Git Merge Duration"][1], alerts, err)
		}
		// Both instances: no run in progress, the capped instance's share
		// of its process cap (the main instance has none), its one stop.
		checkBudgetLegend(t, ctx, "All", map[string]string{"run spent / limit": pctText(0),
			"total spent / limit": pctText(cappedSpent / 100), "runs stopped by the budget": runsText(1)})
		health, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("health")))
		if !strings.Contains(health, "exemplar storage on") || !strings.Contains(health, "Jaeger ✓") {
			t.Errorf("health strip: %q", health)
		}
		screenshot(t, ctx, "view-dashboard.png")
	})

	t.Run("the worker_profile variable filters", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?from=now-5m&to=now&refresh=off&var-worker_profile=coder")); err != nil {
			t.Fatal(err)
		}
		st := panelStates(t, ctx)["Task Execution Duration"]
		if st[0] != view.StateOK || !strings.Contains(st[1], "coder p95") || strings.Contains(st[1], "tester") || strings.Contains(st[1], "planner") {
			t.Errorf("Task Execution Duration with worker_profile=coder: %v", st)
		}
		sel, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelector('select[name="var-worker_profile"]').selectedOptions].map(o => o.value)`))
		if strings.Join(sel, ",") != "coder" {
			t.Errorf("the variable's selection shows %v, want [coder]", sel)
		}
	})

	t.Run("the job and instance variables filter", func(t *testing.T) {
		for _, tc := range []struct {
			instance string
			want     map[string]string // LLM Budget legend name → its last value; "" absent
		}{
			{cappedInstance, map[string]string{"run spent / limit": pctText(0), "total spent / limit": pctText(cappedSpent / 100),
				"runs stopped by the budget": runsText(1)}},
			{mainInstance, map[string]string{"run spent / limit": pctText(0), "total spent / limit": "", "runs stopped by the budget": runsText(0)}},
		} {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?from=now-5m&to=now&refresh=off&var-job=agent-orchestrator&var-instance="+url.QueryEscape(tc.instance))); err != nil {
				t.Fatal(err)
			}
			states := panelStates(t, ctx)
			checkBudgetLegend(t, ctx, "instance "+tc.instance, tc.want)
			// The stat is that instance's cost, as Prometheus has it.
			cost, err := prom.Query(t.Context(), `sum(llm_cost_dollars_total{job="agent-orchestrator", instance="`+tc.instance+`"})`)
			if err != nil || len(cost) != 1 {
				t.Fatalf("the instance's cost: %v %v", cost, err)
			}
			if st, want := states["Total LLM Cost"], view.FormatValue(cost[0].Float(), "currencyUSD", nil); strings.TrimSpace(st[1]) != want {
				t.Errorf("instance %s: Total LLM Cost shows %q, Prometheus says %s", tc.instance, st[1], want)
			}
			menus, err := chromedp.Run(ctx, chromedp.Evaluate[map[string][]string](`Object.fromEntries([...document.querySelectorAll('form.vars select')].map(s => `+
				`[s.name, [...s.options].map(o => (o.selected ? '*' : '') + (s.disabled ? o.text : o.value))]))`))
			if err != nil {
				t.Fatal(err)
			}
			others := []string{cappedInstance, mainInstance}
			slices.Sort(others)
			wantMenus := map[string]string{"var-datasource": "*Prometheus", "var-job": "$__all,*agent-orchestrator"}
			var inst []string
			for _, i := range others {
				if i == tc.instance {
					i = "*" + i
				}
				inst = append(inst, i)
			}
			wantMenus["var-instance"] = "$__all," + strings.Join(inst, ",")
			for name, want := range wantMenus {
				if got := strings.Join(menus[name], ","); got != want {
					t.Errorf("instance %s: menu %s = %s, want %s", tc.instance, name, got, want)
				}
			}
		}
	})

	t.Run("auto-refresh reloads the panels", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?from=now-5m&to=now&refresh=5s")); err != nil {
			t.Fatal(err)
		}
		panelStates(t, ctx)
		before := v.Stats().Queries
		first, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.loaded`))
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.loaded !== "`+first+`"`,
			chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("the panels were not reloaded within 15 s at refresh=5s: %v", err)
		}
		if n := v.Stats().Queries - before; n < int64(panels) {
			t.Errorf("a refresh made %d Prometheus requests, want at least one per panel", n)
		}
	})

	t.Run("hostile label values are text", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?from=now-5m&to=now&refresh=off")); err != nil {
			t.Fatal(err)
		}
		panelStates(t, ctx)
		legend, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-panel="LLM Requests by Model"] .legend`)))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range hostileModels {
			if !strings.Contains(legend, m) {
				t.Errorf("legend %q does not show %q as text", legend, m)
			}
		}
		xss, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.__xss) + " " + document.querySelectorAll('img, script:not([src])').length`))
		if err != nil || xss != "undefined 0" {
			t.Errorf("a hostile label ran or became an element: __xss and elements = %q (%v)", xss, err)
		}
	})

	var traceID string
	var exemplarMs int64
	t.Run("an exemplar opens its trace", func(t *testing.T) {
		sel := `[data-panel="Git Merge Duration"] a.exemplar`
		hrefs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+sel+`')].map(a => a.getAttribute('href'))`))
		if err != nil || len(hrefs) == 0 {
			t.Fatalf("no exemplar on Git Merge Duration (%v)", err)
		}
		// The newest: its spans have certainly been flushed.
		href := hrefs[len(hrefs)-1]
		u, _ := url.Parse(href)
		traceID = strings.TrimPrefix(u.Path, "/trace/")
		exemplarMs, _ = strconv.ParseInt(u.Query().Get("t"), 10, 64)
		jaeger.WaitForTrace(t, traceID, "run", gitmetrics.MergeSpanName, taskmetrics.TaskSpanName)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`(() => { const a = [...document.querySelectorAll('`+sel+`')].pop(); a.scrollIntoView({block: 'center'}); return true })()`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll('`+sel+`')].pop()`)),
			chromedp.WaitVisible(chromedp.CSS(`main[data-trace-id]`))); err != nil {
			t.Fatalf("clicking the exemplar: %v", err)
		}
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		if !strings.Contains(loc, "/trace/"+traceID) {
			t.Errorf("the exemplar opened %s, want /trace/%s", loc, traceID)
		}
		names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-span-name]')].map(e => e.dataset.spanName)`))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"run", gitmetrics.MergeSpanName, taskmetrics.TaskSpanName} {
			if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
				t.Errorf("the trace page's spans %v lack %q", names, want)
			}
		}
		id, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main[data-trace-id]').dataset.traceId`))
		if id != traceID {
			t.Errorf("data-trace-id %q, want %q", id, traceID)
		}
		// A span's attributes open on click.
		mergeRow := `details[data-span-name="` + gitmetrics.MergeSpanName + `"]`
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(mergeRow+` summary`)),
			chromedp.WaitVisible(chromedp.CSS(mergeRow+` .span-detail`))); err != nil {
			t.Fatalf("opening the merge span: %v", err)
		}
		attrs, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(mergeRow+` .span-detail`)))
		if !strings.Contains(attrs, "git.merge.result") && !strings.Contains(attrs, "vcs.") {
			t.Errorf("the merge span's attributes: %q", attrs)
		}
		run, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.run-id`)))
		if run == "" {
			t.Error("the trace page shows no run id")
		}
		screenshot(t, ctx, "view-trace.png")
	})

	t.Run("the back-link returns around that time", func(t *testing.T) {
		if traceID == "" {
			t.Fatal("needs the trace page of the test before")
		}
		seriesHref, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a.series').getAttribute('href')`))
		if err != nil || !strings.HasPrefix(seriesHref, "/explore?") {
			t.Errorf("the trace page's link to the exemplar's series: %q (%v)", seriesHref, err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a.back`))); err != nil {
			t.Fatal(err)
		}
		states := panelStates(t, ctx)
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		u, _ := url.Parse(loc)
		from, _ := strconv.ParseInt(u.Query().Get("from"), 10, 64)
		to, _ := strconv.ParseInt(u.Query().Get("to"), 10, 64)
		if u.Path != "/" || from == 0 || !(from <= exemplarMs && exemplarMs <= to) || to-from > int64(time.Hour/time.Millisecond) {
			t.Errorf("back-link %s: [%d, %d] does not hold the exemplar's time %d", loc, from, to, exemplarMs)
		}
		if st := states["Git Merge Duration"]; st[0] != view.StateOK {
			t.Errorf("Git Merge Duration after the back-link: %v", st)
		}
		marks, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-panel="Git Merge Duration"] line.mark').length`))
		if marks != 1 {
			t.Errorf("%d marks of the exemplar's time on Git Merge Duration, want 1", marks)
		}
		// The series the exemplar came from, explored.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+seriesHref)); err != nil {
			t.Fatal(err)
		}
		explored := panelStates(t, ctx)
		if len(explored) != 1 {
			t.Errorf("explore: %d panels, want 1: %v", len(explored), explored)
		}
		for expr, st := range explored {
			if st[0] != view.StateOK || !strings.Contains(expr, "git_merge_duration_seconds_bucket") {
				t.Errorf("explore %s: %v", expr, st)
			}
		}
	})

	t.Run("a broken query shows its error", func(t *testing.T) {
		b, err := os.ReadFile(backends.RepoPath("observability", "grafana", "dashboards", "agent-orchestrator-overview.json"))
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d["panels"].([]any) {
			p := p.(map[string]any)
			if p["title"] == "Merge Results" {
				p["targets"].([]any)[0].(map[string]any)["expr"] = "sum by (result) (rate(git_merge_total[5m]"
			}
		}
		broken := filepath.Join(t.TempDir(), "broken.json")
		b, _ = json.Marshal(d)
		if err := os.WriteFile(broken, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, base2 := startView(t, prom, jaeger, broken)
		if err := chromedp.Do(ctx, chromedp.Navigate(base2+"/?from=now-5m&to=now&refresh=off")); err != nil {
			t.Fatal(err)
		}
		states := panelStates(t, ctx)
		if st := states["Merge Results"]; st[0] != view.StateError || !strings.Contains(st[1], "parse error") {
			t.Errorf("Merge Results with a broken query: %v", st)
		}
		if st := states["Git Merge Duration"]; st[0] != view.StateOK {
			t.Errorf("the other panels must still draw: Git Merge Duration %v", st)
		}
	})

	t.Run("hostile selections are text", func(t *testing.T) {
		// Each is a value the queries match exactly (so no panel has data,
		// and none fails), and the menus show them as text.
		hostileJob := `x"}) or vector(1) or up{a="`
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?from=now-5m&to=now&refresh=off&var-job="+url.QueryEscape(hostileJob)+
			"&var-instance="+url.QueryEscape(hostileModels[1]))); err != nil {
			t.Fatal(err)
		}
		for title, st := range panelStates(t, ctx) {
			if st[0] != view.StateEmpty {
				t.Errorf("panel %q with a hostile job and instance: %s: %s", title, st[0], st[1])
			}
		}
		sel, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`['job', 'instance'].map(n => [...document.querySelector('select[name="var-' + n + '"]').selectedOptions].map(o => o.value).join())`))
		if strings.Join(sel, "|") != hostileJob+"|"+hostileModels[1] {
			t.Errorf("the menus' selections show %q", sel)
		}
		xss, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.__xss) + " " + document.querySelectorAll('img, script:not([src])').length`))
		if err != nil || xss != "undefined 0" {
			t.Errorf("a hostile selection ran or became an element: __xss and elements = %q (%v)", xss, err)
		}
	})
}
