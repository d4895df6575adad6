package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/examples/server/internal/provider"
)

// fakeOpenAI is an OpenAI-compatible server on loopback that answers like
// the simulated provider, rate-limits its first request, and checks the key.
func fakeOpenAI(t *testing.T, key string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	sim := provider.NewSimulated("openai", 1, provider.SimOptions{})
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer "+key {
			http.Error(w, `{"error":"bad path or key"}`, http.StatusUnauthorized)
			return
		}
		if n == 1 {
			w.Header().Set("retry-after-ms", "20")
			http.Error(w, `{"error":{"message":"Rate limit reached"}}`, http.StatusTooManyRequests)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct{ Role, Content string }
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		system, prompt := "", req.Messages[len(req.Messages)-1].Content
		if len(req.Messages) > 1 {
			system = req.Messages[0].Content
		}
		purpose := provider.PurposeCode
		switch {
		case strings.Contains(system, "director"):
			purpose = provider.PurposePlan
		case strings.Contains(system, "merge conflict"):
			purpose = provider.PurposeResolve
		}
		resp, _ := sim.Complete(r.Context(), provider.Request{Model: req.Model, Purpose: purpose, System: system, Prompt: prompt})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"model":   req.Model + "-0613",
			"choices": []map[string]any{{"message": map[string]string{"role": "assistant", "content": resp.Text}}},
			"usage":   map[string]int64{"prompt_tokens": resp.Usage.InputTokens, "completion_tokens": resp.Usage.OutputTokens},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestRunWithHTTPProvider: with OPENAI_API_KEY set, the run calls the
// OpenAI-compatible API for real (here a local fake), honours its 429, and
// never records the key.
func TestRunWithHTTPProvider(t *testing.T) {
	const key = "sk-test-secret-0123456789"
	fake, calls := fakeOpenAI(t, key)
	t.Setenv("OPENAI_API_KEY", key)
	t.Setenv("OPENAI_BASE_URL", fake.URL+"/v1")
	s := startApp(t, testEnv(t, map[string]string{"ORCH_SIM_CONFLICT_RATE": "0"}))
	code, body := s.post(t, guideBody(filepath.Join(s.root, "real"), "openai", "gpt-4"), nil)
	if code != http.StatusAccepted || body["simulated"] != false {
		t.Fatalf("POST = %d %v, want a non-simulated run", code, body)
	}
	v := s.wait(t, body["run_id"].(string))
	if v.State != orchestrator.StateCompleted || v.Simulated || v.Tokens.Input == 0 || v.CostUSD <= 0 {
		t.Fatalf("run = %+v", v)
	}
	if calls.Load() < 6 {
		t.Errorf("the fake API got %d calls", calls.Load())
	}
	m := s.metrics(t)
	for _, want := range []string{
		`llm_rate_limit_events_total{model="gpt-4",provider="openai"} 1`,
		`llm_request_errors_total{error_type="rate_limited",model="gpt-4",provider="openai"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "llm_"))
		}
	}
	view, _ := json.Marshal(v)
	if strings.Contains(m, key) || strings.Contains(string(view), key) {
		t.Error("the API key appears in /metrics or the run view")
	}
	for _, sp := range s.spans.GetSpans() {
		if strings.Contains(fmt.Sprint(sp.Attributes, sp.Events, sp.Status), key) {
			t.Errorf("the API key is on span %s", sp.Name)
		}
		if sp.Name == "chat gpt-4" {
			for _, a := range sp.Attributes {
				if a.Key == "gen_ai.response.model" && a.Value.AsString() != "gpt-4-0613" {
					t.Errorf("response model %q", a.Value.AsString())
				}
			}
		}
	}
}
