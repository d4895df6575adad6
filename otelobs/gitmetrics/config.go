package gitmetrics

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// Option configures New: WithMeterProvider or WithTracerProvider.
type Option = instr.Option

// WithMeterProvider sets the MeterProvider the instruments come from. The
// default is the global one, which otelobs.Setup installs; a nil provider is
// ignored.
func WithMeterProvider(mp metric.MeterProvider) Option { return instr.WithMeterProvider(mp) }

// WithTracerProvider sets the TracerProvider the spans come from. The default
// is the global one; a nil provider is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option { return instr.WithTracerProvider(tp) }

func newProviders(opts []Option) instr.Providers { return instr.NewProviders(opts) }
