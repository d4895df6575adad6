package taskmetrics

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// Run with:
//
//	go test -run '^$' -bench . -count 10 ./otelobs/taskmetrics/ | tee new.txt && benchstat new.txt
//
// Each "otelobs" case has a "raw" twin making the same OTel SDK calls with
// precomputed option slices, in the same run.

// BenchmarkTaskLifecycle: one task from planned to complete, with its
// execution span.
func BenchmarkTaskLifecycle(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	ctx := context.Background()
	b.Run("otelobs", func(b *testing.B) {
		m, _ := New(WithMeterProvider(mp), WithTracerProvider(tp))
		b.ReportAllocs()
		for b.Loop() {
			task := m.NewTask(ctx, TaskInfo{ID: "t", Profile: Coder})
			_ = task.Ready(ctx)
			_, exec, _ := task.Start(ctx, "")
			exec.End(nil)
		}
	})
	b.Run("raw", func(b *testing.B) {
		meter := mp.Meter("raw")
		states, _ := meter.Int64UpDownCounter("raw.task.states")
		active, _ := meter.Int64UpDownCounter("raw.active_tasks")
		dur, _ := meter.Float64Histogram("raw.task.execution.duration", metric.WithExplicitBucketBoundaries(ExecutionDurationBuckets...))
		comp, _ := meter.Int64Counter("raw.task.completion")
		retries, _ := meter.Int64Histogram("raw.task.retry.count", metric.WithExplicitBucketBoundaries(RetryCountBuckets...))
		st := func(s string) []metric.AddOption {
			return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("state", s)))}
		}
		planned, ready, act, complete := st("planned"), st("ready"), st("active"), st("complete")
		prof := metric.WithAttributeSet(attribute.NewSet(attribute.String("worker_profile", "coder")))
		ps := metric.WithAttributeSet(attribute.NewSet(attribute.String("worker_profile", "coder"), attribute.String("status", "success")))
		profAdd, profRec := []metric.AddOption{prof}, []metric.RecordOption{prof}
		psAdd, psRec := []metric.AddOption{ps}, []metric.RecordOption{ps}
		tracer := tp.Tracer("raw")
		b.ReportAllocs()
		for b.Loop() {
			states.Add(ctx, 1, planned...)
			states.Add(ctx, 1, ready...)
			states.Add(ctx, -1, planned...)
			states.Add(ctx, 1, act...)
			states.Add(ctx, -1, ready...)
			sctx, span := tracer.Start(ctx, "task.execute")
			span.SetAttributes(semconv.CICDPipelineTaskRunID("t"), semconv.CICDPipelineTaskName(""),
				semconv.CICDPipelineRunID(""), profileSpanKey.String("coder"), attemptSpanKey.Int64(1))
			active.Add(sctx, 1, profAdd...)
			start := time.Now()
			states.Add(sctx, 1, complete...)
			states.Add(sctx, -1, act...)
			dur.Record(sctx, time.Since(start).Seconds(), psRec...)
			comp.Add(sctx, 1, psAdd...)
			active.Add(sctx, -1, profAdd...)
			retries.Record(sctx, 0, profRec...)
			span.SetAttributes(semconv.CICDPipelineTaskRunResultSuccess)
			span.End()
		}
	})
}
