package taskmetrics

import (
	"context"
	"fmt"
	"regexp"

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

// The built-in worker profiles, the Agent Orchestrator's. WithProfiles adds
// others. Any value outside the vocabulary is recorded as ProfileOther, so
// that a caller cannot create unbounded series.
const (
	Planner      Profile = "planner"
	Coder        Profile = "coder"
	Tester       Profile = "tester"
	ProfileOther Profile = "_OTHER"
)

// MaxProfiles bounds the profiles WithProfiles may add.
const MaxProfiles = 32

var builtinProfiles = [...]Profile{Planner, Coder, Tester}

// validProfile is what a profile added with WithProfiles may look like.
var validProfile = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,31}$`)

// Normalize returns p if it is a built-in profile, else ProfileOther. A
// Metrics with profiles of its own normalises with Metrics.Profile.
func (p Profile) Normalize() Profile {
	for _, b := range builtinProfiles {
		if p == b {
			return p
		}
	}
	return ProfileOther
}

// Profile returns p if it is in the Metrics' vocabulary (the built-in
// profiles and those added with WithProfiles), else ProfileOther.
func (m *Metrics) Profile(p Profile) Profile {
	if i, ok := m.profileIndexOf[p]; ok {
		return m.profiles[i]
	}
	return ProfileOther
}

// profileIndex is p's index, counting a value folded into ProfileOther.
func (m *Metrics) profileIndex(ctx context.Context, p Profile) int {
	if i, ok := m.profileIndexOf[p]; ok {
		return i
	}
	if p != ProfileOther {
		m.folded.Add(ctx, 0)
	}
	return len(m.profiles) - 1
}

// setProfiles builds the vocabulary: the built-in profiles, the valid
// extra ones, and ProfileOther last.
func (m *Metrics) setProfiles(extra []Profile, errs *instr.Errors) {
	m.profiles = append([]Profile(nil), builtinProfiles[:]...)
	m.profileIndexOf = map[Profile]int{}
	for i, p := range m.profiles {
		m.profileIndexOf[p] = i
	}
	added := 0
	for _, p := range extra {
		if _, dup := m.profileIndexOf[p]; dup {
			continue
		}
		var err error
		switch {
		case !validProfile.MatchString(string(p)):
			err = fmt.Errorf("profile %q: want lower-case letters, digits and . _ -, starting with a letter, at most 32 characters", p)
		case added == MaxProfiles:
			err = fmt.Errorf("profile %q: more than MaxProfiles (%d) profiles added", p, MaxProfiles)
		}
		if errs.Failed("WithProfiles", err) {
			continue
		}
		m.profileIndexOf[p] = len(m.profiles)
		m.profiles = append(m.profiles, p)
		added++
	}
	m.profileIndexOf[ProfileOther] = len(m.profiles)
	m.profiles = append(m.profiles, ProfileOther)
	m.profileOpts = make([]instr.Opts, len(m.profiles))
	m.statusOpts = make([][2]instr.Opts, len(m.profiles))
	for i, pr := range m.profiles {
		m.profileOpts[i] = instr.NewOpts(ProfileKey.String(string(pr)))
		for j, st := range [...]Status{StatusSuccess, StatusFailure} {
			m.statusOpts[i][j] = instr.NewOpts(ProfileKey.String(string(pr)), StatusKey.String(string(st)))
		}
	}
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

	stateOpts [len(states)]instr.Opts
	// The worker_profile vocabulary, ProfileOther last, and its options
	// by profile index; statusOpts[profile][status]: status 0 success, 1
	// failure.
	profiles       []Profile
	profileIndexOf map[Profile]int
	profileOpts    []instr.Opts
	statusOpts     [][2]instr.Opts
}

// New creates the instruments from the configured providers (by default the
// globals, which otelobs.Setup installs). When an instrument cannot be
// created, New returns the joined errors together with a usable *Metrics in
// which that instrument is a no-op.
func New(opts ...Option) (*Metrics, error) {
	cfg := newConfig(opts)
	p := cfg.Providers
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
	m.setProfiles(cfg.profiles, errs)
	return m, errs.Err()
}
