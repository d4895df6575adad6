// Misuse: a merge op copied.
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

func merge(ctx context.Context, m *gitmetrics.Metrics) {
	_, op := m.StartMerge(ctx, gitmetrics.MergeInfo{})
	cp := *op
	cp.MarkConflict()
	op.End(nil)
}
