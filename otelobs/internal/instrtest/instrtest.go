// Package instrtest holds test helpers shared by the domain packages' tests.
package instrtest

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// ErrCreate is the error every instrument creation of ErrMeterProvider
// returns.
var ErrCreate = errors.New("instrument creation failed")

// ErrMeterProvider is a MeterProvider whose meters fail every synchronous
// instrument creation with ErrCreate, for testing that constructors join
// the errors and stay usable.
type ErrMeterProvider struct{ noop.MeterProvider }

// Meter returns a failing meter.
func (ErrMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter { return errMeter{} }

type errMeter struct{ noop.Meter }

func (errMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return nil, ErrCreate
}
func (errMeter) Float64Counter(string, ...metric.Float64CounterOption) (metric.Float64Counter, error) {
	return nil, ErrCreate
}
func (errMeter) Int64UpDownCounter(string, ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	return nil, ErrCreate
}
func (errMeter) Int64Histogram(string, ...metric.Int64HistogramOption) (metric.Int64Histogram, error) {
	return nil, ErrCreate
}
func (errMeter) Float64Histogram(string, ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return nil, ErrCreate
}
