//go:build e2e

// End-to-end: the server as a process, scraped by a real Prometheus, stopped
// with SIGTERM while runs are in progress. The last scrape Prometheus got
// must hold the final run states the server logged.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/internal/backends"
)

// serverMainEnv makes the test binary run the server's main instead of the
// tests, so that a test can start the server as a process of its own.
const serverMainEnv = "OTELOBS_TEST_RUN_SERVER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(serverMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lockedBuffer is a bytes.Buffer for a process's output, read while it
// runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serverProcess starts the server as a process on addr with the ORCH_* and
// OTEL_* variables env (and none of the test's own).
func serverProcess(t *testing.T, addr string, env map[string]string) (*osexec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := osexec.Command(os.Args[0])
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "OTEL") || strings.HasPrefix(name, "ORCH_") ||
			strings.HasSuffix(name, "_API_KEY") || strings.HasSuffix(name, "_BASE_URL") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, serverMainEnv+"=1", "ORCH_ADDR="+addr)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("--- the server's log ---\n%s", out)
		}
	})
	backends.Eventually(t, 60*time.Second, "the server's /healthz", func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz = %d", resp.StatusCode)
		}
		return nil
	})
	return cmd, out
}

// TestE2EShutdownFinalScrape: after SIGTERM, with runs finished before it
// and runs cancelled by it, Prometheus's last scrape of the server equals
// the final agentorch_runs_total the server logged, and every accepted run
// is in it.
func TestE2EShutdownFinalScrape(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", backends.FreePort(t))
	root := t.TempDir()
	cmd, out := serverProcess(t, addr, map[string]string{
		"OTEL_SERVICE_NAME": "agent-orchestrator", "OTEL_METRICS_EXPORTER": "prometheus", "OTEL_TRACES_EXPORTER": "none",
		"ORCH_WORKSPACE_ROOT": root, "ORCH_SEED": "7",
		"ORCH_SIM_LATENCY_SCALE": "1", "ORCH_SIM_RATE_LIMIT_RATE": "0", "ORCH_SIM_ERROR_RATE": "0",
		// Prometheus scrapes every second: a 5 s wait is sure to see a scrape.
		"ORCH_SHUTDOWN_GRACE": "500ms", "ORCH_SHUTDOWN_SCRAPE_WAIT": "5s",
	})
	prom := backends.StartPrometheus(t, backends.PrometheusConfig{ScrapeTargets: []string{addr}})
	backends.Eventually(t, 30*time.Second, "the first scrape", func(ctx context.Context) error {
		got, err := prom.Query(ctx, `up{job="agent-orchestrator"}`)
		if err != nil || len(got) != 1 || got[0].Float() != 1 {
			return fmt.Errorf("up = %v (%v)", got, err)
		}
		return nil
	})

	// Two runs finish; two more are in progress at the SIGTERM.
	ws := filepath.Join(root, "ws")
	for _, id := range []string{postRun(t, addr, ws), postRun(t, addr, ws)} {
		backends.Eventually(t, 60*time.Second, "run "+id+" finished", func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/runs/"+id, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var v struct{ State string }
			_ = json.NewDecoder(resp.Body).Decode(&v)
			if v.State != "completed" {
				return fmt.Errorf("state %q", v.State)
			}
			return nil
		})
	}
	postRun(t, addr, ws)
	postRun(t, addr, ws)
	time.Sleep(300 * time.Millisecond)

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the server exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not exit within 15 s of SIGTERM")
	}
	took := time.Since(start)
	t.Logf("SIGTERM to exit: %v", took)

	log := out.String()
	m := regexp.MustCompile(`final run states recorded .*`).FindString(log)
	if m == "" {
		t.Fatalf("the server did not log its final run states")
	}
	logged := map[string]float64{}
	total := 0.0
	for _, kv := range regexp.MustCompile(`(completed|failed|budget_exceeded|canceled)=(\d+)`).FindAllStringSubmatch(m, -1) {
		n, _ := strconv.ParseFloat(kv[2], 64)
		logged[kv[1]] = n
		total += n
	}
	if total != 4 || logged["completed"] != 2 || logged["canceled"] != 2 {
		t.Fatalf("final states %v, want 2 completed and 2 canceled", logged)
	}
	if !strings.Contains(log, "/metrics scraped with the final states") {
		t.Errorf("the server did not see a scrape after the final states")
	}

	// The last sample of each series Prometheus scraped (a range selector
	// skips the staleness markers written once the target is gone).
	got, err := prom.Query(t.Context(), `last_over_time(agentorch_runs_total{job="agent-orchestrator"}[5m])`)
	if err != nil {
		t.Fatal(err)
	}
	scraped := map[string]float64{}
	for _, s := range got {
		scraped[s.Metric["state"]] = s.Float()
	}
	for state, n := range logged {
		if n > 0 && scraped[state] != n {
			t.Errorf("Prometheus's last agentorch_runs_total{state=%q} = %v, the server's final %v (scraped %v)", state, scraped[state], n, scraped)
		}
	}
	if took > 10*time.Second {
		t.Errorf("SIGTERM to exit took %v, more than Docker's default stop timeout", took)
	}
}
