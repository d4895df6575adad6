package promexpo

import (
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
)

// names caches the exporter's translations of metric names and attribute
// keys; instruments and attribute keys are few and fixed by code, and past
// maxNames entries a name is translated on every scrape instead.
type names struct {
	mu      sync.RWMutex
	metrics map[metricKey]string
	labels  map[attribute.Key]string
	metricN otlptranslator.MetricNamer
	labelN  otlptranslator.LabelNamer
}

type metricKey struct {
	name, unit string
	typ        otlptranslator.MetricType
}

const maxNames = 4096

func newNames() names {
	return names{
		metrics: map[metricKey]string{},
		labels:  map[attribute.Key]string{},
		metricN: otlptranslator.NewMetricNamer("", Strategy),
		labelN:  otlptranslator.LabelNamer{UTF8Allowed: !Strategy.ShouldEscape()},
	}
}

// metric returns the series name the exporter gives an instrument; "" and
// false when it would not be a valid legacy name (an error, or escaping
// the text formats would apply to it).
func (n *names) metric(name, unit string, t otlptranslator.MetricType) (string, bool) {
	v := cached(&n.mu, n.metrics, metricKey{name, unit, t}, func() string {
		v, err := n.metricN.Build(otlptranslator.Metric{Name: name, Unit: unit, Type: t})
		if err != nil || !model.LegacyValidation.IsValidMetricName(v) {
			return ""
		}
		return v
	})
	return v, v != ""
}

// label returns the label name the exporter gives an attribute key; false
// when that is not a valid legacy label name or starts with "__" (which
// client_golang refuses).
func (n *names) label(key attribute.Key) (string, bool) {
	v := cached(&n.mu, n.labels, key, func() string {
		v, err := n.labelN.Build(string(key))
		if err != nil || !model.LegacyValidation.IsValidLabelName(v) || strings.HasPrefix(v, model.ReservedLabelPrefix) {
			return ""
		}
		return v
	})
	return v, v != ""
}

// cached returns m[k], translating and storing it (below maxNames entries)
// on a miss.
func cached[K comparable](mu *sync.RWMutex, m map[K]string, k K, translate func() string) string {
	mu.RLock()
	v, ok := m[k]
	mu.RUnlock()
	if ok {
		return v
	}
	v = translate()
	mu.Lock()
	if len(m) < maxNames {
		m[k] = v
	}
	mu.Unlock()
	return v
}

// histogramSuffix returns the suffix (_count, _sum or _bucket) whose
// removal turns name into the name of another element of sorted (sorted by
// nameOf), or "": client_golang refuses one of two such families when
// either is a histogram, so neither the builder nor the merge with other
// gatherers writes them side by side.
func histogramSuffix[T any](sorted []T, nameOf func(T) string, name string) string {
	for _, suffix := range []string{"_count", "_sum", "_bucket"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if _, found := slices.BinarySearchFunc(sorted, base, func(x T, n string) int { return strings.Compare(nameOf(x), n) }); found {
				return suffix
			}
		}
	}
	return ""
}
