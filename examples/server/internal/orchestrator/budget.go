package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// The budget gauges, in US dollars (the unit is in the name, as in
// llm.cost.dollars), each with a scope attribute: run or total.
const (
	// BudgetLimitName is the cap: ORCH_RUN_BUDGET_USD for scope=run,
	// ORCH_TOTAL_BUDGET_USD for scope=total; absent when there is none.
	BudgetLimitName = "agentorch.budget.limit.dollars"
	// BudgetSpentName is the settled LLM cost: of the costliest run in
	// progress for scope=run (0 when none runs), of the process for
	// scope=total.
	BudgetSpentName = "agentorch.budget.spent.dollars"
)

var (
	scopeRun   = metric.WithAttributeSet(attribute.NewSet(attribute.String("scope", "run")))
	scopeTotal = metric.WithAttributeSet(attribute.NewSet(attribute.String("scope", "total")))
)

// UnpricedModelError is Submit's refusal of a run whose director or worker
// model has no price while a budget is set: its calls' worst case is
// unknown, so no budget could bound them, and counting them as free would
// let them spend without limit.
type UnpricedModelError struct {
	// Role is "director" or "worker".
	Role  string
	Model ModelRef
}

// Error implements error.
func (e *UnpricedModelError) Error() string {
	return fmt.Sprintf("model %s of provider %s has no price, so the LLM budget cannot bound its cost: "+
		"price it in a file named by OTELOBS_LLM_PRICES_FILE, or set ORCH_RUN_BUDGET_USD and ORCH_TOTAL_BUDGET_USD to 0",
		e.Model.Model, e.Model.Provider)
}

// budgets holds the LLM spend of the process and of each run in progress,
// and what the calls in flight have reserved, under one lock. A call
// reserves its worst case against both budgets before it starts and
// settles to its real cost when it ends, so concurrent calls cannot
// together pass a budget; only a call that costs more than its worst case
// (a prompt of more tokens than estimated) can, by that difference.
type budgets struct {
	runLimit, totalLimit float64

	mu       sync.Mutex
	spent    float64 // settled, by the process
	reserved float64 // held by the process's calls in flight
	inFlight int
	runs     map[*Run]*runBudget // runs in progress
}

// runBudget is one run's share of budgets.
type runBudget struct {
	spent, reserved float64
	inFlight        int
}

// reservation is one call's hold on the budgets, settled once.
type reservation struct {
	b   *budgets
	r   *Run
	rb  *runBudget
	usd float64
}

func newBudgets(runLimit, totalLimit float64) *budgets {
	return &budgets{runLimit: runLimit, totalLimit: totalLimit, runs: map[*Run]*runBudget{}}
}

// limited reports whether any budget is set.
func (b *budgets) limited() bool { return b.runLimit > 0 || b.totalLimit > 0 }

// start registers a run in progress.
func (b *budgets) start(r *Run) {
	b.mu.Lock()
	b.runs[r] = &runBudget{}
	b.mu.Unlock()
}

// end forgets a finished run; what it spent stays in the process's total.
func (b *budgets) end(r *Run) {
	b.mu.Lock()
	delete(b.runs, r)
	b.mu.Unlock()
}

// reserve holds worst against the run's and the process's budgets, or
// refuses with ErrBudgetExceeded if either would be passed by it on top of
// what is spent and held.
func (b *budgets) reserve(r *Run, worst float64) (*reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rb := b.runs[r]
	if rb == nil { // not started through Submit
		rb = &runBudget{}
		b.runs[r] = rb
	}
	if l := b.runLimit; l > 0 && rb.spent+rb.reserved+worst > l {
		return nil, fmt.Errorf("run budget $%.2f: spent $%.4f, $%.4f held by calls in flight, next call up to $%.4f: %w",
			l, rb.spent, rb.reserved, worst, ErrBudgetExceeded)
	}
	if l := b.totalLimit; l > 0 && b.spent+b.reserved+worst > l {
		return nil, fmt.Errorf("process budget $%.2f: spent $%.4f, $%.4f held by calls in flight, next call up to $%.4f: %w",
			l, b.spent, b.reserved, worst, ErrBudgetExceeded)
	}
	rb.reserved += worst
	rb.inFlight++
	b.reserved += worst
	b.inFlight++
	return &reservation{b: b, r: r, rb: rb, usd: worst}, nil
}

// settle releases the reservation and spends cost instead (0 for a call
// that failed before it used anything).
func (res *reservation) settle(cost float64) {
	b, rb := res.b, res.rb
	b.mu.Lock()
	defer b.mu.Unlock()
	rb.reserved -= res.usd
	if rb.inFlight--; rb.inFlight == 0 {
		rb.reserved = 0 // no drift from float sums
	}
	b.reserved -= res.usd
	if b.inFlight--; b.inFlight == 0 {
		b.reserved = 0
	}
	rb.spent += cost
	b.spent += cost
	res.r.mu.Lock()
	res.r.costUSD += cost
	res.r.mu.Unlock()
}

// spentUSD is the process's settled cost.
func (b *budgets) spentUSD() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent
}

// held is what the calls in flight have reserved.
func (b *budgets) held() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reserved
}

// register adds the budget gauges to meter.
func (b *budgets) register(meter metric.Meter) error {
	limit, err1 := meter.Float64ObservableGauge(BudgetLimitName,
		metric.WithDescription("LLM cost cap in US dollars: of one run (scope=run) or of the process (scope=total); absent when there is none."))
	spent, err2 := meter.Float64ObservableGauge(BudgetSpentName,
		metric.WithDescription("LLM cost in US dollars, settled: of the costliest run in progress (scope=run) or of the process (scope=total)."))
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.runLimit > 0 {
			o.ObserveFloat64(limit, b.runLimit, scopeRun)
		}
		if b.totalLimit > 0 {
			o.ObserveFloat64(limit, b.totalLimit, scopeTotal)
		}
		var most float64
		for _, rb := range b.runs {
			most = max(most, rb.spent)
		}
		o.ObserveFloat64(spent, most, scopeRun)
		o.ObserveFloat64(spent, b.spent, scopeTotal)
		return nil
	}, limit, spent)
	return err
}

// worstCase is the most a call can cost: its prompt (about four characters
// a token) at the input price and MaxTokens of output at the output price.
// priced is false for a model with no price.
func (o *Orchestrator) worstCase(p provider.Provider, req provider.Request) (usd float64, priced bool) {
	price, priced := o.in.LLM.Price(p.Name(), req.Model)
	return price.Cost(llmmetrics.Usage{
		InputTokens:  int64(len(req.System)+len(req.Prompt)+3) / 4,
		OutputTokens: int64(req.MaxTokens),
	}), priced
}

// checkPriced refuses a run on an unpriced model while a budget is set.
func (o *Orchestrator) checkPriced(spec Spec) error {
	if !o.budget.limited() {
		return nil
	}
	for _, m := range []struct {
		role string
		ref  ModelRef
	}{{"director", spec.Director}, {"worker", spec.Worker}} {
		if _, ok := o.in.LLM.Price(m.ref.Provider, m.ref.Model); !ok {
			return &UnpricedModelError{Role: m.role, Model: m.ref}
		}
	}
	return nil
}
