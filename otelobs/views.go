package otelobs

import (
	"context"
	"slices"
	"sort"
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
// most one exemplar per counter sample and per bucket. The views below size
// them to what is used:
//   - counters keep their latest exemplar;
//   - explicit-bucket histograms keep the latest exemplar of each bucket that
//     has had a measurement, allocating a slot when a bucket is first hit
//     (client_golang's behaviour), instead of one per bucket up front;
//   - up-down counters keep none: Prometheus shows no exemplar on a gauge,
//     on either path, so a sampled measurement would pay for nothing.
//
// An application's own view (WithView) that matches an instrument makes its
// only stream; it keeps these reservoirs unless it sets its own selector
// (withReservoirs), so that a view that only changes buckets does not lose
// them.
//
// The reservoirs take no lock of their own: the SDK serialises Offer and
// Collect on each reservoir (its filtered reservoir holds a mutex for any
// reservoir that does not embed reservoir.ConcurrentSafe, an interface
// internal to the SDK), so a second lock only made every sampled
// measurement lock twice.
// ReservoirViews returns the views that give a MeterProvider Setup's
// exemplar reservoirs, for an SDK set up by hand (pass them to
// sdkmetric.WithView, after none of your own): own are the application's
// views, which keep these reservoirs unless they choose their own, and the
// last view gives them to every other counter, up-down counter and
// histogram.
//
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r),
//		sdkmetric.WithView(otelobs.ReservoirViews(myViews...)...))
func ReservoirViews(own ...sdkmetric.View) []sdkmetric.View {
	return append(withReservoirs(own), reservoirView(own))
}

func reservoirView(user []sdkmetric.View) sdkmetric.View {
	return func(inst sdkmetric.Instrument) (sdkmetric.Stream, bool) {
		sel := reservoirsFor(inst.Kind)
		if sel == nil {
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

// withReservoirs gives the streams of the application's views the
// reservoirs above, unless a view chose its own.
func withReservoirs(user []sdkmetric.View) []sdkmetric.View {
	out := make([]sdkmetric.View, len(user))
	for i, v := range user {
		out[i] = func(inst sdkmetric.Instrument) (sdkmetric.Stream, bool) {
			s, ok := v(inst)
			if ok && s.ExemplarReservoirProviderSelector == nil {
				s.ExemplarReservoirProviderSelector = reservoirsFor(inst.Kind)
			}
			return s, ok
		}
	}
	return out
}

// reservoirsFor is the reservoir selector for an instrument kind, nil for
// the SDK's default.
func reservoirsFor(k sdkmetric.InstrumentKind) sdkmetric.ExemplarReservoirProviderSelector {
	switch k {
	case sdkmetric.InstrumentKindCounter:
		return oneExemplar
	case sdkmetric.InstrumentKindUpDownCounter:
		return noExemplar
	case sdkmetric.InstrumentKindHistogram:
		return sparseHistogramSelector
	}
	return nil
}

// noExemplar keeps no exemplar. (The SDK's own drop reservoir is internal;
// this one costs the filter's check and an empty call.)
func noExemplar(sdkmetric.Aggregation) exemplar.ReservoirProvider {
	return func(attribute.Set) exemplar.Reservoir { return dropReservoir{} }
}

type dropReservoir struct{}

func (dropReservoir) Offer(context.Context, time.Time, exemplar.Value, []attribute.KeyValue) {}
func (dropReservoir) Collect(dest *[]exemplar.Exemplar)                                      { *dest = (*dest)[:0] }

// oneExemplar keeps the latest exemplar per series. The latest, rather than
// the SDK's random pick among a collection interval's measurements, so that
// the exemplar on a counter always leads to its most recent increment (the
// run that just happened), as client_golang's exemplars do.
func oneExemplar(sdkmetric.Aggregation) exemplar.ReservoirProvider {
	return func(attribute.Set) exemplar.Reservoir { return &latestReservoir{} }
}

// latestReservoir keeps the latest measurement made in a sampled span.
type latestReservoir struct {
	ex  bucketExemplar
	set bool
}

// Offer implements exemplar.Reservoir.
func (r *latestReservoir) Offer(ctx context.Context, t time.Time, v exemplar.Value, attrs []attribute.KeyValue) {
	r.ex, r.set = bucketExemplar{attrs: attrs, time: t, value: v, span: trace.SpanContextFromContext(ctx)}, true
}

// Collect implements exemplar.Reservoir; the exemplar is kept.
func (r *latestReservoir) Collect(dest *[]exemplar.Exemplar) {
	*dest = (*dest)[:0]
	if r.set {
		*dest = append(*dest, r.ex.exemplar())
	}
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
	out := (*dest)[:0]
	for _, s := range r.slots {
		out = append(out, s.exemplar())
	}
	*dest = out
}

func (e bucketExemplar) exemplar() exemplar.Exemplar {
	ex := exemplar.Exemplar{FilteredAttributes: e.attrs, Time: e.time, Value: e.value}
	if e.span.HasTraceID() {
		id := e.span.TraceID()
		ex.TraceID = id[:]
	}
	if e.span.HasSpanID() {
		id := e.span.SpanID()
		ex.SpanID = id[:]
	}
	return ex
}
