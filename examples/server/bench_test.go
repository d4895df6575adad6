package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/examples/loadgen/loadgen"
	"github.com/agentorchestrator/observability/otelobs"
)

// BenchmarkServerThroughput runs the load generator against the server with
// its default telemetry, with every span exported as well, and with
// OTEL_SDK_DISABLED=true, in the same run (metrics are scraped every second):
//
//	go test -run '^$' -bench ServerThroughput -benchtime 5x -count 8 ./examples/server/ | tee srv.txt
//	.tools/bin/benchstat -col /telemetry srv.txt
//
// One iteration is 8 concurrent runs, each a plan, four tasks and four real
// git merges in one shared workspace, with the simulated LLM answering at
// once (so that the measurement is the orchestrator's and the telemetry's
// own cost, not the model's latency).
func BenchmarkServerThroughput(b *testing.B) {
	// Run logs would interleave with the benchmark's output.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	for _, mode := range []struct {
		name string
		env  map[string]string
	}{
		{"telemetry=off", map[string]string{"OTEL_SDK_DISABLED": "true"}},
		// The defaults: metrics pulled from /metrics, spans sampled (they
		// feed the exemplars) but not exported.
		{"telemetry=default", map[string]string{}},
		// Everything exported: every span serialised by an exporter too.
		{"telemetry=all", map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_TRACES_EXPORTER": "console"}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for _, k := range []string{"OTEL_METRICS_EXPORTER", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"} {
				b.Setenv(k, mode.env[k])
			}
			root := b.TempDir()
			env := map[string]string{
				"ORCH_WORKSPACE_ROOT": root, "ORCH_SEED": "3", "ORCH_SIM_LATENCY_SCALE": "0",
				"ORCH_SIM_RATE_LIMIT_RATE": "0", "ORCH_SIM_ERROR_RATE": "0", "ORCH_SIM_CONFLICT_RATE": "0.5",
				"ORCH_TOTAL_BUDGET_USD": "0", "ORCH_WORKERS": "planner=2,coder=4,tester=2",
			}
			c, err := loadConfig(nil, func(k string) string { return env[k] }, func() uint64 { return 1 })
			if err != nil {
				b.Fatal(err)
			}
			a, err := newApp(b.Context(), c, otelobs.WithoutGlobals(), otelobs.WithConsoleWriter(io.Discard))
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(a.handler)
			defer srv.Close()
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				_ = a.orch.Shutdown(ctx)
				_ = a.tel.Shutdown(ctx)
			}()
			// A scraper, as Prometheus would be (every 5 s; the guide's default
			// is 15 s).
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				t := time.NewTicker(benchDuration(b, "ORCH_BENCH_SCRAPE", 5*time.Second))
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						if resp, err := http.Get(srv.URL + "/metrics"); err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					}
				}
			}()
			poll := benchDuration(b, "ORCH_BENCH_POLL", 200*time.Millisecond)
			runs := 0
			self0, children0 := cpuTime()
			start := time.Now()
			for b.Loop() {
				// A fresh workspace each time, so that git's growing history
				// does not slow later iterations.
				res, err := loadgen.Run(b.Context(), loadgen.Config{BaseURL: srv.URL, Runs: 8, Concurrency: 8,
					Workspace: filepath.Join(root, fmt.Sprint("ws", runs)), Poll: poll})
				if err != nil || len(res.Errors) > 0 || res.ByState["completed"] != 8 {
					b.Fatalf("load: %v %v", err, res)
				}
				runs += 8
			}
			elapsed := time.Since(start)
			self1, children1 := cpuTime()
			b.ReportMetric(float64(runs)/elapsed.Seconds(), "runs/s")
			// CPU time is far steadier than wall time on shared vCPUs: the
			// server's own (where telemetry runs) and git's (child processes).
			b.ReportMetric(float64((self1-self0).Microseconds())/1000/float64(runs), "server-cpu-ms/run")
			b.ReportMetric(float64((children1-children0).Microseconds())/1000/float64(runs), "git-cpu-ms/run")
		})
	}
}

// benchDuration reads a duration knob of the benchmark from the environment.
func benchDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration", name, v)
	}
	return d
}

// cpuTime returns the user+system CPU time of this process and of its
// finished children.
func cpuTime() (self, children time.Duration) {
	var s, c syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &s)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(s.Utime) + tv(s.Stime), tv(c.Utime) + tv(c.Stime)
}
