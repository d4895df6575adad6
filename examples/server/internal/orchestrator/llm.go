package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// llm calls a provider through llmmetrics, retrying rate limits, server
// errors and timeouts up to LLMAttempts times with backoff (a Retry-After
// wins). Each attempt is its own measured call, which reserves its worst
// case against the budgets before it starts and settles to its cost after.
func (o *Orchestrator) llm(ctx context.Context, r *Run, p provider.Provider, ref ModelRef, req provider.Request) (provider.Response, error) {
	req.Model = ref.Model
	var last error
	for attempt := 1; attempt <= o.cfg.LLMAttempts; attempt++ {
		worst, priced := o.worstCase(p, req)
		if !priced && o.budget.limited() { // Submit refuses such runs; a provider renamed since?
			return provider.Response{}, fmt.Errorf("%w: %w", &UnpricedModelError{Model: ModelRef{Provider: p.Name(), Model: req.Model}}, ErrBudgetExceeded)
		}
		hold, err := o.budget.reserve(r, worst)
		if err != nil {
			return provider.Response{}, err
		}
		resp, cost, err := o.callOnce(ctx, r, p, req)
		hold.settle(cost)
		if err == nil {
			return resp, nil
		}
		last = err
		switch llmmetrics.Classify(err) {
		case llmmetrics.ErrorRateLimited, llmmetrics.ErrorServer, llmmetrics.ErrorTimeout:
		default:
			return provider.Response{}, err
		}
		if ctx.Err() != nil || attempt == o.cfg.LLMAttempts {
			break
		}
		delay := min(o.cfg.BackoffBase<<(attempt-1), 30*time.Second)
		var rl *provider.RateLimitError
		if errors.As(err, &rl) && rl.RetryAfter > 0 {
			delay = rl.RetryAfter
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return provider.Response{}, fmt.Errorf("%w (after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
	return provider.Response{}, fmt.Errorf("LLM call failed after %d attempts: %w", o.cfg.LLMAttempts, last)
}

// PurposeKey is the span attribute that says what an LLM call is for: plan,
// code or resolve.
const PurposeKey = attribute.Key("agent_orchestrator.llm.purpose")

// callOnce is one measured provider call; it returns its cost, which the
// caller settles. A provider whose SDK records its calls
// (provider.SelfRecording) is not recorded again here; its span gets the
// purpose from the context.
func (o *Orchestrator) callOnce(ctx context.Context, r *Run, p provider.Provider, req provider.Request) (resp provider.Response, costUSD float64, err error) {
	// Every call is a chat to the conventions; what it is for here
	// (planning, writing a file, resolving a conflict) is the app's own
	// attribute.
	purpose := PurposeKey.String(string(req.Purpose))
	var res llmmetrics.Result
	if sr, ok := p.(provider.SelfRecording); ok && sr.RecordsCalls() {
		resp, err = p.Complete(llmmetrics.ContextWithSpanAttributes(ctx, purpose), req)
		price, priced := o.in.LLM.Price(p.Name(), req.Model)
		res = llmmetrics.Result{CostUSD: price.Cost(resp.Usage), Priced: priced}
	} else {
		var call *llmmetrics.CallOp
		ctx, call = o.in.LLM.StartCall(ctx, llmmetrics.Request{Provider: p.Name(), Model: req.Model})
		trace.SpanFromContext(ctx).SetAttributes(purpose)
		resp, err = p.Complete(ctx, req)
		if err == nil {
			call.SetUsage(resp.Usage)
			call.SetResponseModel(resp.Model)
		}
		res = call.End(&err)
	}
	r.mu.Lock()
	r.llmCalls++
	if err != nil {
		r.llmErrors++
	}
	r.tokensIn += resp.Usage.InputTokens
	r.tokensOut += resp.Usage.OutputTokens
	if !res.Priced {
		r.unpriced++
	}
	r.mu.Unlock()
	return resp, res.CostUSD, err
}
