package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
)

// shutdownServer is the server started by runWithSignals, as main starts it,
// with the signals in the test's hands.
type shutdownServer struct {
	base string // http://host:port
	sigs chan os.Signal
	done chan error
	root string
}

func startShutdownServer(t *testing.T, extra map[string]string) *shutdownServer {
	t.Helper()
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	env := map[string]string{"ORCH_ADDR": "127.0.0.1:0"}
	for k, v := range extra {
		env[k] = v
	}
	getenv := testEnv(t, env)
	s := &shutdownServer{sigs: make(chan os.Signal, 2), done: make(chan error, 1), root: getenv("ORCH_WORKSPACE_ROOT")}
	ready := make(chan string, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		s.done <- runWithSignals(context.Background(), nil, getenv, ready, s.sigs)
	}()
	select {
	case addr := <-ready:
		s.base = "http://" + addr
	case err := <-s.done:
		t.Fatalf("the server did not start: %v", err)
	}
	t.Cleanup(func() {
		select {
		case <-returned:
		default:
			s.sigs <- syscall.SIGTERM
			s.sigs <- syscall.SIGTERM
			<-returned
		}
	})
	return s
}

func (s *shutdownServer) startRun(t *testing.T, name string) string {
	t.Helper()
	return postRun(t, strings.TrimPrefix(s.base, "http://"), filepath.Join(s.root, name))
}

// postRun starts a run of the guide's body and returns its id.
func postRun(t *testing.T, addr, workspace string) string {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/runs", "application/json", strings.NewReader(guideBody(workspace, "openai", "gpt-4")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		RunID string `json:"run_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /runs = %d (%v)", resp.StatusCode, err)
	}
	return out.RunID
}

func (s *shutdownServer) get(path string) (int, string, error) {
	resp, err := http.Get(s.base + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// runsTotal reads agentorch_runs_total by state from a /metrics body.
func runsTotal(metrics string) map[string]int64 {
	out := map[string]int64{}
	for line := range strings.SplitSeq(metrics, "\n") {
		var state string
		var n int64
		if rest, ok := strings.CutPrefix(line, `agentorch_runs_total{state="`); ok {
			if _, err := fmt.Sscanf(strings.Replace(rest, `"}`, " ", 1), "%s %d", &state, &n); err == nil {
				out[state] = n
			}
		}
	}
	return out
}

// TestShutdownOrder: on the first signal POST /runs and /healthz answer
// 503 at once while /metrics goes on; running runs are cancelled after the
// grace; /metrics is served until a scrape after the final states, which
// shows every run, then the server stops.
func TestShutdownOrder(t *testing.T) {
	s := startShutdownServer(t, map[string]string{
		"ORCH_SIM_LATENCY_SCALE": "1", "ORCH_SHUTDOWN_GRACE": "200ms",
		// Long: the test's own scrape after the final states must end it.
		"ORCH_SHUTDOWN_SCRAPE_WAIT": "30s",
	})
	first := s.startRun(t, "done")
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body, err := s.get("/runs/" + first)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(body, `"state": "completed"`) {
			break
		}
		if strings.Contains(body, `"state": "failed"`) || time.Now().After(deadline) {
			t.Fatalf("the first run did not complete: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.startRun(t, "canceled-1")
	s.startRun(t, "canceled-2")

	start := time.Now()
	s.sigs <- syscall.SIGTERM
	resp, err := http.Post(s.base+"/runs", "application/json",
		strings.NewReader(guideBody(filepath.Join(s.root, "late"), "openai", "gpt-4")))
	if err != nil {
		t.Fatalf("POST /runs right after the signal: %v (the listener must stay open)", err)
	}
	var e struct{ Error struct{ Message string } }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(e.Error.Message, "shutting down") {
		t.Errorf("POST /runs while shutting down = %d %+v, want 503 saying so", resp.StatusCode, e.Error)
	}
	if code, body, err := s.get("/healthz"); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("/healthz while shutting down = %d %s %v, want 503", code, body, err)
	}
	// Scrape as Prometheus would, until the server closes.
	var last string
	scrapes := 0
	for {
		code, body, err := s.get("/metrics")
		if err != nil {
			break
		}
		if code != http.StatusOK {
			t.Fatalf("/metrics = %d while shutting down", code)
		}
		last, scrapes = body, scrapes+1
		if time.Since(start) > 20*time.Second {
			t.Fatal("the server still serves /metrics 20 s after the signal")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the listener closed but the server did not return")
	}
	// The last scrape has every run in its final state.
	got := runsTotal(last)
	if got["completed"] != 1 || got["canceled"] != 2 || len(got) != 2 {
		t.Errorf("the last of %d scrapes has agentorch_runs_total %v, want completed 1 and canceled 2:\n%s",
			scrapes, got, grep(last, "agentorch_runs"))
	}
	if !strings.Contains(last, "agentorch_runs_active 0") {
		t.Errorf("the last scrape has runs still active:\n%s", grep(last, "agentorch_runs"))
	}
	// The scrape ended the wait: well before ORCH_SHUTDOWN_SCRAPE_WAIT.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}

// TestSecondSignalExitsAtOnce: a second signal during the grace ends the
// server within a second instead of the 30 s grace.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	s := startShutdownServer(t, map[string]string{"ORCH_SIM_LATENCY_SCALE": "20", "ORCH_SHUTDOWN_GRACE": "30s"})
	id := s.startRun(t, "slow")
	s.sigs <- syscall.SIGINT
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, err := s.get("/healthz")
		if err == nil && code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz = %d %v after the first signal", code, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, body, _ := s.get("/runs/" + id); !strings.Contains(body, string(orchestrator.StatePlanning)) &&
		!strings.Contains(body, string(orchestrator.StateRunning)) {
		t.Fatalf("the run is not in progress during the grace: %s", body)
	}
	start := time.Now()
	s.sigs <- syscall.SIGINT
	select {
	case err := <-s.done:
		if !errors.Is(err, errSecondSignal) {
			t.Errorf("run = %v, want errSecondSignal", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("exited %v after the second signal", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second signal did not end the server")
	}
	if _, _, err := s.get("/healthz"); err == nil {
		t.Error("the listener is still open after the second signal")
	}
}

func TestShutdownConfig(t *testing.T) {
	wantConfigErrors(t, map[string]string{"ORCH_SHUTDOWN_SCRAPE_WAIT": "-1s", "ORCH_SHUTDOWN_GRACE": "-2s"})
	c, err := loadConfig(nil, func(string) string { return "" }, func() uint64 { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	// Within Docker's default stop timeout (10 s), with room to spare.
	if total := c.grace + c.scrapeWait + closeTimeout + flushTimeout; total > 8*time.Second {
		t.Errorf("the default shutdown takes up to %v (grace %v, scrape wait %v)", total, c.grace, c.scrapeWait)
	}
}
