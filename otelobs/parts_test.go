package otelobs_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentorchestrator/observability/otelobs"
)

// TestPartsForAnOwnSDK: an SDK built by hand with PrometheusReader,
// ReservoirViews and PrometheusHandler serves what Setup's pull path
// serves: the pinned names, no scope labels, and in OpenMetrics the
// latest measurement's exemplar.
func TestPartsForAnOwnSDK(t *testing.T) {
	reader, gatherer, err := otelobs.PrometheusReader()
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithExemplarFilter(exemplar.TraceBasedFilter),
		sdkmetric.WithView(otelobs.ReservoirViews()...))
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) }()
	c, _ := mp.Meter("app").Int64Counter("git.merge", metric.WithUnit("{merge}"))
	var last string
	for range 3 {
		ctx, span := tp.Tracer("app").Start(t.Context(), "merge")
		c.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "success")))
		last = span.SpanContext().TraceID().String()
		span.End()
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	rec := httptest.NewRecorder()
	otelobs.PrometheusHandler(gatherer).ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	out := string(body)
	line := ""
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, `git_merge_total{result="success"} 3.0 # {`) {
			line = l
		}
	}
	if !strings.Contains(rec.Header().Get("Content-Type"), "openmetrics") ||
		!strings.Contains(line, `trace_id="`+last+`"`) || strings.Contains(out, "otel_scope_name") {
		t.Errorf("exposition (%s):\n%s", rec.Header().Get("Content-Type"), out)
	}
}
