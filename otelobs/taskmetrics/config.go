package taskmetrics

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// Option configures New.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	instr.Providers
	profiles []Profile // added with WithProfiles
}

// WithMeterProvider sets the MeterProvider the instruments come from. The
// default is the global one, which otelobs.Setup installs; a nil provider is
// ignored.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.SetMeterProvider(mp) })
}

// WithTracerProvider sets the TracerProvider the spans come from. The default
// is the global one; a nil provider is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.SetTracerProvider(tp) })
}

// WithProfiles adds worker profiles to the built-in planner, coder and
// tester, for an agent system with roles of its own (a reviewer, a
// researcher). A profile is a label value: lower-case letters, digits and
// . _ -, starting with a letter, at most 32 characters; at most MaxProfiles
// may be added, so that worker_profile stays bounded. Values outside the
// vocabulary are still recorded as ProfileOther. New reports the profiles it
// cannot use, and uses the rest.
func WithProfiles(profiles ...Profile) Option {
	return optionFunc(func(c *config) { c.profiles = append(c.profiles, profiles...) })
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	c.Providers = c.Resolve()
	return c
}
