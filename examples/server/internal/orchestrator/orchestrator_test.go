package orchestrator

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/examples/server/internal/workspace"
	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// scripted answers plans with a fixed text and everything else with code.
type scripted struct {
	plan string
	err  error
}

func (s scripted) Name() string    { return "simulated" }
func (s scripted) Simulated() bool { return true }
func (s scripted) Complete(_ context.Context, req provider.Request) (provider.Response, error) {
	if s.err != nil {
		return provider.Response{}, s.err
	}
	text := "// code\n"
	if req.Purpose == provider.PurposePlan {
		text = s.plan
	}
	return provider.Response{Text: text, Model: req.Model, Usage: llmmetrics.Usage{InputTokens: 10, OutputTokens: 5}}, nil
}

func newOrch(t *testing.T, p provider.Provider, cfg Config) (*Orchestrator, string, *sdkmetric.ManualReader) {
	t.Helper()
	return newOrchPriced(t, p, cfg, llmmetrics.DefaultPrices())
}

// newOrchPriced is newOrch with a price table of the test's.
func newOrchPriced(t *testing.T, p provider.Provider, cfg Config, prices *llmmetrics.Prices) (*Orchestrator, string, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	git, _ := gitmetrics.New(gitmetrics.WithMeterProvider(mp))
	tasks, _ := taskmetrics.New(taskmetrics.WithMeterProvider(mp))
	llm, _ := llmmetrics.New(llmmetrics.WithMeterProvider(mp), llmmetrics.WithPrices(prices))
	root := t.TempDir()
	ws, err := workspace.NewManager(root, git)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := provider.NewRegistry(provider.Config{Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	reg.Set(p)
	o, err := New(cfg, Instruments{Git: git, Tasks: tasks, LLM: llm, Meter: mp.Meter("t"),
		Tracer: tracenoop.NewTracerProvider().Tracer("t")}, reg, ws)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = o.Shutdown(ctx)
	})
	return o, root, reader
}

func waitRun(t *testing.T, o *Orchestrator, id string) View {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		v, _ := o.Get(id)
		switch v.State {
		case StateCompleted, StateFailed, StateBudgetExceeded, StateCanceled:
			return v
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("run %s did not finish", id)
	return View{}
}

func spec(root string) Spec {
	m := ModelRef{Provider: "simulated", Model: "sim-small"}
	return Spec{Objective: "x", Workspace: filepath.Join(root, "ws"), Director: m, Worker: m}
}

// TestPlanWithACycleFailsInsteadOfHanging: a model's plan is untrusted; a
// dependency cycle must end the run.
func TestPlanWithACycleFailsInsteadOfHanging(t *testing.T) {
	t.Parallel()
	plan := `Here is the plan: {"tasks":[
	  {"id":"a","profile":"coder","title":"A","files":["a.go"],"depends_on":["b"]},
	  {"id":"b","profile":"coder","title":"B","files":["b.go"],"depends_on":["a"]},
	  {"id":"c","profile":"tester","title":"C","files":["c_test.go"]}]}`
	o, root, reader := newOrch(t, scripted{plan: plan}, Config{MaxRetries: 1})
	r, err := o.Submit(context.Background(), spec(root))
	if err != nil {
		t.Fatal(err)
	}
	v := waitRun(t, o, r.ID)
	if v.State != StateFailed || len(v.Tasks) != 3 {
		t.Fatalf("run = %s with %d tasks", v.State, len(v.Tasks))
	}
	states := map[string]string{}
	for _, task := range v.Tasks {
		states[task.ID] = task.State
	}
	if states["c"] != "complete" || states["a"] != "failed" || states["b"] != "failed" {
		t.Errorf("task states %v", states)
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == taskmetrics.TaskStatesName {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					st, _ := dp.Attributes.Value(taskmetrics.StateKey)
					want := map[string]int64{"complete": 1, "failed": 2}[st.AsString()]
					if dp.Value != want {
						t.Errorf("task_states{state=%q} = %d, want %d", st.AsString(), dp.Value, want)
					}
				}
			}
		}
	}
}

func TestUnusablePlanFallsBackToOneTask(t *testing.T) {
	t.Parallel()
	o, root, _ := newOrch(t, scripted{plan: "I cannot help with that."}, Config{})
	r, _ := o.Submit(context.Background(), spec(root))
	v := waitRun(t, o, r.ID)
	if v.State != StateCompleted || len(v.Tasks) != 1 || v.Tasks[0].Files[0] != "RESULT.md" {
		t.Fatalf("run = %+v", v)
	}
}

func TestFailingProviderFailsTheRun(t *testing.T) {
	t.Parallel()
	boom := llmmetrics.NewError(llmmetrics.ErrorAuth, errors.New("401 invalid key"))
	o, root, _ := newOrch(t, scripted{err: boom}, Config{LLMAttempts: 3})
	r, _ := o.Submit(context.Background(), spec(root))
	v := waitRun(t, o, r.ID)
	if v.State != StateFailed || !strings.Contains(v.Error, "planning") || v.LLMCalls != 1 {
		t.Fatalf("run = %s %q after %d calls; an auth error must not be retried", v.State, v.Error, v.LLMCalls)
	}
}

func TestParsePlanBounds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"tasks":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":"t` + strings.Repeat("x", i%3) + `","profile":"coder","files":["f"]}`)
	}
	b.WriteString(`,{"id":"evil","profile":"root","files":["f"]}]}`)
	p, err := provider.ParsePlan(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tasks) != 3 { // t, tx, txx: duplicates dropped, unknown profile dropped
		t.Errorf("%d tasks", len(p.Tasks))
	}
	if _, err := provider.ParsePlan(`{"tasks":[{"id":"a","profile":"coder"}]}`); !errors.Is(err, provider.ErrNoPlan) {
		t.Errorf("a task without files: %v", err)
	}
}
