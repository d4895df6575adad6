package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// The budget tests' model costs $0.001 an output token and nothing for
// input, so that a call's worst case is its MaxTokens in thousandths of a
// dollar, whatever the prompt.
const (
	budgetModel   = "budget-test"
	perOutToken   = 1000.0 / 1e6 // USD
	overMaxTokens = 100          // tokens each call answers beyond its MaxTokens
)

func budgetPrices(t *testing.T) *llmmetrics.Prices {
	t.Helper()
	p, err := llmmetrics.ParsePrices(strings.NewReader("simulated "+budgetModel+" 0 1000\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// costly plans `tasks` independent coder tasks and answers every call with
// overMaxTokens more output tokens than it asked for, so that each call
// costs more than its worst case by a known amount. Code calls wait until
// `gather` of them are in flight (or 500 ms passed), so that concurrent
// workers all pass a check that is not atomic with the spend. The first
// `fail` code calls fail with a 503 and no usage; block, when not nil,
// holds code calls until it is closed.
type costly struct {
	tasks, gather, fail int
	block               chan struct{}

	mu       sync.Mutex
	arrived  int
	all      chan struct{}
	calls    []costlyCall
	inFlight int
	most     int // highest inFlight seen
}

type costlyCall struct {
	purpose   provider.Purpose
	maxTokens int
	costUSD   float64 // what it answered, at the test's price
	failed    bool
}

func (c *costly) Name() string    { return "simulated" }
func (c *costly) Simulated() bool { return true }

func (c *costly) Complete(ctx context.Context, req provider.Request) (provider.Response, error) {
	c.mu.Lock()
	if c.all == nil {
		c.all = make(chan struct{})
	}
	call := costlyCall{purpose: req.Purpose, maxTokens: req.MaxTokens}
	c.inFlight++
	c.most = max(c.most, c.inFlight)
	if req.Purpose == provider.PurposeCode {
		c.arrived++
		if c.arrived == c.gather {
			close(c.all)
		}
		call.failed = c.arrived <= c.fail
	}
	all := c.all
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight--
		c.calls = append(c.calls, call)
		c.mu.Unlock()
	}()
	if req.Purpose == provider.PurposeCode {
		select {
		case <-all:
		case <-time.After(500 * time.Millisecond):
		}
		if c.block != nil {
			<-c.block
		}
	}
	if call.failed {
		return provider.Response{}, llmmetrics.NewError(llmmetrics.ErrorServer, errors.New("HTTP 503"))
	}
	out := req.MaxTokens + overMaxTokens
	call.costUSD = float64(out) * perOutToken
	text := "// code\n"
	if req.Purpose == provider.PurposePlan {
		var b strings.Builder
		b.WriteString(`{"tasks":[`)
		for i := range c.tasks {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"id":"c%d","profile":"coder","title":"C%d","files":["c%d.go"]}`, i, i, i)
		}
		b.WriteString("]}")
		text = b.String()
	}
	return provider.Response{Text: text, Model: req.Model, Usage: llmmetrics.Usage{InputTokens: 10, OutputTokens: int64(out)}}, nil
}

func (c *costly) recorded() []costlyCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]costlyCall(nil), c.calls...)
}

func budgetSpec(root string) Spec {
	s := spec(root)
	s.Director.Model, s.Worker.Model = budgetModel, budgetModel
	return s
}

// TestBudgetHoldsUnderConcurrentWorkers: four coders call at once against a
// budget that fits the plan and two of their calls. Each call reserves its
// worst case first, so the run's cost passes the budget by at most what the
// calls in flight cost beyond their worst case; checking, then spending,
// let all four through (twice that bound over).
func TestBudgetHoldsUnderConcurrentWorkers(t *testing.T) {
	t.Parallel()
	const budget = 6.0 // plan $1.124 (1024+100 tokens) + two coder calls of $2.148 fit; a third's $2.048 worst case does not
	for _, scope := range []string{"run", "total"} {
		t.Run(scope, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Workers: map[taskmetrics.Profile]int{taskmetrics.Coder: 4}, MaxRetries: 0, LLMAttempts: 1}
			if scope == "run" {
				cfg.RunBudgetUSD = budget
			} else {
				cfg.TotalBudgetUSD = budget
			}
			p := &costly{tasks: 4, gather: 4}
			o, root, reader := newOrchPriced(t, p, cfg, budgetPrices(t))
			r, err := o.Submit(context.Background(), budgetSpec(root))
			if err != nil {
				t.Fatal(err)
			}
			v := waitRun(t, o, r.ID)
			calls := p.recorded()
			// The bound, by hand: at most every coder worker's call in flight
			// at once, each over its reservation by overMaxTokens tokens.
			bound := budget + 4*overMaxTokens*perOutToken
			var paid float64
			for _, c := range calls {
				paid += c.costUSD
			}
			if v.CostUSD > bound || o.SpentUSD() > bound {
				t.Errorf("cost $%.4f, process $%.4f after %d calls: over budget $%.2f by more than the calls in flight can pass it ($%.4f)",
					v.CostUSD, o.SpentUSD(), len(calls), budget, bound)
			}
			if v.State != StateBudgetExceeded || len(calls) < 2 {
				t.Errorf("run %s after %d calls; want budget_exceeded after the plan and at least one coder call", v.State, len(calls))
			}
			if math.Abs(v.CostUSD-paid) > 1e-9 || math.Abs(o.SpentUSD()-paid) > 1e-9 {
				t.Errorf("run $%v, process $%v; the calls cost $%v", v.CostUSD, o.SpentUSD(), paid)
			}
			if h := o.budget.held(); h != 0 {
				t.Errorf("$%v still reserved after the run", h)
			}
			if n := sumInt(t, reader, "agentorch.runs", attribute.String("state", "budget_exceeded")); n != 1 {
				t.Errorf("agentorch.runs{state=budget_exceeded} = %d", n)
			}
		})
	}
}

// TestReservationReleasedOnFailure: a failed call gives its reservation
// back and costs what it cost (nothing); the retry fits in a budget that
// holds one worst case at a time.
func TestReservationReleasedOnFailure(t *testing.T) {
	t.Parallel()
	plan := float64(1024+overMaxTokens) * perOutToken
	worst := 2048 * perOutToken
	cfg := Config{RunBudgetUSD: plan + 1.5*worst, LLMAttempts: 2, BackoffBase: time.Millisecond}
	p := &costly{tasks: 1, gather: 1, fail: 1}
	o, root, _ := newOrchPriced(t, p, cfg, budgetPrices(t))
	r, err := o.Submit(context.Background(), budgetSpec(root))
	if err != nil {
		t.Fatal(err)
	}
	v := waitRun(t, o, r.ID)
	want := plan + float64(2048+overMaxTokens)*perOutToken
	if v.State != StateCompleted || v.LLMCalls != 3 || v.LLMErrors != 1 {
		t.Fatalf("run %s %q: %d calls, %d errors; want completed after a failed and a retried call", v.State, v.Error, v.LLMCalls, v.LLMErrors)
	}
	if math.Abs(v.CostUSD-want) > 1e-9 || math.Abs(o.SpentUSD()-want) > 1e-9 || o.budget.held() != 0 {
		t.Errorf("cost $%v, process $%v, held $%v; want $%v and nothing held", v.CostUSD, o.SpentUSD(), o.budget.held(), want)
	}
}

// TestUnpricedModelUnderABudget: a model with no price has no worst case,
// so a run on it is refused while a budget is set, naming the role; with no
// budget it runs, its calls counted as unpriced.
func TestUnpricedModelUnderABudget(t *testing.T) {
	t.Parallel()
	for _, role := range []string{"director", "worker"} {
		o, root, _ := newOrch(t, scripted{plan: "no plan"}, Config{TotalBudgetUSD: 100})
		s := spec(root)
		if role == "director" {
			s.Director.Model = "sim-unreleased"
		} else {
			s.Worker.Model = "sim-unreleased"
		}
		_, err := o.Submit(context.Background(), s)
		var up *UnpricedModelError
		if !errors.As(err, &up) || up.Role != role || up.Model.Model != "sim-unreleased" ||
			!strings.Contains(err.Error(), "OTELOBS_LLM_PRICES_FILE") || !strings.Contains(err.Error(), "ORCH_TOTAL_BUDGET_USD") {
			t.Errorf("%s unpriced: err = %v", role, err)
		}
		if len(o.List(10)) != 0 {
			t.Errorf("%s unpriced: a run was recorded", role)
		}
	}
	o, root, _ := newOrch(t, scripted{plan: "no plan"}, Config{})
	s := spec(root)
	s.Worker.Model = "sim-unreleased"
	r, err := o.Submit(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if v := waitRun(t, o, r.ID); v.State != StateCompleted || v.UnpricedCalls == 0 {
		t.Errorf("without a budget: run %s with %d unpriced calls", v.State, v.UnpricedCalls)
	}
}

// TestBudgetGauges: the limits, the process's spend, and the spend of the
// costliest run in progress (no run id on the series).
func TestBudgetGauges(t *testing.T) {
	t.Parallel()
	p := &costly{tasks: 1, gather: 1, block: make(chan struct{})}
	o, root, reader := newOrchPriced(t, p, Config{RunBudgetUSD: 5, TotalBudgetUSD: 50}, budgetPrices(t))
	first, err := o.Submit(context.Background(), budgetSpec(root))
	if err != nil {
		t.Fatal(err)
	}
	plan := float64(1024+overMaxTokens) * perOutToken
	deadline := time.Now().Add(10 * time.Second)
	for o.SpentUSD() < plan && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the plan settles, the coder's call waits on block
	}
	want := map[string]float64{"limit/run": 5, "limit/total": 50, "spent/run": plan, "spent/total": plan}
	checkGauges(t, reader, "during the run", want)

	close(p.block)
	v := waitRun(t, o, first.ID)
	want["spent/run"], want["spent/total"] = 0, v.CostUSD
	checkGauges(t, reader, "after the run", want)
	if v.CostUSD <= plan {
		t.Errorf("run cost $%v", v.CostUSD)
	}
}

// checkGauges waits up to 10 s for the budget gauges to read want (a run
// leaves the gauges just after its state is final).
func checkGauges(t *testing.T, reader *sdkmetric.ManualReader, when string, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := gauges(t, reader)
		var diff []string
		for k, w := range want {
			if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-9 {
				diff = append(diff, fmt.Sprintf("%s = %v (%v), want %v", k, g, ok, w))
			}
		}
		if len(diff) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: budget %s; all: %v", when, strings.Join(diff, ", "), got)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gauges reads the budget gauges by kind/scope.
func gauges(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			kind, ok := map[string]string{BudgetLimitName: "limit", BudgetSpentName: "spent"}[m.Name]
			if !ok {
				continue
			}
			for _, dp := range m.Data.(metricdata.Gauge[float64]).DataPoints {
				scope, _ := dp.Attributes.Value("scope")
				if dp.Attributes.Len() != 1 {
					t.Errorf("%s has attributes %v", m.Name, dp.Attributes.ToSlice())
				}
				got[kind+"/"+scope.AsString()] = dp.Value
			}
		}
	}
	return got
}

func sumInt(t *testing.T, reader *sdkmetric.ManualReader, name string, attr attribute.KeyValue) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if v, ok := dp.Attributes.Value(attr.Key); ok && v == attr.Value {
					n += dp.Value
				}
			}
		}
	}
	return n
}
