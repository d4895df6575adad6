package taskmetrics

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// TaskSpanName is the name of the span each execution attempt starts.
const TaskSpanName = "task.execute"

// Span attribute keys beyond semantic conventions.
const (
	attemptSpanKey = attribute.Key("task.attempt")
	profileSpanKey = attribute.Key("worker_profile")
)

// ErrTransition is returned for a state change the task's current state does
// not allow; nothing is recorded then.
var ErrTransition = errors.New("taskmetrics: invalid task state transition")

// TaskInfo describes a task for its spans. The values may be high-cardinality
// (ids), so they go on spans only, never on a metric.
type TaskInfo struct {
	// ID identifies the task (cicd.pipeline.task.run.id).
	ID string
	// Name is a short, human-readable name (cicd.pipeline.task.name).
	Name string
	// RunID identifies the run the task belongs to (cicd.pipeline.run.id).
	RunID string
	// Profile is the worker profile that executes the task.
	Profile Profile
}

// Task tracks one task through its states, feeding the task_states gauge: a
// task is counted in exactly one state at any time. Each transition is a
// compare-and-swap, so concurrent or repeated calls cannot count a task
// twice, and the new state is counted before the old one is released, so the
// gauge never goes negative. Create tasks with Metrics.NewTask.
type Task struct {
	m       *Metrics
	info    TaskInfo
	profile int
	// word packs the attempt number (high bits) and the index of the state
	// (low 8 bits), so that one compare-and-swap checks both.
	word    atomic.Int64
	retries atomic.Int64
}

// NewTask counts a new task in state planned.
func (m *Metrics) NewTask(ctx context.Context, info TaskInfo) *Task {
	t := &Task{m: m, info: info, profile: m.profileIndex(ctx, info.Profile)}
	t.info.Profile = m.profiles[t.profile]
	m.states.Add(ctx, 1, m.stateOpts[0].Add...)
	return t
}

// State returns the task's current state.
func (t *Task) State() State { return states[t.word.Load()&0xff] }

// Retries returns how many times the task has been retried.
func (t *Task) Retries() int64 { return t.retries.Load() }

// Info returns the task's description, with its profile normalised.
func (t *Task) Info() TaskInfo { return t.info }

func stateIndex(s State) int64 {
	for i, x := range states {
		if x == s {
			return int64(i)
		}
	}
	return -1
}

// anyAttempt lets move accept any attempt number.
const anyAttempt = -1

// move changes the state from one of from (at attempt wantAttempt, unless
// anyAttempt) to to, adding attemptDelta to the attempt number, and updates
// the gauge. The new state is counted before the compare-and-swap (and
// uncounted if it fails), and the old one released after it: a concurrent
// collection may see a task counted twice for an instant, never a negative
// count. It returns the new attempt number.
func (t *Task) move(ctx context.Context, to State, attemptDelta, wantAttempt int64, from ...State) (int64, error) {
	toI := stateIndex(to)
	t.m.states.Add(ctx, 1, t.m.stateOpts[toI].Add...)
	for {
		w := t.word.Load()
		attempt, cur := w>>8, w&0xff
		allowed := false
		for _, f := range from {
			allowed = allowed || stateIndex(f) == cur
		}
		if !allowed || (wantAttempt != anyAttempt && attempt != wantAttempt) {
			t.m.states.Add(ctx, -1, t.m.stateOpts[toI].Add...)
			return attempt, fmt.Errorf("%w: %s → %s (task %q)", ErrTransition, states[cur], to, t.info.ID)
		}
		next := attempt + attemptDelta
		if t.word.CompareAndSwap(w, next<<8|toI) {
			t.m.states.Add(ctx, -1, t.m.stateOpts[cur].Add...)
			return next, nil
		}
	}
}

// Ready marks a planned task ready to run (its dependencies are met).
func (t *Task) Ready(ctx context.Context) error {
	_, err := t.move(ctx, Ready, 0, anyAttempt, Planned)
	return err
}

// Cancel marks a task that will never run (planned or ready) as failed, for
// example when its run is stopped. It records no execution.
func (t *Task) Cancel(ctx context.Context) error {
	_, err := t.move(ctx, Failed, 0, anyAttempt, Planned, Ready)
	return err
}

// Start begins an execution attempt of a ready (or planned) task: the task
// becomes active, is counted in active_tasks, and a task.execute span starts,
// which the returned context carries. workerID, if not empty, names the
// worker on the span. End the attempt with ExecOp.End or ExecOp.Retry:
//
//	ctx, exec, err := task.Start(ctx, workerID)
//	if err != nil { … }
//	defer exec.End(&err) // err is the named result
func (t *Task) Start(ctx context.Context, workerID string) (context.Context, *ExecOp, error) {
	attempt, err := t.move(ctx, Active, 1, anyAttempt, Ready, Planned)
	if err != nil {
		return ctx, nil, err
	}
	ctx, span := t.m.tracer.Start(ctx, TaskSpanName)
	if span.IsRecording() {
		span.SetAttributes(
			semconv.CICDPipelineTaskRunID(t.info.ID),
			semconv.CICDPipelineTaskName(t.info.Name),
			semconv.CICDPipelineRunID(t.info.RunID),
			profileSpanKey.String(string(t.info.Profile)),
			attemptSpanKey.Int64(attempt),
		)
		if workerID != "" {
			span.SetAttributes(semconv.CICDWorkerID(workerID))
		}
	}
	t.m.activeTasks.Add(ctx, 1, t.m.profileOpts[t.profile].Add...)
	return ctx, &ExecOp{t: t, ctx: ctx, span: span, start: time.Now(), attempt: attempt}, nil
}

// ExecOp is one execution attempt of a task, returned by Task.Start. End it
// with End or Retry: only the first of them records (the task's state
// machine refuses the rest). An ExecOp must not be copied (go vet says so).
type ExecOp struct {
	_       noCopy
	t       *Task
	ctx     context.Context
	span    trace.Span
	start   time.Time
	attempt int64
}

// End finishes the task for good with the error *errp (errp may be nil: no
// error): complete without an error, failed otherwise. It records the
// execution's duration and completion by status, the task's retry count,
// and ends the span. End on a nil *ExecOp does nothing.
func (op *ExecOp) End(errp *error) {
	if op == nil || op.t == nil {
		return
	}
	var err error
	if errp != nil {
		err = *errp
	}
	to := Complete
	if err != nil {
		to = Failed
	}
	if op.finish(err, to) {
		op.t.m.retries.Record(op.ctx, op.t.retries.Load(), op.t.m.profileOpts[op.t.profile].Record...)
	}
}

// Retry finishes a failed attempt that will run again: the task goes back to
// ready, the attempt is recorded with status failure, and the retry count
// grows. A nil err is recorded as a failure all the same.
func (op *ExecOp) Retry(err error) {
	if op == nil || op.t == nil {
		return
	}
	if err == nil {
		err = errors.New("retried")
	}
	// Count the retry before the task is ready again, so that its next
	// attempt's End sees it; take it back if the op was stale.
	op.t.retries.Add(1)
	if !op.finish(err, Ready) {
		op.t.retries.Add(-1)
	}
}

// finish records the attempt; it reports false (and records nothing) when
// the op was already ended or belongs to an earlier attempt.
func (op *ExecOp) finish(err error, to State) bool {
	t := op.t
	if _, err := t.move(op.ctx, to, 0, op.attempt, Active); err != nil {
		return false
	}
	status := 0
	if err != nil {
		status = 1
	}
	o := &t.m.statusOpts[t.profile][status]
	t.m.duration.Record(op.ctx, time.Since(op.start).Seconds(), o.Record...)
	t.m.completion.Add(op.ctx, 1, o.Add...)
	t.m.activeTasks.Add(op.ctx, -1, t.m.profileOpts[t.profile].Add...)
	if op.span.IsRecording() {
		result := semconv.CICDPipelineTaskRunResultSuccess
		if err != nil {
			result = semconv.CICDPipelineTaskRunResultFailure
			op.span.SetAttributes(semconv.ErrorTypeKey.String(instr.ErrorType(err)))
			op.span.SetStatus(codes.Error, instr.ScrubError(err))
		}
		op.span.SetAttributes(result)
	}
	op.span.End()
	return true
}

// WorkerOp is a running worker, returned by StartWorker. Only its first End
// records. A WorkerOp must not be copied (go vet says so).
type WorkerOp struct {
	_       noCopy
	m       *Metrics
	ctx     context.Context
	profile int
	done    atomic.Bool
}

// StartWorker counts a worker of the profile as running in active_workers
// until End. A worker's life can span many tasks, so it has no span of its
// own: each task.execute span names its worker (cicd.worker.id).
func (m *Metrics) StartWorker(ctx context.Context, profile Profile) *WorkerOp {
	i := m.profileIndex(ctx, profile)
	m.activeWorkers.Add(ctx, 1, m.profileOpts[i].Add...)
	return &WorkerOp{m: m, ctx: ctx, profile: i}
}

// End stops counting the worker; calling it again, or on a nil *WorkerOp,
// does nothing.
func (op *WorkerOp) End() {
	if op == nil || op.m == nil || op.done.Swap(true) {
		return
	}
	op.m.activeWorkers.Add(op.ctx, -1, op.m.profileOpts[op.profile].Add...)
}

// noCopy makes go vet's copylocks check report a copied op.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
