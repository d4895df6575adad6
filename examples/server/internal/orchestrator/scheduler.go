package orchestrator

// scheduler orders one run's tasks by their dependencies. It is a plain
// state machine with no goroutines and no locks, driven by the run's
// goroutine: start dispatches what can run at once; each result (complete,
// fail, notStarted) returns what it made dispatchable or cancelled; halt
// cancels everything not yet dispatched; stuck detects that nothing runs and
// nothing can ever start (a dependency cycle) and cancels what is left.
//
// The tasks are identified by their index in the plan; every list the
// scheduler returns is in plan order. Unknown dependency ids are ignored, as
// the plan is untrusted and a missing task cannot be waited for; a task that
// depends on itself is part of a cycle.
type scheduler struct {
	tasks     []schedTask
	inflight  int  // dispatched, result not yet in
	remaining int  // not yet in a final state
	failed    bool // a task failed, or a cycle was found
}

// schedTask is one task of a scheduler.
type schedTask struct {
	id         string
	deps       []int // known dependencies, each once
	dependents []int // tasks that depend on this one, in plan order
	state      schedState
}

// schedState is a task's state in the scheduler.
type schedState uint8

const (
	// schedWaiting: planned; not every dependency has completed.
	schedWaiting schedState = iota
	// schedDispatched: handed to a worker pool; its result is awaited.
	schedDispatched
	// schedCompleted, schedFailed: it ran, and succeeded or failed.
	schedCompleted
	schedFailed
	// schedCanceled: it will never run (a dependency failed, the run
	// halted, a cycle, or it was dispatched but never started).
	schedCanceled
)

// cancellation is a task the scheduler gave up on, and why.
type cancellation struct {
	task   int
	reason string
}

// reasonCycle is the reason given to the tasks of a plan that can never
// complete.
const reasonCycle = "its dependencies can never complete (a cycle in the plan)"

// newScheduler returns a scheduler of the tasks ids, where deps[i] are the
// ids task i depends on.
func newScheduler(ids []string, deps [][]string) *scheduler {
	s := &scheduler{tasks: make([]schedTask, len(ids)), remaining: len(ids)}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		s.tasks[i].id = id
		if _, dup := index[id]; !dup {
			index[id] = i
		}
	}
	for i := range ids {
		if i >= len(deps) {
			break
		}
		for _, d := range deps[i] {
			j, ok := index[d]
			if !ok || containsInt(s.tasks[i].deps, j) {
				continue
			}
			s.tasks[i].deps = append(s.tasks[i].deps, j)
			s.tasks[j].dependents = append(s.tasks[j].dependents, i)
		}
	}
	return s
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// start dispatches every task whose dependencies are met and returns them.
func (s *scheduler) start() []int {
	var out []int
	for i := range s.tasks {
		if s.tasks[i].state == schedWaiting && s.depsDone(i) {
			out = append(out, s.dispatch(i))
		}
	}
	return out
}

func (s *scheduler) depsDone(i int) bool {
	for _, d := range s.tasks[i].deps {
		if s.tasks[d].state != schedCompleted {
			return false
		}
	}
	return true
}

func (s *scheduler) dispatch(i int) int {
	s.tasks[i].state = schedDispatched
	s.inflight++
	return i
}

// result takes a dispatched task's result in; it reports false, and changes
// nothing, for a task that is not dispatched (a result for a task already
// final, or never handed out).
func (s *scheduler) result(i int, to schedState) bool {
	if i < 0 || i >= len(s.tasks) || s.tasks[i].state != schedDispatched {
		return false
	}
	s.tasks[i].state = to
	s.inflight--
	s.remaining--
	return true
}

// complete records that task i succeeded and dispatches, and returns, the
// tasks that it was the last dependency of.
func (s *scheduler) complete(i int) []int {
	if !s.result(i, schedCompleted) {
		return nil
	}
	var out []int
	for _, d := range s.tasks[i].dependents {
		if s.tasks[d].state == schedWaiting && s.depsDone(d) {
			out = append(out, s.dispatch(d))
		}
	}
	return out
}

// fail records that task i ran and failed, which fails the run, and cancels
// its dependents, transitively.
func (s *scheduler) fail(i int) []cancellation {
	if !s.result(i, schedFailed) {
		return nil
	}
	s.failed = true
	var out []cancellation
	s.cancelDependents(i, &out)
	return out
}

// notStarted records that dispatched task i was never started (its run
// stopped), and cancels it and its dependents, transitively. The task itself
// is the first cancellation.
func (s *scheduler) notStarted(i int, reason string) []cancellation {
	if !s.result(i, schedCanceled) {
		return nil
	}
	out := []cancellation{{task: i, reason: reason}}
	s.cancelDependents(i, &out)
	return out
}

// cancel cancels waiting task i, then its dependents.
func (s *scheduler) cancel(i int, reason string, out *[]cancellation) {
	if s.tasks[i].state != schedWaiting {
		return
	}
	s.tasks[i].state = schedCanceled
	s.remaining--
	*out = append(*out, cancellation{task: i, reason: reason})
	s.cancelDependents(i, out)
}

func (s *scheduler) cancelDependents(i int, out *[]cancellation) {
	for _, d := range s.tasks[i].dependents {
		s.cancel(d, "dependency "+s.tasks[i].id+" failed", out)
	}
}

// halt cancels every task not yet dispatched, each with reason first (their
// own dependents, reached through them, name them instead). Dispatched tasks
// are left to report their results.
func (s *scheduler) halt(reason string) []cancellation {
	var out []cancellation
	for i := range s.tasks {
		s.cancel(i, reason, &out)
	}
	return out
}

// stuck reports whether nothing runs while tasks remain: they wait for each
// other (a cycle). Then it fails the run and cancels them; otherwise it
// returns nil.
func (s *scheduler) stuck() []cancellation {
	if s.inflight > 0 || s.remaining == 0 {
		return nil
	}
	s.failed = true
	return s.halt(reasonCycle)
}

// done reports whether every task is in a final state.
func (s *scheduler) done() bool { return s.remaining == 0 }
