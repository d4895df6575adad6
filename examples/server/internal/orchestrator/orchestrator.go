// Package orchestrator runs the Agent Orchestrator: a director (an LLM call)
// plans an objective into tasks; planner, coder and tester workers from
// per-profile pools execute them, each writing files on its own git branch
// that is then merged back under a lock. Every step is recorded through
// gitmetrics, taskmetrics and llmmetrics inside spans, so that a run is one
// trace.
package orchestrator

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/examples/server/internal/workspace"
	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// ErrShuttingDown is returned by Submit once Shutdown has begun.
var ErrShuttingDown = errors.New("the orchestrator is shutting down")

// ErrTooManyRuns is returned by Submit while Config.MaxActiveRuns runs are
// unfinished.
var ErrTooManyRuns = errors.New("too many active runs")

// ErrBudgetExceeded stops a run whose next LLM call, at its worst case, would
// pass a budget together with what is spent and held by the calls in
// flight.
var ErrBudgetExceeded = llmmetrics.NewError(llmmetrics.ErrorBudgetExceeded, errors.New("cost budget exceeded"))

// Config tunes the orchestrator.
type Config struct {
	// Workers is the pool size of each worker profile.
	Workers map[taskmetrics.Profile]int
	// MaxRetries is how often a failed task is retried.
	MaxRetries int
	// RunBudgetUSD and TotalBudgetUSD cap the LLM cost of one run and of the
	// process; 0 means no cap. Each call reserves its worst case against
	// both before it starts and settles to its cost after; while either is
	// set, a run on a model with no price is refused (UnpricedModelError).
	RunBudgetUSD, TotalBudgetUSD float64
	// LLMAttempts is how often one LLM call is tried on 429s and 5xx.
	LLMAttempts int
	// BackoffBase is the first retry delay of an LLM call without a
	// Retry-After (doubled per attempt, capped at 30 s).
	BackoffBase time.Duration
	// Logger receives run events; slog.Default() when nil.
	Logger *slog.Logger
	// MaxActiveRuns bounds the unfinished runs: Submit refuses more with
	// ErrTooManyRuns. 0 means no bound.
	MaxActiveRuns int
	// Retention is how long a finished run stays visible to Get and List,
	// and MaxFinishedRuns how many finished runs are kept at most (the
	// oldest finished are forgotten first). 0 means no bound.
	Retention       time.Duration
	MaxFinishedRuns int
	// Now is the clock of the runs' times and of Retention; time.Now when
	// nil.
	Now func() time.Time
}

// Instruments are what the orchestrator records with.
type Instruments struct {
	Git    *gitmetrics.Metrics
	Tasks  *taskmetrics.Metrics
	LLM    *llmmetrics.Metrics
	Meter  metric.Meter
	Tracer trace.Tracer
}

// ModelRef names a provider and model.
type ModelRef struct {
	Provider string `json:"provider"`
	Model    string `json:"model_name"`
}

// Spec is what a run is asked to do.
type Spec struct {
	Objective string
	Workspace string
	Director  ModelRef
	Worker    ModelRef
}

// Orchestrator owns the worker pools and the runs.
type Orchestrator struct {
	cfg       Config
	in        Instruments
	providers *provider.Registry
	ws        *workspace.Manager
	log       *slog.Logger

	runsCounter metric.Int64Counter
	runsActive  metric.Int64UpDownCounter
	budget      *budgets

	queues  map[taskmetrics.Profile]*jobQueue
	workers sync.WaitGroup
	running sync.WaitGroup
	stop    context.CancelFunc // cancels every run
	base    context.Context

	mu        sync.Mutex
	accepting bool
	runs      map[string]*Run
	// The runs kept, by age (oldest at the front), and the finished ones in
	// the order they finished, for eviction; active counts the unfinished.
	byAge    list.List
	finished []finishedRun
	active   int
	totals   map[State]int64 // finished runs by final state, evicted or not

	stopPools sync.Once
}

// finishedRun is a finished run kept until it is evicted.
type finishedRun struct {
	run *Run
	at  time.Time
}

// New starts the worker pools.
func New(cfg Config, in Instruments, providers *provider.Registry, ws *workspace.Manager) (*Orchestrator, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LLMAttempts < 1 {
		cfg.LLMAttempts = 1
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	runs, err1 := in.Meter.Int64Counter("agentorch.runs", metric.WithUnit("{run}"),
		metric.WithDescription("Finished runs, by final state."))
	active, err2 := in.Meter.Int64UpDownCounter("agentorch.runs.active", metric.WithUnit("{run}"),
		metric.WithDescription("Runs in progress."))
	budget := newBudgets(cfg.RunBudgetUSD, cfg.TotalBudgetUSD)
	if err := errors.Join(err1, err2, budget.register(in.Meter)); err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(context.Background())
	o := &Orchestrator{
		cfg: cfg, in: in, providers: providers, ws: ws, log: cfg.Logger,
		runsCounter: runs, runsActive: active, budget: budget,
		queues: map[taskmetrics.Profile]*jobQueue{}, stop: stop, base: base,
		accepting: true, runs: map[string]*Run{}, totals: map[State]int64{},
	}
	for _, p := range []taskmetrics.Profile{taskmetrics.Planner, taskmetrics.Coder, taskmetrics.Tester} {
		n := max(cfg.Workers[p], 1)
		q := newJobQueue()
		o.queues[p] = q
		for i := range n {
			w := in.Tasks.StartWorker(base, p)
			o.workers.Add(1)
			go o.work(q, w, fmt.Sprintf("%s-%d", p, i+1))
		}
	}
	return o, nil
}

// Submit validates nothing (the API does) but the models' prices under a
// budget (an *UnpricedModelError), and starts a run in the background. ctx
// is the request's: the run's span continues its trace, but the run
// outlives the request.
func (o *Orchestrator) Submit(ctx context.Context, spec Spec) (*Run, error) {
	dirProv, ok1 := o.providers.Get(spec.Director.Provider)
	workProv, ok2 := o.providers.Get(spec.Worker.Provider)
	if !ok1 || !ok2 {
		return nil, errors.New("unknown provider")
	}
	if err := o.checkPriced(spec); err != nil {
		return nil, err
	}
	r := &Run{ID: newID(), spec: spec, state: StatePending,
		director: dirProv, worker: workProv, results: make(chan taskResult)}
	o.mu.Lock()
	if !o.accepting {
		o.mu.Unlock()
		return nil, ErrShuttingDown
	}
	if n := o.cfg.MaxActiveRuns; n > 0 && o.active >= n {
		o.mu.Unlock()
		return nil, fmt.Errorf("%w: %d of at most %d; retry when one has finished", ErrTooManyRuns, n, n)
	}
	r.created = o.cfg.Now()
	o.evict(r.created)
	o.runs[r.ID] = r
	r.elem = o.byAge.PushBack(r)
	o.active++
	o.running.Add(1)
	o.mu.Unlock()
	o.budget.start(r)

	runCtx, cancel := context.WithCancel(o.base)
	runCtx = trace.ContextWithSpan(runCtx, trace.SpanFromContext(ctx))
	runCtx, span := o.in.Tracer.Start(runCtx, "run", trace.WithAttributes(
		attribute.String("run.id", r.ID),
		attribute.String("run.director.provider", spec.Director.Provider),
		attribute.String("run.director.model", spec.Director.Model),
		attribute.String("run.worker.provider", spec.Worker.Provider),
		attribute.String("run.worker.model", spec.Worker.Model),
		attribute.Bool("run.simulated", dirProv.Simulated() || workProv.Simulated()),
	))
	r.traceID = span.SpanContext().TraceID().String()
	o.runsActive.Add(runCtx, 1)
	if dirProv.Simulated() || workProv.Simulated() {
		o.log.Info("run: simulating the LLM (the provider is not in ORCH_REAL_PROVIDERS, or has no API key)", "run", r.ID,
			"director", spec.Director.Provider+"/"+spec.Director.Model, "worker", spec.Worker.Provider+"/"+spec.Worker.Model)
	}
	go func() {
		defer o.running.Done()
		defer cancel()
		defer o.budget.end(r)
		o.execute(runCtx, span, r)
	}()
	return r, nil
}

// Get returns a run's view; a finished run is found until it is evicted.
func (o *Orchestrator) Get(id string) (View, bool) {
	o.mu.Lock()
	o.evict(o.cfg.Now())
	r, ok := o.runs[id]
	o.mu.Unlock()
	if !ok {
		return View{}, false
	}
	return r.view(), true
}

// List returns the views of the newest runs kept, newest first (at most
// limit). It reads only those: the runs are kept in the order they were
// submitted.
func (o *Orchestrator) List(limit int) []View {
	o.mu.Lock()
	o.evict(o.cfg.Now())
	runs := make([]*Run, 0, min(max(limit, 0), len(o.runs)))
	for e := o.byAge.Back(); e != nil && len(runs) < limit; e = e.Prev() {
		runs = append(runs, e.Value.(*Run))
	}
	o.mu.Unlock()
	out := make([]View, len(runs))
	for i, r := range runs {
		out[i] = r.view()
	}
	return out
}

// StopAccepting makes Submit refuse new runs with ErrShuttingDown, and
// Accepting report false, from now on; the runs in progress go on. Shutdown
// does it first.
func (o *Orchestrator) StopAccepting() {
	o.mu.Lock()
	o.accepting = false
	o.mu.Unlock()
}

// Accepting reports whether Submit accepts runs (it may still refuse one
// with ErrTooManyRuns).
func (o *Orchestrator) Accepting() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.accepting
}

// Finished returns how many runs have finished since New, by final state
// (what agentorch_runs_total counts), evicted ones included.
func (o *Orchestrator) Finished() map[State]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[State]int64, len(o.totals))
	for s, n := range o.totals {
		out[s] = n
	}
	return out
}

// done finishes a run: it takes its final state and finish time, is
// counted out of the active runs and kept among the finished until it is
// evicted, all at once for Get, List and Finished.
func (o *Orchestrator) done(r *Run, state State, msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	at := o.cfg.Now()
	r.mu.Lock()
	r.state, r.err, r.finished = state, msg, at
	r.mu.Unlock()
	o.active--
	o.totals[state]++
	o.finished = append(o.finished, finishedRun{run: r, at: at})
	o.evict(at)
}

// evict forgets the finished runs older than the retention, and the oldest
// beyond the maximum kept. Unfinished runs are never evicted. o.mu is held.
func (o *Orchestrator) evict(now time.Time) {
	for len(o.finished) > 0 {
		f := o.finished[0]
		tooMany := o.cfg.MaxFinishedRuns > 0 && len(o.finished) > o.cfg.MaxFinishedRuns
		tooOld := o.cfg.Retention > 0 && now.Sub(f.at) >= o.cfg.Retention
		if !tooMany && !tooOld {
			return
		}
		o.finished[0] = finishedRun{}
		o.finished = o.finished[1:]
		delete(o.runs, f.run.ID)
		o.byAge.Remove(f.run.elem)
	}
}

// SpentUSD returns the process's LLM cost so far (settled calls).
func (o *Orchestrator) SpentUSD() float64 { return o.budget.spentUSD() }

// Shutdown stops accepting runs and waits for the running ones until ctx is
// done; then it cancels them (they end canceled), and waits for their tasks
// to record their final state. Finally it stops the worker pools. When it
// returns, every run's final state is recorded. Calling it again waits for
// nothing more.
func (o *Orchestrator) Shutdown(ctx context.Context) error {
	o.StopAccepting()
	done := make(chan struct{})
	go func() { o.running.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("grace period over, cancelling the remaining runs: %w", ctx.Err())
		o.stop()
		<-done
	}
	o.stopPools.Do(func() {
		o.stop()
		for _, q := range o.queues {
			q.close()
		}
		o.workers.Wait()
	})
	return err
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
