package instr

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option sets the providers of a domain package whose only options are
// its providers (gitmetrics: its Option is this type).
type Option interface {
	apply(*Providers)
}

type optionFunc func(*Providers)

func (f optionFunc) apply(p *Providers) { f(p) }

// WithMeterProvider sets the MeterProvider; a nil provider is ignored.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(p *Providers) { p.SetMeterProvider(mp) })
}

// WithTracerProvider sets the TracerProvider; a nil provider is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(p *Providers) { p.SetTracerProvider(tp) })
}

// SetMeterProvider sets the MeterProvider unless mp is nil.
func (p *Providers) SetMeterProvider(mp metric.MeterProvider) {
	if mp != nil {
		p.MeterProvider = mp
	}
}

// SetTracerProvider sets the TracerProvider unless tp is nil.
func (p *Providers) SetTracerProvider(tp trace.TracerProvider) {
	if tp != nil {
		p.TracerProvider = tp
	}
}

// NewProviders applies opts (nil ones skipped) and fills what is unset with
// the globals.
func NewProviders(opts []Option) Providers {
	var p Providers
	for _, o := range opts {
		if o != nil {
			o.apply(&p)
		}
	}
	return p.Resolve()
}
