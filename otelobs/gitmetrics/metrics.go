package gitmetrics

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/agentorchestrator/observability/otelobs/gitmetrics"

// Instrument names, units and descriptions. The Prometheus series each one
// becomes is in the package documentation.
const (
	MergeDurationName = "git.merge.duration"
	MergeCountName    = "git.merge"
	ActiveMergesName  = "git.active_merges"
	LockWaitName      = "git.lock.wait.duration"
	LockViolationName = "git.merge.lock_violations"

	mergeDurationDesc = "Duration of git merges of worker branches, by result."
	mergeCountDesc    = "Git merges of worker branches, by result."
	activeMergesDesc  = "Git merges in progress on the busiest repository; above 1 means one repository's merges are not serialised by its lock."
	lockWaitDesc      = "Time spent waiting for the merge lock."
	lockViolationDesc = "Merges started while another merge of the same repository was in progress: its lock did not serialise them."
)

// Result is the outcome of a merge: the value of the result attribute.
type Result string

// The results a merge can have.
const (
	ResultSuccess  Result = "success"
	ResultConflict Result = "conflict"
	ResultError    Result = "error"
)

// results indexes the precomputed options.
var results = [...]Result{ResultSuccess, ResultConflict, ResultError}

func (r Result) index() int {
	switch r {
	case ResultConflict:
		return 1
	case ResultError:
		return 2
	default:
		return 0
	}
}

// ResultKey is the metric attribute that carries the Result.
const ResultKey = attribute.Key("result")

// MergeDurationBuckets are the merge duration histogram's bucket bounds in
// seconds: 10 ms to 5 min, dense around the guide's 5 s and 10 s thresholds.
var MergeDurationBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 30, 60, 120, 300}

// LockWaitBuckets are the lock wait histogram's bucket bounds in seconds:
// 1 ms (uncontended) to 5 min.
var LockWaitBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// ErrConflict marks a merge that stopped on a conflict. Wrap it in the error
// passed to MergeOp.End (fmt.Errorf("merge %s: %w", branch,
// gitmetrics.ErrConflict)) to record the result conflict.
var ErrConflict = errors.New("merge conflict")

// Metrics holds the git merge instruments. Create it once with New and share
// it; it is safe for concurrent use.
type Metrics struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	merges   metric.Int64Counter
	active   metric.Int64UpDownCounter
	lockWait metric.Float64Histogram
	overlap  metric.Int64Counter

	// Merges in progress per repository, and the largest of those counts,
	// which git_active_merges holds: the lock is per repository, so two
	// repositories merging at once are fine, two merges of one are not.
	mu      sync.Mutex
	inRepo  map[string]int
	busiest int

	// Precomputed per result, so that recording allocates nothing.
	opts [len(results)]instr.Opts
}

// started counts a merge of repo in progress and returns how many merges of
// repo were already in progress.
func (m *Metrics) started(ctx context.Context, repo string) (others int) {
	m.mu.Lock()
	n := m.inRepo[repo] + 1
	m.inRepo[repo] = n
	delta := max(n-m.busiest, 0)
	m.busiest += delta
	m.mu.Unlock()
	if delta != 0 {
		m.active.Add(ctx, int64(delta))
	}
	return n - 1
}

// ended counts the end of a merge of repo.
func (m *Metrics) ended(ctx context.Context, repo string) {
	m.mu.Lock()
	n := m.inRepo[repo] - 1
	if n <= 0 {
		delete(m.inRepo, repo)
	} else {
		m.inRepo[repo] = n
	}
	delta := 0
	if n+1 == m.busiest {
		// repo was (one of) the busiest: find the new largest count, among
		// the repositories merging now (a handful).
		top := 0
		for _, c := range m.inRepo {
			top = max(top, c)
		}
		delta = top - m.busiest
		m.busiest = top
	}
	m.mu.Unlock()
	if delta != 0 {
		m.active.Add(ctx, int64(delta))
	}
}

// New creates the instruments from the configured providers (by default the
// globals, which otelobs.Setup installs). When an instrument cannot be
// created, New returns the joined errors together with a usable *Metrics in
// which that instrument is a no-op.
func New(opts ...Option) (*Metrics, error) {
	p := newProviders(opts)
	meter := p.Meter(ScopeName)
	m := &Metrics{tracer: p.Tracer(ScopeName), inRepo: map[string]int{}}
	errs := instr.NewErrors("gitmetrics")
	var err error
	if m.duration, err = meter.Float64Histogram(MergeDurationName, metric.WithUnit("s"),
		metric.WithDescription(mergeDurationDesc),
		metric.WithExplicitBucketBoundaries(MergeDurationBuckets...)); errs.Failed(MergeDurationName, err) {
		m.duration = noop.Float64Histogram{}
	}
	if m.merges, err = meter.Int64Counter(MergeCountName, metric.WithUnit("{merge}"),
		metric.WithDescription(mergeCountDesc)); errs.Failed(MergeCountName, err) {
		m.merges = noop.Int64Counter{}
	}
	if m.active, err = meter.Int64UpDownCounter(ActiveMergesName, metric.WithUnit("{merge}"),
		metric.WithDescription(activeMergesDesc)); errs.Failed(ActiveMergesName, err) {
		m.active = noop.Int64UpDownCounter{}
	}
	if m.lockWait, err = meter.Float64Histogram(LockWaitName, metric.WithUnit("s"),
		metric.WithDescription(lockWaitDesc),
		metric.WithExplicitBucketBoundaries(LockWaitBuckets...)); errs.Failed(LockWaitName, err) {
		m.lockWait = noop.Float64Histogram{}
	}
	if m.overlap, err = meter.Int64Counter(LockViolationName, metric.WithUnit("{merge}"),
		metric.WithDescription(lockViolationDesc)); errs.Failed(LockViolationName, err) {
		m.overlap = noop.Int64Counter{}
	}
	// Exported from the start at 0, so that the first violation is an
	// increase (a counter series born at 1 hides it from increase()).
	m.overlap.Add(context.Background(), 0)
	for i, r := range results {
		m.opts[i] = instr.NewOpts(ResultKey.String(string(r)))
	}
	return m, errs.Err()
}
