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

// TestRunWithHTTPProvider: with OPENAI_API_KEY set, the run calls the
// OpenAI-compatible API for real (here a local fake), honours its 429, and
// never records the key.
func TestRunWithHTTPProvider(t *testing.T) {
	const key = "sk-test-secret-0123456789"
	fake := fakellm.OpenAI(t)
	simulatedReplies(fake, key, func(h http.Header) bool { return h.Get("Authorization") == "Bearer "+key })
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

// TestRunWithAnthropicProvider: with ANTHROPIC_API_KEY set, the run calls
// the Messages API through anthropic-sdk-go (here a local fake), each call
// recorded once, on the SDK's own span, with the purpose and the cost.
func TestRunWithAnthropicProvider(t *testing.T) {
	const key = "sk-ant-test-secret-0123456789"
	fake := fakellm.Anthropic(t)
	simulatedReplies(fake, key, func(h http.Header) bool { return h.Get("X-Api-Key") == key || h.Get("Authorization") == "Bearer "+key })
	t.Setenv("ANTHROPIC_API_KEY", key)
	t.Setenv("ANTHROPIC_BASE_URL", fake.URL)
	s := startApp(t, testEnv(t, map[string]string{"ORCH_SIM_CONFLICT_RATE": "0"}))
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
