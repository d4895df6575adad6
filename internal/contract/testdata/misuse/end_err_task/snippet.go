// Misuse: a task attempt ended with a stale error.
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

func run(ctx context.Context, t *taskmetrics.Task) (err error) {
	_, exec, err := t.Start(ctx, "w")
	defer exec.End(err)
	return nil
}
