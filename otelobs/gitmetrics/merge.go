package gitmetrics

import (
	"context"
	"errors"
	"sync/atomic"
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
	overlapSpanKey  = attribute.Key("git.merge.concurrent_merges")
)

// MergeOp is one merge in progress, returned by StartMerge. End it with a
// pointer to the error the merge ends with, so that a deferred End records
// the final value:
//
//	ctx, op := m.StartMerge(ctx, info)
//	defer op.End(&err) // err is the named result
//
// End records once: a second End does nothing. A MergeOp must not be copied
// (go vet says so); share the pointer.
type MergeOp struct {
	_        noCopy
	m        *Metrics
	ctx      context.Context
	span     trace.Span
	repo     string
	start    time.Time
	conflict atomic.Bool
	done     atomic.Bool
}

// StartMerge starts a merge: it counts it as in progress on
// info.Repository and starts a git.merge span, which the returned context
// carries (run the git commands with it). Call it once the repository's
// merge lock is held (see StartLockWait): a merge started while another
// merge of the same repository is in progress is a lock violation, counted
// in git_merge_lock_violations_total at once (however short the overlap) and
// marked on its span with git.merge.concurrent_merges. Merges of different
// repositories may overlap; merges without a Repository count as one
// repository.
func (m *Metrics) StartMerge(ctx context.Context, info MergeInfo) (context.Context, *MergeOp) {
	ctx, span := m.tracer.Start(ctx, MergeSpanName)
	if span.IsRecording() {
		span.SetAttributes(
			semconv.VCSRepositoryName(info.Repository),
			semconv.VCSRefBaseName(info.Base),
			semconv.VCSRefHeadName(info.Head),
		)
	}
	if others := m.started(ctx, info.Repository); others > 0 {
		m.overlap.Add(ctx, 1)
		if span.IsRecording() {
			span.SetAttributes(overlapSpanKey.Int(others))
		}
	}
	return ctx, &MergeOp{m: m, ctx: ctx, span: span, repo: info.Repository, start: time.Now()}
}

// MarkConflict records that the merge hit a conflict, even if it is then
// resolved (for example by an LLM step) and the merge ends without an
// error: it is counted with result conflict.
func (op *MergeOp) MarkConflict() {
	if op != nil {
		op.conflict.Store(true)
	}
}

// End finishes the merge with the error *errp (errp may be nil: no error):
// it records the duration and the result, and ends the span. The result is
// conflict when the error wraps ErrConflict, or MarkConflict was called and
// there is no error; error for any other error; success otherwise. Only the
// first End records; End on a nil *MergeOp does nothing.
func (op *MergeOp) End(errp *error) {
	if op == nil || op.m == nil || op.done.Swap(true) {
		return
	}
	var err error
	if errp != nil {
		err = *errp
	}
	r := ResultSuccess
	switch {
	case errors.Is(err, ErrConflict):
		r = ResultConflict
	case err != nil:
		r = ResultError
	case op.conflict.Load():
		r = ResultConflict
	}
	o := &op.m.opts[r.index()]
	op.m.duration.Record(op.ctx, time.Since(op.start).Seconds(), o.Record...)
	op.m.merges.Add(op.ctx, 1, o.Add...)
	op.m.ended(op.ctx, op.repo)
	if op.span.IsRecording() {
		op.span.SetAttributes(resultSpanKey.String(string(r)), conflictSpanKey.Bool(r == ResultConflict))
		if err != nil {
			op.span.SetAttributes(semconv.ErrorTypeKey.String(instr.ErrorType(err)))
			op.span.SetStatus(codes.Error, instr.ScrubError(err))
		}
	}
	op.span.End()
}

// noCopy makes go vet's copylocks check report a copied op.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

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
