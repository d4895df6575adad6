package gitmetrics_test

import (
	"context"
	"fmt"
	"sync"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
)

// mergeBranch shows the pattern: time the lock wait, then the merge, and end
// the op with the function's named error result.
func mergeBranch(ctx context.Context, m *gitmetrics.Metrics, mu *sync.Mutex, branch string, conflict bool) (err error) {
	w := m.StartLockWait(ctx)
	mu.Lock()
	w.End()
	defer mu.Unlock()

	ctx, op := m.StartMerge(ctx, gitmetrics.MergeInfo{Repository: "workspace", Base: "main", Head: branch})
	defer op.End(&err) // err is the named result: End reads its final value

	_ = ctx // run git with ctx here
	if conflict {
		return fmt.Errorf("merge %s: %w", branch, gitmetrics.ErrConflict)
	}
	return nil
}

func ExampleMetrics_StartMerge() {
	reader := sdkmetric.NewManualReader()
	m, err := gitmetrics.New(gitmetrics.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		fmt.Println(err)
		return
	}
	var mu sync.Mutex
	ctx := context.Background()
	_ = mergeBranch(ctx, m, &mu, "worker/coder-1", false)
	_ = mergeBranch(ctx, m, &mu, "worker/coder-2", true)
	_ = mergeBranch(ctx, m, &mu, "worker/tester-1", false)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, im := range rm.ScopeMetrics[0].Metrics {
		if im.Name != gitmetrics.MergeCountName {
			continue
		}
		for _, r := range []gitmetrics.Result{gitmetrics.ResultSuccess, gitmetrics.ResultConflict} {
			for _, dp := range im.Data.(metricdata.Sum[int64]).DataPoints {
				if v, _ := dp.Attributes.Value(gitmetrics.ResultKey); v.AsString() == string(r) {
					fmt.Printf("git_merge_total{result=%q} %d\n", r, dp.Value)
				}
			}
		}
	}
	// Output:
	// git_merge_total{result="success"} 2
	// git_merge_total{result="conflict"} 1
}
