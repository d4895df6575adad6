// Package otelobstest records OpenTelemetry metrics and spans in memory for
// the tests of code instrumented with the otelobs domain packages (or any
// code on the OTel API), and looks up what was recorded:
//
//	tel := otelobstest.New(t)
//	git, _ := gitmetrics.New(gitmetrics.WithMeterProvider(tel.MeterProvider()),
//		gitmetrics.WithTracerProvider(tel.TracerProvider()))
//	mergeBranch(ctx, git) // the code under test
//	if n := tel.Value("git.merge", attribute.String("result", "conflict")); n != 1 { … }
//	span := tel.Span("git.merge")
//	ex := tel.Exemplars("git.merge.duration") // lead to span.TraceID
//
// The set-up reads no environment and touches no global. It samples every
// span and keeps exemplars as otelobs.Setup does (the latest per counter
// series and per histogram bucket), so what a test sees is what
// Prometheus would. Look-ups name instruments by their OTel names
// (git.merge.duration, not git_merge_duration_seconds) and series by their
// exact attribute sets; a look-up that finds nothing fails the test with
// the series there are.
package otelobstest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs"
)

// TB is the part of testing.TB the look-ups use; a *testing.T, *testing.B
// or *testing.F is one.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Telemetry is an in-memory set-up: a MeterProvider read on demand and a
// TracerProvider that records every span. It is safe for concurrent use.
type Telemetry struct {
	tb     TB
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	tp     *sdktrace.TracerProvider
	spans  *tracetest.SpanRecorder
}

// New returns a set-up that is shut down when the test ends. views are the
// application's own views, if its code under test relies on some.
func New(tb TB, views ...sdkmetric.View) *Telemetry {
	tb.Helper()
	t := &Telemetry{tb: tb, reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(t.reader),
		sdkmetric.WithExemplarFilter(exemplar.TraceBasedFilter),
		sdkmetric.WithView(otelobs.ReservoirViews(views...)...))
	t.tp = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(t.spans))
	tb.Cleanup(func() {
		_ = t.tp.Shutdown(context.Background())
		_ = t.mp.Shutdown(context.Background())
	})
	return t
}

// MeterProvider is the provider to give the code under test.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// TracerProvider is the provider to give the code under test.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// Collect returns everything recorded so far, as an exporter would see it.
func (t *Telemetry) Collect() metricdata.ResourceMetrics {
	t.tb.Helper()
	var rm metricdata.ResourceMetrics
	if err := t.reader.Collect(context.Background(), &rm); err != nil {
		t.tb.Fatalf("otelobstest: collect: %v", err)
	}
	return rm
}

// metric returns the instrument named name, failing the test when there is
// none.
func (t *Telemetry) metric(name string) metricdata.Metrics {
	t.tb.Helper()
	rm := t.Collect()
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	t.tb.Fatalf("otelobstest: no instrument %q has recorded anything; these have: %s", name, strings.Join(names, ", "))
	return metricdata.Metrics{}
}

// noSeries fails the test for a series that is not there, listing those
// that are.
func (t *Telemetry) noSeries(name string, want attribute.Set, have []attribute.Set) {
	t.tb.Helper()
	var list []string
	for _, s := range have {
		list = append(list, "{"+setString(s)+"}")
	}
	slices.Sort(list)
	t.tb.Fatalf("otelobstest: %s has no series {%s}; it has: %s", name, setString(want), strings.Join(list, " "))
}

func setString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, fmt.Sprintf("%s=%q", kv.Key, kv.Value.String()))
	}
	return strings.Join(parts, ",")
}

// Value returns the value of the series of a counter, up-down counter or
// gauge (synchronous or observable) with exactly the attributes attrs, in
// any order.
func (t *Telemetry) Value(name string, attrs ...attribute.KeyValue) float64 {
	t.tb.Helper()
	m := t.metric(name)
	want := attribute.NewSet(attrs...)
	var have []attribute.Set
	find := func(set attribute.Set, v float64) (float64, bool) {
		have = append(have, set)
		return v, set.Equals(&want)
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			if v, ok := find(dp.Attributes, float64(dp.Value)); ok {
				return v
			}
		}
	case metricdata.Sum[float64]:
		for _, dp := range d.DataPoints {
			if v, ok := find(dp.Attributes, dp.Value); ok {
				return v
			}
		}
	case metricdata.Gauge[int64]:
		for _, dp := range d.DataPoints {
			if v, ok := find(dp.Attributes, float64(dp.Value)); ok {
				return v
			}
		}
	case metricdata.Gauge[float64]:
		for _, dp := range d.DataPoints {
			if v, ok := find(dp.Attributes, dp.Value); ok {
				return v
			}
		}
	default:
		t.tb.Fatalf("otelobstest: %s is a %T, not a counter or a gauge: use Histogram", name, m.Data)
	}
	t.noSeries(name, want, have)
	return 0
}

// HistogramPoint is one series of an explicit-bucket histogram.
type HistogramPoint struct {
	Count uint64
	Sum   float64
	// Bounds are the bucket boundaries; BucketCounts has one count more
	// (the last bucket is above the last bound). Counts are per bucket,
	// not cumulative.
	Bounds       []float64
	BucketCounts []uint64
}

// Histogram returns the series of a histogram with exactly the attributes
// attrs.
func (t *Telemetry) Histogram(name string, attrs ...attribute.KeyValue) HistogramPoint {
	t.tb.Helper()
	m := t.metric(name)
	want := attribute.NewSet(attrs...)
	var have []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			if dp.Attributes.Equals(&want) {
				return HistogramPoint{Count: dp.Count, Sum: dp.Sum, Bounds: dp.Bounds, BucketCounts: dp.BucketCounts}
			}
			have = append(have, dp.Attributes)
		}
	case metricdata.Histogram[int64]:
		for _, dp := range d.DataPoints {
			if dp.Attributes.Equals(&want) {
				return HistogramPoint{Count: dp.Count, Sum: float64(dp.Sum), Bounds: dp.Bounds, BucketCounts: dp.BucketCounts}
			}
			have = append(have, dp.Attributes)
		}
	default:
		t.tb.Fatalf("otelobstest: %s is a %T, not an explicit-bucket histogram", name, m.Data)
	}
	t.noSeries(name, want, have)
	return HistogramPoint{}
}

// Exemplar is a measurement kept with a series, and the span it was
// recorded in.
type Exemplar struct {
	Value   float64
	Time    time.Time
	TraceID trace.TraceID
	SpanID  trace.SpanID
}

// Exemplars returns the exemplars of the series of a counter or histogram
// with exactly the attributes attrs (none: an empty slice), oldest first.
func (t *Telemetry) Exemplars(name string, attrs ...attribute.KeyValue) []Exemplar {
	t.tb.Helper()
	m := t.metric(name)
	want := attribute.NewSet(attrs...)
	var have []attribute.Set
	var out []Exemplar
	found := false
	add := func(set attribute.Set, ex []Exemplar) {
		have = append(have, set)
		if set.Equals(&want) {
			found = true
			out = append(out, ex...)
		}
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			add(dp.Attributes, exemplars(dp.Exemplars))
		}
	case metricdata.Sum[float64]:
		for _, dp := range d.DataPoints {
			add(dp.Attributes, exemplars(dp.Exemplars))
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			add(dp.Attributes, exemplars(dp.Exemplars))
		}
	case metricdata.Histogram[int64]:
		for _, dp := range d.DataPoints {
			add(dp.Attributes, exemplars(dp.Exemplars))
		}
	default:
		t.tb.Fatalf("otelobstest: %s is a %T, which keeps no exemplars", name, m.Data)
	}
	if !found {
		t.noSeries(name, want, have)
	}
	slices.SortFunc(out, func(a, b Exemplar) int { return a.Time.Compare(b.Time) })
	return out
}

func exemplars[N int64 | float64](in []metricdata.Exemplar[N]) []Exemplar {
	out := make([]Exemplar, 0, len(in))
	for _, e := range in {
		x := Exemplar{Value: float64(e.Value), Time: e.Time}
		copy(x.TraceID[:], e.TraceID)
		copy(x.SpanID[:], e.SpanID)
		out = append(out, x)
	}
	return out
}

// Span is an ended span.
type Span struct {
	Name     string
	TraceID  trace.TraceID
	SpanID   trace.SpanID
	ParentID trace.SpanID // invalid for a root span
	Kind     trace.SpanKind
	// Attributes by key.
	Attributes map[attribute.Key]attribute.Value
	Status     codes.Code
	// StatusDescription is the error text of a failed span.
	StatusDescription string
	// Events are the names of the span's events, in order.
	Events []string
}

// Attr returns the value of the span's attribute key, as text ("" when
// there is none).
func (s Span) Attr(key string) string { return s.Attributes[attribute.Key(key)].String() }

// Spans returns the ended spans named name, in the order they ended (none:
// an empty slice).
func (t *Telemetry) Spans(name string) []Span {
	var out []Span
	for _, s := range t.spans.Ended() {
		if s.Name() != name {
			continue
		}
		sp := Span{Name: s.Name(), TraceID: s.SpanContext().TraceID(), SpanID: s.SpanContext().SpanID(),
			ParentID: s.Parent().SpanID(), Kind: s.SpanKind(), Attributes: map[attribute.Key]attribute.Value{},
			Status: s.Status().Code, StatusDescription: s.Status().Description}
		for _, kv := range s.Attributes() {
			sp.Attributes[kv.Key] = kv.Value
		}
		for _, e := range s.Events() {
			sp.Events = append(sp.Events, e.Name)
		}
		out = append(out, sp)
	}
	return out
}

// Ended returns every ended span, in the order they ended, for what the
// typed look-ups do not cover (events' attributes, links).
func (t *Telemetry) Ended() tracetest.SpanStubs {
	return tracetest.SpanStubsFromReadOnlySpans(t.spans.Ended())
}

// Span returns the one ended span named name; the test fails unless there
// is exactly one.
func (t *Telemetry) Span(name string) Span {
	t.tb.Helper()
	spans := t.Spans(name)
	if len(spans) != 1 {
		names := map[string]int{}
		for _, s := range t.spans.Ended() {
			names[s.Name()]++
		}
		t.tb.Fatalf("otelobstest: %d ended spans named %q, want 1; ended spans by name: %v", len(spans), name, names)
	}
	return spans[0]
}
