package promexpo

import (
	"bufio"
	"bytes"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The golden tests hold the fast encoder's bytes against the reference:
// the OTel Prometheus exporter's rendering of the same collected data,
// printed by expfmt as promhttp prints it. Only the order of exemplar
// labels is normalized: the exporter builds them from a map, so their order
// varies from scrape to scrape.

var (
	fmtText = expfmt.NewFormat(expfmt.TypeTextPlain)
	fmtOM   = expfmt.NewFormat(expfmt.TypeOpenMetrics)
)

func newProvider(t testing.TB, res *resource.Resource, views ...sdkmetric.View) (*Source, *sdkmetric.MeterProvider, context.Context) {
	t.Helper()
	src := New()
	opts := []sdkmetric.Option{sdkmetric.WithReader(src.Reader()), sdkmetric.WithResource(res)}
	for _, v := range views {
		opts = append(opts, sdkmetric.WithView(v))
	}
	mp := sdkmetric.NewMeterProvider(opts...)
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("golden").Start(context.Background(), "span")
	t.Cleanup(func() { span.End() })
	return src, mp, ctx
}

// exporterOutput renders rm through the exporter and expfmt.
func exporterOutput(t testing.TB, src *Source, rm *metricdata.ResourceMetrics, format expfmt.Format) []byte {
	t.Helper()
	mfs, err := src.gatherCollected(rm)
	if err != nil {
		t.Fatalf("the reference path reports an error: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		sortExemplarLabels(mf)
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func sortExemplarLabels(mf *dto.MetricFamily) {
	sortEx := func(e *dto.Exemplar) {
		if e != nil {
			slices.SortFunc(e.Label, func(x, y *dto.LabelPair) int { return strings.Compare(x.GetName(), y.GetName()) })
		}
	}
	for _, m := range mf.Metric {
		if m.Counter != nil {
			sortEx(m.Counter.Exemplar)
		}
		if m.Histogram != nil {
			for _, b := range m.Histogram.Bucket {
				sortEx(b.Exemplar)
			}
		}
	}
}

// fast renders rm with the fast encoder, or returns why it would not.
func fast(t testing.TB, src *Source, rm *metricdata.ResourceMetrics, om bool) ([]byte, string) {
	t.Helper()
	fams, reason := build(&src.names, rm)
	if reason != "" {
		return nil, reason
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := encoder{w: w, om: om}
	for i := range fams {
		enc.family(&fams[i])
	}
	if om {
		w.WriteString("# EOF\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ""
}

func collected(t testing.TB, src *Source) *metricdata.ResourceMetrics {
	t.Helper()
	rm := src.collect(context.Background())
	if rm == nil {
		t.Fatal("nothing collected")
	}
	return rm
}

var bounds = []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}

// goldenCases record data the fast path must render exactly as the
// exporter does.
var goldenCases = []struct {
	name   string
	res    *resource.Resource
	views  []sdkmetric.View
	record func(ctx context.Context, m metric.Meter)
}{
	{name: "counter and histogram with exemplars", record: func(ctx context.Context, m metric.Meter) {
		c, _ := m.Int64Counter("git.merge", metric.WithUnit("{merge}"), metric.WithDescription("Merges by result."))
		h, _ := m.Float64Histogram("git.merge.duration", metric.WithUnit("s"), metric.WithDescription("Merge time."),
			metric.WithExplicitBucketBoundaries(bounds...))
		for i := range 30 {
			attrs := metric.WithAttributes(attribute.String("result", "r"+strconv.Itoa(i)))
			c.Add(ctx, int64(i), attrs)
			h.Record(ctx, float64(i)*0.7, attrs)
		}
	}},
	{name: "exemplars above every bound and several in one bucket", record: func(ctx context.Context, m metric.Meter) {
		h, _ := m.Int64Histogram("queue.wait", metric.WithUnit("ms"), metric.WithExplicitBucketBoundaries(1, 10, 100))
		for _, v := range []int64{0, 1, 2, 5, 9, 10, 99, 100, 101, 5000, 7000} {
			h.Record(ctx, v)
		}
		plain, _ := m.Float64Histogram("no.exemplars", metric.WithExplicitBucketBoundaries(1, 2))
		plain.Record(context.Background(), 1.5)
		empty, _ := m.Float64Histogram("no.bounds", metric.WithExplicitBucketBoundaries())
		empty.Record(ctx, 3)
	}},
	{name: "numbers", record: func(ctx context.Context, m metric.Meter) {
		g, _ := m.Float64Gauge("temperature", metric.WithUnit("Cel"))
		for i, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e21, 1e-7, 123456789, 1.5e300, math.Inf(1), math.Inf(-1), math.NaN()} {
			g.Record(ctx, v, metric.WithAttributes(attribute.Int("i", i)))
		}
		fc, _ := m.Float64Counter("cost", metric.WithUnit("USD"))
		fc.Add(ctx, 0.1)
		fc.Add(ctx, 0.2)
		big, _ := m.Int64Counter("bytes.sent", metric.WithUnit("By"))
		big.Add(ctx, 1<<53+1)
		h, _ := m.Float64Histogram("big.buckets", metric.WithExplicitBucketBoundaries(1e-9, 1e6, 1e21))
		for range 1234567 % 1000 {
			h.Record(ctx, 2e6)
		}
	}},
	{name: "gauges and up-down counters", record: func(ctx context.Context, m metric.Meter) {
		ud, _ := m.Int64UpDownCounter("git.active_merges", metric.WithUnit("{merge}"), metric.WithDescription("In progress."))
		ud.Add(ctx, 3, metric.WithAttributes(attribute.String("repo", "a")))
		ud.Add(ctx, -5, metric.WithAttributes(attribute.String("repo", "b")))
		fud, _ := m.Float64UpDownCounter("budget.left", metric.WithUnit("USD"))
		fud.Add(ctx, -2.5)
		og, _ := m.Int64ObservableGauge("threads", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(7, metric.WithAttributes(attribute.Bool("main", true)))
			o.Observe(9, metric.WithAttributes(attribute.Bool("main", false)))
			return nil
		}))
		_ = og
		oc, _ := m.Float64ObservableCounter("cpu.time", metric.WithUnit("s"), metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(1.25, metric.WithAttributes(attribute.String("cpu.mode", "user")))
			return nil
		}))
		_ = oc
	}},
	{name: "labels that need escaping, translation and sorting", record: func(ctx context.Context, m metric.Meter) {
		c, _ := m.Int64Counter("llm.calls", metric.WithDescription("Quote \" backslash \\ newline \n tab \t done."))
		for _, v := range []string{`a"b`, `c\d`, "e\nf", "ünïcödé ✓", "", "z", "10", "9", "{}", `a,b="c"`} {
			c.Add(ctx, 1, metric.WithAttributes(attribute.String("gen_ai.request.model", v)))
		}
		// Keys whose translation reorders them: "a.z" sorts before "a_b"
		// as a key and after it as a label.
		c.Add(ctx, 2, metric.WithAttributes(attribute.String("a.z", "1"), attribute.String("a_b", "2")))
		// Fewer and more labels in one family; types other than string.
		c.Add(ctx, 3)
		c.Add(ctx, 4, metric.WithAttributes(attribute.Int64("int", -3), attribute.Float64("float", 2.5),
			attribute.Bool("bool", true), attribute.StringSlice("slice", []string{"x", "y"}),
			attribute.Int64Slice("ints", []int64{1, 2}), attribute.String("0digit", "d"), attribute.String("_under", "u")))
	}},
	{name: "names and units", record: func(ctx context.Context, m metric.Meter) {
		for _, in := range []struct{ name, unit string }{
			{"ratio.value", "1"}, {"already_total", ""}, {"sizes", "KiBy"}, {"rate", "By/s"}, {"per.request", "{request}/s"},
			{"odd-name.with:colon", "ms"}, {"http.server.request.duration", "s"},
		} {
			c, _ := m.Float64Counter(in.name, metric.WithUnit(in.unit))
			c.Add(ctx, 1)
			g, _ := m.Int64Gauge(in.name+".gauge", metric.WithUnit(in.unit))
			g.Record(ctx, 2)
		}
		unused, _ := m.Int64Counter("never.recorded")
		_ = unused
	}},
	{name: "resource attributes", res: resource.NewSchemaless(
		attribute.String("service.name", "orchestrator"), attribute.String("service.instance.id", "0a1b"),
		attribute.String("k8s.pod.name", `pod"1`), attribute.Int("pid", 42)),
		record: func(ctx context.Context, m metric.Meter) {
			c, _ := m.Int64Counter("tasks")
			c.Add(ctx, 1)
		}},
	{name: "empty resource", res: resource.Empty(), record: func(ctx context.Context, m metric.Meter) {
		c, _ := m.Int64Counter("tasks")
		c.Add(ctx, 1)
	}},
	{name: "exemplars with filtered attributes", views: []sdkmetric.View{sdkmetric.NewView(
		sdkmetric.Instrument{Name: "*"},
		sdkmetric.Stream{AttributeFilter: attribute.NewAllowKeysFilter("kept")})},
		record: func(ctx context.Context, m metric.Meter) {
			c, _ := m.Int64Counter("filtered")
			c.Add(ctx, 1, metric.WithAttributes(attribute.String("kept", "k"), attribute.String("worker.id", "w-1"), attribute.String("a.first", "f")))
			h, _ := m.Float64Histogram("filtered.hist", metric.WithExplicitBucketBoundaries(1))
			h.Record(ctx, 0.5, metric.WithAttributes(attribute.String("kept", "k"), attribute.String("zz", `q"uote`)))
		}},
	{name: "no sampled span: exemplars without trace context", record: func(_ context.Context, m metric.Meter) {
		c, _ := m.Int64Counter("untraced")
		c.Add(context.Background(), 5)
	}},
	{name: "many series sort as the registry sorts them", record: func(ctx context.Context, m metric.Meter) {
		c, _ := m.Int64Counter("many")
		for i := range 500 {
			c.Add(ctx, 1, metric.WithAttributes(attribute.String("a", strconv.Itoa(i%7)), attribute.String("b", strconv.Itoa(i))))
		}
	}},
}

// recordCase records golden case i on a provider of its own.
func recordCase(t *testing.T, i int) *Source {
	tc := goldenCases[i]
	res := tc.res
	if res == nil {
		res = resource.NewSchemaless(attribute.String("service.name", "golden"))
	}
	src, mp, ctx := newProvider(t, res, tc.views...)
	tc.record(ctx, mp.Meter("golden"))
	return src
}

func TestGolden(t *testing.T) {
	for i, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			src := recordCase(t, i)
			rm := collected(t, src)
			for _, format := range []expfmt.Format{fmtText, fmtOM} {
				want := exporterOutput(t, src, rm, format)
				got, reason := fast(t, src, rm, format.FormatType() == expfmt.TypeOpenMetrics)
				if reason != "" {
					t.Fatalf("%s: the fast path declines: %s", format, reason)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: the fast path differs from the exporter:\n%s", format, lineDiff(string(want), string(got)))
				}
			}
		})
	}
}

// lineDiff lists the lines that differ, with their numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  exporter: " + wl + "\n  fast:     " + gl + "\n")
		}
	}
	return b.String()
}
