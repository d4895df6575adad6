// Misuse: defer call.End(err) loses the usage set later.
// go build must refuse it with: cannot use err (variable of interface type error) as *error value

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

func call(ctx context.Context, m *llmmetrics.Metrics) (err error) {
	_, c := m.StartCall(ctx, llmmetrics.Request{Provider: "openai", Model: "gpt-4o"})
	defer c.End(err)
	c.SetUsage(llmmetrics.Usage{InputTokens: 10})
	return nil
}
