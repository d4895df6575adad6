package otelobs

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/trace"
)

// The SDK's default exemplar reservoirs are allocated up front for every
// series: GOMAXPROCS slots per counter, and one slot (with its own lock and
// sampler) per bucket of every histogram series. That makes an OTel series
// cost more memory than a client_golang one, although Prometheus keeps at
// most one exemplar per counter sample and per bucket. reservoirView sizes
// them to what is used:
//   - counters and up-down counters keep one exemplar;
//   - explicit-bucket histograms keep the latest exemplar of each bucket that
//     has had a measurement, allocating a slot when a bucket is first hit
//     (client_golang's behaviour), instead of one per bucket up front.
//
// Instruments that one of the application's own views (WithView) matches are
// left to that view.
func reservoirView(user []sdkmetric.View) sdkmetric.View {
	return func(inst sdkmetric.Instrument) (sdkmetric.Stream, bool) {
		var sel sdkmetric.ExemplarReservoirProviderSelector
		switch inst.Kind {
		case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindUpDownCounter:
			sel = oneExemplar
		case sdkmetric.InstrumentKindHistogram:
			sel = sparseHistogramSelector
		default:
			return sdkmetric.Stream{}, false
		}
		for _, v := range user {
			if _, ok := v(inst); ok {
				return sdkmetric.Stream{}, false
			}
		}
		return sdkmetric.Stream{
			Name:                              inst.Name,
			Description:                       inst.Description,
			Unit:                              inst.Unit,
			ExemplarReservoirProviderSelector: sel,
		}, true
	}
}

// oneExemplar keeps one exemplar per series.
func oneExemplar(sdkmetric.Aggregation) exemplar.ReservoirProvider {
	return exemplar.FixedSizeReservoirProvider(1)
}

// sparseHistogramSelector gives explicit-bucket histograms a
// sparseHistogramReservoir, and anything else the SDK's default.
func sparseHistogramSelector(agg sdkmetric.Aggregation) exemplar.ReservoirProvider {
	a, ok := agg.(sdkmetric.AggregationExplicitBucketHistogram)
	if !ok || len(a.Boundaries) == 0 {
		return sdkmetric.DefaultExemplarReservoirProviderSelector(agg)
	}
	bounds := slices.Clone(a.Boundaries)
	slices.Sort(bounds)
	return func(attribute.Set) exemplar.Reservoir { return &sparseHistogramReservoir{bounds: bounds} }
}

// sparseHistogramReservoir keeps the latest exemplar of each bucket that has
// had a measurement.
type sparseHistogramReservoir struct {
	bounds []float64
	mu     sync.Mutex
	slots  []bucketExemplar
}

type bucketExemplar struct {
	bucket int
	attrs  []attribute.KeyValue
	time   time.Time
	value  exemplar.Value
	span   trace.SpanContext
}

// Offer implements exemplar.Reservoir.
func (r *sparseHistogramReservoir) Offer(ctx context.Context, t time.Time, v exemplar.Value, attrs []attribute.KeyValue) {
	var n float64
	switch v.Type() {
	case exemplar.Int64ValueType:
		n = float64(v.Int64())
	case exemplar.Float64ValueType:
		n = v.Float64()
	default:
		return
	}
	e := bucketExemplar{bucket: sort.SearchFloat64s(r.bounds, n), attrs: attrs, time: t, value: v,
		span: trace.SpanContextFromContext(ctx)}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.slots {
		if r.slots[i].bucket == e.bucket {
			r.slots[i] = e
			return
		}
	}
	r.slots = append(r.slots, e)
}

// Collect implements exemplar.Reservoir; the exemplars are kept.
func (r *sparseHistogramReservoir) Collect(dest *[]exemplar.Exemplar) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := (*dest)[:0]
	for _, s := range r.slots {
		ex := exemplar.Exemplar{FilteredAttributes: s.attrs, Time: s.time, Value: s.value}
		if s.span.HasTraceID() {
			id := s.span.TraceID()
			ex.TraceID = id[:]
		}
		if s.span.HasSpanID() {
			id := s.span.SpanID()
			ex.SpanID = id[:]
		}
		out = append(out, ex)
	}
	*dest = out
}
