// Package promexpo serves an OTel SDK's metrics in the Prometheus text
// formats, byte for byte what the OTel Prometheus exporter and client_golang's
// promhttp serve for the same data, at a fraction of their cost.
//
// A Source is the SDK's reader. Its Gather method is the reference: it hands
// the collected data to the upstream exporter and returns what it makes of
// it. Handler writes the text and OpenMetrics formats straight from the
// collected data (encode.go), and gives a scrape to the reference path
// whenever the data holds something it does not reproduce exactly (a
// translation collision, an invalid label value, an exponential histogram,
// a protobuf scrape: build and Handler list them), so that what Prometheus
// reads never depends on which path served it.
package promexpo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Strategy is the name translation both paths use: the exporter's default
// today, pinned so that a library upgrade cannot rename series under the
// dashboards and alert rules.
var Strategy = otlptranslator.UnderscoreEscapingWithSuffixes

// Source is the pull path's metric reader. Register Reader with the
// MeterProvider; serve it with Handler, or gather it as a
// prometheus.Gatherer.
type Source struct {
	reader *metric.ManualReader
	names  names

	refOnce sync.Once
	ref     *reference
	refErr  error
}

// New returns a Source.
func New() *Source {
	return &Source{
		reader: metric.NewManualReader(),
		names:  newNames(),
	}
}

// Reader is the reader to register with the MeterProvider.
func (s *Source) Reader() metric.Reader { return s.reader }

// collect reads the SDK's data the way the exporter does: a reader shut
// down or not registered yields nil (nothing to serve), any other error (a
// failing callback, say) goes to the global error handler and what was
// collected is served.
func (s *Source) collect(ctx context.Context) *metricdata.ResourceMetrics {
	rm := &metricdata.ResourceMetrics{}
	if err := s.reader.Collect(ctx, rm); err != nil {
		if errors.Is(err, metric.ErrReaderShutdown) || errors.Is(err, metric.ErrReaderNotRegistered) {
			return nil
		}
		otel.Handle(err)
	}
	return rm
}

// Gather implements prometheus.Gatherer through the OTel Prometheus
// exporter itself: the reference output, and the path Handler takes for
// data the fast path does not reproduce exactly.
func (s *Source) Gather() ([]*dto.MetricFamily, error) {
	return s.gatherCollected(s.collect(context.Background()))
}

// gatherCollected renders collected data through the reference path; nil
// data (a reader shut down) gathers nothing.
func (s *Source) gatherCollected(rm *metricdata.ResourceMetrics) ([]*dto.MetricFamily, error) {
	if rm == nil {
		return nil, nil
	}
	s.refOnce.Do(func() { s.ref, s.refErr = newReference(rm.Resource) })
	if s.refErr != nil {
		return nil, s.refErr
	}
	return s.ref.gather(rm.ScopeMetrics)
}

// reference is the upstream exporter with its registry, fed through a
// producer with data already collected: it sits on a MeterProvider of its
// own that has no instruments, only the Source's resource, so its output
// (target_info included) is the exporter's rendering of exactly that data.
type reference struct {
	mu      sync.Mutex
	reg     *prometheus.Registry
	pending []metricdata.ScopeMetrics
}

func newReference(res *resource.Resource) (*reference, error) {
	r := &reference{reg: prometheus.NewRegistry()}
	exp, err := otelprom.New(
		otelprom.WithRegisterer(r.reg),
		otelprom.WithTranslationStrategy(Strategy),
		otelprom.WithoutScopeInfo(),
		otelprom.WithProducer(r),
	)
	if err != nil {
		return nil, fmt.Errorf("create the prometheus exporter: %w", err)
	}
	metric.NewMeterProvider(metric.WithReader(exp), metric.WithResource(res))
	return r, nil
}

// Produce implements metric.Producer: the data handed to gather.
func (r *reference) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	return r.pending, nil
}

func (r *reference) gather(sm []metricdata.ScopeMetrics) ([]*dto.MetricFamily, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = sm
	defer func() { r.pending = nil }()
	return r.reg.Gather()
}
