package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
	"go.opentelemetry.io/otel/attribute"
)

// gated answers plans with plan and holds every call it gates (the plans
// too when gatePlans) until release is closed or the call's run is
// cancelled; held counts the calls it holds.
type gated struct {
	plan      string
	gatePlans bool
	release   chan struct{}
	held      *atomic.Int32
}

func newGated(plan string, gatePlans bool) gated {
	return gated{plan: plan, gatePlans: gatePlans, release: make(chan struct{}), held: new(atomic.Int32)}
}

func (g gated) Name() string    { return "simulated" }
func (g gated) Simulated() bool { return true }
func (g gated) Complete(ctx context.Context, req provider.Request) (provider.Response, error) {
	if req.Purpose != provider.PurposePlan || g.gatePlans {
		g.held.Add(1)
		defer g.held.Add(-1)
		select {
		case <-g.release:
		case <-ctx.Done():
			return provider.Response{}, ctx.Err()
		}
	}
	text := "// code\n"
	if req.Purpose == provider.PurposePlan {
		text = g.plan
	}
	return provider.Response{Text: text, Model: req.Model, Usage: llmmetrics.Usage{InputTokens: 10, OutputTokens: 5}}, nil
}

// independentCoders is a plan of n coder tasks that depend on nothing.
func independentCoders(n int) string {
	var b strings.Builder
	b.WriteString(`{"tasks":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"t%d","profile":"coder","title":"T%d","files":["f%d.go"]}`, i, i, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

// submitConcurrently submits n runs at once and returns the accepted ones
// and the errors of the others.
func submitConcurrently(t *testing.T, o *Orchestrator, root string, n int) ([]*Run, []error) {
	t.Helper()
	var mu sync.Mutex
	var runs []*Run
	var errs []error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			r, err := o.Submit(context.Background(), spec(root))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				runs = append(runs, r)
			}
		})
	}
	close(start)
	wg.Wait()
	return runs, errs
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not after 20 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestActiveRunsAreBounded: at ten times the bound, concurrent submissions
// get exactly the bound accepted; the others are refused with ErrTooManyRuns
// until a run finishes.
func TestActiveRunsAreBounded(t *testing.T) {
	t.Parallel()
	const bound = 3
	g := newGated(independentCoders(1), true)
	o, root, _ := newOrch(t, g, Config{MaxActiveRuns: bound})
	runs, errs := submitConcurrently(t, o, root, 10*bound)
	if len(runs) != bound || len(errs) != 9*bound {
		t.Fatalf("%d accepted and %d refused, want %d and %d", len(runs), len(errs), bound, 9*bound)
	}
	for _, err := range errs {
		if !errors.Is(err, ErrTooManyRuns) || !strings.Contains(err.Error(), fmt.Sprint(bound)) {
			t.Fatalf("refusal %v, want ErrTooManyRuns naming the bound", err)
		}
	}
	eventually(t, "every accepted run waits on its plan", func() bool { return g.held.Load() == bound })
	if _, err := o.Submit(context.Background(), spec(root)); !errors.Is(err, ErrTooManyRuns) {
		t.Fatalf("a submission at the bound: %v", err)
	}
	close(g.release)
	for _, r := range runs {
		if v := waitRun(t, o, r.ID); v.State != StateCompleted {
			t.Fatalf("run %s ended %s: %s", r.ID, v.State, v.Error)
		}
	}
	// The finished runs no longer count.
	again, errs := submitConcurrently(t, o, root, bound)
	if len(again) != bound || len(errs) != 0 {
		t.Fatalf("after the runs finished: %d accepted, refused %v", len(again), errs)
	}
	for _, r := range again {
		waitRun(t, o, r.ID)
	}
}

// TestReadyTasksParkNoGoroutine: ready tasks waiting for a busy pool are
// queued, not each held by a goroutine; refused submissions leave none.
// Not parallel: it counts the process's goroutines.
func TestReadyTasksParkNoGoroutine(t *testing.T) {
	const bound, tasks = 4, 20
	g := newGated(independentCoders(tasks), false)
	o, root, _ := newOrch(t, g, Config{MaxActiveRuns: bound, Workers: map[taskmetrics.Profile]int{taskmetrics.Coder: 1}})
	before := runtime.NumGoroutine()
	runs, _ := submitConcurrently(t, o, root, 10*bound)
	if len(runs) != bound {
		t.Fatalf("%d runs accepted, want %d", len(runs), bound)
	}
	// Each run has planned its tasks and made them all ready; the one coder
	// holds one of them.
	eventually(t, "every run's tasks ready, one running", func() bool {
		for _, r := range runs {
			v, _ := o.Get(r.ID)
			ready := 0
			for _, task := range v.Tasks {
				if task.State == string(taskmetrics.Ready) || task.State == string(taskmetrics.Active) {
					ready++
				}
			}
			if v.State != StateRunning || ready != tasks {
				return false
			}
		}
		return g.held.Load() == 1
	})
	// One goroutine per run (its scheduler), and a few to spare; not one per
	// ready task (bound × tasks = 80).
	if got := runtime.NumGoroutine() - before; got > bound+8 {
		t.Errorf("%d more goroutines with %d runs of %d ready tasks, want at most %d", got, bound, tasks, bound+8)
	}
	// Cancelled, the queued tasks end as not started, and every run ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with no grace = %v", err)
	}
	for _, r := range runs {
		v := waitRun(t, o, r.ID)
		failed := 0
		for _, task := range v.Tasks {
			if task.State == string(taskmetrics.Failed) {
				failed++
			}
		}
		if v.State != StateCanceled || failed != tasks {
			t.Errorf("run %s ended %s with %d of %d tasks failed", r.ID, v.State, failed, tasks)
		}
	}
	if got := runtime.NumGoroutine(); got > before {
		t.Errorf("%d goroutines after the shutdown, %d before the runs", got, before)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func listIDs(o *Orchestrator, limit int) []string {
	var ids []string
	for _, v := range o.List(limit) {
		ids = append(ids, v.ID)
	}
	return ids
}

// TestFinishedRunsAreEvicted: a finished run is kept for the retention,
// then forgotten; beyond the maximum kept, the oldest finished go first;
// an unfinished run is never evicted.
func TestFinishedRunsAreEvicted(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	g := newGated(independentCoders(1), true)
	o, root, _ := newOrch(t, g, Config{Retention: time.Minute, MaxFinishedRuns: 3, Now: clock.Now})

	// An unfinished run outlives any retention.
	held, err := o.Submit(context.Background(), spec(root))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the run waits on its plan", func() bool { return g.held.Load() == 1 })
	clock.Advance(time.Hour)
	if _, ok := o.Get(held.ID); !ok {
		t.Fatal("an unfinished run was evicted")
	}
	close(g.release)
	if v := waitRun(t, o, held.ID); v.FinishedAt == nil || !v.FinishedAt.Equal(clock.Now()) {
		t.Fatalf("finished at %v, want the clock's %v", v.FinishedAt, clock.Now())
	}

	// Kept for the retention, then gone from Get and List.
	clock.Advance(59 * time.Second)
	if _, ok := o.Get(held.ID); !ok {
		t.Fatal("evicted before the retention")
	}
	clock.Advance(2 * time.Second)
	if _, ok := o.Get(held.ID); ok {
		t.Fatal("kept after the retention")
	}
	if ids := listIDs(o, 100); len(ids) != 0 {
		t.Fatalf("List after the retention = %v", ids)
	}

	// Beyond the maximum kept, the oldest finished are evicted.
	var ids []string
	for range 5 {
		r, err := o.Submit(context.Background(), spec(root))
		if err != nil {
			t.Fatal(err)
		}
		waitRun(t, o, r.ID)
		ids = append(ids, r.ID)
		clock.Advance(time.Second)
	}
	want := []string{ids[4], ids[3], ids[2]} // newest first
	if got := listIDs(o, 100); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("List = %v, want the 3 newest %v", got, want)
	}
	if got := listIDs(o, 2); strings.Join(got, ",") != strings.Join(want[:2], ",") {
		t.Errorf("List(2) = %v, want %v", got, want[:2])
	}
	for _, id := range ids[:2] {
		if _, ok := o.Get(id); ok {
			t.Errorf("run %s kept beyond the maximum", id)
		}
	}
}

// TestAFinishedRunIsCountedWhenSeen: the moment Get shows a run finished,
// it has its finish time and is counted in Finished and agentorch.runs (a
// caller polling the API and then reading the metrics sees them agree),
// and the eviction that counts finished runs has it too.
func TestAFinishedRunIsCountedWhenSeen(t *testing.T) {
	t.Parallel()
	o, root, reader := newOrch(t, scripted{plan: independentCoders(1)}, Config{MaxFinishedRuns: 1})
	var prev string
	for i := range 20 {
		r, err := o.Submit(context.Background(), spec(root))
		if err != nil {
			t.Fatal(err)
		}
		var v View
		for deadline := time.Now().Add(30 * time.Second); ; runtime.Gosched() {
			if v, _ = o.Get(r.ID); v.State == StateCompleted || v.State == StateFailed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d did not finish", i)
			}
		}
		if v.FinishedAt == nil {
			t.Fatalf("run %d shows %s with no finish time", i, v.State)
		}
		if n := o.Finished()[v.State]; n != int64(i+1) {
			t.Fatalf("run %d shows %s, Finished counts %d", i, v.State, n)
		}
		if n := sumInt(t, reader, "agentorch.runs", attribute.String("state", string(v.State))); n != int64(i+1) {
			t.Fatalf("run %d shows %s, agentorch.runs counts %d", i, v.State, n)
		}
		if _, ok := o.Get(prev); prev != "" && ok {
			t.Fatalf("run %d shows %s, the run before it is still kept beyond the maximum of 1", i, v.State)
		}
		prev = r.ID
	}
}
