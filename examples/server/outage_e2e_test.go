//go:build e2e

// End-to-end: Collector outages on the push path. Every span the server
// ends is also kept in memory (a span recorder beside the exporter); after
// the outage, Jaeger must hold each run's trace whole, and what it lacks
// must equal otelobs_telemetry_dropped_total in Prometheus.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/otelobs"
)

// outage is the server pushing to a Collector that the test stops and
// starts on fixed ports.
type outage struct {
	t      *testing.T
	ports  backends.CollectorPorts
	prom   *backends.Prometheus
	jaeger *backends.Jaeger
	col    *backends.Collector
	app    *app
	srv    *httptest.Server
	rec    *tracetest.SpanRecorder
	root   string // the workspace root
}

func startOutage(t *testing.T, protocol string, opts ...otelobs.Option) *outage {
	t.Helper()
	o := &outage{t: t, rec: tracetest.NewSpanRecorder()}
	o.jaeger = backends.StartJaeger(t)
	o.prom = backends.StartPrometheus(t, backends.PrometheusConfig{OTLPReceiver: true})
	o.ports = backends.NewCollectorPorts(t) // after the others have theirs
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", o.ports.HTTP)
	if protocol == "grpc" {
		endpoint = fmt.Sprintf("http://127.0.0.1:%d", o.ports.GRPC)
	}
	backends.CleanEnv(t, map[string]string{
		"OTEL_SERVICE_NAME":           "agent-orchestrator",
		"OTEL_METRICS_EXPORTER":       "otlp",
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
		"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
		"OTEL_METRIC_EXPORT_INTERVAL": "500",
		"OTEL_BSP_SCHEDULE_DELAY":     "200",
		// Batches of 50, so that the overflow test's buffer of 100 holds
		// two, as Setup requires.
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "50",
	})
	c, err := loadConfig(nil, testEnv(t, map[string]string{"ORCH_SIM_LATENCY_SCALE": "0.02", "ORCH_SIM_CONFLICT_RATE": "0.5"}), func() uint64 { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]otelobs.Option{otelobs.WithoutGlobals(), otelobs.WithSpanProcessor(o.rec)}, opts...)
	o.app, err = newApp(t.Context(), c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	o.root = c.workspaceRoot
	o.srv = httptest.NewServer(o.app.handler)
	t.Cleanup(func() {
		o.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = o.app.orch.Shutdown(ctx)
		_ = o.app.tel.Shutdown(ctx)
	})
	return o
}

func (o *outage) collectorUp() {
	o.t.Helper()
	o.col = backends.StartCollector(o.t, backends.RepoPath("collector", "otel-collector.yaml"), o.ports,
		backends.CollectorEnv(o.prom, o.jaeger)...)
}

// collectorDown stops the Collector as an orchestrator would (SIGTERM):
// what it accepted reaches Jaeger, the rest is the server's to keep.
func (o *outage) collectorDown() {
	o.col.Stop()
	o.ports.Hold(o.t) // refused, and not taken by another test meanwhile
}

// load starts a run every 300 ms until stop is called; stop waits for the
// runs to end and returns how many ran.
func (o *outage) load() (stop func() int) {
	ws := filepath.Join(o.root, "outage-workspace")
	done := make(chan struct{})
	var wg sync.WaitGroup
	runs := 0
	wg.Go(func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			runs++
			wg.Go(func() { o.run(ws) })
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return runs
	}
}

// run starts one run and polls it, slowly, until it ends.
func (o *outage) run(ws string) {
	resp, err := http.Post(o.srv.URL+"/runs", "application/json", strings.NewReader(guideBody(ws, "openai", "gpt-4")))
	if err != nil {
		o.t.Error(err)
		return
	}
	var started map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	id, _ := started["run_id"].(string)
	if resp.StatusCode != http.StatusAccepted || id == "" {
		o.t.Errorf("POST /runs = %d %v", resp.StatusCode, started)
		return
	}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get(o.srv.URL + "/runs/" + id)
		if err != nil {
			o.t.Error(err)
			return
		}
		var v orchestrator.View
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil {
			o.t.Error(err)
			return
		}
		switch v.State {
		case orchestrator.StateCompleted, orchestrator.StateFailed, orchestrator.StateBudgetExceeded, orchestrator.StateCanceled:
			return
		}
	}
	o.t.Errorf("run %s did not end", id)
}

// ended groups the span ids the server ended by trace, for the traces
// that hold a run.
func (o *outage) ended() (runs map[string][]string, total int) {
	runs = map[string][]string{}
	all := map[string][]string{}
	hasRun := map[string]bool{}
	for _, s := range o.rec.Ended() {
		id := s.SpanContext().TraceID().String()
		all[id] = append(all[id], s.SpanContext().SpanID().String())
		hasRun[id] = hasRun[id] || s.Name() == "run"
		total++
	}
	for id, spans := range all {
		if hasRun[id] {
			runs[id] = spans
		}
	}
	return runs, total
}

// flush hands every ended span to the exporters and waits until they are
// delivered (ForceFlush returns at the first failed attempt, which the
// Collector's first seconds may see).
func (o *outage) flush() {
	o.t.Helper()
	backends.Eventually(o.t, 60*time.Second, "ForceFlush after the outage", func(ctx context.Context) error {
		return o.app.tel.ForceFlush(ctx)
	})
}

// wantComplete waits until Jaeger holds every run's trace whole, each span
// once, and Prometheus counts no span as dropped.
func (o *outage) wantComplete(runs int) {
	o.t.Helper()
	o.flush()
	ended, _ := o.ended()
	if len(ended) != runs {
		o.t.Fatalf("%d traces with a run span, want one per run (%d)", len(ended), runs)
	}
	backends.Eventually(o.t, 60*time.Second, "every run's trace whole in Jaeger", func(ctx context.Context) error {
		stored, err := o.jaeger.SpanIDs(ctx, "agent-orchestrator")
		if err != nil {
			return err
		}
		var bad []string
		for id, want := range ended {
			got := slices.Sorted(slices.Values(stored[id]))
			if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				bad = append(bad, fmt.Sprintf("%s: %d of %d spans", id, len(got), len(want)))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%d of %d runs incomplete: %s", len(bad), len(ended), strings.Join(bad, "; "))
		}
		n := 0
		for _, want := range ended {
			n += len(want)
		}
		o.t.Logf("%d runs: all %d of their spans in Jaeger, each once", len(ended), n)
		return nil
	})
	o.wantDropped(func(n float64) error {
		if n != 0 {
			return fmt.Errorf("%v spans counted as dropped, want 0", n)
		}
		return nil
	})
}

// wantDropped waits until Prometheus has the dropped-span count and check
// accepts it.
func (o *outage) wantDropped(check func(float64) error) {
	o.t.Helper()
	backends.Eventually(o.t, 60*time.Second, "otelobs_telemetry_dropped_total in Prometheus", func(ctx context.Context) error {
		s, err := o.prom.Query(ctx, `sum(otelobs_telemetry_dropped_total{signal="traces",job="agent-orchestrator"})`)
		if err != nil {
			return err
		}
		if len(s) != 1 {
			return fmt.Errorf("got %v", s)
		}
		return check(s[0].Float())
	})
}

var outageProtocols = []string{"http/protobuf", "grpc"}

// TestE2ECollectorOutageAtStart: the Collector is down when the server
// starts and comes up while runs are under way; every run's trace arrives
// whole.
func TestE2ECollectorOutageAtStart(t *testing.T) {
	for _, protocol := range outageProtocols {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			o := startOutage(t, protocol)
			stop := o.load()
			time.Sleep(6 * time.Second)
			o.collectorUp()
			time.Sleep(2 * time.Second)
			o.wantComplete(stop())
		})
	}
}

// TestE2ECollectorOutageMidLoad: the Collector stops under load and is back
// 6 s later; every run's trace arrives whole.
func TestE2ECollectorOutageMidLoad(t *testing.T) {
	for _, protocol := range outageProtocols {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			o := startOutage(t, protocol)
			o.collectorUp()
			stop := o.load()
			time.Sleep(2 * time.Second)
			o.collectorDown()
			time.Sleep(6 * time.Second)
			o.collectorUp()
			time.Sleep(2 * time.Second)
			o.wantComplete(stop())
		})
	}
}

// TestE2ECollectorOutageOverflow: an outage longer than a small span buffer
// holds; the spans Jaeger lacks are exactly those counted as dropped.
func TestE2ECollectorOutageOverflow(t *testing.T) {
	for _, protocol := range outageProtocols {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			o := startOutage(t, protocol, otelobs.WithSpanBuffer(100))
			stop := o.load()
			time.Sleep(5 * time.Second)
			stop()
			o.collectorUp()
			o.flush()
			_, total := o.ended()
			var stored int
			backends.Eventually(t, 60*time.Second, "Jaeger settles", func(ctx context.Context) error {
				ids, err := o.jaeger.SpanIDs(ctx, "agent-orchestrator")
				if err != nil {
					return err
				}
				n := 0
				for _, s := range ids {
					n += len(s)
				}
				if n != stored || n == 0 {
					stored = n
					return fmt.Errorf("%d spans so far", n)
				}
				return nil
			})
			if stored >= total {
				t.Fatalf("Jaeger holds %d of %d spans: the outage did not overflow the buffer", stored, total)
			}
			o.wantDropped(func(n float64) error {
				if int(n) != total-stored {
					return fmt.Errorf("%v spans counted as dropped; Jaeger lacks %d of %d", n, total-stored, total)
				}
				t.Logf("%d spans ended, %d in Jaeger, %v counted as dropped", total, stored, n)
				return nil
			})
		})
	}
}
