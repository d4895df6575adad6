// Misuse: SetUsage or RateLimited on a copy.
// go vet must refuse it with: copies lock value

package snippet

import (
	"context"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

var (
	_ = gitmetrics.New
	_ = llmmetrics.New
	_ = taskmetrics.New
	_ context.Context
)

func call(ctx context.Context, m *llmmetrics.Metrics) {
	_, c := m.StartCall(ctx, llmmetrics.Request{Provider: "openai", Model: "gpt-4o"})
	cp := *c
	cp.RateLimited()
	c.End(nil)
}
