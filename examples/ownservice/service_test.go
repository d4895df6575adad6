package ownservice_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/agentorchestrator/observability/examples/ownservice"
	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

// fakeOpenAI answers chat completions in OpenAI's wire format, with a 429
// first.
func fakeOpenAI(t *testing.T) string {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"slow down","type":"rate_limit_error"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"LGTM"},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestReview: a review through the HTTP endpoint records, on the public API
// only, the reviewer task, one LLM request with its 429 and its tokens, and
// a conflicted merge, in one trace that the exemplars lead to.
func TestReview(t *testing.T) {
	tel := otelobstest.New(t)
	merge := func(_ context.Context, branch string) error {
		return fmt.Errorf("merge %s: %w", branch, gitmetrics.ErrConflict)
	}
	s, err := ownservice.New(tel.MeterProvider(), tel.TracerProvider(), fakeOpenAI(t), merge)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/review", "application/json", strings.NewReader(`{"branch":"feature-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("POST /review = %d, want 502 for the conflict", resp.StatusCode)
	}

	reviewer := attribute.String("worker_profile", "reviewer")
	if n := tel.Value("task.completion", reviewer, attribute.String("status", "failure")); n != 1 {
		t.Errorf("reviewer failures = %v, want 1", n)
	}
	model := []attribute.KeyValue{attribute.String("provider", "openai"), attribute.String("model", "gpt-4o-mini")}
	if n := tel.Value("llm.requests", model...); n != 1 {
		t.Errorf("LLM requests = %v, want 1 (the 429 was retried within the call)", n)
	}
	if n := tel.Value("llm.rate_limit.events", model...); n != 1 {
		t.Errorf("rate-limit events = %v, want 1", n)
	}
	if n := tel.Value("llm.tokens", model...); n != 1500 {
		t.Errorf("tokens = %v, want 1500", n)
	}
	if cost := tel.Value("llm.cost.dollars", model...); cost <= 0 {
		t.Errorf("cost = %v, want a price", cost)
	}
	if n := tel.Value("git.merge", attribute.String("result", "conflict")); n != 1 {
		t.Errorf("conflicts = %v, want 1", n)
	}
	task := tel.Span("task.execute")
	chat := tel.Span("chat gpt-4o-mini")
	merged := tel.Span("git.merge")
	if chat.TraceID != task.TraceID || merged.TraceID != task.TraceID || chat.ParentID != task.SpanID {
		t.Errorf("the LLM call and the merge are not in the task's trace")
	}
	ex := tel.Exemplars("git.merge.duration", attribute.String("result", "conflict"))
	if len(ex) != 1 || ex[0].SpanID != merged.SpanID {
		t.Errorf("merge exemplars %+v do not lead to the merge span", ex)
	}
}
