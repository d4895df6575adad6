//go:build !otelobs_nootlp

package otelobs

import (
	"context"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The OTLP exporters, over gRPC and HTTP. Build tag otelobs_nootlp leaves
// them out, for a service that only serves /metrics: they are about 6 MB of
// a binary (docs/benchmarks.md), the HTTP ones nearly as much as gRPC, since
// both import the OTLP protobuf packages and those import gRPC.

// otlpAvailable says whether this binary has the OTLP exporters.
const otlpAvailable = true

// newOTLPSpanExporter is the OTLP span exporter of s's protocol. Without an
// endpoint variable the Go exporters would dial https://localhost; the
// specification's default is plain http.
func newOTLPSpanExporter(ctx context.Context, cfg config, s settings) (sdktrace.SpanExporter, error) {
	ep := rawOTLPEndpoint(cfg.lookup, "TRACES", s.tracesProtocol)
	set := endpointSet(cfg.lookup, "TRACES")
	if s.tracesProtocol == protocolGRPC {
		var o []otlptracegrpc.Option
		if !set {
			o = append(o, otlptracegrpc.WithEndpointURL(ep))
		}
		return otlptracegrpc.New(ctx, o...)
	}
	var o []otlptracehttp.Option
	if !set {
		o = append(o, otlptracehttp.WithEndpointURL(ep))
	}
	return otlptracehttp.New(ctx, o...)
}

// newOTLPMetricExporter is newOTLPSpanExporter for metrics.
func newOTLPMetricExporter(ctx context.Context, cfg config, s settings) (sdkmetric.Exporter, error) {
	ep := rawOTLPEndpoint(cfg.lookup, "METRICS", s.metricsProtocol)
	set := endpointSet(cfg.lookup, "METRICS")
	if s.metricsProtocol == protocolGRPC {
		var o []otlpmetricgrpc.Option
		if !set {
			o = append(o, otlpmetricgrpc.WithEndpointURL(ep))
		}
		return otlpmetricgrpc.New(ctx, o...)
	}
	var o []otlpmetrichttp.Option
	if !set {
		o = append(o, otlpmetrichttp.WithEndpointURL(ep))
	}
	return otlpmetrichttp.New(ctx, o...)
}

// grpcRetryable classes a gRPC status error (isGRPC false for others): the
// codes the OTLP specification calls retryable.
func grpcRetryable(err error) (retry, isGRPC bool) {
	st, ok := status.FromError(err)
	if !ok {
		return false, false
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange,
		codes.Unavailable, codes.DataLoss, codes.ResourceExhausted:
		return true, true
	}
	return false, true
}
