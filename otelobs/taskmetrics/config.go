package taskmetrics

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// Option configures New.
type Option interface {
	apply(*instr.Providers)
}

type optionFunc func(*instr.Providers)

func (f optionFunc) apply(p *instr.Providers) { f(p) }

// WithMeterProvider sets the MeterProvider the instruments come from. The
// default is the global one, which otelobs.Setup installs; a nil provider is
// ignored.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(p *instr.Providers) {
		if mp != nil {
			p.MeterProvider = mp
		}
	})
}

// WithTracerProvider sets the TracerProvider the spans come from. The default
// is the global one; a nil provider is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(p *instr.Providers) {
		if tp != nil {
			p.TracerProvider = tp
		}
	})
}

func newProviders(opts []Option) instr.Providers {
	var p instr.Providers
	for _, o := range opts {
		if o != nil {
			o.apply(&p)
		}
	}
	return p.Resolve()
}
