package promexpo

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	promexemplar "github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

type logLines struct{ lines []string }

func (l *logLines) Println(v ...any) {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(toString(x), "\n", " "), "  ", " ")))
	}
	l.lines = append(l.lines, b.String())
}

func toString(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case error:
		return v.Error()
	}
	return ""
}

type response struct {
	code   int
	header http.Header
	body   string
}

func serve(t *testing.T, h http.Handler, accept, encoding, query string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics"+query, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return response{code: rec.Code, header: rec.Header(), body: normalizeExemplars(string(body))}
}

var exemplarLabels = regexp.MustCompile(` # \{([^}]*)\}`)

// normalizeExemplars sorts each exemplar's labels (the exporter's come
// from a map); the values in these tests hold no `",`.
func normalizeExemplars(s string) string {
	return exemplarLabels.ReplaceAllStringFunc(s, func(m string) string {
		inner := m[len(" # {") : len(m)-1]
		parts := strings.Split(inner, `",`)
		for i := range parts[:len(parts)-1] {
			parts[i] += `"`
		}
		slices.Sort(parts)
		return " # {" + strings.Join(parts, ",") + "}"
	})
}

func record(ctx context.Context, m metric.Meter) {
	for _, tc := range goldenCases[:2] {
		tc.record(ctx, m)
	}
}

// TestHandlerMatchesPromhttp: for each Accept and Accept-Encoding a
// scraper may send, Handler answers what promhttp answers for
// prometheus.Gatherers{src, extra...}: status, headers, body.
func TestHandlerMatchesPromhttp(t *testing.T) {
	extra := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "legacy_requests_total", Help: "From client_golang."}, []string{"code"})
	c.WithLabelValues("200").Add(3)
	extra.MustRegister(c, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aaa_first", Help: "Sorts first."}, func() float64 { return 1 }))

	for _, setup := range []struct {
		name  string
		extra []prometheus.Gatherer
	}{{"alone", nil}, {"with a registry", []prometheus.Gatherer{extra}}} {
		src, mp, ctx := newProvider(t, resource.NewSchemaless(attribute.String("service.name", "h")))
		record(ctx, mp.Meter("h"))
		var fastLog, refLog logLines
		h := Handler(src, setup.extra, &fastLog)
		ref := promhttp.HandlerFor(append(prometheus.Gatherers{src}, setup.extra...), promhttp.HandlerOpts{
			EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError, ErrorLog: &refLog})
		for _, accept := range []string{"",
			"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
			"application/openmetrics-text;version=0.0.1", "text/plain;version=0.0.4", "text/plain", "*/*",
			"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8", "text/plain;version=1.0.0;escaping=dots",
			"application/json", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		} {
			for _, enc := range []string{"", "gzip", "gzip, identity", "identity", "*", "gzip;q=0.5, identity;q=0.9",
				"identity;q=0", "br", "GZIP", "gzip;q=0", "deflate, gzip;q=1.0, *;q=0.5"} {
				for _, query := range []string{"", "?name[]=git_merge_total&name[]=legacy_requests_total"} {
					fastLog.lines, refLog.lines = nil, nil
					fastBefore := h.(*handler).fast.Load()
					got := serve(t, h, accept, enc, query)
					want := serve(t, ref, accept, enc, query)
					where := setup.name + " Accept=" + accept + " Accept-Encoding=" + enc + " " + query
					protobuf := strings.Contains(accept, "protobuf")
					// Protobuf carries exemplar labels in the exporter's map
					// order; both sides are promhttp there.
					if got.code != want.code || (!protobuf && got.body != want.body) {
						t.Fatalf("%s: %d\n%s\nwant %d\n%s", where, got.code, head(got.body), want.code, head(want.body))
					}
					for _, k := range []string{"Content-Type", "Content-Encoding", "Vary"} {
						if !slices.Equal(got.header.Values(k), want.header.Values(k)) {
							t.Errorf("%s: %s %q, want %q", where, k, got.header.Values(k), want.header.Values(k))
						}
					}
					if !slices.Equal(fastLog.lines, refLog.lines) {
						t.Errorf("%s: logged %q, want %q", where, fastLog.lines, refLog.lines)
					}
					if usedFast := h.(*handler).fast.Load() > fastBefore; usedFast == protobuf {
						t.Errorf("%s: fast path used: %v", where, usedFast)
					}
				}
			}
		}
	}
}

// sameLogs compares logged lines up to the first exemplar, whose labels
// the exporter orders at random.
func sameLogs(got, want []string) bool {
	cut := func(s string) string { s, _, _ = strings.Cut(s, "exemplar:"); return s }
	return slices.EqualFunc(got, want, func(g, w string) bool { return cut(g) == cut(w) })
}

func head(s string) string { return s[:min(len(s), 600)] }

// TestFallback: data the fast path does not reproduce exactly is served by
// the exporter and promhttp, errors and all.
func TestFallback(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		// the exporter keeps one of the two at random: only the status
		// and the number of lines logged are compared
		random bool
		views  []sdkmetric.View
		record func(ctx context.Context, mp metric.MeterProvider)
		extra  []prometheus.Gatherer
	}{
		{name: "keys that collide once translated", reason: "translate to the label a_b", record: func(ctx context.Context, mp metric.MeterProvider) {
			m := mp.Meter("f")
			c, _ := m.Int64Counter("c")
			c.Add(ctx, 1, metric.WithAttributes(attribute.String("a.b", "1"), attribute.String("a_b", "2")))
		}},
		{name: "invalid UTF-8", reason: "UTF-8", record: func(ctx context.Context, mp metric.MeterProvider) {
			m := mp.Meter("f")
			c, _ := m.Int64Counter("c")
			c.Add(ctx, 1, metric.WithAttributes(attribute.String("k", "bad\xff")))
			c.Add(ctx, 2, metric.WithAttributes(attribute.String("k", "good")))
		}},
		{name: "reserved label", reason: "valid label name", record: func(ctx context.Context, mp metric.MeterProvider) {
			m := mp.Meter("f")
			c, _ := m.Int64Counter("c")
			c.Add(ctx, 1, metric.WithAttributes(attribute.String("__name__", "x")))
		}},
		{name: "histogram with an le attribute", reason: "label named le", record: func(ctx context.Context, mp metric.MeterProvider) {
			m := mp.Meter("f")
			h, _ := m.Float64Histogram("h", metric.WithExplicitBucketBoundaries(1))
			h.Record(ctx, 1, metric.WithAttributes(attribute.String("le", "x")))
		}},
		{name: "one name from two scopes", reason: "two instruments named c_total", random: true, record: func(ctx context.Context, mp metric.MeterProvider) {
			m := mp.Meter("f")
			c, _ := m.Int64Counter("c", metric.WithDescription("one"))
			c.Add(ctx, 1)
			c2, _ := mp.Meter("another").Int64Counter("c", metric.WithDescription("two"))
			c2.Add(ctx, 2)
		}},
		{name: "exponential histogram", reason: "exponential histogram", views: []sdkmetric.View{sdkmetric.NewView(
			sdkmetric.Instrument{Name: "e"}, sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 20, MaxScale: 5}})},
			record: func(ctx context.Context, mp metric.MeterProvider) {
				m := mp.Meter("f")
				h, _ := m.Float64Histogram("e")
				h.Record(ctx, 3)
			}},
		{name: "long exemplar labels", reason: "128 runes", views: []sdkmetric.View{sdkmetric.NewView(
			sdkmetric.Instrument{Name: "*"}, sdkmetric.Stream{AttributeFilter: attribute.NewDenyKeysFilter("long")})},
			record: func(ctx context.Context, mp metric.MeterProvider) {
				m := mp.Meter("f")
				c, _ := m.Int64Counter("c")
				c.Add(ctx, 1, metric.WithAttributes(attribute.String("long", strings.Repeat("x", 80))))
			}},
		{name: "suffix collision", reason: "_count", record: func(ctx context.Context, mp metric.MeterProvider) {
			m := mp.Meter("f")
			h, _ := m.Float64Histogram("x", metric.WithExplicitBucketBoundaries(1))
			h.Record(ctx, 1)
			g, _ := m.Int64Gauge("x.count")
			g.Record(ctx, 1)
		}},
		{name: "a family in two sources", reason: "two sources", record: func(ctx context.Context, mp metric.MeterProvider) {
			m := mp.Meter("f")
			g, _ := m.Int64Gauge("shared")
			g.Record(ctx, 1)
		}, extra: []prometheus.Gatherer{func() prometheus.Gatherer {
			r := prometheus.NewRegistry()
			r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shared", Help: ""}, func() float64 { return 2 }))
			return r
		}()}},
		{name: "a gatherer of another kind", reason: "not a *prometheus.Registry", record: func(ctx context.Context, mp metric.MeterProvider) {
			m := mp.Meter("f")
			g, _ := m.Int64Gauge("g")
			g.Record(ctx, 1)
		}, extra: []prometheus.Gatherer{prometheus.Gatherers{prometheus.NewRegistry()}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, mp, ctx := newProvider(t, resource.NewSchemaless(attribute.String("service.name", "f")), tc.views...)
			tc.record(ctx, mp)
			// Every scrape runs the callbacks once, however it is served.
			var callbacks atomic.Int64
			if _, err := mp.Meter("cb").Int64ObservableGauge("cb", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
				callbacks.Add(1)
				o.Observe(1)
				return nil
			})); err != nil {
				t.Fatal(err)
			}
			var fastLog, refLog logLines
			h := Handler(src, tc.extra, &fastLog)
			ref := promhttp.HandlerFor(append(prometheus.Gatherers{src}, tc.extra...), promhttp.HandlerOpts{
				EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError, ErrorLog: &refLog})
			for _, accept := range []string{"text/plain", "application/openmetrics-text;version=1.0.0"} {
				before := callbacks.Load()
				got := serve(t, h, accept, "gzip", "")
				if n := callbacks.Load() - before; n != 1 {
					t.Errorf("%s: a scrape ran the callbacks %d times", accept, n)
				}
				want := serve(t, ref, accept, "gzip", "")
				if tc.random {
					if got.code != want.code || len(fastLog.lines) != len(refLog.lines) {
						t.Errorf("%s: %d, %d lines logged; want %d, %d", accept, got.code, len(fastLog.lines), want.code, len(refLog.lines))
					}
				} else if got.code != want.code || got.body != want.body || !sameLogs(fastLog.lines, refLog.lines) {
					t.Errorf("%s: %d %q logged %q; want %d %q logged %q", accept, got.code, head(got.body), fastLog.lines,
						want.code, head(want.body), refLog.lines)
				}
			}
			hh := h.(*handler)
			if hh.fast.Load() != 0 || hh.fallbacks.Load() != 2 {
				t.Fatalf("fast %d, fallbacks %d; want 0 and 2", hh.fast.Load(), hh.fallbacks.Load())
			}
			if r := *hh.reason.Load(); !strings.Contains(r, tc.reason) {
				t.Errorf("reason %q, want one with %q", r, tc.reason)
			}
		})
	}
}

// TestAfterShutdown: once the MeterProvider is shut down, every format
// serves what promhttp serves over the Source (the extra registry alone).
func TestAfterShutdown(t *testing.T) {
	src, mp, ctx := newProvider(t, resource.NewSchemaless(attribute.String("service.name", "f")))
	c, _ := mp.Meter("f").Int64Counter("c")
	c.Add(ctx, 1)
	extra := prometheus.NewRegistry()
	extra.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "extra", Help: "e"}, func() float64 { return 2 }))
	if err := mp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var fastLog, refLog logLines
	h := Handler(src, []prometheus.Gatherer{extra}, &fastLog)
	ref := promhttp.HandlerFor(prometheus.Gatherers{src, extra}, promhttp.HandlerOpts{
		EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError, ErrorLog: &refLog})
	for _, accept := range []string{"text/plain", "application/openmetrics-text;version=1.0.0",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"} {
		got, want := serve(t, h, accept, "", ""), serve(t, ref, accept, "", "")
		if got.code != want.code || got.body != want.body || strings.Contains(got.body, "c_total") || !strings.Contains(got.body, "extra") {
			t.Errorf("%s: %d %q; want %d %q without c_total", accept, got.code, got.body, want.code, want.body)
		}
	}
	if len(fastLog.lines) != 0 || len(refLog.lines) != 0 {
		t.Errorf("logged %q and %q, want nothing", fastLog.lines, refLog.lines)
	}
}

// TestParsersAcceptEveryByte: Prometheus's own parsers (textparse for
// both formats, as the scrape loop uses them, and expfmt's) read every
// line of the fast path's output, with the exemplars.
func TestParsersAcceptEveryByte(t *testing.T) {
	for i, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			h := Handler(recordCase(t, i), nil, nil)
			for _, accept := range []string{"text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0"} {
				r := serve(t, h, accept, "", "")
				p, err := textparse.New([]byte(r.body), r.header.Get("Content-Type"), labels.NewSymbolTable(), textparse.ParserOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var samples, exemplars int
				for {
					e, err := p.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("%s: textparse: %v\n%s", accept, err, head(r.body))
					}
					if e == textparse.EntrySeries {
						samples++
						var ex promexemplar.Exemplar
						for p.Exemplar(&ex) {
							exemplars++
						}
					}
				}
				if strings.HasPrefix(accept, "application/openmetrics") {
					if want := strings.Count(r.body, " # {"); exemplars != want {
						t.Errorf("textparse read %d exemplars, the output has %d", exemplars, want)
					}
				} else {
					tp := expfmt.NewTextParser(model.LegacyValidation)
					if _, err := tp.TextToMetricFamilies(strings.NewReader(r.body)); err != nil {
						t.Errorf("expfmt: %v", err)
					}
				}
				if samples == 0 {
					t.Errorf("%s: no samples read", accept)
				}
			}
		})
	}
}
