package otelobs

import (
	"context"
	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Run with:
//
//	go test -run '^$' -bench . -count 10 ./otelobs/ | tee new.txt && benchstat new.txt

var benchBounds = []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}

// fill records n label sets, each on a counter and a 10-bound histogram,
// inside a sampled span so that exemplars are kept.
func fill(ctx context.Context, mp metric.MeterProvider, n int) {
	m := mp.Meter("bench")
	c, _ := m.Int64Counter("git.merge", metric.WithUnit("{merge}"))
	h, _ := m.Float64Histogram("git.merge.duration", metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(benchBounds...))
	ctx, span := sdktrace.NewTracerProvider().Tracer("bench").Start(ctx, "span")
	defer span.End()
	for i := range n {
		attrs := metric.WithAttributes(attribute.String("result", "r"+strconv.Itoa(i)))
		c.Add(ctx, 1, attrs)
		h.Record(ctx, 0.3, attrs)
	}
}

// rawPull is the OTel Prometheus exporter with its defaults, served the way
// contrib's autoexport serves it.
func rawPull(b *testing.B, opts ...sdkmetric.Option) (*sdkmetric.MeterProvider, http.Handler) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		b.Fatal(err)
	}
	return sdkmetric.NewMeterProvider(append(opts, sdkmetric.WithReader(exp))...),
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

func scrapeOnce(b *testing.B, h http.Handler, accept string) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatal(rec.Code)
	}
	_, _ = io.Copy(io.Discard, rec.Body)
}

const (
	acceptText        = "text/plain;version=0.0.4"
	acceptOpenMetrics = "application/openmetrics-text;version=1.0.0"
)

// clientGolang is the same data in prometheus/client_golang: a CounterVec
// and a 10-bound HistogramVec with n label sets, each with an exemplar,
// served by promhttp with OpenMetrics on. It is what MetricsHandler's
// scrape cost is held against (issue: at or below client_golang's).
func clientGolang(n int) (*prometheus.Registry, http.Handler) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "git_merge_total", Help: "h"}, []string{"result"})
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "git_merge_duration_seconds", Help: "h",
		Buckets: benchBounds}, []string{"result"})
	reg.MustRegister(c, h)
	ex := prometheus.Labels{"trace_id": "0123456789abcdef0123456789abcdef", "span_id": "0123456789abcdef"}
	for i := range n {
		r := "r" + strconv.Itoa(i)
		c.WithLabelValues(r).(prometheus.ExemplarAdder).AddWithExemplar(1, ex)
		h.WithLabelValues(r).(prometheus.ExemplarObserver).ObserveWithExemplar(0.3, ex)
	}
	return reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// BenchmarkScrape: one scrape with n label sets (each a counter and a
// 10-bound histogram, with exemplars): MetricsHandler against the raw
// exporter and against client_golang, in both formats.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		// No cardinality limit on either side: 10,000 series must be real.
		tel, err := Setup(b.Context(), withLookupEnv(mapLookup(map[string]string{"OTELOBS_CARDINALITY_LIMIT": "0"})),
			WithoutGlobals(), WithLogger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		fill(b.Context(), tel.MeterProvider(), n)
		rawMP, rawHandler := rawPull(b, sdkmetric.WithCardinalityLimit(0))
		fill(b.Context(), rawMP, n)
		_, cgHandler := clientGolang(n)
		for _, c := range []struct {
			name, accept string
			h            http.Handler
		}{
			{"otelobs-text", acceptText, tel.MetricsHandler()},
			{"raw-text", acceptText, rawHandler},
			{"otelobs-openmetrics", acceptOpenMetrics, tel.MetricsHandler()},
			{"client_golang-text", acceptText, cgHandler},
			{"client_golang-openmetrics", acceptOpenMetrics, cgHandler},
		} {
			b.Run(c.name+"/series="+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					scrapeOnce(b, c.h, c.accept)
				}
			})
		}
		_ = tel.Shutdown(b.Context())
		_ = rawMP.Shutdown(b.Context())
	}
}

// BenchmarkRecordDuringScrape: the latency of one counter increment and
// one histogram observation (an existing series, in a sampled span) with
// 10,000 series recorded, while nothing scrapes ("idle") and while another
// goroutine scrapes MetricsHandler in OpenMetrics without pause
// ("scraping"). A scrape holding recording for its length (tens of ms)
// would show in p99 and max; on 2 vCPUs the scraper also takes a CPU.
func BenchmarkRecordDuringScrape(b *testing.B) {
	const n = 10000
	tel, err := Setup(b.Context(), withLookupEnv(mapLookup(map[string]string{"OTELOBS_CARDINALITY_LIMIT": "0"})),
		WithoutGlobals(), WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	fill(b.Context(), tel.MeterProvider(), n)
	m := tel.MeterProvider().Meter("bench")
	c, _ := m.Int64Counter("git.merge", metric.WithUnit("{merge}"))
	h, _ := m.Float64Histogram("git.merge.duration", metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(benchBounds...))
	ctx, span := tel.TracerProvider().Tracer("bench").Start(b.Context(), "run")
	defer span.End()
	set := attribute.NewSet(attribute.String("result", "r42"))
	add, rec := []metric.AddOption{metric.WithAttributeSet(set)}, []metric.RecordOption{metric.WithAttributeSet(set)}
	for _, mode := range []string{"idle", "scraping"} {
		b.Run(mode, func(b *testing.B) {
			stop := make(chan struct{})
			var scrapes sync.WaitGroup
			if mode == "scraping" {
				scrapes.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
							scrapeOnce(b, tel.MetricsHandler(), acceptOpenMetrics)
						}
					}
				})
			}
			lat := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				t0 := time.Now()
				c.Add(ctx, 1, add...)
				h.Record(ctx, 0.2, rec...)
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(t0))
				}
			}
			close(stop)
			scrapes.Wait()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
				b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
				b.ReportMetric(float64(lat[len(lat)-1]), "max-ns")
			}
		})
	}
}

// heapPerSeries measures the live heap one label set (a counter and a
// 10-bound histogram, with exemplars) holds, after a scrape.
func heapPerSeries(b *testing.B, n int, build func() (func(), func())) {
	var perSeries float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		record, keep := build()
		record()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSeries = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		keep()
	}
	b.ReportMetric(perSeries, "B/series")
}

// BenchmarkHeapPerSeries compares Setup's pull pipeline with the raw OTel
// exporter and with client_golang vectors carrying exemplars.
func BenchmarkHeapPerSeries(b *testing.B) {
	const n = 2000
	b.Run("otelobs", func(b *testing.B) {
		heapPerSeries(b, n, func() (func(), func()) {
			tel, _ := Setup(b.Context(), withLookupEnv(mapLookup(nil)), WithoutGlobals(), WithLogger(quiet))
			return func() {
					fill(b.Context(), tel.MeterProvider(), n)
					scrapeOnce(b, tel.MetricsHandler(), acceptOpenMetrics)
				}, func() {
					runtime.KeepAlive(tel)
					_ = tel.Shutdown(b.Context())
				}
		})
	})
	b.Run("raw-otel", func(b *testing.B) {
		heapPerSeries(b, n, func() (func(), func()) {
			mp, h := rawPull(b)
			return func() {
					fill(b.Context(), mp, n)
					scrapeOnce(b, h, acceptText)
				}, func() {
					runtime.KeepAlive(mp)
					_ = mp.Shutdown(b.Context())
				}
		})
	})
	b.Run("client_golang", func(b *testing.B) {
		heapPerSeries(b, n, func() (func(), func()) {
			var reg *prometheus.Registry
			return func() {
					var handler http.Handler
					reg, handler = clientGolang(n)
					scrapeOnce(b, handler, acceptOpenMetrics)
				}, func() {
					runtime.KeepAlive(reg)
				}
		})
	})
}

// BenchmarkSampledRecord: a counter increment and a histogram observation
// inside a sampled span, through Setup's exemplar reservoirs (the exemplar
// path every domain measurement takes), one goroutine and all of them.
func BenchmarkSampledRecord(b *testing.B) {
	tel, err := Setup(context.Background(), withLookupEnv(mapLookup(nil)), WithoutGlobals(), WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	m := tel.MeterProvider().Meter("bench")
	c, _ := m.Int64Counter("bench.merges")
	h, _ := m.Float64Histogram("bench.duration", metric.WithExplicitBucketBoundaries(benchBounds...))
	ctx, span := tel.TracerProvider().Tracer("bench").Start(context.Background(), "run")
	defer span.End()
	set := attribute.NewSet(attribute.String("result", "success"))
	add, rec := []metric.AddOption{metric.WithAttributeSet(set)}, []metric.RecordOption{metric.WithAttributeSet(set)}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, add...)
			h.Record(ctx, 0.2, rec...)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(ctx, 1, add...)
				h.Record(ctx, 0.2, rec...)
			}
		})
	})
}

// BenchmarkSampledUpDown is one sampled up-down counter measurement through
// Setup's views (which keep no exemplar for it: Prometheus shows none on a
// gauge).
func BenchmarkSampledUpDown(b *testing.B) {
	tel, err := Setup(context.Background(), withLookupEnv(mapLookup(nil)), WithoutGlobals(), WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	g, _ := tel.MeterProvider().Meter("bench").Int64UpDownCounter("bench.active")
	ctx, span := tel.TracerProvider().Tracer("bench").Start(context.Background(), "run")
	defer span.End()
	add := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("worker_profile", "coder")))}
	b.ReportAllocs()
	for b.Loop() {
		g.Add(ctx, 1, add...)
	}
}

// discardSpans is a span exporter that keeps nothing.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkSpanExport is one span ended and exported by a batch span
// processor, straight into the exporter ("direct", the SDK alone) or
// through the outage spool Setup puts in front of each exporter.
func BenchmarkSpanExport(b *testing.B) {
	for _, mode := range []string{"direct", "spool"} {
		b.Run(mode, func(b *testing.B) {
			var exp sdktrace.SpanExporter = discardSpans{}
			var sp *spool
			if mode == "spool" {
				sp = newSpool(exp, DefaultSpanBuffer, time.Second, quiet, &dropCounts{})
				exp = sp
			}
			// A queue large enough that the processor drops nothing.
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(1<<20)))
			tr := tp.Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, span := tr.Start(ctx, "s")
				span.End()
			}
			if err := tp.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
			if sp != nil {
				if err := sp.ForceFlush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = tp.Shutdown(ctx)
		})
	}
}

// BenchmarkHeldSpan reports the heap a span held in the outage spool takes
// (B/held-span): git.merge spans, ended and kept as the spool keeps them,
// which is what DefaultSpanBuffer's memory bound is figured from.
func BenchmarkHeldSpan(b *testing.B) {
	const n = 10000
	down := &endpoint{down: true}
	for b.Loop() {
		sp := newSpool(down, 2*n, time.Second, quiet, &dropCounts{})
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(sp, sdktrace.WithMaxQueueSize(n), sdktrace.WithBatchTimeout(time.Hour)))
		git, _ := gitmetrics.New(gitmetrics.WithTracerProvider(tp))
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			_, op := git.StartMerge(context.Background(), gitmetrics.MergeInfo{Repository: "agent-orchestrator-workspace", Base: "main", Head: "coder-1-task-code-2"})
			op.End(nil)
		}
		_ = tp.ForceFlush(context.Background()) // the batches go to the spool, which holds them
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/held-span")
		runtime.KeepAlive(sp)
		_ = sp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	}
}
