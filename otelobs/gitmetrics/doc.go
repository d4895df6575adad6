// Package gitmetrics instruments the Agent Orchestrator's git merges: each
// worker's branch merged back under a lock. It uses only the OpenTelemetry
// API, so it works with otelobs.Setup or any SDK set-up of your own.
//
//	m, err := gitmetrics.New() // after otelobs.Setup; uses the global providers
//
//	w := m.StartLockWait(ctx)
//	mu.Lock()
//	w.End()
//	defer mu.Unlock()
//
//	ctx, op := m.StartMerge(ctx, gitmetrics.MergeInfo{Repository: "ws", Base: "main", Head: branch})
//	defer op.End(&err) // err: the named result, read when End runs; wrap ErrConflict for conflicts
//
// # Instruments
//
//	OTel instrument          Kind           Unit     Attributes            Prometheus series (both export paths)
//	git.merge.duration       histogram      s        result                git_merge_duration_seconds_bucket/_sum/_count{result}
//	git.merge                counter        {merge}  result                git_merge_total{result}
//	git.active_merges        up-down        {merge}  none                  git_active_merges (gauge)
//	git.lock.wait.duration   histogram      s        none                  git_lock_wait_duration_seconds_bucket/_sum/_count
//	git.merge.lock_violations counter       {merge}  none                  git_merge_lock_violations_total
//
// The merge lock is per repository (MergeInfo.Repository), so
// git_active_merges is the number of merges in progress on the busiest
// repository: 0 or 1 is right, and several workspaces merging at once still
// read 1. A merge started while another merge of its repository is in
// progress is counted in git_merge_lock_violations_total when it starts,
// however short the overlap (a gauge sampled at each scrape would miss a
// sub-second race); that counter is exported at 0 from New on, so that the
// first violation is an increase.
//
// result is one of success, conflict, error (the Result constants); no other
// value can be recorded, so each instrument has at most three series. Merge
// duration buckets run from 10 ms to 5 min (MergeDurationBuckets), lock wait
// buckets from 1 ms to 5 min (LockWaitBuckets).
//
// # Spans and exemplars
//
// StartMerge starts a git.merge span carrying vcs.repository.name,
// vcs.ref.base.name and vcs.ref.head.name, and at End git.merge.result,
// git.merge.conflict and, on error, error.type and an error status. Branch
// names and paths are high-cardinality: they are on the span only, never on a
// metric. The duration and result measurements are recorded with the span's
// context, so with a sampled span their exemplars (trace_id, span_id) lead
// from a slow or failed merge to its trace; a lock violation's exemplar is
// the span of the merge that started second, which also carries
// git.merge.concurrent_merges (how many merges of its repository were in
// progress). git_active_merges is an up-down counter, which carries no
// exemplar on the Prometheus pull path.
//
// # Concurrency
//
// Metrics is safe for concurrent use. A MergeOp or LockWaitOp belongs to one
// goroutine and is ended once.
package gitmetrics
