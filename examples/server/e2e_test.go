//go:build e2e

// End-to-end: the server's runs, measured on both export paths into real
// Prometheus, Collector and Jaeger. Run with -tags e2e (the project's test
// command does).

package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/internal/contract"
	"github.com/agentorchestrator/observability/otelobs"
)

// e2eStack starts the backends of one export path and the server wired to
// them; it returns the server and Prometheus.
func e2eStack(t *testing.T, path string, orchEnv map[string]string) (*testServer, *backends.Prometheus, *backends.Jaeger) {
	t.Helper()
	return e2eStackWith(t, path, orchEnv, backends.PrometheusConfig{})
}

// e2eStackWith is e2eStack whose push-path Prometheus also has promCfg's
// scrape targets.
func e2eStackWith(t *testing.T, path string, orchEnv map[string]string, promCfg backends.PrometheusConfig) (*testServer, *backends.Prometheus, *backends.Jaeger) {
	t.Helper()
	jaeger := backends.StartJaeger(t)
	var prom *backends.Prometheus
	env := map[string]string{"OTEL_SERVICE_NAME": "agent-orchestrator"}
	switch path {
	case "pull":
		env["OTEL_METRICS_EXPORTER"] = "prometheus"
		env["OTEL_TRACES_EXPORTER"] = "otlp"
		env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "grpc"
		env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://" + jaeger.OTLPGRPC
	case "push":
		promCfg.OTLPReceiver = true
		prom = backends.StartPrometheus(t, promCfg)
		col := backends.StartCollectorAnyPorts(t, backends.RepoPath("collector", "otel-collector.yaml"), backends.CollectorEnv(prom, jaeger)...)
		env["OTEL_METRICS_EXPORTER"] = "otlp"
		env["OTEL_TRACES_EXPORTER"] = "otlp"
		env["OTEL_EXPORTER_OTLP_ENDPOINT"] = col.HTTPEndpoint
		env["OTEL_METRIC_EXPORT_INTERVAL"] = "500"
	}
	backends.CleanEnv(t, env)

	s := startE2EApp(t, orchEnv)
	if path == "pull" {
		prom = backends.StartPrometheus(t, backends.PrometheusConfig{ScrapeTargets: []string{s.Listener.Addr().String()}})
		// Prometheus applies new targets after a few seconds: runs before
		// the first scrape would leave rate() a single sample.
		backends.Eventually(t, 30*time.Second, "the first scrape", func(ctx context.Context) error {
			got, err := prom.Query(ctx, `up{job="agent-orchestrator"}`)
			if err != nil || len(got) != 1 || got[0].Float() != 1 {
				return fmt.Errorf("up = %v (%v)", got, err)
			}
			return nil
		})
	}
	return s, prom, jaeger
}

// startE2EApp starts the server with the OTEL_* environment the test has
// set (e2eStackWith's export path) and the ORCH_* settings of orchEnv; opts
// add to its telemetry's. It stops when the test ends.
func startE2EApp(t *testing.T, orchEnv map[string]string, opts ...otelobs.Option) *testServer {
	t.Helper()
	c, err := loadConfig(nil, testEnv(t, orchEnv), func() uint64 { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), c, append([]otelobs.Option{otelobs.WithoutGlobals()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = a.orch.Shutdown(ctx)
		if err := a.tel.Shutdown(ctx); err != nil {
			t.Errorf("telemetry shutdown: %v", err)
		}
	})
	return &testServer{Server: srv, app: a, root: c.workspaceRoot}
}

// labelNames returns the sorted label names of a series, without job and
// instance.
func labelNames(s map[string]string) string {
	var names []string
	for k := range s {
		if k != "__name__" && k != "job" && k != "instance" && k != "le" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func TestE2EServer(t *testing.T) {
	for _, path := range []string{"pull", "push"} {
		t.Run(path, func(t *testing.T) {
			s, prom, jaeger := e2eStack(t, path, map[string]string{
				// Slow enough that rate() sees several samples, with conflicts,
				// 429s and failures that are not retried, so every state shows.
				"ORCH_SIM_LATENCY_SCALE": "0.05", "ORCH_SIM_CONFLICT_RATE": "1",
				"ORCH_SIM_RATE_LIMIT_RATE": "0.1", "ORCH_SIM_ERROR_RATE": "0.2",
				"ORCH_MAX_RETRIES": "0", "ORCH_LLM_ATTEMPTS": "1", "ORCH_TOTAL_BUDGET_USD": "0",
			})
			ws := filepath.Join(s.root, "test-workspace")
			var wg sync.WaitGroup
			var mu sync.Mutex
			var views []orchestrator.View
			for range 4 {
				wg.Go(func() {
					code, body := s.post(t, guideBody(ws, "openai", "gpt-4"), nil)
					if code != 202 {
						t.Errorf("POST /runs = %d %v", code, body)
						return
					}
					v := s.wait(t, body["run_id"].(string))
					mu.Lock()
					views = append(views, v)
					mu.Unlock()
				})
			}
			wg.Wait()
			time.Sleep(2 * time.Second) // samples between the runs
			// The last run, alone, so that the newest exemplars are its own;
			// with failures injected, until one run merged something.
			var last orchestrator.View
			for attempt := 0; attempt < 10 && last.Merges["success"]+last.Merges["conflict"] == 0; attempt++ {
				_, body := s.post(t, guideBody(ws, "openai", "gpt-4"), nil)
				last = s.wait(t, body["run_id"].(string))
				views = append(views, last)
			}
			if last.Merges["success"]+last.Merges["conflict"] == 0 {
				t.Fatalf("no run merged anything in 10 tries: %+v", last)
			}
			if err := s.app.tel.ForceFlush(t.Context()); err != nil {
				t.Fatal(err)
			}
			var merges, conflicts int
			for _, v := range views {
				merges += v.Merges["success"] + v.Merges["conflict"] + v.Merges["error"]
				conflicts += v.Merges["conflict"]
			}
			// A scrape after the last run ended: its merges counted, and its
			// last task no longer active (a scrape between its merge and the
			// end of its execution has the one and not the other).
			backends.Eventually(t, 60*time.Second, "every merge in Prometheus, no task active", func(ctx context.Context) error {
				got, err := prom.Query(ctx, `sum(git_merge_total)`)
				if err != nil || len(got) != 1 || int(got[0].Float()) < merges {
					return fmt.Errorf("sum(git_merge_total) = %v (%v), want %d", got, err, merges)
				}
				if got, err := prom.Query(ctx, `sum(active_tasks)`); err != nil || len(got) != 1 || got[0].Float() != 0 {
					return fmt.Errorf("sum(active_tasks) = %v (%v), want 0", got, err)
				}
				return nil
			})

			t.Run("contract series", func(t *testing.T) {
				ctx := t.Context()
				for _, cs := range contract.Contract {
					name := cs.Name
					if cs.Histogram {
						name += "_bucket"
					}
					series, err := prom.Series(ctx, name)
					if err != nil || len(series) == 0 {
						t.Errorf("%s: no series (%v)", name, err)
						continue
					}
					want := strings.Join(cs.Labels, ",")
					for _, sr := range series {
						if got := labelNames(sr); got != want {
							t.Errorf("%s: labels {%s}, want {%s}", name, got, want)
							break
						}
					}
				}
				// Plausible values.
				checks := map[string]func(float64) bool{
					`sum(git_merge_total)`:                         func(v float64) bool { return v >= float64(merges) },
					`sum(git_merge_total{result="conflict"})`:      func(v float64) bool { return v >= 1 && conflicts >= 1 },
					`sum(llm_tokens_total)`:                        func(v float64) bool { return v > 0 },
					`sum(llm_cost_dollars_total)`:                  func(v float64) bool { return v > 0 },
					`sum(llm_rate_limit_events_total)`:             func(v float64) bool { return v >= 0 },
					`task_states{state="complete"}`:                func(v float64) bool { return v >= 4 },
					`sum(task_completion_total{status="success"})`: func(v float64) bool { return v >= 4 },
					`git_active_merges`:                            func(v float64) bool { return v == 0 },
					`sum(active_tasks)`:                            func(v float64) bool { return v == 0 },
					`sum(active_workers)`:                          func(v float64) bool { return v == 4 },
				}
				for q, ok := range checks {
					got, err := prom.Query(ctx, q)
					if err != nil || len(got) == 0 || !ok(got[0].Float()) {
						t.Errorf("%s = %v (%v)", q, got, err)
					}
				}
				// Every state a task can be in has been seen.
				states, _ := prom.Series(ctx, "task_states")
				var seen []string
				for _, sr := range states {
					seen = append(seen, sr["state"])
				}
				for _, st := range contract.LabelValues["state"] {
					if !slices.Contains(seen, st) {
						t.Errorf("task_states never had state %q (seen %v)", st, seen)
					}
				}
			})

			t.Run("guide queries", func(t *testing.T) {
				for _, q := range contract.GuideQueries {
					expr := q.Query
					if q.Fixed != "" {
						expr = q.Fixed
					}
					got, err := prom.Query(t.Context(), expr)
					if err != nil {
						t.Errorf("%s: %q: %v", q.Title, expr, err)
						continue
					}
					if q.Alert {
						continue
					}
					data := false
					for _, x := range got {
						data = data || !math.IsNaN(x.Float())
					}
					if !data {
						t.Errorf("%s: %q returned no data (%v)", q.Title, expr, got)
					}
				}
			})

			t.Run("dashboard panels", func(t *testing.T) {
				checkDashboardPanels(t, prom)
			})

			t.Run("exemplars lead to the run's trace", func(t *testing.T) {
				for _, q := range []string{
					"git_merge_duration_seconds_bucket", "task_execution_duration_seconds_bucket", "llm_cost_dollars_total",
				} {
					prom.WaitForExemplar(t, q, last.TraceID)
				}
				jaeger.WaitForTrace(t, last.TraceID, "run", "task.execute", "git.merge", "chat gpt-4")
			})
		})
	}
}

// checkDashboardPanels: the dashboard's variables find the server (job
// agent-orchestrator, one instance) in Prometheus, every query of every
// panel has data for them, and none for another instance.
func checkDashboardPanels(t *testing.T, prom *backends.Prometheus) {
	d := backends.LoadDashboard(t)
	if len(d.Panels) != 9 {
		t.Fatalf("dashboard: %d panels, want 9", len(d.Panels))
	}
	values, vars, err := d.Resolve(t.Context(), prom)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(values["job"], ",") != "agent-orchestrator" || len(values["instance"]) != 1 {
		t.Fatalf("the dashboard's variables found jobs %q and instances %q, want agent-orchestrator and the server's one instance", values["job"], values["instance"])
	}
	other := maps.Clone(vars)
	other["instance"] = backends.Regexp("no-such-instance")
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			expr := backends.Expr(tg.Expr, vars)
			if err := hasData(t.Context(), prom, expr); err != nil {
				t.Errorf("panel %q %s: %s: %v", p.Title, tg.RefID, expr, err)
			}
			none := backends.Expr(tg.Expr, other)
			if got, err := prom.Query(t.Context(), none); err != nil || len(got) != 0 {
				t.Errorf("panel %q %s for another instance: %s = %v (%v), want nothing", p.Title, tg.RefID, none, got, err)
			}
		}
	}
}

// hasData is nil when the query returns a number (not NaN).
func hasData(ctx context.Context, prom *backends.Prometheus, expr string) error {
	got, err := prom.Query(ctx, expr)
	if err != nil {
		return err
	}
	for _, x := range got {
		if !math.IsNaN(x.Float()) {
			return nil
		}
	}
	return fmt.Errorf("no data (%v)", got)
}
