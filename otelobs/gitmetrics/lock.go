package gitmetrics

import (
	"context"
	"time"
)

// LockWaitOp times one wait for the merge lock, returned by StartLockWait.
type LockWaitOp struct {
	m     *Metrics
	ctx   context.Context
	start time.Time
}

// StartLockWait starts timing a wait for the merge lock; call End once the
// lock is held:
//
//	w := m.StartLockWait(ctx)
//	mu.Lock()
//	w.End()
//	ctx, op := m.StartMerge(ctx, info)
//
// The wait is kept separate from the merge so that a merge waiting for the
// lock is not counted as active.
func (m *Metrics) StartLockWait(ctx context.Context) LockWaitOp {
	return LockWaitOp{m: m, ctx: ctx, start: time.Now()}
}

// End records the time waited, with the context's span (if sampled) as the
// exemplar, and returns it. Ending a zero LockWaitOp does nothing.
func (op LockWaitOp) End() time.Duration {
	if op.m == nil {
		return 0
	}
	d := time.Since(op.start)
	op.m.lockWait.Record(op.ctx, d.Seconds())
	return d
}

// RecordLockWait records a lock wait timed elsewhere.
func (m *Metrics) RecordLockWait(ctx context.Context, d time.Duration) {
	m.lockWait.Record(ctx, d.Seconds())
}
