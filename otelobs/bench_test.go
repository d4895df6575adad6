package otelobs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// BenchmarkMetricsHandler measures one scrape of MetricsHandler with n label
// sets, each with a counter and a 10-bucket histogram, in OpenMetrics (with
// exemplars) and in the classic text format.
func BenchmarkMetricsHandler(b *testing.B) {
	for _, n := range []int{100, 1000} {
		tel, err := Setup(b.Context(), withLookupEnv(mapLookup(nil)), WithoutGlobals(), WithLogger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		m := tel.MeterProvider().Meter("bench")
		c, _ := m.Int64Counter("git.merge", metric.WithUnit("{merge}"))
		h, _ := m.Float64Histogram("git.merge.duration", metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300))
		ctx, span := tel.TracerProvider().Tracer("bench").Start(b.Context(), "span")
		for i := range n {
			attrs := metric.WithAttributes(attribute.String("result", "r"+strconv.Itoa(i)))
			c.Add(ctx, 1, attrs)
			h.Record(ctx, 0.3, attrs)
		}
		span.End()
		for _, format := range []struct{ name, accept string }{
			{"openmetrics", "application/openmetrics-text;version=1.0.0"},
			{"text", "text/plain;version=0.0.4"},
		} {
			b.Run(format.name+"/series="+strconv.Itoa(n), func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept", format.accept)
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					tel.MetricsHandler().ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatal(rec.Code)
					}
					_, _ = io.Copy(io.Discard, rec.Body)
				}
			})
		}
		_ = tel.Shutdown(b.Context())
	}
}
