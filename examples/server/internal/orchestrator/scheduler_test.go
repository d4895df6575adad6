package orchestrator

import (
	"slices"
	"strings"
	"testing"
)

// schedStep is one call on a scheduler and what it must return: the ids it
// dispatched, or its cancellations as "id: reason".
type schedStep struct {
	op     string // start, complete, fail, notStarted, halt, stuck
	task   string // the task of complete, fail and notStarted
	reason string // of notStarted and halt
	want   []string
}

func TestScheduler(t *testing.T) {
	t.Parallel()
	type task struct {
		id   string
		deps []string
	}
	tests := []struct {
		name       string
		tasks      []task
		steps      []schedStep
		wantFailed bool
	}{
		{
			name:  "chain",
			tasks: []task{{"a", nil}, {"b", []string{"a"}}, {"c", []string{"b"}}},
			steps: []schedStep{
				{op: "start", want: []string{"a"}},
				{op: "stuck"},
				{op: "complete", task: "a", want: []string{"b"}},
				{op: "complete", task: "b", want: []string{"c"}},
				{op: "complete", task: "c"},
			},
		},
		{
			name: "diamond",
			tasks: []task{{"d", []string{"b", "c"}}, {"b", []string{"a"}}, {"c", []string{"a"}},
				{"a", nil}},
			steps: []schedStep{
				{op: "start", want: []string{"a"}},
				{op: "complete", task: "a", want: []string{"b", "c"}},
				{op: "complete", task: "c"}, // d still waits for b
				{op: "complete", task: "b", want: []string{"d"}},
				{op: "complete", task: "d"},
			},
		},
		{
			name:  "independent tasks start together, in plan order",
			tasks: []task{{"x", nil}, {"y", nil}, {"z", []string{"x", "y"}}},
			steps: []schedStep{
				{op: "start", want: []string{"x", "y"}},
				{op: "complete", task: "y"},
				{op: "complete", task: "x", want: []string{"z"}},
				{op: "complete", task: "z"},
			},
		},
		{
			name:  "a failure in a diamond cancels the join once",
			tasks: []task{{"a", nil}, {"b", []string{"a"}}, {"c", []string{"a"}}, {"d", []string{"b", "c"}}},
			steps: []schedStep{
				{op: "start", want: []string{"a"}},
				{op: "complete", task: "a", want: []string{"b", "c"}},
				{op: "fail", task: "b", want: []string{"d: dependency b failed"}},
				{op: "complete", task: "c"}, // d is already cancelled: nothing to dispatch
			},
			wantFailed: true,
		},
		{
			name: "a failure cancels its dependents transitively, depth first",
			tasks: []task{{"a", nil}, {"b", []string{"a"}}, {"c", []string{"b"}}, {"d", []string{"c"}},
				{"e", nil}, {"f", []string{"a"}}},
			steps: []schedStep{
				{op: "start", want: []string{"a", "e"}},
				{op: "fail", task: "a", want: []string{"b: dependency a failed", "c: dependency b failed",
					"d: dependency c failed", "f: dependency a failed"}},
				{op: "stuck"}, // e still runs
				{op: "complete", task: "e"},
			},
			wantFailed: true,
		},
		{
			name:  "a cycle is stuck once nothing else runs",
			tasks: []task{{"a", []string{"b"}}, {"b", []string{"a"}}, {"c", nil}, {"d", []string{"a"}}},
			steps: []schedStep{
				{op: "start", want: []string{"c"}},
				{op: "stuck"}, // c runs: it could still be the missing piece
				{op: "complete", task: "c"},
				{op: "stuck", want: []string{"a: " + reasonCycle, "b: dependency a failed", "d: dependency a failed"}},
				{op: "stuck"},
			},
			wantFailed: true,
		},
		{
			name:  "a task that depends on itself",
			tasks: []task{{"a", []string{"a"}}},
			steps: []schedStep{
				{op: "start"},
				{op: "stuck", want: []string{"a: " + reasonCycle}},
			},
			wantFailed: true,
		},
		{
			name:  "unknown and repeated dependency ids are ignored",
			tasks: []task{{"a", []string{"nope"}}, {"b", []string{"a", "a", "missing"}}},
			steps: []schedStep{
				{op: "start", want: []string{"a"}},
				{op: "complete", task: "a", want: []string{"b"}},
				{op: "complete", task: "b"},
			},
		},
		{
			name:  "halting mid-run cancels what waits; dispatched tasks report",
			tasks: []task{{"a", nil}, {"b", []string{"a"}}, {"c", []string{"b"}}, {"d", nil}, {"e", []string{"d"}}},
			steps: []schedStep{
				{op: "start", want: []string{"a", "d"}},
				{op: "complete", task: "a", want: []string{"b"}},
				{op: "halt", reason: "cost budget exceeded", want: []string{"c: cost budget exceeded", "e: cost budget exceeded"}},
				{op: "halt", reason: "again"}, // nothing left to cancel
				{op: "complete", task: "d"},   // its dependent is gone: nothing dispatched
				{op: "notStarted", task: "b", reason: "not started: the run stopped", want: []string{"b: not started: the run stopped"}},
			},
		},
		{
			name:  "a task not started cancels its dependents and does not fail the run",
			tasks: []task{{"a", nil}, {"b", []string{"a"}}},
			steps: []schedStep{
				{op: "start", want: []string{"a"}},
				{op: "notStarted", task: "a", reason: "context canceled", want: []string{"a: context canceled", "b: dependency a failed"}},
			},
		},
		{
			name:  "results for tasks already cancelled, final or unknown change nothing",
			tasks: []task{{"a", nil}, {"b", []string{"a"}}, {"c", nil}},
			steps: []schedStep{
				{op: "start", want: []string{"a", "c"}},
				{op: "fail", task: "a", want: []string{"b: dependency a failed"}},
				{op: "notStarted", task: "b", reason: "late"},
				{op: "complete", task: "b"},
				{op: "fail", task: "b"},
				{op: "complete", task: "a"}, // a second result for a
				{op: "complete", task: "?"}, // no such task
				{op: "stuck"},               // c still runs: the stray results did not count
				{op: "complete", task: "c"},
				{op: "complete", task: "c"},
			},
			wantFailed: true,
		},
		{
			name:  "an empty plan is done at once",
			steps: []schedStep{{op: "start"}, {op: "stuck"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids := make([]string, len(tt.tasks))
			deps := make([][]string, len(tt.tasks))
			for i, task := range tt.tasks {
				ids[i], deps[i] = task.id, task.deps
			}
			s := newScheduler(ids, deps)
			index := func(id string) int {
				if i := slices.Index(ids, id); i >= 0 {
					return i
				}
				return len(ids) + 7
			}
			for n, st := range tt.steps {
				var got []string
				names := func(is []int) {
					for _, i := range is {
						got = append(got, ids[i])
					}
				}
				reasons := func(cs []cancellation) {
					for _, c := range cs {
						got = append(got, ids[c.task]+": "+c.reason)
					}
				}
				switch st.op {
				case "start":
					names(s.start())
				case "complete":
					names(s.complete(index(st.task)))
				case "fail":
					reasons(s.fail(index(st.task)))
				case "notStarted":
					reasons(s.notStarted(index(st.task), st.reason))
				case "halt":
					reasons(s.halt(st.reason))
				case "stuck":
					reasons(s.stuck())
				default:
					t.Fatalf("step %d: unknown op %q", n, st.op)
				}
				if !slices.Equal(got, st.want) {
					t.Errorf("step %d %s %s = [%s], want [%s]", n, st.op, st.task,
						strings.Join(got, "; "), strings.Join(st.want, "; "))
				}
				checkSchedulerCounts(t, s, n)
			}
			if !s.done() {
				t.Errorf("not done after every step: %d remaining, %d in flight", s.remaining, s.inflight)
			}
			if s.failed != tt.wantFailed {
				t.Errorf("failed = %v, want %v", s.failed, tt.wantFailed)
			}
		})
	}
}

// checkSchedulerCounts checks the counters against the task states.
func checkSchedulerCounts(t *testing.T, s *scheduler, step int) {
	t.Helper()
	var waiting, dispatched int
	for _, task := range s.tasks {
		switch task.state {
		case schedWaiting:
			waiting++
		case schedDispatched:
			dispatched++
		}
	}
	if s.inflight != dispatched || s.remaining != waiting+dispatched {
		t.Errorf("after step %d: inflight %d remaining %d, but %d dispatched and %d waiting",
			step, s.inflight, s.remaining, dispatched, waiting)
	}
}
