package orchestrator

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/examples/server/internal/workspace"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// State is a run's state.
type State string

// The run states.
const (
	StatePending        State = "pending"
	StatePlanning       State = "planning"
	StateRunning        State = "running"
	StateCompleted      State = "completed"
	StateFailed         State = "failed"
	StateBudgetExceeded State = "budget_exceeded"
	StateCanceled       State = "canceled"
)

// Run is one run of an objective.
type Run struct {
	ID       string
	spec     Spec
	created  time.Time
	director provider.Provider
	worker   provider.Provider
	traceID  string
	results  chan taskResult
	repo     *workspace.Repo
	elem     *list.Element // in the orchestrator's byAge, under its mu

	mu        sync.Mutex
	state     State
	finished  time.Time
	err       string
	tasks     []*taskEntry
	merges    map[string]int
	tokensIn  int64
	tokensOut int64
	costUSD   float64
	unpriced  int
	llmCalls  int
	llmErrors int
	halted    error // set when the run must not start more work
}

type taskEntry struct {
	index int // in the plan, and in the run's scheduler
	plan  provider.PlanTask
	task  *taskmetrics.Task
	err   string
}

// job is one task handed to a worker pool.
type job struct {
	ctx   context.Context
	run   *Run
	entry *taskEntry
}

type taskResult struct {
	entry      *taskEntry
	err        error
	notStarted bool
}

// errNotStarted marks a task that was never started because its run halted.
var errNotStarted = errors.New("not started: the run stopped")

// TaskView is a task in a run's view.
type TaskView struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Profile   string   `json:"worker_profile"`
	Files     []string `json:"files"`
	DependsOn []string `json:"depends_on,omitempty"`
	State     string   `json:"state"`
	Retries   int64    `json:"retries"`
	Error     string   `json:"error,omitempty"`
}

// View is a run as the API shows it.
type View struct {
	ID         string         `json:"run_id"`
	State      State          `json:"state"`
	Objective  string         `json:"objective"`
	Workspace  string         `json:"workspace_path"`
	Director   ModelRef       `json:"director_model"`
	Worker     ModelRef       `json:"worker_model"`
	Simulated  bool           `json:"simulated"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Tasks      []TaskView     `json:"tasks"`
	Merges     map[string]int `json:"merges"`
	Tokens     struct {
		Input  int64 `json:"input"`
		Output int64 `json:"output"`
	} `json:"tokens"`
	CostUSD       float64 `json:"cost_usd"`
	UnpricedCalls int     `json:"unpriced_llm_calls,omitempty"`
	LLMCalls      int     `json:"llm_calls"`
	LLMErrors     int     `json:"llm_errors"`
	TraceID       string  `json:"trace_id"`
	Error         string  `json:"error,omitempty"`
}

// View returns the run as the API shows it.
func (r *Run) View() View { return r.view() }

func (r *Run) view() View {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := View{
		ID: r.ID, State: r.state, Objective: r.spec.Objective, Workspace: r.spec.Workspace,
		Director: r.spec.Director, Worker: r.spec.Worker,
		Simulated: r.director.Simulated() || r.worker.Simulated(),
		CreatedAt: r.created, Tasks: []TaskView{}, Merges: map[string]int{},
		CostUSD: r.costUSD, UnpricedCalls: r.unpriced, LLMCalls: r.llmCalls, LLMErrors: r.llmErrors,
		TraceID: r.traceID, Error: r.err,
	}
	v.Tokens.Input, v.Tokens.Output = r.tokensIn, r.tokensOut
	if !r.finished.IsZero() {
		f := r.finished
		v.FinishedAt = &f
	}
	for k, n := range r.merges {
		v.Merges[k] = n
	}
	for _, e := range r.tasks {
		v.Tasks = append(v.Tasks, TaskView{
			ID: e.plan.ID, Title: e.plan.Title, Profile: e.plan.Profile, Files: e.plan.Files,
			DependsOn: e.plan.DependsOn, State: string(e.task.State()), Retries: e.task.Retries(), Error: e.err,
		})
	}
	return v
}

func (r *Run) setState(s State) {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
}

func (r *Run) halt(err error) {
	r.mu.Lock()
	if r.halted == nil {
		r.halted = err
	}
	r.mu.Unlock()
}

func (r *Run) haltErr(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.halted != nil {
		return r.halted
	}
	return ctx.Err()
}

// execute plans the run, drives its tasks to the end and finishes it.
func (o *Orchestrator) execute(ctx context.Context, span trace.Span, r *Run) {
	state, err := o.drive(ctx, r)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	span.SetAttributes(attribute.String("run.state", string(state)))
	if state != StateCompleted {
		span.SetStatus(codes.Error, msg)
	}
	span.End()
	o.runsActive.Add(ctx, -1)
	o.runsCounter.Add(ctx, 1, metric.WithAttributes(attribute.String("state", string(state))))
	// The final state shows in Get and List only now, with the finish time
	// and the run counted among the finished: a caller who sees it finished
	// also sees it counted, and evicted in its turn.
	o.done(r, state, msg)
	o.log.Info("run finished", "run", r.ID, "state", state, "cost_usd", r.view().CostUSD, "trace_id", r.traceID)
}

// drive plans the run and drives its tasks to the end; it returns the
// run's final state and, unless it completed, why.
func (o *Orchestrator) drive(ctx context.Context, r *Run) (State, error) {
	r.setState(StatePlanning)
	repo, err := o.ws.Open(ctx, r.spec.Workspace)
	if err != nil {
		return StateFailed, err
	}
	r.repo = repo
	resp, err := o.llm(ctx, r, r.director, r.spec.Director, provider.Request{
		Purpose:   provider.PurposePlan,
		System:    "You are the director of a team of planner, coder and tester agents. Split the objective into tasks. Answer with JSON only: {\"tasks\":[{\"id\",\"profile\":\"planner|coder|tester\",\"title\",\"files\":[…],\"depends_on\":[…]}]}.",
		Prompt:    r.spec.Objective,
		MaxTokens: 1024,
	})
	if err != nil {
		return stateFor(ctx, err), fmt.Errorf("planning: %w", err)
	}
	plan, err := provider.ParsePlan(resp.Text)
	if err != nil {
		o.log.Warn("run: the director's plan is unusable; running one coder task instead", "run", r.ID, "error", err)
		plan = provider.Plan{Tasks: []provider.PlanTask{{ID: "code", Profile: "coder", Title: r.spec.Objective, Files: []string{"RESULT.md"}}}}
	}

	failed := o.runTasks(ctx, r, plan)
	switch err := r.haltErr(ctx); {
	case errors.Is(err, ErrBudgetExceeded):
		return StateBudgetExceeded, err
	case err != nil:
		return StateCanceled, err
	case failed:
		return StateFailed, errors.New("some tasks failed")
	}
	return StateCompleted, nil
}

// runTasks drives the plan's tasks through the worker pools, in the order
// of their dependencies, until each is final; it reports whether any failed
// or could never run.
func (o *Orchestrator) runTasks(ctx context.Context, r *Run, plan provider.Plan) (failed bool) {
	r.mu.Lock()
	ids := make([]string, len(plan.Tasks))
	deps := make([][]string, len(plan.Tasks))
	for i, pt := range plan.Tasks {
		e := &taskEntry{index: i, plan: pt, task: o.in.Tasks.NewTask(ctx, taskmetrics.TaskInfo{
			ID: r.ID + "/" + pt.ID, Name: pt.Title, RunID: r.ID, Profile: taskmetrics.Profile(pt.Profile),
		})}
		r.tasks = append(r.tasks, e)
		ids[i], deps[i] = pt.ID, pt.DependsOn
	}
	r.state = StateRunning
	r.mu.Unlock()

	sched := newScheduler(ids, deps)
	// cancel records the tasks the scheduler gave up on as failed, with
	// their reason.
	cancel := func(cs []cancellation) {
		for _, c := range cs {
			e := r.tasks[c.task]
			if e.task.Cancel(ctx) != nil {
				continue
			}
			r.mu.Lock()
			e.err = c.reason
			r.mu.Unlock()
		}
	}
	dispatch := func(tasks []int) {
		for _, i := range tasks {
			e := r.tasks[i]
			if err := e.task.Ready(ctx); err != nil {
				cancel(sched.notStarted(i, err.Error()))
				continue
			}
			if !o.enqueue(&job{ctx: ctx, run: r, entry: e}) {
				cancel(sched.notStarted(i, ErrShuttingDown.Error()))
			}
		}
	}
	dispatch(sched.start())
	for !sched.done() {
		// Nothing runs and nothing can start: the plan's dependencies form
		// a cycle. Fail what is left.
		if cs := sched.stuck(); cs != nil {
			cancel(cs)
			continue
		}
		res := <-r.results
		switch i := res.entry.index; {
		case res.notStarted:
			cancel(sched.notStarted(i, res.err.Error()))
		case res.err != nil:
			r.mu.Lock()
			res.entry.err = res.err.Error()
			r.mu.Unlock()
			if errors.Is(res.err, ErrBudgetExceeded) {
				r.halt(ErrBudgetExceeded)
			}
			cancel(sched.fail(i))
		default:
			dispatch(sched.complete(i))
		}
		// A halted run (budget, shutdown) starts nothing more.
		if err := r.haltErr(ctx); err != nil {
			cancel(sched.halt(err.Error()))
		}
	}
	return sched.failed
}

// enqueue queues a job on its profile's pool (the coder pool for a profile
// without one); it reports false once the pools are stopped.
func (o *Orchestrator) enqueue(j *job) bool {
	q := o.queues[j.entry.task.Info().Profile]
	if q == nil {
		q = o.queues[taskmetrics.Coder]
	}
	return q.push(j)
}

func stateFor(ctx context.Context, err error) State {
	switch {
	case errors.Is(err, ErrBudgetExceeded):
		return StateBudgetExceeded
	case ctx.Err() != nil:
		return StateCanceled
	}
	return StateFailed
}

// work is one worker of a pool.
func (o *Orchestrator) work(q *jobQueue, w *taskmetrics.WorkerOp, id string) {
	defer o.workers.Done()
	defer w.End()
	for {
		j, ok := q.pop()
		if !ok {
			return
		}
		err := o.runTask(j, id)
		j.run.results <- taskResult{entry: j.entry, err: err, notStarted: errors.Is(err, errNotStarted)}
	}
}

// runTask executes a task's attempts, retrying failures up to MaxRetries.
func (o *Orchestrator) runTask(j *job, workerID string) error {
	r, t := j.run, j.entry.task
	for {
		if err := r.haltErr(j.ctx); err != nil {
			return fmt.Errorf("%w: %w", errNotStarted, err)
		}
		ctx, exec, err := t.Start(j.ctx, workerID)
		if err != nil {
			return err
		}
		err = o.attempt(ctx, j, t.Retries()+1)
		switch {
		case err == nil:
			exec.End(nil)
			return nil
		case errors.Is(err, ErrBudgetExceeded) || j.ctx.Err() != nil || t.Retries() >= int64(o.cfg.MaxRetries):
			exec.End(&err)
			return err
		}
		o.log.Info("task attempt failed; retrying", "run", r.ID, "task", j.entry.plan.ID, "error", err)
		exec.Retry(err)
	}
}

// agentStep is the worker's LLM-driven step, an invoke_agent span named
// after its profile: the LLM writes the task's files, and each is written
// to the worktree by the write_file tool (an execute_tool span).
func (o *Orchestrator) agentStep(ctx context.Context, j *job, wt *workspace.Worktree, n int64) (err error) {
	r, pt := j.run, j.entry.plan
	ctx, step := o.in.LLM.StartAgent(ctx, llmmetrics.Agent{Name: pt.Profile, Provider: r.worker.Name()})
	defer step.End(&err)
	resp, err := o.llm(ctx, r, r.worker, r.spec.Worker, provider.Request{
		Purpose: provider.PurposeCode,
		System:  "You are a " + pt.Profile + " agent. Write the content of the files for your task; answer with the file content only.",
		Prompt: pt.Title + "\nObjective: " + r.spec.Objective + "\nFiles: " + strings.Join(pt.Files, ", ") +
			"\n(" + pt.Profile + " attempt " + fmt.Sprint(n) + ")",
		MaxTokens: 2048,
	})
	if err != nil {
		return err
	}
	for _, f := range pt.Files {
		if err := o.writeFile(ctx, wt, f, resp.Text); err != nil {
			return err
		}
	}
	return nil
}

// writeFile runs the write_file tool.
func (o *Orchestrator) writeFile(ctx context.Context, wt *workspace.Worktree, file, content string) (err error) {
	_, tool := o.in.LLM.StartTool(ctx, llmmetrics.Tool{Name: "write_file"})
	defer tool.End(&err)
	return wt.WriteFile(file, content)
}

// attempt runs one attempt: a fresh branch from the base branch, the LLM
// writes the task's files on it, and it is merged back. Branching first, as
// a worker does when it picks a task up, is what lets two coders that edit
// one file conflict.
func (o *Orchestrator) attempt(ctx context.Context, j *job, n int64) error {
	r, pt := j.run, j.entry.plan
	wt, err := r.repo.NewWorktree(ctx, fmt.Sprintf("orch/%s/%s-%d", r.ID, pt.ID, n))
	if err != nil {
		return err
	}
	defer func() {
		if err := wt.Remove(); err != nil {
			o.log.Warn("worktree cleanup failed", "run", r.ID, "error", err)
		}
	}()
	if err := o.agentStep(ctx, j, wt, n); err != nil {
		return err
	}
	if err := wt.Commit(ctx, pt.Title); err != nil {
		return err
	}
	result, err := r.repo.Merge(ctx, wt.Branch(), func(ctx context.Context, file, conflicted string) (string, error) {
		resp, err := o.llm(ctx, r, r.worker, r.spec.Worker, provider.Request{
			Purpose:   provider.PurposeResolve,
			System:    "Resolve the git merge conflict in this file; answer with the resolved file only.",
			Prompt:    conflicted,
			MaxTokens: 4096,
		})
		return resp.Text, err
	})
	r.mu.Lock()
	if r.merges == nil {
		r.merges = map[string]int{}
	}
	r.merges[string(result)]++
	r.mu.Unlock()
	return err
}
