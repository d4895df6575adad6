// Package contract drives the domain instruments through one representative
// Agent Orchestrator run, so that tests can check the Prometheus series
// users depend on (names, labels, exemplars) on every export path. It is
// test machinery, not part of the SDK.
package contract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// Instruments are the three domain packages' metrics.
type Instruments struct {
	Git  *gitmetrics.Metrics
	Task *taskmetrics.Metrics
	LLM  *llmmetrics.Metrics
}

// NewInstruments creates all three from the providers (nil: the globals),
// with the embedded price table.
func NewInstruments(mp metric.MeterProvider, tp trace.TracerProvider) (Instruments, error) {
	g, err1 := gitmetrics.New(gitmetrics.WithMeterProvider(mp), gitmetrics.WithTracerProvider(tp))
	t, err2 := taskmetrics.New(taskmetrics.WithMeterProvider(mp), taskmetrics.WithTracerProvider(tp))
	l, err3 := llmmetrics.New(llmmetrics.WithMeterProvider(mp), llmmetrics.WithTracerProvider(tp),
		llmmetrics.WithPrices(llmmetrics.DefaultPrices()), llmmetrics.WithLogger(slog.New(slog.DiscardHandler)))
	return Instruments{Git: g, Task: t, LLM: l}, errors.Join(err1, err2, err3)
}

// Run records one run inside a root span from tracer: a director LLM call,
// tasks of every profile through every state (one retried, one failed, one
// cancelled, one left planned, one ready, one active), merges with every
// result, a rate-limited and an unpriced LLM call. Every series of the
// contract gets every label value it can have. It returns the run's trace id.
func Run(ctx context.Context, in Instruments, tracer trace.Tracer, run int) string {
	ctx, span := tracer.Start(ctx, "run")
	defer span.End()
	runID := fmt.Sprint("run-", run)

	// The director plans.
	llmCall(ctx, in.LLM, "openai", "gpt-4", 900, 250, nil)
	// A rate-limited call and a call of a model with no price.
	llmCall(ctx, in.LLM, "anthropic", "claude-sonnet-4-5", 0, 0,
		llmmetrics.NewError(llmmetrics.ErrorRateLimited, errors.New("429 Too Many Requests")))
	llmCall(ctx, in.LLM, "openai", "gpt-experimental", 100, 10, nil)
	// A streamed call with every token type, tool calls and the
	// provider's rate-limit state.
	streamedCall(ctx, in.LLM)

	workers := map[taskmetrics.Profile]*taskmetrics.WorkerOp{}
	for _, p := range []taskmetrics.Profile{taskmetrics.Planner, taskmetrics.Coder, taskmetrics.Tester} {
		workers[p] = in.Task.StartWorker(ctx, p)
	}
	defer func() {
		for _, w := range workers {
			w.End()
		}
	}()
	newTask := func(id string, p taskmetrics.Profile) *taskmetrics.Task {
		return in.Task.NewTask(ctx, taskmetrics.TaskInfo{ID: fmt.Sprint(runID, "-", id), RunID: runID, Profile: p})
	}

	// Planner: succeeds.
	plan := newTask("plan", taskmetrics.Planner)
	_ = plan.Ready(ctx)
	pctx, exec, _ := plan.Start(ctx, "planner-1")
	llmCall(pctx, in.LLM, "openai", "gpt-4", 400, 120, nil)
	exec.End(nil)

	// Coder: fails once on a merge conflict, is retried, then merges.
	code := newTask("code", taskmetrics.Coder)
	_ = code.Ready(ctx)
	cctx, exec, _ := code.Start(ctx, "coder-1")
	llmCall(cctx, in.LLM, "openai", "gpt-4", 1200, 600, nil)
	exec.Retry(merge(cctx, in.Git, "coder-1", gitmetrics.ErrConflict))
	cctx, exec, _ = code.Start(ctx, "coder-1")
	llmCall(cctx, in.LLM, "openai", "gpt-4", 1300, 650, nil)
	err := merge(cctx, in.Git, "coder-1", nil)
	exec.End(&err)

	// Tester: fails for good on a merge error.
	test := newTask("test", taskmetrics.Tester)
	_ = test.Ready(ctx)
	tctx, exec, _ := test.Start(ctx, "tester-1")
	err = merge(tctx, in.Git, "tester-1", errors.New("git merge: exit status 128"))
	exec.End(&err)

	// A cancelled task, and tasks left planned, ready and active.
	_ = newTask("cancelled", taskmetrics.Coder).Cancel(ctx)
	newTask("later", taskmetrics.Coder)
	_ = newTask("next", taskmetrics.Tester).Ready(ctx)
	running := newTask("running", taskmetrics.Coder)
	_, _, _ = running.Start(ctx, "coder-2")

	return span.SpanContext().TraceID().String()
}

func llmCall(ctx context.Context, m *llmmetrics.Metrics, provider, model string, in, out int64, err error) {
	_, call := m.StartCall(ctx, llmmetrics.Request{Provider: provider, Model: model})
	call.SetUsage(llmmetrics.Usage{InputTokens: in, OutputTokens: out})
	call.End(&err)
}

func streamedCall(ctx context.Context, m *llmmetrics.Metrics) {
	_, call := m.StartCall(ctx, llmmetrics.Request{Provider: "anthropic", Model: "claude-sonnet-4-5", Stream: true})
	for range 3 {
		call.Chunk()
	}
	call.SetUsage(llmmetrics.Usage{InputTokens: 10_000, CachedInputTokens: 6_000, CacheWriteInputTokens: 3_000,
		OutputTokens: 500, ReasoningTokens: 200})
	call.SetToolCalls(2)
	call.SetRateLimit(llmmetrics.RateLimit{RequestsLimit: 50, RequestsRemaining: 4, TokensLimit: 40_000,
		TokensRemaining: 3_000, RetryAfter: 2 * time.Second})
	call.End(nil)
}

// merge waits for the lock and merges, ending with err.
func merge(ctx context.Context, m *gitmetrics.Metrics, branch string, err error) error {
	m.StartLockWait(ctx).End()
	_, op := m.StartMerge(ctx, gitmetrics.MergeInfo{Repository: "workspace", Base: "main", Head: branch})
	time.Sleep(time.Millisecond)
	op.End(&err)
	return err
}
