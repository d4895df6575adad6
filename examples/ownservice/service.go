// Package ownservice is an agent service of a user's own, instrumented with
// otelobs's public API only, and tested with otelobstest (see its test): one
// endpoint, POST /review, runs a review task that asks an OpenAI-compatible
// API (retrying a 429) and merges the reviewed branch.
package ownservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// Reviewer is this service's own worker profile.
const Reviewer taskmetrics.Profile = "reviewer"

// Merger merges a branch; it returns an error wrapping gitmetrics.ErrConflict
// on a conflict.
type Merger func(ctx context.Context, branch string) error

// Service is the review service.
type Service struct {
	llmURL string
	client *http.Client
	merge  Merger
	tasks  *taskmetrics.Metrics
	llm    *llmmetrics.Metrics
	git    *gitmetrics.Metrics
}

// New builds the service on the given providers (otelobs.Setup's, or a
// test's).
func New(mp metric.MeterProvider, tp trace.TracerProvider, llmURL string, merge Merger) (*Service, error) {
	tasks, err1 := taskmetrics.New(taskmetrics.WithMeterProvider(mp), taskmetrics.WithTracerProvider(tp),
		taskmetrics.WithProfiles(Reviewer))
	llm, err2 := llmmetrics.New(llmmetrics.WithMeterProvider(mp), llmmetrics.WithTracerProvider(tp))
	git, err3 := gitmetrics.New(gitmetrics.WithMeterProvider(mp), gitmetrics.WithTracerProvider(tp))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	return &Service{llmURL: llmURL, client: &http.Client{Timeout: 30 * time.Second}, merge: merge,
		tasks: tasks, llm: llm, git: git}, nil
}

// Handler serves POST /review {"branch": "…"}.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /review", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Branch string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Branch == "" {
			http.Error(w, `want {"branch": "…"}`, http.StatusBadRequest)
			return
		}
		if err := s.Review(r.Context(), req.Branch); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// Review runs one review task: the model's review, then the merge.
func (s *Service) Review(ctx context.Context, branch string) (err error) {
	task := s.tasks.NewTask(ctx, taskmetrics.TaskInfo{ID: "review-" + branch, Name: "review", Profile: Reviewer})
	if err := task.Ready(ctx); err != nil {
		return err
	}
	ctx, exec, err := task.Start(ctx, "reviewer-1")
	if err != nil {
		return err
	}
	defer exec.End(&err)
	if err := s.complete(ctx, "Review branch "+branch); err != nil {
		return err
	}
	return s.mergeBranch(ctx, branch)
}

func (s *Service) mergeBranch(ctx context.Context, branch string) (err error) {
	ctx, op := s.git.StartMerge(ctx, gitmetrics.MergeInfo{Repository: "service", Base: "main", Head: branch})
	defer op.End(&err)
	return s.merge(ctx, branch)
}

// complete asks the model, retrying a 429 up to twice within one call.
func (s *Service) complete(ctx context.Context, prompt string) (err error) {
	const model = "gpt-4o-mini"
	ctx, call := s.llm.StartCall(ctx, llmmetrics.Request{Provider: "openai", Model: model, Operation: llmmetrics.OperationChat})
	defer call.End(&err)
	body, _ := json.Marshal(map[string]any{"model": model, "messages": []map[string]string{{"role": "user", "content": prompt}}})
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.llmURL+"/v1/chat/completions", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err != nil {
			return err // llmmetrics classifies it (timeout, canceled, …)
		}
		var out struct {
			Model string `json:"model"`
			Usage struct {
				PromptTokens     int64 `json:"prompt_tokens"`
				CompletionTokens int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		decodeErr := json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests && attempt < 3:
			call.RateLimited()
			continue
		case resp.StatusCode != http.StatusOK:
			return llmmetrics.NewError(llmmetrics.HTTPErrorType(resp.StatusCode), fmt.Errorf("chat completions: %s", resp.Status))
		case decodeErr != nil:
			return fmt.Errorf("chat completions: %w", decodeErr)
		}
		call.SetUsage(llmmetrics.Usage{InputTokens: out.Usage.PromptTokens, OutputTokens: out.Usage.CompletionTokens})
		call.SetResponseModel(out.Model)
		return nil
	}
}
