package otelobs_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/agentorchestrator/observability/otelobs"
)

// The one-line set-up: metrics for Prometheus on the application's own
// /metrics, traces to OTLP when an endpoint is configured.
func ExampleSetup() {
	ctx := context.Background()
	os.Setenv("OTEL_METRICS_EXPORTER", "prometheus") // the default, spelled out
	defer os.Unsetenv("OTEL_METRICS_EXPORTER")
	tel, err := otelobs.Setup(ctx, otelobs.WithServiceName("agent-orchestrator"),
		otelobs.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Shutdown(ctx)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())

	// Record a merge inside a span: the counter gets the span's trace id as
	// an exemplar.
	ctx, span := otel.Tracer("example").Start(ctx, "git.merge")
	merges, _ := otel.Meter("example").Int64Counter("git.merge", metric.WithUnit("{merge}"))
	merges.Add(ctx, 1, metric.WithAttributes(attribute.String("result", "success")))
	span.End()

	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "git_merge_total") {
			value, exemplar, _ := strings.Cut(line, " # ")
			fmt.Println(value)
			fmt.Println("exemplar has trace_id:", strings.Contains(exemplar, `trace_id="`+span.SpanContext().TraceID().String()))
		}
	}
	// Output:
	// git_merge_total{result="success"} 1.0
	// exemplar has trace_id: true
}

// Under WithStrictEnv a bad value is an error naming the variable and what
// it accepts (without it, the same text is a warning and the default
// applies).
func ExampleEnvError() {
	os.Setenv("OTEL_METRICS_EXPORTER", "prometheus,statsd")
	defer os.Unsetenv("OTEL_METRICS_EXPORTER")
	_, err := otelobs.Setup(context.Background(), otelobs.WithoutGlobals(), otelobs.WithStrictEnv())
	fmt.Println(err)
	// Output:
	// otelobs: OTEL_METRICS_EXPORTER="prometheus,statsd": unknown exporter "statsd"; accepted: prometheus, otlp, console, none (or a comma-separated list of them)
}
