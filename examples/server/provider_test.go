package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/internal/fakellm"
	"github.com/agentorchestrator/observability/otelobs"
)

// simulatedReplies makes a fake API answer like the simulated provider
// (plans, files, resolutions), after one 429, and refuses any other key.
func simulatedReplies(fake *fakellm.Server, key string, authorized func(http.Header) bool) {
	sim := provider.NewSimulated("fake", 1, provider.SimOptions{})
	fake.Script(fakellm.Reply{Status: http.StatusTooManyRequests, Header: map[string]string{"retry-after-ms": "20"}})
	fake.Respond(func(r fakellm.Request) fakellm.Reply {
		if !authorized(r.Header) {
			return fakellm.Reply{Status: http.StatusUnauthorized}
		}
		system, prompt := promptOf(r.Body)
		purpose := provider.PurposeCode
		switch {
		case strings.Contains(system, "director"):
			purpose = provider.PurposePlan
		case strings.Contains(system, "merge conflict"):
			purpose = provider.PurposeResolve
		}
		model, _ := r.Body["model"].(string)
		resp, _ := sim.Complete(context.Background(), provider.Request{Model: model, Purpose: purpose, System: system, Prompt: prompt})
		return fakellm.Reply{Model: model + "-0613", Text: resp.Text,
			Usage: fakellm.Usage{Input: resp.Usage.InputTokens, Output: resp.Usage.OutputTokens}}
	})
}

// promptOf reads the system prompt and the last user message of a chat
// completions or Messages API request.
func promptOf(body map[string]any) (system, prompt string) {
	if s, ok := body["system"].([]any); ok && len(s) > 0 {
		system, _ = s[0].(map[string]any)["text"].(string)
	}
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		msg, _ := m.(map[string]any)
		text, _ := msg["content"].(string)
		if blocks, ok := msg["content"].([]any); ok && len(blocks) > 0 {
			text, _ = blocks[0].(map[string]any)["text"].(string)
		}
		switch msg["role"] {
		case "system":
			system = text
		case "user":
			prompt = text
		}
	}
	return system, prompt
}

// TestRunWithHTTPProvider: with ORCH_REAL_PROVIDERS=openai and
// OPENAI_API_KEY set, the run calls the OpenAI-compatible API for real (here
// a local fake), honours its 429, and never records the key.
func TestRunWithHTTPProvider(t *testing.T) {
	const key = "sk-test-secret-0123456789"
	fake := fakellm.OpenAI(t)
	simulatedReplies(fake, key, func(h http.Header) bool { return h.Get("Authorization") == "Bearer "+key })
	t.Setenv("OPENAI_API_KEY", key)
	t.Setenv("OPENAI_BASE_URL", fake.URL+"/v1")
	s := startApp(t, testEnv(t, map[string]string{"ORCH_SIM_CONFLICT_RATE": "0", "ORCH_REAL_PROVIDERS": "openai"}))
	code, body := s.post(t, guideBody(filepath.Join(s.root, "real"), "openai", "gpt-4"), nil)
	if code != http.StatusAccepted || body["simulated"] != false {
		t.Fatalf("POST = %d %v, want a non-simulated run", code, body)
	}
	v := s.wait(t, body["run_id"].(string))
	if v.State != orchestrator.StateCompleted || v.Simulated || v.Tokens.Input == 0 || v.CostUSD <= 0 {
		t.Fatalf("run = %+v", v)
	}
	if n := len(fake.Requests()); n < 6 {
		t.Errorf("the fake API got %d calls", n)
	}
	m := s.metrics(t)
	for _, want := range []string{
		`llm_rate_limit_events_total{model="gpt-4",provider="openai"} 1`,
		`llm_request_errors_total{error_type="rate_limited",model="gpt-4",provider="openai"} 1`,
		`llm_rate_limit_retry_after_seconds{model="gpt-4",provider="openai"} 0.02`,
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

// TestRunWithAnthropicProvider: with ORCH_REAL_PROVIDERS=anthropic and
// ANTHROPIC_API_KEY set, the run calls the Messages API through anthropic-sdk-go (here a local fake), each call
// recorded once, on the SDK's own span, with the purpose and the cost.
func TestRunWithAnthropicProvider(t *testing.T) {
	const key = "sk-ant-test-secret-0123456789"
	fake := fakellm.Anthropic(t)
	simulatedReplies(fake, key, func(h http.Header) bool { return h.Get("X-Api-Key") == key || h.Get("Authorization") == "Bearer "+key })
	t.Setenv("ANTHROPIC_API_KEY", key)
	t.Setenv("ANTHROPIC_BASE_URL", fake.URL)
	s := startApp(t, testEnv(t, map[string]string{"ORCH_SIM_CONFLICT_RATE": "0", "ORCH_REAL_PROVIDERS": "all"}))
	code, body := s.post(t, guideBody(filepath.Join(s.root, "real"), "anthropic", "claude-sonnet-4-5"), nil)
	if code != http.StatusAccepted || body["simulated"] != false {
		t.Fatalf("POST = %d %v, want a non-simulated run", code, body)
	}
	v := s.wait(t, body["run_id"].(string))
	if v.State != orchestrator.StateCompleted || v.Simulated || v.Tokens.Input == 0 || v.CostUSD <= 0 {
		t.Fatalf("run = %+v", v)
	}
	m := s.metrics(t)
	calls := len(fake.Requests())
	for _, want := range []string{
		fmt.Sprintf(`llm_requests_total{model="claude-sonnet-4-5",provider="anthropic"} %d`, calls),
		`llm_rate_limit_events_total{model="claude-sonnet-4-5",provider="anthropic"} 1`,
		`llm_cost_dollars_total{model="claude-sonnet-4-5",provider="anthropic"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "llm_"))
		}
	}
	sdkSpans, purposes := 0, 0
	for _, sp := range s.spans.GetSpans() {
		if strings.Contains(fmt.Sprint(sp.Attributes, sp.Events, sp.Status), key) {
			t.Errorf("the API key is on span %s", sp.Name)
		}
		if strings.HasPrefix(sp.Name, "chat claude") {
			t.Errorf("a second span %q next to the SDK's", sp.Name)
		}
		if sp.Name == "anthropic.messages.create" {
			sdkSpans++
			for _, a := range sp.Attributes {
				if a.Key == orchestrator.PurposeKey {
					purposes++
				}
			}
		}
	}
	if sdkSpans != calls || purposes != calls {
		t.Errorf("%d calls, %d SDK spans, %d with a purpose", calls, sdkSpans, purposes)
	}
}

// TestAPIKeyAloneIsSimulated: a key left in the shell calls nothing for
// real: without ORCH_REAL_PROVIDERS the run is simulated and the API (a
// local fake) gets no request.
func TestAPIKeyAloneIsSimulated(t *testing.T) {
	fake := fakellm.OpenAI(t)
	t.Setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
	t.Setenv("OPENAI_BASE_URL", fake.URL+"/v1")
	s := startApp(t, testEnv(t, nil))
	code, body := s.post(t, guideBody(filepath.Join(s.root, "sim"), "openai", "gpt-4o-mini"), nil)
	if code != http.StatusAccepted || body["simulated"] != true {
		t.Fatalf("POST = %d %v, want a simulated run", code, body)
	}
	if v := s.wait(t, body["run_id"].(string)); v.State != orchestrator.StateCompleted || !v.Simulated || v.CostUSD <= 0 {
		t.Fatalf("run = %+v", v)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("the API got %d requests without ORCH_REAL_PROVIDERS", n)
	}
}

// TestRealProvidersConfig: ORCH_REAL_PROVIDERS names known providers, each
// with its key; it lowers the default process budget.
func TestRealProvidersConfig(t *testing.T) {
	for value, want := range map[string]float64{"": 100, "openai": 10, "all": 10} {
		c, err := loadConfig(nil, testEnv(t, map[string]string{"ORCH_REAL_PROVIDERS": value}), func() uint64 { return 1 })
		if err != nil || c.orch.TotalBudgetUSD != want {
			t.Errorf("ORCH_REAL_PROVIDERS=%q: total budget %v (%v), want %v", value, c.orch.TotalBudgetUSD, err, want)
		}
	}
	c, err := loadConfig(nil, testEnv(t, map[string]string{"ORCH_REAL_PROVIDERS": "openai", "ORCH_TOTAL_BUDGET_USD": "50"}), func() uint64 { return 1 })
	if err != nil || c.orch.TotalBudgetUSD != 50 {
		t.Errorf("an explicit budget: %v (%v)", c.orch.TotalBudgetUSD, err)
	}
	if _, err := loadConfig(nil, testEnv(t, map[string]string{"ORCH_REAL_PROVIDERS": "skynet"}), func() uint64 { return 1 }); err == nil ||
		!strings.Contains(err.Error(), "ORCH_REAL_PROVIDERS") {
		t.Errorf("skynet: err = %v", err)
	}
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	c, err = loadConfig(nil, testEnv(t, map[string]string{"ORCH_REAL_PROVIDERS": "openai"}), func() uint64 { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newApp(t.Context(), c, otelobs.WithoutGlobals()); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Errorf("openai for real without a key: err = %v", err)
	}
}
