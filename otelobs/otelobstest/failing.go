package otelobstest

import (
	"errors"
	"strings"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// ErrInstrument is the error every instrument creation of
// FailingMeterProvider returns.
var ErrInstrument = errors.New("otelobstest: instrument creation refused")

// FailingMeterProvider returns a MeterProvider whose meters refuse every
// synchronous instrument with ErrInstrument, for a test that code copes:
// the otelobs domain packages' New join the errors, name each instrument,
// and return a usable value whose instruments are no-ops.
func FailingMeterProvider() metric.MeterProvider { return failingProvider{} }

type failingProvider struct{ noop.MeterProvider }

func (failingProvider) Meter(string, ...metric.MeterOption) metric.Meter { return failingMeter{} }

type failingMeter struct{ noop.Meter }

func (failingMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return nil, ErrInstrument
}
func (failingMeter) Float64Counter(string, ...metric.Float64CounterOption) (metric.Float64Counter, error) {
	return nil, ErrInstrument
}
func (failingMeter) Int64UpDownCounter(string, ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	return nil, ErrInstrument
}
func (failingMeter) Int64Histogram(string, ...metric.Int64HistogramOption) (metric.Int64Histogram, error) {
	return nil, ErrInstrument
}
func (failingMeter) Float64Histogram(string, ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return nil, ErrInstrument
}

// SpansContaining says where the ended spans carry text (a status, an
// attribute, an event's attribute), for a test that no secret reaches a
// trace: none is an empty slice.
func (t *Telemetry) SpansContaining(text string) []string {
	var out []string
	for _, s := range t.Ended() {
		if strings.Contains(s.Status.Description, text) {
			out = append(out, s.Name+" status: "+s.Status.Description)
		}
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.String(), text) {
				out = append(out, s.Name+" attribute "+string(a.Key))
			}
		}
		for _, e := range s.Events {
			for _, a := range e.Attributes {
				if strings.Contains(a.Value.String(), text) {
					out = append(out, s.Name+" event "+e.Name+" attribute "+string(a.Key))
				}
			}
		}
	}
	return out
}
