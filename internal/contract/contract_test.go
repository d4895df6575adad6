package contract

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/agentorchestrator/observability/otelobs"
)

// parseSeries splits `name{a="x",b="y"}` into the name and its labels.
func parseSeries(id string) (string, map[string]string) {
	name, rest, ok := strings.Cut(id, "{")
	labels := map[string]string{}
	if !ok {
		return name, labels
	}
	for kv := range strings.SplitSeq(strings.TrimSuffix(rest, "}"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		labels[k] = strings.Trim(v, `"`)
	}
	return name, labels
}

// TestContractSeriesOnPull: every contract series is on /metrics with exactly
// its labels, and every enumerated label value appears.
func TestContractSeriesOnPull(t *testing.T) {
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	tel, err := otelobs.Setup(t.Context(), otelobs.WithoutGlobals())
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	in, err := NewInstruments(tel.MeterProvider(), tel.TracerProvider())
	if err != nil {
		t.Fatal(err)
	}
	Run(t.Context(), in, tel.TracerProvider().Tracer("contract"), 1)
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))

	type family struct {
		labelSets map[string]bool
		values    map[string]map[string]bool
	}
	families := map[string]*family{}
	for _, id := range seriesOf(rec.Body.String()) {
		name, labels := parseSeries(id)
		f := families[name]
		if f == nil {
			f = &family{labelSets: map[string]bool{}, values: map[string]map[string]bool{}}
			families[name] = f
		}
		var keys []string
		for k, v := range labels {
			if k == "le" {
				continue
			}
			keys = append(keys, k)
			if f.values[k] == nil {
				f.values[k] = map[string]bool{}
			}
			f.values[k][v] = true
		}
		sort.Strings(keys)
		f.labelSets[strings.Join(keys, ",")] = true
	}
	for _, s := range Contract {
		names := []string{s.Name}
		if s.Histogram {
			names = []string{s.Name + "_bucket", s.Name + "_sum", s.Name + "_count"}
		}
		for _, n := range names {
			f := families[n]
			if f == nil {
				t.Errorf("%s: missing", n)
				continue
			}
			want := strings.Join(s.Labels, ",")
			if len(f.labelSets) != 1 || !f.labelSets[want] {
				t.Errorf("%s: label sets %v, want exactly {%s}", n, f.labelSets, want)
			}
			for _, l := range s.Labels {
				for _, v := range LabelValues[l] {
					if !f.values[l][v] {
						t.Errorf("%s: no series with %s=%q", n, l, v)
					}
				}
				for v := range f.values[l] {
					if allowed, ok := LabelValues[l]; ok && !slices.Contains(allowed, v) {
						t.Errorf("%s: %s=%q is not an allowed value", n, l, v)
					}
				}
			}
		}
	}
}
