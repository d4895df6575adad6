package llmmetrics

import (
	"context"
	"log/slog"
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
//	go test -run '^$' -bench . -count 10 ./otelobs/llmmetrics/ | tee new.txt && benchstat new.txt
//
// "otelobs" records a call of a model already seen (a label-cache hit);
// "raw" makes the same OTel SDK calls with option slices precomputed by hand,
// in the same run. Both run inside a sampled span, so exemplars are taken.

var benchReq = Request{Provider: "openai", Model: "gpt-4o"}
var benchUsage = Usage{InputTokens: 1200, OutputTokens: 300}

func benchMetrics(b *testing.B, mp metric.MeterProvider) *Metrics {
	m, err := New(WithMeterProvider(mp), WithTracerProvider(sdktrace.NewTracerProvider()),
		WithPrices(DefaultPrices()), WithConventions(ConventionsV141), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkRecordCall(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	ctx, span := sdktrace.NewTracerProvider().Tracer("b").Start(context.Background(), "task")
	defer span.End()
	b.Run("otelobs", func(b *testing.B) {
		m := benchMetrics(b, mp)
		b.ReportAllocs()
		for b.Loop() {
			m.RecordCall(ctx, benchReq, benchUsage, time.Second, nil)
		}
	})
	b.Run("raw", func(b *testing.B) {
		meter := mp.Meter("raw")
		requests, _ := meter.Int64Counter("raw.requests")
		dur, _ := meter.Float64Histogram("raw.duration", metric.WithExplicitBucketBoundaries(DurationBuckets...))
		tokens, _ := meter.Int64Counter("raw.tokens")
		byType, _ := meter.Int64Counter("raw.tokens.by_type")
		cost, _ := meter.Float64Counter("raw.cost")
		gDur, _ := meter.Float64Histogram("raw.gen_ai.duration", metric.WithExplicitBucketBoundaries(DurationBuckets...))
		gTok, _ := meter.Int64Histogram("raw.gen_ai.tokens", metric.WithExplicitBucketBoundaries(TokenBuckets...))
		p, m := ProviderKey.String("openai"), ModelKey.String("gpt-4o")
		opts := func(kv ...attribute.KeyValue) ([]metric.AddOption, []metric.RecordOption) {
			o := metric.WithAttributeSet(attribute.NewSet(kv...))
			return []metric.AddOption{o}, []metric.RecordOption{o}
		}
		base, _ := opts(p, m)
		_, success := opts(p, m, OutcomeKey.String("success"))
		in, _ := opts(p, m, TokenTypeKey.String("input"))
		out, _ := opts(p, m, TokenTypeKey.String("output"))
		g := []attribute.KeyValue{semconv.GenAIOperationNameChat, semconv.GenAIProviderNameOpenAI, semconv.GenAIRequestModel("gpt-4o")}
		_, gd := opts(g...)
		_, gin := opts(append(g, semconv.GenAITokenTypeInput)...)
		_, gout := opts(append(g, semconv.GenAITokenTypeOutput)...)
		price, _ := DefaultPrices().Lookup("openai", "gpt-4o")
		b.ReportAllocs()
		for b.Loop() {
			requests.Add(ctx, 1, base...)
			dur.Record(ctx, 1, success...)
			tokens.Add(ctx, 1500, base...)
			byType.Add(ctx, 1200, in...)
			byType.Add(ctx, 300, out...)
			cost.Add(ctx, price.Cost(benchUsage), base...)
			gDur.Record(ctx, 1, gd...)
			gTok.Record(ctx, 1200, gin...)
			gTok.Record(ctx, 300, gout...)
		}
	})
}

// BenchmarkCall: a whole call op, span included.
func BenchmarkCall(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	m := benchMetrics(b, mp)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, call := m.StartCall(ctx, benchReq)
		call.SetUsage(benchUsage)
		call.End(nil)
	}
}
