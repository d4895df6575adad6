// Misuse: defer op.End(err) records the error of the defer line.
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

func merge(ctx context.Context, m *gitmetrics.Metrics) (err error) {
	_, op := m.StartMerge(ctx, gitmetrics.MergeInfo{})
	defer op.End(err)
	return gitmetrics.ErrConflict
}
