package gitmetrics

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// MergeSpanName is the name of the span a merge op starts.
const MergeSpanName = "git.merge"

// MergeInfo describes a merge for its span. These values may be
// high-cardinality (branch names, paths), so they go on the span only, never
// on a metric.
type MergeInfo struct {
	// Repository names the repository or workspace (vcs.repository.name).
	Repository string
	// Base is the branch merged into (vcs.ref.base.name), e.g. "main".
	Base string
	// Head is the branch being merged (vcs.ref.head.name), e.g. a worker's
	// branch.
	Head string
}

// Span attribute keys beyond semantic conventions.
const (
	resultSpanKey   = attribute.Key("git.merge.result")
	conflictSpanKey = attribute.Key("git.merge.conflict")
)

// MergeOp is one merge in progress, returned by StartMerge. It is a value:
// keep it in a variable and end it exactly once, with the closure form so
// that the final error is the one recorded:
//
//	ctx, op := m.StartMerge(ctx, info)
//	defer func() { op.End(err) }() // err is the named result
//
// (defer op.End(err) would record the value err had when the defer line ran,
// which is nil.) End records every time it is called, so call it once; and
// call MarkConflict on the variable itself, not on a copy.
type MergeOp struct {
	m        *Metrics
	ctx      context.Context
	span     trace.Span
	start    time.Time
	conflict bool
}

// StartMerge starts a merge: it counts it as active and starts a git.merge
// span, which the returned context carries (run the git commands with it).
// Call it once the merge lock is held (see StartLockWait), so that
// git_active_merges above 1 really means concurrent merges.
func (m *Metrics) StartMerge(ctx context.Context, info MergeInfo) (context.Context, MergeOp) {
	ctx, span := m.tracer.Start(ctx, MergeSpanName)
	if span.IsRecording() {
		span.SetAttributes(
			semconv.VCSRepositoryName(info.Repository),
			semconv.VCSRefBaseName(info.Base),
			semconv.VCSRefHeadName(info.Head),
		)
	}
	m.active.Add(ctx, 1)
	return ctx, MergeOp{m: m, ctx: ctx, span: span, start: time.Now()}
}

// MarkConflict records that the merge hit a conflict, even if it is then
// resolved (for example by an LLM step) and End gets a nil error: the merge
// is counted with result conflict.
func (op *MergeOp) MarkConflict() {
	op.conflict = true
}

// End finishes the merge: it records the duration and the result, and ends
// the span. The result is conflict when err wraps ErrConflict or
// MarkConflict was called and err is nil, error for any other non-nil err,
// and success otherwise. Ending a zero MergeOp does nothing.
func (op MergeOp) End(err error) {
	if op.m == nil {
		return
	}
	r := ResultSuccess
	switch {
	case errors.Is(err, ErrConflict):
		r = ResultConflict
	case err != nil:
		r = ResultError
	case op.conflict:
		r = ResultConflict
	}
	o := &op.m.opts[r.index()]
	op.m.duration.Record(op.ctx, time.Since(op.start).Seconds(), o.Record...)
	op.m.merges.Add(op.ctx, 1, o.Add...)
	op.m.active.Add(op.ctx, -1)
	if op.span.IsRecording() {
		op.span.SetAttributes(resultSpanKey.String(string(r)), conflictSpanKey.Bool(r == ResultConflict))
		if err != nil {
			op.span.SetAttributes(semconv.ErrorTypeKey.String(instr.ErrorType(err)))
			op.span.SetStatus(codes.Error, instr.ScrubError(err))
		}
	}
	op.span.End()
}

// RecordMerge records a finished merge that was timed elsewhere, without a
// span of its own: the duration and result, with ctx's span (if any) as the
// exemplar. Unknown results are recorded as error.
func (m *Metrics) RecordMerge(ctx context.Context, result Result, d time.Duration) {
	if result != ResultSuccess && result != ResultConflict {
		result = ResultError
	}
	o := &m.opts[result.index()]
	m.duration.Record(ctx, d.Seconds(), o.Record...)
	m.merges.Add(ctx, 1, o.Add...)
}
