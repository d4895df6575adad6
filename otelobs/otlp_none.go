//go:build otelobs_nootlp

package otelobs

import (
	"context"
	"errors"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Built with -tags otelobs_nootlp: no OTLP exporter (nor gRPC) in the
// binary. Setup warns about OTEL_*_EXPORTER=otlp and leaves it out.

const otlpAvailable = false

var errNoOTLP = errors.New("otelobs: this binary was built with -tags otelobs_nootlp, without the OTLP exporters")

func newOTLPSpanExporter(context.Context, config, settings) (sdktrace.SpanExporter, error) {
	return nil, errNoOTLP
}

func newOTLPMetricExporter(context.Context, config, settings) (sdkmetric.Exporter, error) {
	return nil, errNoOTLP
}

func grpcRetryable(error) (retry, isGRPC bool) { return false, false }
