package promexpo

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The fast path's picture of a scrape: families sorted by name, series
// sorted as client_golang's registry sorts them, exemplars placed as it
// places them. Labels and exemplars of all series share two arenas, so a
// scrape allocates a handful of slices, not a few per series.

type kind uint8

const (
	kindCounter kind = iota
	kindGauge
	kindHistogram
)

type label struct{ name, value string }

type family struct {
	name, help string
	kind       kind
	series     []series
}

type series struct {
	labels []label
	value  float64 // counter and gauge
	// histogram
	count  uint64
	sum    float64
	bounds []float64
	counts []uint64 // per bucket, as the SDK keeps them; len(bounds)+1
	// exemplars in the SDK's order; a counter keeps only its last
	exemplars []exemplar
}

type exemplar struct {
	value           float64
	time            time.Time
	traceID, spanID []byte
	extra           []label // the filtered attributes, sorted by name
}

const targetInfoHelp = "Target metadata"

// builder turns collected data into families, or says why the fast path
// cannot reproduce the exporter's output for it (fallback is then set and
// the scrape goes to the reference path).
type builder struct {
	names    *names
	fams     []family
	labels   []label
	ex       []exemplar
	fallback string
}

func (b *builder) fail(reason string) bool {
	if b.fallback == "" {
		b.fallback = reason
	}
	return false
}

// build returns the scrape's families, or the reason it cannot.
func build(n *names, rm *metricdata.ResourceMetrics) ([]family, string) {
	b := &builder{names: n}
	nLabels, nEx, nFams := rm.Resource.Len(), 0, 1
	for _, sm := range rm.ScopeMetrics {
		nFams += len(sm.Metrics)
		for _, m := range sm.Metrics {
			l, e := sizes(m.Data)
			nLabels += l
			nEx += e
		}
	}
	b.fams = make([]family, 0, nFams)
	b.labels = make([]label, 0, nLabels)
	b.ex = make([]exemplar, 0, nEx)

	if ls, ok := b.attrs(*rm.Resource.Set()); ok {
		b.fams = append(b.fams, family{name: otlptranslator.TargetInfoMetricName, help: targetInfoHelp,
			kind: kindGauge, series: []series{{labels: ls, value: 1}}})
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == "go.opentelemetry.io/contrib/bridges/prometheus" {
			b.fail("metrics from the Prometheus bridge (the exporter drops them with an error)")
		}
		for _, m := range sm.Metrics {
			if b.fallback != "" {
				return nil, b.fallback
			}
			b.metric(m)
		}
	}
	if b.fallback != "" {
		return nil, b.fallback
	}
	slices.SortFunc(b.fams, func(x, y family) int { return strings.Compare(x.name, y.name) })
	for i := range b.fams {
		if i > 0 && b.fams[i-1].name == b.fams[i].name {
			return nil, "two instruments named " + b.fams[i].name
		}
		if suffix := histogramSuffix(b.fams, familyName, b.fams[i].name); suffix != "" {
			return nil, "a family whose name is another's with " + suffix + ": " + b.fams[i].name
		}
		if !sortSeries(b.fams[i].series) {
			return nil, "two series of " + b.fams[i].name + " with the same labels"
		}
	}
	return b.fams, ""
}

// sizes counts the labels and exemplars of a metric's data points, so the
// arenas are allocated once.
func sizes(data metricdata.Aggregation) (labels, exemplars int) {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return sumSizes(d.DataPoints)
	case metricdata.Sum[float64]:
		return sumSizes(d.DataPoints)
	case metricdata.Histogram[int64]:
		return histSizes(d.DataPoints)
	case metricdata.Histogram[float64]:
		return histSizes(d.DataPoints)
	case metricdata.Gauge[int64]:
		return sumSizes(d.DataPoints)
	case metricdata.Gauge[float64]:
		return sumSizes(d.DataPoints)
	}
	return 0, 0
}

func sumSizes[N int64 | float64](dps []metricdata.DataPoint[N]) (l, e int) {
	for i := range dps {
		l += dps[i].Attributes.Len()
		e += min(len(dps[i].Exemplars), 1)
	}
	return l, e
}

func histSizes[N int64 | float64](dps []metricdata.HistogramDataPoint[N]) (l, e int) {
	for i := range dps {
		l += dps[i].Attributes.Len()
		e += len(dps[i].Exemplars)
	}
	return l, e
}

func (b *builder) metric(m metricdata.Metrics) {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		addSum(b, m, d)
	case metricdata.Sum[float64]:
		addSum(b, m, d)
	case metricdata.Gauge[int64]:
		addGauge(b, m, d)
	case metricdata.Gauge[float64]:
		addGauge(b, m, d)
	case metricdata.Histogram[int64]:
		addHistogram(b, m, d)
	case metricdata.Histogram[float64]:
		addHistogram(b, m, d)
	default:
		// Exponential histograms (native histograms, which the text
		// formats do not carry), summaries and unknown types.
		b.fail("a metric of type " + typeName(m.Data))
	}
}

func typeName(a metricdata.Aggregation) string {
	switch a.(type) {
	case metricdata.ExponentialHistogram[int64], metricdata.ExponentialHistogram[float64]:
		return "exponential histogram"
	case metricdata.Summary:
		return "summary"
	}
	return "unknown"
}

// family starts the family of m, named as the exporter names it.
func (b *builder) family(m metricdata.Metrics, k kind, t otlptranslator.MetricType, n int) *family {
	name, ok := b.names.metric(m.Name, m.Unit, t)
	if !ok {
		b.fail("a metric name that does not translate to a valid one: " + m.Name)
		return nil
	}
	b.fams = append(b.fams, family{name: name, help: m.Description, kind: k, series: make([]series, 0, n)})
	return &b.fams[len(b.fams)-1]
}

func addSum[N int64 | float64](b *builder, m metricdata.Metrics, d metricdata.Sum[N]) {
	if len(d.DataPoints) == 0 {
		return
	}
	k, t := kindCounter, otlptranslator.MetricType(otlptranslator.MetricTypeMonotonicCounter)
	if !d.IsMonotonic {
		k, t = kindGauge, otlptranslator.MetricTypeNonMonotonicCounter
	}
	f := b.family(m, k, t, len(d.DataPoints))
	if f == nil {
		return
	}
	for i := range d.DataPoints {
		dp := &d.DataPoints[i]
		ls, ok := b.attrs(dp.Attributes)
		if !ok {
			return
		}
		s := series{labels: ls, value: float64(dp.Value)}
		// A counter carries its last exemplar; every one must be valid,
		// or the exporter drops them all (a gauge carries none).
		if k == kindCounter && len(dp.Exemplars) > 0 {
			if !addExemplars(b, dp.Exemplars, true) {
				return
			}
			s.exemplars = b.ex[len(b.ex)-1 : len(b.ex) : len(b.ex)]
		}
		f.series = append(f.series, s)
	}
}

func addGauge[N int64 | float64](b *builder, m metricdata.Metrics, d metricdata.Gauge[N]) {
	if len(d.DataPoints) == 0 {
		return
	}
	f := b.family(m, kindGauge, otlptranslator.MetricTypeGauge, len(d.DataPoints))
	if f == nil {
		return
	}
	for i := range d.DataPoints {
		ls, ok := b.attrs(d.DataPoints[i].Attributes)
		if !ok {
			return
		}
		f.series = append(f.series, series{labels: ls, value: float64(d.DataPoints[i].Value)})
	}
}

func addHistogram[N int64 | float64](b *builder, m metricdata.Metrics, d metricdata.Histogram[N]) {
	if len(d.DataPoints) == 0 {
		return
	}
	f := b.family(m, kindHistogram, otlptranslator.MetricTypeHistogram, len(d.DataPoints))
	if f == nil {
		return
	}
	var checked []float64
	for i := range d.DataPoints {
		dp := &d.DataPoints[i]
		if len(dp.BucketCounts) != len(dp.Bounds)+1 {
			b.fail("a histogram whose bucket counts do not match its bounds")
			return
		}
		if len(dp.Bounds) > 0 && (len(checked) == 0 || &checked[0] != &dp.Bounds[0]) {
			if !validBounds(dp.Bounds) {
				b.fail("histogram bounds that are not finite and increasing")
				return
			}
			checked = dp.Bounds
		}
		ls, ok := b.attrs(dp.Attributes)
		if !ok {
			return
		}
		if _, found := slices.BinarySearchFunc(ls, model.BucketLabel, func(l label, n string) int { return strings.Compare(l.name, n) }); found {
			b.fail("a histogram with a label named le")
			return
		}
		s := series{labels: ls, count: dp.Count, sum: float64(dp.Sum), bounds: dp.Bounds, counts: dp.BucketCounts}
		if len(dp.Exemplars) > 0 {
			start := len(b.ex)
			if !addExemplars(b, dp.Exemplars, false) {
				return
			}
			s.exemplars = b.ex[start:len(b.ex):len(b.ex)]
		}
		f.series = append(f.series, s)
	}
}

func validBounds(bs []float64) bool {
	for i, v := range bs {
		if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v <= bs[i-1]) {
			return false
		}
	}
	return true
}

// attrs appends the translated labels of set to the arena, sorted by name,
// or fails where the exporter would report an error or merge labels.
func (b *builder) attrs(set attribute.Set) ([]label, bool) {
	start := len(b.labels)
	for it := set.Iter(); it.Next(); {
		kv := it.Attribute()
		name, ok := b.names.label(kv.Key)
		if !ok {
			return nil, b.fail("an attribute key that does not translate to a valid label name: " + string(kv.Key))
		}
		v := kv.Value.String()
		if !utf8.ValidString(v) {
			return nil, b.fail("a label value that is not valid UTF-8")
		}
		b.labels = append(b.labels, label{name, v})
	}
	ls := b.labels[start:len(b.labels):len(b.labels)]
	if !slices.IsSortedFunc(ls, byName) {
		// Translation reordered the keys ("a.z" before "a_b").
		slices.SortFunc(ls, byName)
	}
	for i := 1; i < len(ls); i++ {
		if ls[i].name == ls[i-1].name {
			return nil, b.fail("two attribute keys that translate to the label " + ls[i].name)
		}
	}
	return ls, true
}

func byName(x, y label) int { return strings.Compare(x.name, y.name) }

// addExemplars appends exs to the exemplar arena (only the last, for a
// counter), checked as client_golang checks them: label names, UTF-8
// values, at most 128 runes, a timestamp; the exporter drops all exemplars
// of a series when one fails, so such a scrape takes the reference path.
func addExemplars[N int64 | float64](b *builder, exs []metricdata.Exemplar[N], lastOnly bool) bool {
	for i := range exs {
		e := &exs[i]
		if e.Time.IsZero() || e.Time.Year() < 1 || e.Time.Year() > 9999 {
			return b.fail("an exemplar without a valid time")
		}
		runes := len(otlptranslator.ExemplarTraceIDKey) + 2*len(e.TraceID) +
			len(otlptranslator.ExemplarSpanIDKey) + 2*len(e.SpanID)
		var extra []label
		if len(e.FilteredAttributes) > 0 {
			start := len(b.labels)
			for _, kv := range e.FilteredAttributes {
				name, ok := b.names.label(kv.Key)
				v := kv.Value.String()
				if !ok || name == otlptranslator.ExemplarTraceIDKey || name == otlptranslator.ExemplarSpanIDKey || !utf8.ValidString(v) {
					return b.fail("an exemplar attribute the exporter would drop or overwrite")
				}
				runes += utf8.RuneCountInString(name) + utf8.RuneCountInString(v)
				b.labels = append(b.labels, label{name, v})
			}
			extra = b.labels[start:len(b.labels):len(b.labels)]
			slices.SortFunc(extra, byName)
			for j := 1; j < len(extra); j++ {
				if extra[j].name == extra[j-1].name {
					return b.fail("two exemplar attributes that translate to one label")
				}
			}
		}
		if runes > maxExemplarRunes {
			return b.fail("exemplar labels over 128 runes")
		}
		if !lastOnly || i == len(exs)-1 {
			b.ex = append(b.ex, exemplar{value: float64(e.Value), time: e.Time, traceID: e.TraceID, spanID: e.SpanID, extra: extra})
		}
	}
	return true
}

// maxExemplarRunes is client_golang's prometheus.ExemplarMaxRunes.
const maxExemplarRunes = 128

// sortSeries sorts a family's series as client_golang's registry does (by
// number of labels, then label values in label-name order) and reports
// whether no two have the same labels (the registry drops the second).
func sortSeries(ss []series) bool {
	slices.SortFunc(ss, func(x, y series) int {
		if c := cmp.Compare(len(x.labels), len(y.labels)); c != 0 {
			return c
		}
		for i := range x.labels {
			if c := strings.Compare(x.labels[i].value, y.labels[i].value); c != 0 {
				return c
			}
		}
		return 0
	})
	for i := 1; i < len(ss); i++ {
		// Series that compare equal sit together; among them, any two with
		// the same names too are duplicates.
		for j := i - 1; j >= 0 && sameValues(ss[j].labels, ss[i].labels); j-- {
			if slices.Equal(ss[j].labels, ss[i].labels) {
				return false
			}
		}
	}
	return true
}

func familyName(f family) string { return f.name }

func sameValues(x, y []label) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i].value != y[i].value {
			return false
		}
	}
	return true
}
