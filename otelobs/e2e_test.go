//go:build e2e

// End-to-end tests against real Prometheus, OpenTelemetry Collector and
// Jaeger processes (see internal/backends). They run with -tags e2e, which
// the project's test command always sets; a missing backend fails them.
// They change process-wide state (environment, global providers), so none of
// them runs in parallel.

package otelobs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/agentorchestrator/observability/internal/backends"
)

// seriesSelector selects the workload's series in Prometheus.
const seriesSelector = `{__name__=~"git_.*|llm_.*|task_.*"}`

// goldenSeries is the checked-in list of series names and label names the
// workload must produce on every path.
const goldenSeries = "testdata/e2e-series.txt"

// recordWorkload records, through the global providers and inside one sampled
// span, one measurement on instruments shaped like the contract's: a duration
// histogram, an annotated-unit counter, an up-down counter, a unitless float
// counter and a unitless histogram. It returns the span's trace id.
func recordWorkload(t *testing.T) string {
	t.Helper()
	ctx, span := otel.Tracer("e2e").Start(t.Context(), "git.merge")
	defer span.End()
	m := otel.Meter("e2e")
	dur, err1 := m.Float64Histogram("git.merge.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of git merges."),
		metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300))
	merges, err2 := m.Int64Counter("git.merge", metric.WithUnit("{merge}"),
		metric.WithDescription("Git merges by result."))
	active, err3 := m.Int64UpDownCounter("git.active_merges", metric.WithUnit("{merge}"),
		metric.WithDescription("Merges in progress."))
	cost, err4 := m.Float64Counter("llm.cost.dollars", metric.WithDescription("LLM cost in US dollars."))
	retries, err5 := m.Int64Histogram("task.retry.count", metric.WithDescription("Retries per task."),
		metric.WithExplicitBucketBoundaries(0, 1, 2, 3, 5))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		t.Fatal(err)
	}
	result := metric.WithAttributes(attribute.String("result", "success"))
	dur.Record(ctx, 0.42, result)
	merges.Add(ctx, 1, result)
	active.Add(ctx, 1)
	cost.Add(ctx, 0.0125, metric.WithAttributes(attribute.String("provider", "openai"), attribute.String("model", "gpt-4")))
	retries.Record(ctx, 1, metric.WithAttributes(attribute.String("worker_profile", "coder")))
	return span.SpanContext().TraceID().String()
}

// checkNameParity waits until Prometheus holds exactly the golden series.
func checkNameParity(t *testing.T, prom *backends.Prometheus) {
	t.Helper()
	raw, err := os.ReadFile(goldenSeries)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	prom.WaitForSeriesShapes(t, seriesSelector, want)
	// target_info carries the resource on both paths.
	backends.Eventually(t, 30*time.Second, "target_info", func(ctx context.Context) error {
		s, err := prom.Series(ctx, "target_info")
		if err != nil {
			return err
		}
		if len(s) == 0 {
			return errors.New("no target_info series")
		}
		return nil
	})
}

// TestE2EPull: real Prometheus scrapes the program's own /metrics; the
// exemplars it stores carry the trace id of the span the measurements were
// recorded in, and Jaeger (fed over OTLP directly) has that trace.
func TestE2EPull(t *testing.T) {
	jaeger := backends.StartJaeger(t)
	tel := backends.SetupTelemetry(t, map[string]string{
		"OTEL_SERVICE_NAME":                  "e2e-pull",
		"OTEL_METRICS_EXPORTER":              "prometheus",
		"OTEL_TRACES_EXPORTER":               "otlp",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://" + jaeger.OTLPHTTP + "/v1/traces",
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())
	app := httptest.NewServer(mux)
	defer app.Close()
	prom := backends.StartPrometheus(t, backends.PrometheusConfig{ScrapeTargets: []string{app.Listener.Addr().String()}})

	traceID := recordWorkload(t)
	if err := tel.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"git_merge_duration_seconds_bucket", "git_merge_total", "llm_cost_dollars_total", "task_retry_count_bucket"} {
		prom.WaitForExemplar(t, q, traceID)
	}
	jaeger.WaitForTrace(t, traceID, "git.merge")
	checkNameParity(t, prom)
}

// TestE2EPush: the program pushes OTLP to the real Collector, which forwards
// metrics to Prometheus's OTLP receiver and traces to Jaeger, over both OTLP
// protocols.
func TestE2EPush(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			prom, jaeger, col := backends.StartPushStack(t)
			endpoint := col.HTTPEndpoint
			if protocol == "grpc" {
				endpoint = col.GRPCEndpoint
			}
			tel := backends.SetupTelemetry(t, map[string]string{
				"OTEL_SERVICE_NAME":           "e2e-push",
				"OTEL_METRICS_EXPORTER":       "otlp",
				"OTEL_TRACES_EXPORTER":        "otlp",
				"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
				"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
				"OTEL_METRIC_EXPORT_INTERVAL": "500",
			})
			traceID := recordWorkload(t)
			if err := tel.ForceFlush(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"git_merge_duration_seconds_bucket", "git_merge_total", "llm_cost_dollars_total", "task_retry_count_bucket"} {
				prom.WaitForExemplar(t, q, traceID)
			}
			jaeger.WaitForTrace(t, traceID, "git.merge")
			checkNameParity(t, prom)
			backends.Eventually(t, 30*time.Second, "job is service.name", func(ctx context.Context) error {
				s, err := prom.Query(ctx, `git_merge_total{job="e2e-push"}`)
				if err != nil {
					return err
				}
				if len(s) != 1 || s[0].Metric["instance"] == "" {
					return fmt.Errorf("got %v", s)
				}
				return nil
			})
		})
	}
}

// TestE2ECollectorDownAtStart: the program starts while the Collector is
// down; Setup returns at once, recording never blocks, and once the Collector
// comes up, Prometheus receives the exact cumulative count.
func TestE2ECollectorDownAtStart(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(strings.ReplaceAll(protocol, "/", "_"), func(t *testing.T) {
			jaeger := backends.StartJaeger(t)
			prom := backends.StartPrometheus(t, backends.PrometheusConfig{OTLPReceiver: true})
			ports := backends.NewCollectorPorts(t)
			endpoint := fmt.Sprintf("http://127.0.0.1:%d", ports.HTTP)
			if protocol == "grpc" {
				endpoint = fmt.Sprintf("http://127.0.0.1:%d", ports.GRPC)
			}
			tel := backends.SetupTelemetry(t, map[string]string{
				"OTEL_SERVICE_NAME":           "e2e-recovery",
				"OTEL_METRICS_EXPORTER":       "otlp",
				"OTEL_TRACES_EXPORTER":        "otlp",
				"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
				"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
				"OTEL_METRIC_EXPORT_INTERVAL": "300",
			})
			counter, err := otel.Meter("e2e").Int64Counter("recovery.events", metric.WithUnit("{event}"))
			if err != nil {
				t.Fatal(err)
			}
			record := func(n int) {
				done := make(chan struct{})
				go func() {
					defer close(done)
					for range n {
						ctx, span := otel.Tracer("e2e").Start(t.Context(), "event")
						counter.Add(ctx, 1)
						span.End()
					}
				}()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					t.Fatal("recording blocked")
				}
			}
			record(1000)
			time.Sleep(2 * time.Second) // several exports fail meanwhile
			backends.StartCollector(t, backends.RepoPath("collector", "otel-collector.yaml"), ports,
				backends.CollectorEnv(prom, jaeger)...)
			record(500)
			backends.Eventually(t, 90*time.Second, "exact count after recovery", func(ctx context.Context) error {
				s, err := prom.Query(ctx, `recovery_events_total{job="e2e-recovery"}`)
				if err != nil {
					return err
				}
				if len(s) != 1 || s[0].Float() != 1500 {
					return fmt.Errorf("got %v, want one series at 1500", s)
				}
				return nil
			})
			// The final flush reaches the recovered Collector.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := tel.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown after recovery: %v", err)
			}
		})
	}
}
