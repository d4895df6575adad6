package taskmetrics_test

import (
	"context"
	"errors"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// runTask executes a task with up to maxRetries retries.
func runTask(ctx context.Context, task *taskmetrics.Task, maxRetries int, work func() error) error {
	for {
		_, exec, err := task.Start(ctx, "coder-1")
		if err != nil {
			return err
		}
		err = work()
		if err != nil && task.Retries() < int64(maxRetries) {
			exec.Retry(err)
			continue
		}
		exec.End(&err)
		return err
	}
}

func ExampleTask() {
	reader := sdkmetric.NewManualReader()
	m, _ := taskmetrics.New(taskmetrics.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	ctx := context.Background()

	attempts := 0
	flaky := func() error {
		if attempts++; attempts < 3 {
			return errors.New("tests failed")
		}
		return nil
	}
	task := m.NewTask(ctx, taskmetrics.TaskInfo{ID: "t1", RunID: "run-1", Profile: taskmetrics.Coder})
	_ = task.Ready(ctx)
	err := runTask(ctx, task, 3, flaky)
	fmt.Println("state:", task.State(), "retries:", task.Retries(), "err:", err)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, im := range rm.ScopeMetrics[0].Metrics {
		if im.Name == taskmetrics.CompletionName {
			for _, status := range []string{"success", "failure"} {
				for _, dp := range im.Data.(metricdata.Sum[int64]).DataPoints {
					if v, _ := dp.Attributes.Value(taskmetrics.StatusKey); v.AsString() == status {
						fmt.Printf("task_completion_total{status=%q,worker_profile=\"coder\"} %d\n", status, dp.Value)
					}
				}
			}
		}
	}
	// Output:
	// state: complete retries: 2 err: <nil>
	// task_completion_total{status="success",worker_profile="coder"} 1
	// task_completion_total{status="failure",worker_profile="coder"} 2
}
