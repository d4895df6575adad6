//go:build e2e

// End-to-end: the representative run through both export paths into real
// Prometheus and Jaeger. Run with -tags e2e (the project's test command does).

package contract

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/otelobs"
)

const domainSelector = `{__name__=~"git_.*|task_.*|llm_.*|active_.*|gen_ai_.*|otelobs_.*|go_.*|process_.*"}`

// goldenShapes turns the pull golden into "name{label,…}" shapes.
func goldenShapes(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(pullGolden)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, id := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		name, labels := parseSeries(id)
		var keys []string
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		set[name+"{"+strings.Join(keys, ",")+"}"] = true
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stack is one export path's backends and the program's telemetry.
type stack struct {
	prom   *backends.Prometheus
	jaeger *backends.Jaeger
	tel    *otelobs.Telemetry
}

func pullStack(t *testing.T) stack {
	s, app := pullApp(t)
	s.prom = backends.StartPrometheus(t, backends.PrometheusConfig{ScrapeTargets: []string{app}})
	return s
}

// pullApp starts Jaeger and the app's /metrics, traces to Jaeger; it
// returns the stack without Prometheus, and the app's address.
func pullApp(t *testing.T) (stack, string) {
	jaeger := backends.StartJaeger(t)
	tel := backends.SetupTelemetry(t, map[string]string{
		"OTEL_SERVICE_NAME":                  "contract-pull",
		"OTEL_METRICS_EXPORTER":              "prometheus",
		"OTEL_TRACES_EXPORTER":               "otlp",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://" + jaeger.OTLPHTTP + "/v1/traces",
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	return stack{jaeger: jaeger, tel: tel}, app.Listener.Addr().String()
}

func pushStack(t *testing.T) stack {
	prom, jaeger, col := backends.StartPushStack(t)
	tel := backends.SetupTelemetry(t, map[string]string{
		"OTEL_SERVICE_NAME":           "contract-push",
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT": col.GRPCEndpoint,
		"OTEL_METRIC_EXPORT_INTERVAL": "500",
	})
	return stack{prom: prom, jaeger: jaeger, tel: tel}
}

// waitForMerges waits until Prometheus holds n merges in total.
func waitForMerges(t *testing.T, prom *backends.Prometheus, n float64) {
	t.Helper()
	backends.Eventually(t, 60*time.Second, fmt.Sprintf("%v merges in Prometheus", n), func(ctx context.Context) error {
		s, err := prom.Query(ctx, `sum(git_merge_total)`)
		if err != nil {
			return err
		}
		if len(s) != 1 || s[0].Float() < n {
			return fmt.Errorf("got %v", s)
		}
		return nil
	})
}

// remoteWriteStack is the pull stack whose Prometheus, configured by
// configure.sh, sends everything by remote_write to a long-term store: a
// second Prometheus with its remote-write receiver, behind a proxy that
// demands the configured tenant and basic-auth credentials. The returned
// Prometheus is the store, so the checks run on what arrived there.
func remoteWriteStack(t *testing.T) stack {
	s, app := pullApp(t)
	store := backends.StartPrometheus(t, backends.PrometheusConfig{RemoteWriteReceiver: true})
	storeURL, _ := url.Parse(store.URL)
	proxy := httputil.NewSingleHostReverseProxy(storeURL)
	var accepted, refused atomic.Int64
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "orchestrator" || pass != "s3cret" || r.Header.Get("X-Scope-OrgID") != "team-a" {
			refused.Add(1)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		accepted.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	t.Cleanup(func() {
		if refused.Load() > 0 || accepted.Load() == 0 {
			t.Errorf("remote_write requests: %d accepted, %d refused for missing tenant or credentials", accepted.Load(), refused.Load())
		}
	})

	// The scraping Prometheus reads the password from a file next to its
	// prometheus.yml, as in the stack (observability/secrets/).
	conf := fmt.Sprintf("API_HOST=%s\nPROMETHEUS_SCRAPE_INTERVAL=1s\nALERTMANAGER_HOST=127.0.0.1\nALERTMANAGER_PORT=1\n"+
		"REMOTE_WRITE_URL=%s/api/v1/write\nREMOTE_WRITE_TENANT=team-a\n"+
		"REMOTE_WRITE_USERNAME=orchestrator\nREMOTE_WRITE_PASSWORD_FILE=secrets/remote_write_password\n", app, gate.URL)
	backends.StartConfiguredPrometheus(t, conf, backends.PrometheusConfig{
		Files: map[string]string{"secrets/remote_write_password": "s3cret\n"},
	})
	s.prom = store
	return s
}

func TestE2EContract(t *testing.T) {
	for name, start := range map[string]func(*testing.T) stack{"pull": pullStack, "push": pushStack, "remote_write": remoteWriteStack} {
		t.Run(name, func(t *testing.T) {
			s := start(t)
			in, err := NewInstruments(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			tracer := otel.Tracer("contract")
			// Two runs with samples in between, so that rate() has an increase
			// to work on.
			Run(t.Context(), in, tracer, 1)
			if err := s.tel.ForceFlush(t.Context()); err != nil {
				t.Fatal(err)
			}
			waitForMerges(t, s.prom, 3)
			time.Sleep(2500 * time.Millisecond)
			traceID := Run(t.Context(), in, tracer, 2)
			if err := s.tel.ForceFlush(t.Context()); err != nil {
				t.Fatal(err)
			}
			waitForMerges(t, s.prom, 6)

			t.Run("names", func(t *testing.T) {
				s.prom.WaitForSeriesShapes(t, domainSelector, goldenShapes(t))
			})
			t.Run("exemplars", func(t *testing.T) {
				for _, q := range []string{
					"git_merge_duration_seconds_bucket", "git_merge_total", "task_execution_duration_seconds_bucket",
					"llm_cost_dollars_total", "llm_request_duration_seconds_bucket",
				} {
					s.prom.WaitForExemplar(t, q, traceID)
				}
				s.jaeger.WaitForTrace(t, traceID, "run", "git.merge", "task.execute", "chat gpt-4")
			})
			t.Run("guide queries", func(t *testing.T) { checkGuideQueries(t, s.prom) })
			t.Run("dashboard panels", func(t *testing.T) { checkDashboardPanels(t, s.prom) })
		})
	}
}

// exampleServerPanels are the dashboard's panels that read only series of
// the example server (its budget gauges and agentorch_runs_total), which
// this workload does not make; examples/server's e2e tests check them with
// data (TestE2EServer, and TestE2EViewInBrowser with a run its budget
// stops).
var exampleServerPanels = []string{"LLM Budget"}

// checkDashboardPanels: the dashboard's job and instance variables, read
// from target_info as Grafana reads them, find this path's one service and
// instance; every query of every other panel has data for them and none
// for another instance; the example server's panels have none here.
func checkDashboardPanels(t *testing.T, prom *backends.Prometheus) {
	d := backends.LoadDashboard(t)
	values, vars, err := d.Resolve(t.Context(), prom)
	if err != nil {
		t.Fatal(err)
	}
	if len(values["job"]) != 1 || len(values["instance"]) != 1 {
		t.Fatalf("the dashboard's variables found jobs %q and instances %q, want this path's one service", values["job"], values["instance"])
	}
	other := maps.Clone(vars)
	other["instance"] = backends.Regexp("no-such-instance")
	for _, p := range d.Panels {
		example := slices.Contains(exampleServerPanels, p.Title)
		for _, tg := range p.Targets {
			expr := backends.Expr(tg.Expr, vars)
			got, err := prom.Query(t.Context(), expr)
			data := slices.ContainsFunc(got, func(s backends.Sample) bool { return !math.IsNaN(s.Float()) })
			switch {
			case err != nil:
				t.Errorf("panel %q %s: %s: %v", p.Title, tg.RefID, expr, err)
			case example && len(got) > 0:
				t.Errorf("panel %q %s: %s = %v: the workload has none of the example server's series", p.Title, tg.RefID, expr, got)
			case !example && !data:
				t.Errorf("panel %q %s: %s returned no data (%v)", p.Title, tg.RefID, expr, got)
			}
			none := backends.Expr(tg.Expr, other)
			if got, err := prom.Query(t.Context(), none); err != nil || len(got) != 0 {
				t.Errorf("panel %q %s for another instance: %s = %v (%v), want nothing", p.Title, tg.RefID, none, got, err)
			}
		}
	}
}

func checkGuideQueries(t *testing.T, prom *backends.Prometheus) {
	ctx := t.Context()
	hasData := func(q string) error {
		s, err := prom.Query(ctx, q)
		if err != nil {
			return err
		}
		for _, x := range s {
			if !math.IsNaN(x.Float()) {
				return nil
			}
		}
		return fmt.Errorf("no data (%d samples, all NaN)", len(s))
	}
	for _, q := range GuideQueries {
		_, err := prom.Query(ctx, q.Query)
		switch {
		case q.SyntaxError:
			if err == nil || !strings.Contains(err.Error(), "bad_data") {
				t.Errorf("%s: the guide's %q was expected not to parse: %v", q.Title, q.Query, err)
			}
		case err != nil:
			t.Errorf("%s: %q: %v", q.Title, q.Query, err)
		case !q.Alert && q.Problem == "":
			if err := hasData(q.Query); err != nil {
				t.Errorf("%s: %q: %v", q.Title, q.Query, err)
			}
		}
		if q.Fixed != "" {
			if q.Alert {
				_, err = prom.Query(ctx, q.Fixed)
			} else {
				err = hasData(q.Fixed)
			}
			if err != nil {
				t.Errorf("%s: corrected %q: %v", q.Title, q.Fixed, err)
			}
		}
	}
	// The conflict-rate query as written answers 100; the corrected one the
	// share of conflicts (1 of 3 merges per run).
	asWritten, err1 := prom.Query(ctx, GuideQueries[1].Query)
	fixed, err2 := prom.Query(ctx, GuideQueries[1].Fixed)
	if err1 != nil || err2 != nil || len(asWritten) != 1 || asWritten[0].Float() != 100 ||
		len(fixed) != 1 || math.Abs(fixed[0].Float()-100.0/3) > 0.5 {
		t.Errorf("conflict rate: as written %v (%v), corrected %v (%v); want 100 and 33.3", asWritten, err1, fixed, err2)
	}
}
