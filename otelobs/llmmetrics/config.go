package llmmetrics

import (
	"log/slog"
	"os"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// config is what the options set.
type config struct {
	instr.Providers
	logger         *slog.Logger
	prices         *Prices
	maxSeries      int
	conventions    Conventions
	conventionsSet bool
}

// Option configures New.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// DefaultMaxSeries is the default cap on provider and model label pairs.
const DefaultMaxSeries = 200

// WithPrices sets the price table. The default is LoadPrices: the embedded
// table, overridden by the file named in OTELOBS_LLM_PRICES_FILE.
func WithPrices(p *Prices) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.prices = p
		}
	})
}

// WithLogger sets the logger for the one-time warning about each unpriced
// model. The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMaxSeries caps the distinct provider and model label pairs (default
// DefaultMaxSeries); further models of a provider are recorded as model
// _OTHER. Values below 1 are ignored.
func WithMaxSeries(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxSeries = n
		}
	})
}

// WithConventions chooses the GenAI semantic-convention instruments,
// overriding OTEL_SEMCONV_STABILITY_OPT_IN.
func WithConventions(mode Conventions) Option {
	return optionFunc(func(c *config) {
		c.conventions, c.conventionsSet = mode, true
	})
}

// WithMeterProvider sets the MeterProvider the instruments come from. The
// default is the global one, which otelobs.Setup installs; a nil provider is
// ignored.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.MeterProvider = mp
		}
	})
}

// WithTracerProvider sets the TracerProvider the spans come from. The default
// is the global one; a nil provider is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.TracerProvider = tp
		}
	})
}

func newConfig(opts []Option) (config, error) {
	c := config{maxSeries: DefaultMaxSeries}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	c.Providers = c.Resolve()
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if !c.conventionsSet {
		c.conventions = conventionsFromEnv(os.Getenv)
	}
	var err error
	if c.prices == nil {
		// A bad price file is reported, and the embedded table used.
		c.prices, err = LoadPrices()
	}
	return c, err
}
