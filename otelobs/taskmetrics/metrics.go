package taskmetrics

import (
	"context"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/agentorchestrator/observability/otelobs/taskmetrics"

// Instrument names. The Prometheus series each one becomes is in the package
// documentation. active_tasks and active_workers keep the guide's series
// names, which is why they are not dotted.
const (
	TaskStatesName        = "task.states"
	ActiveTasksName       = "active_tasks"
	ActiveWorkersName     = "active_workers"
	ExecutionDurationName = "task.execution.duration"
	CompletionName        = "task.completion"
	RetryCountName        = "task.retry.count"

	taskStatesDesc        = "Tasks in each state; a task is in exactly one state."
	activeTasksDesc       = "Tasks being executed, by worker profile."
	activeWorkersDesc     = "Workers running, by worker profile."
	executionDurationDesc = "Duration of task executions (one per attempt), by worker profile and status."
	completionDesc        = "Finished task executions (one per attempt), by status and worker profile."
	retryCountDesc        = "Retries a task needed before it completed or failed for good."
)

// Attribute keys of the metrics.
const (
	StateKey   = attribute.Key("state")
	ProfileKey = attribute.Key("worker_profile")
	StatusKey  = attribute.Key("status")
)

// Profile is a worker profile: the value of worker_profile.
type Profile string

// The worker profiles. Any other value is recorded as ProfileOther, so that a
// caller cannot create unbounded series.
const (
	Planner      Profile = "planner"
	Coder        Profile = "coder"
	Tester       Profile = "tester"
	ProfileOther Profile = "_OTHER"
)

var profiles = [...]Profile{Planner, Coder, Tester, ProfileOther}

func (p Profile) index() int {
	switch p {
	case Planner:
		return 0
	case Coder:
		return 1
	case Tester:
		return 2
	default:
		return 3
	}
}

// Normalize returns p if it is a known profile, else ProfileOther.
func (p Profile) Normalize() Profile { return profiles[p.index()] }

// profileIndex is p's index, counting a value folded into ProfileOther.
func (m *Metrics) profileIndex(ctx context.Context, p Profile) int {
	i := p.index()
	if i == len(profiles)-1 && p != ProfileOther {
		m.folded.Add(ctx, 0)
	}
	return i
}

// State is a task state: the value of state.
type State string

// The task states. Transitions: planned → ready → active → complete | failed;
// a retried attempt goes active → ready; a cancelled task goes
// planned | ready → failed.
const (
	Planned  State = "planned"
	Ready    State = "ready"
	Active   State = "active"
	Complete State = "complete"
	Failed   State = "failed"
)

var states = [...]State{Planned, Ready, Active, Complete, Failed}

// Status is the outcome of one execution: the value of status.
type Status string

// The execution statuses.
const (
	StatusSuccess Status = "success"
	StatusFailure Status = "failure"
)

// ExecutionDurationBuckets are the execution duration histogram's bounds in
// seconds, from 1 s to 20 min, dense around the guide's planner (5–30 s),
// tester (10–60 s) and coder (30–120 s) ranges and its 300 s timeout.
var ExecutionDurationBuckets = []float64{1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200}

// RetryCountBuckets are the retry count histogram's bounds.
var RetryCountBuckets = []float64{0, 1, 2, 3, 5, 10}

// Metrics holds the task and worker instruments. Create it once with New and
// share it; it is safe for concurrent use.
type Metrics struct {
	tracer        trace.Tracer
	states        metric.Int64UpDownCounter
	activeTasks   metric.Int64UpDownCounter
	activeWorkers metric.Int64UpDownCounter
	duration      metric.Float64Histogram
	completion    metric.Int64Counter
	retries       metric.Int64Histogram
	folded        *instr.Folded

	stateOpts   [len(states)]instr.Opts
	profileOpts [len(profiles)]instr.Opts
	// statusOpts[profile][status]: status 0 success, 1 failure.
	statusOpts [len(profiles)][2]instr.Opts
}

// New creates the instruments from the configured providers (by default the
// globals, which otelobs.Setup installs). When an instrument cannot be
// created, New returns the joined errors together with a usable *Metrics in
// which that instrument is a no-op.
func New(opts ...Option) (*Metrics, error) {
	p := newProviders(opts)
	meter := p.Meter(ScopeName)
	m := &Metrics{tracer: p.Tracer(ScopeName)}
	errs := instr.NewErrors("taskmetrics")
	var err error
	if m.states, err = meter.Int64UpDownCounter(TaskStatesName, metric.WithUnit("{task}"),
		metric.WithDescription(taskStatesDesc)); errs.Failed(TaskStatesName, err) {
		m.states = noop.Int64UpDownCounter{}
	}
	if m.activeTasks, err = meter.Int64UpDownCounter(ActiveTasksName, metric.WithUnit("{task}"),
		metric.WithDescription(activeTasksDesc)); errs.Failed(ActiveTasksName, err) {
		m.activeTasks = noop.Int64UpDownCounter{}
	}
	if m.activeWorkers, err = meter.Int64UpDownCounter(ActiveWorkersName, metric.WithUnit("{worker}"),
		metric.WithDescription(activeWorkersDesc)); errs.Failed(ActiveWorkersName, err) {
		m.activeWorkers = noop.Int64UpDownCounter{}
	}
	if m.duration, err = meter.Float64Histogram(ExecutionDurationName, metric.WithUnit("s"),
		metric.WithDescription(executionDurationDesc),
		metric.WithExplicitBucketBoundaries(ExecutionDurationBuckets...)); errs.Failed(ExecutionDurationName, err) {
		m.duration = noop.Float64Histogram{}
	}
	if m.completion, err = meter.Int64Counter(CompletionName, metric.WithUnit("{task}"),
		metric.WithDescription(completionDesc)); errs.Failed(CompletionName, err) {
		m.completion = noop.Int64Counter{}
	}
	if m.retries, err = meter.Int64Histogram(RetryCountName, metric.WithUnit("{retry}"),
		metric.WithDescription(retryCountDesc),
		metric.WithExplicitBucketBoundaries(RetryCountBuckets...)); errs.Failed(RetryCountName, err) {
		m.retries = noop.Int64Histogram{}
	}
	m.folded = instr.NewFolded(meter, errs, "taskmetrics", string(ProfileKey))
	for i, s := range states {
		m.stateOpts[i] = instr.NewOpts(StateKey.String(string(s)))
	}
	for i, pr := range profiles {
		m.profileOpts[i] = instr.NewOpts(ProfileKey.String(string(pr)))
		for j, st := range [...]Status{StatusSuccess, StatusFailure} {
			m.statusOpts[i][j] = instr.NewOpts(ProfileKey.String(string(pr)), StatusKey.String(string(st)))
		}
	}
	return m, errs.Err()
}
