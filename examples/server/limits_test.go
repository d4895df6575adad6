package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
)

// TestPostRunsBackpressure: at ten times ORCH_MAX_ACTIVE_RUNS, concurrent
// POSTs get exactly the bound accepted and the rest 429 with Retry-After and
// the API's JSON error.
func TestPostRunsBackpressure(t *testing.T) {
	const bound = 4
	// Slow enough that no run finishes during the test.
	s := startApp(t, testEnv(t, map[string]string{"ORCH_MAX_ACTIVE_RUNS": strconv.Itoa(bound), "ORCH_SIM_LATENCY_SCALE": "100"}))
	body := guideBody(filepath.Join(s.root, "busy"), "openai", "gpt-4")
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 10 * bound {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/runs", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Field, Message string }
			}
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode == http.StatusTooManyRequests {
				ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
				if err != nil || ra < 1 || !strings.Contains(e.Error.Message, "active runs") ||
					resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("429 with Retry-After %q and error %+v", resp.Header.Get("Retry-After"), e.Error)
				}
			}
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if codes[http.StatusAccepted] != bound || codes[http.StatusTooManyRequests] != 9*bound {
		t.Errorf("answers %v, want %d × 202 and %d × 429", codes, bound, 9*bound)
	}
	if m := s.metrics(t); !strings.Contains(m, `agentorch_runs_active `+strconv.Itoa(bound)) {
		t.Errorf("active runs on /metrics:\n%s", grep(m, "agentorch_runs_active"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.app.orch.Shutdown(ctx)
}

// TestFinishedRunsExpire: after ORCH_RUN_RETENTION a finished run is gone
// from GET /runs/{id} and GET /runs.
func TestFinishedRunsExpire(t *testing.T) {
	s := startApp(t, testEnv(t, map[string]string{"ORCH_RUN_RETENTION": "1s"}))
	code, body := s.post(t, guideBody(filepath.Join(s.root, "expire"), "openai", "gpt-4"), nil)
	if code != http.StatusAccepted {
		t.Fatalf("POST = %d %v", code, body)
	}
	id := body["run_id"].(string)
	if v := s.wait(t, id); v.State != orchestrator.StateCompleted {
		t.Fatalf("run ended %s", v.State)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/runs/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			break
		}
		if resp.StatusCode != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("GET /runs/%s = %d, 10 s after it finished with a retention of 1 s", id, resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(s.URL + "/runs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Runs []orchestrator.View }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Runs) != 0 {
		t.Errorf("GET /runs after the retention = %+v (%v)", list.Runs, err)
	}
}

func TestLimitConfig(t *testing.T) {
	wantConfigErrors(t, map[string]string{
		"ORCH_MAX_ACTIVE_RUNS": "0", "ORCH_MAX_FINISHED_RUNS": "lots", "ORCH_RUN_RETENTION": "500ms",
	})
	c, err := loadConfig(nil, func(string) string { return "" }, func() uint64 { return 1 })
	if err != nil || c.orch.MaxActiveRuns != 100 || c.orch.MaxFinishedRuns != 1000 || c.orch.Retention != time.Hour {
		t.Fatalf("defaults: %+v %v", c.orch, err)
	}
	for _, v := range []string{"ORCH_MAX_ACTIVE_RUNS", "ORCH_MAX_FINISHED_RUNS", "ORCH_RUN_RETENTION"} {
		if !strings.Contains(envDoc, v) {
			t.Errorf("envDoc lacks %s", v)
		}
	}
}
