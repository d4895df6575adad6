// Package instr holds what the domain packages (gitmetrics, taskmetrics,
// llmmetrics) share: provider defaults, scope identity, instrument-error
// collection and precomputed measurement options. It imports only the
// OpenTelemetry API.
package instr

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/version"
)

// Providers are the providers a domain package's New uses.
type Providers struct {
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// Resolve fills unset providers with the globals.
func (p Providers) Resolve() Providers {
	if p.MeterProvider == nil {
		p.MeterProvider = otel.GetMeterProvider()
	}
	if p.TracerProvider == nil {
		p.TracerProvider = otel.GetTracerProvider()
	}
	return p
}

// Meter returns the scope's meter, versioned and with the semconv schema.
func (p Providers) Meter(scope string) metric.Meter {
	return p.MeterProvider.Meter(scope,
		metric.WithInstrumentationVersion(version.Version),
		metric.WithSchemaURL(semconv.SchemaURL))
}

// Tracer returns the scope's tracer, versioned and with the semconv schema.
func (p Providers) Tracer(scope string) trace.Tracer {
	return p.TracerProvider.Tracer(scope,
		trace.WithInstrumentationVersion(version.Version),
		trace.WithSchemaURL(semconv.SchemaURL))
}

// Errors collects instrument creation errors, each naming its instrument.
type Errors struct {
	pkg  string
	errs []error
}

// NewErrors returns a collector whose messages start with pkg.
func NewErrors(pkg string) *Errors { return &Errors{pkg: pkg} }

// Failed records err for the named instrument and reports whether it is
// non-nil, in which case the caller substitutes a no-op instrument.
func (e *Errors) Failed(name string, err error) bool {
	if err == nil {
		return false
	}
	e.errs = append(e.errs, fmt.Errorf("%s: create %s: %w", e.pkg, name, err))
	return true
}

// Err returns the joined errors, or nil.
func (e *Errors) Err() error { return errors.Join(e.errs...) }

// Opts are the precomputed options for one attribute set, usable with every
// synchronous instrument without allocating.
type Opts struct {
	Record []metric.RecordOption
	Add    []metric.AddOption
}

// NewOpts precomputes the options for the attributes.
func NewOpts(kv ...attribute.KeyValue) Opts {
	set := metric.WithAttributeSet(attribute.NewSet(kv...))
	return Opts{Record: []metric.RecordOption{set}, Add: []metric.AddOption{set}}
}
