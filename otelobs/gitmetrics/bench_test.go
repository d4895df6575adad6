package gitmetrics

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Run with:
//
//	go test -run '^$' -bench . -count 10 ./otelobs/gitmetrics/ | tee new.txt && benchstat new.txt
//
// Each "otelobs" case has a "raw" twin making the same OTel SDK calls with
// precomputed option slices, in the same run.

func benchProviders() (*sdkmetric.MeterProvider, *sdktrace.TracerProvider) {
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())),
		sdktrace.NewTracerProvider()
}

var info = MergeInfo{Repository: "workspace", Base: "main", Head: "worker/coder-1"}

// BenchmarkMerge: a whole merge op (span, active gauge, duration, result).
func BenchmarkMerge(b *testing.B) {
	mp, tp := benchProviders()
	b.Run("otelobs", func(b *testing.B) {
		m, _ := New(WithMeterProvider(mp), WithTracerProvider(tp))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, op := m.StartMerge(ctx, info)
			op.End(nil)
		}
	})
	b.Run("raw", func(b *testing.B) {
		meter := mp.Meter("raw")
		dur, _ := meter.Float64Histogram("raw.merge.duration", metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(MergeDurationBuckets...))
		merges, _ := meter.Int64Counter("raw.merge")
		active, _ := meter.Int64UpDownCounter("raw.active_merges")
		set := metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "success")))
		rec, add := []metric.RecordOption{set}, []metric.AddOption{set}
		tracer := tp.Tracer("raw")
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			sctx, span := tracer.Start(ctx, "git.merge")
			span.SetAttributes(semconv.VCSRepositoryName(info.Repository), semconv.VCSRefBaseName(info.Base),
				semconv.VCSRefHeadName(info.Head))
			start := time.Now()
			active.Add(sctx, 1)
			dur.Record(sctx, time.Since(start).Seconds(), rec...)
			merges.Add(sctx, 1, add...)
			active.Add(sctx, -1)
			span.SetAttributes(resultSpanKey.String("success"), conflictSpanKey.Bool(false))
			span.End()
		}
	})
	b.Run("otelobs-noop", func(b *testing.B) {
		m, _ := New(WithMeterProvider(metricnoop.NewMeterProvider()), WithTracerProvider(tracenoop.NewTracerProvider()))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, op := m.StartMerge(ctx, info)
			op.End(nil)
		}
	})
}

// BenchmarkRecordMerge: the metrics-only path inside a sampled span (the
// exemplar path), against the raw SDK calls.
func BenchmarkRecordMerge(b *testing.B) {
	mp, tp := benchProviders()
	ctx, span := tp.Tracer("bench").Start(context.Background(), "run")
	defer span.End()
	b.Run("otelobs", func(b *testing.B) {
		m, _ := New(WithMeterProvider(mp), WithTracerProvider(tp))
		b.ReportAllocs()
		for b.Loop() {
			m.RecordMerge(ctx, ResultConflict, time.Second)
		}
	})
	b.Run("raw", func(b *testing.B) {
		meter := mp.Meter("raw")
		dur, _ := meter.Float64Histogram("raw.merge.duration", metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(MergeDurationBuckets...))
		merges, _ := meter.Int64Counter("raw.merge")
		set := metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "conflict")))
		rec, add := []metric.RecordOption{set}, []metric.AddOption{set}
		b.ReportAllocs()
		for b.Loop() {
			dur.Record(ctx, time.Second.Seconds(), rec...)
			merges.Add(ctx, 1, add...)
		}
	})
}

// BenchmarkLockWait: a lock wait op inside a sampled span.
func BenchmarkLockWait(b *testing.B) {
	mp, tp := benchProviders()
	ctx, span := tp.Tracer("bench").Start(context.Background(), "run")
	defer span.End()
	b.Run("otelobs", func(b *testing.B) {
		m, _ := New(WithMeterProvider(mp), WithTracerProvider(tp))
		b.ReportAllocs()
		for b.Loop() {
			m.StartLockWait(ctx).End()
		}
	})
	b.Run("raw", func(b *testing.B) {
		h, _ := mp.Meter("raw").Float64Histogram("raw.lock.wait", metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(LockWaitBuckets...))
		b.ReportAllocs()
		for b.Loop() {
			start := time.Now()
			h.Record(ctx, time.Since(start).Seconds())
		}
	})
}
