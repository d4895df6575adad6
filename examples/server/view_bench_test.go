//go:build e2e

package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/agentorchestrator/observability/examples/loadgen/loadgen"
	"github.com/agentorchestrator/observability/internal/backends"
	"github.com/agentorchestrator/observability/internal/view"
	"github.com/agentorchestrator/observability/otelobs"
)

// benchDay is the history the benchmark's Prometheus holds: a day of 15 s
// samples.
const (
	benchDay      = 24 * time.Hour
	benchInterval = 15 * time.Second
)

// BenchmarkViewDashboard: the dashboard in headless Chromium against a
// Prometheus holding a day of 15 s samples of the example server's series
// (the series and their final values come from the server under loadgen;
// the day before is backfilled with promtool, counters rising evenly to
// those values). One op is a first complete render: navigation until no
// panel is loading. It reports the Prometheus requests and response bytes
// per render. See docs/benchmarks.md.
func BenchmarkViewDashboard(b *testing.B) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	families := serverFamilies(b)
	data := b.TempDir()
	backfill(b, families, data)
	prom := backends.StartPrometheus(b, backends.PrometheusConfig{DataDir: data})
	jaeger := backends.StartJaeger(b)
	v, err := view.New(view.Config{PrometheusURL: prom.URL, JaegerURL: jaeger.QueryURL,
		Dashboard: backends.RepoPath("observability", "grafana", "dashboards", "agent-orchestrator-overview.json"),
		MinStep:   benchInterval, AllowedHosts: view.LoopbackHosts})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(v)
	b.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	ctx := backends.Browser(b, 1600, 1100)
	panels := strconv.Itoa(len(backends.LoadDashboard(b).Panels))
	for _, rng := range []string{"1h", "24h"} {
		b.Run("range="+rng, func(b *testing.B) {
			page := base + "/?from=now-" + rng + "&to=now&refresh=off"
			wait := chromedp.Poll[bool](`document.querySelectorAll('[data-panel]').length === `+panels+` && `+
				`document.querySelectorAll('[data-panel][data-state="loading"]').length === 0`, chromedp.WithPollingTimeout(time.Minute))
			// Once outside the measurement: every panel must have data.
			if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
				b.Fatal(err)
			}
			if _, err := chromedp.Run(ctx, wait); err != nil {
				b.Fatal(err)
			}
			empty, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-panel]:not([data-state="ok"])')].map(e => e.dataset.panel)`))
			if len(empty) > 0 {
				b.Fatalf("panels without data: %v", empty)
			}
			before, cpu0 := v.Stats(), promCPU(b, prom)
			b.ResetTimer()
			for b.Loop() {
				if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
					b.Fatal(err)
				}
				if _, err := chromedp.Run(ctx, wait); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			after, cpu1 := v.Stats(), promCPU(b, prom)
			b.ReportMetric(float64(after.Queries-before.Queries)/float64(b.N), "queries/op")
			b.ReportMetric(float64(after.Bytes-before.Bytes)/1024/float64(b.N), "KiB-from-prom/op")
			b.ReportMetric((cpu1-cpu0)*1000/float64(b.N), "prom-cpu-ms/op")
		})
	}
}

// serverFamilies runs the example server under loadgen and returns its
// /metrics, parsed.
func serverFamilies(b *testing.B) map[string]*dto.MetricFamily {
	b.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	b.Setenv("OTEL_TRACES_EXPORTER", "none")
	env := map[string]string{
		"ORCH_WORKSPACE_ROOT": b.TempDir(), "ORCH_SEED": "5", "ORCH_SIM_LATENCY_SCALE": "0",
		"ORCH_SIM_CONFLICT_RATE": "0.5", "ORCH_SIM_RATE_LIMIT_RATE": "0.05", "ORCH_TOTAL_BUDGET_USD": "0",
	}
	c, err := loadConfig(nil, func(k string) string { return env[k] }, func() uint64 { return 1 })
	if err != nil {
		b.Fatal(err)
	}
	a, err := newApp(b.Context(), c, otelobs.WithoutGlobals())
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	defer func() { _ = a.orch.Shutdown(b.Context()); _ = a.tel.Shutdown(b.Context()) }()
	if _, err := loadgen.Run(b.Context(), loadgen.Config{BaseURL: srv.URL, Runs: 30, Concurrency: 4,
		Workspace: filepath.Join(c.workspaceRoot, "ws")}); err != nil {
		b.Fatal(err)
	}
	return scrape(b, srv.URL+"/metrics")
}

// scrape reads a /metrics in the text format.
func scrape(b *testing.B, url string) map[string]*dto.MetricFamily {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return mf
}

// backfill writes a day of samples of the families, ending now, as
// OpenMetrics, and turns them into TSDB blocks in dir with promtool.
func backfill(b *testing.B, families map[string]*dto.MetricFamily, dir string) {
	f, err := os.Create(filepath.Join(b.TempDir(), "day.om"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	end := time.Now().Add(-time.Minute).Truncate(benchInterval)
	n := int(benchDay / benchInterval)
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	series := 0
	for _, name := range names {
		mf := families[name]
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			fmt.Fprintf(w, "# TYPE %s counter\n", strings.TrimSuffix(name, "_total"))
		case dto.MetricType_GAUGE:
			fmt.Fprintf(w, "# TYPE %s gauge\n", name)
		case dto.MetricType_HISTOGRAM:
			fmt.Fprintf(w, "# TYPE %s histogram\n", name)
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{"job": "agent-orchestrator", "instance": "bench:8000"}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			// frac rises from ~0 to 1 over the day: counters grow evenly.
			sample := func(suffix string, extra map[string]string, final float64, counter bool) {
				series++
				ls := labelString(labels, extra)
				for i := range n {
					v := final
					if counter {
						v = final * float64(i+1) / float64(n)
					}
					ts := end.Add(-time.Duration(n-1-i) * benchInterval)
					fmt.Fprintf(w, "%s%s%s %g %d\n", name, suffix, ls, v, ts.Unix())
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				sample("", nil, m.GetCounter().GetValue(), true)
			case dto.MetricType_GAUGE:
				sample("", nil, m.GetGauge().GetValue(), false)
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				inf := false
				for _, bk := range h.GetBucket() {
					inf = inf || math.IsInf(bk.GetUpperBound(), 1)
					sample("_bucket", map[string]string{"le": fmt.Sprint(bk.GetUpperBound())}, float64(bk.GetCumulativeCount()), true)
				}
				if !inf {
					sample("_bucket", map[string]string{"le": "+Inf"}, float64(h.GetSampleCount()), true)
				}
				sample("_count", nil, float64(h.GetSampleCount()), true)
				sample("_sum", nil, h.GetSampleSum(), true)
			}
		}
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	out, err := osexec.Command(backends.Bin(b, "promtool"), "tsdb", "create-blocks-from", "openmetrics", f.Name(), dir).CombinedOutput()
	if err != nil {
		b.Fatalf("promtool: %v\n%s", err, out)
	}
	b.Logf("backfilled %d series × %d samples (a day at %v)", series, n, benchInterval)
}

func labelString(labels, extra map[string]string) string {
	all := map[string]string{}
	for k, v := range labels {
		all[k] = v
	}
	for k, v := range extra {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, all[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// promCPU is Prometheus's own CPU time so far (process_cpu_seconds_total):
// what the view's queries cost it.
func promCPU(b *testing.B, prom *backends.Prometheus) float64 {
	f, ok := scrape(b, prom.URL+"/metrics")["process_cpu_seconds_total"]
	if !ok || len(f.GetMetric()) == 0 {
		b.Fatal("Prometheus has no process_cpu_seconds_total")
	}
	return f.GetMetric()[0].GetCounter().GetValue()
}
