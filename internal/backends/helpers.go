package backends

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// CleanEnv blanks every OTEL_* variable of the process for the test, then
// sets env, so that a test's telemetry configuration is exactly env.
func CleanEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "OTEL_") || strings.HasPrefix(name, "OTELOBS_") {
			t.Setenv(name, "")
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// WaitForExemplar waits until Prometheus returns an exemplar with traceID
// (and a span id) for the series the query selects.
func (p *Prometheus) WaitForExemplar(t testing.TB, query, traceID string) {
	t.Helper()
	Eventually(t, 60*time.Second, "exemplar with trace "+traceID+" on "+query, func(ctx context.Context) error {
		exs, err := p.QueryExemplars(ctx, query)
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range exs {
			if e.Labels["trace_id"] == traceID {
				if len(e.Labels["span_id"]) != 16 {
					return fmt.Errorf("exemplar without a span_id: %v", e.Labels)
				}
				return nil
			}
			seen = append(seen, e.Labels["trace_id"])
		}
		return fmt.Errorf("exemplar trace ids so far: %v", seen)
	})
}

// SeriesShapes renders the series matching selector as "name{label,…}"
// lines, sorted and unique, without job and instance: those differ by export
// path by design (pull: the scrape job and target; OTLP: service.name and
// service.instance.id).
func (p *Prometheus) SeriesShapes(ctx context.Context, selector string) ([]string, error) {
	series, err := p.Series(ctx, selector)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, s := range series {
		var labels []string
		for k := range s {
			if k != "__name__" && k != "job" && k != "instance" {
				labels = append(labels, k)
			}
		}
		sort.Strings(labels)
		set[s["__name__"]+"{"+strings.Join(labels, ",")+"}"] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// WaitForSeriesShapes waits until the series matching selector have exactly
// the shapes want (see SeriesShapes).
func (p *Prometheus) WaitForSeriesShapes(t testing.TB, selector string, want []string) {
	t.Helper()
	Eventually(t, 30*time.Second, "series shapes of "+selector, func(ctx context.Context) error {
		got, err := p.SeriesShapes(ctx, selector)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			var missing, extra []string
			for _, w := range want {
				if !slices.Contains(got, w) {
					missing = append(missing, w)
				}
			}
			for _, g := range got {
				if !slices.Contains(want, g) {
					extra = append(extra, g)
				}
			}
			return fmt.Errorf("series differ: missing %q, unexpected %q", missing, extra)
		}
		return nil
	})
}

// WaitForTrace waits until Jaeger returns the trace with every named span.
func (j *Jaeger) WaitForTrace(t testing.TB, traceID string, spans ...string) {
	t.Helper()
	Eventually(t, 60*time.Second, "trace "+traceID+" in Jaeger", func(ctx context.Context) error {
		names, err := j.TraceSpans(ctx, traceID)
		if err != nil {
			return err
		}
		for _, s := range spans {
			if !slices.Contains(names, s) {
				return fmt.Errorf("trace has spans %v, not %q", names, s)
			}
		}
		return nil
	})
}

// WaitForTargetHealth waits until the scrape pool job has exactly one
// active target, with the health ("up" or "down").
func (p *Prometheus) WaitForTargetHealth(t testing.TB, job, health string) {
	t.Helper()
	Eventually(t, 30*time.Second, "target of "+job+" "+health, func(ctx context.Context) error {
		var r struct {
			ActiveTargets []struct{ ScrapePool, Health, LastError string } `json:"activeTargets"`
		}
		if err := p.API(ctx, "targets", url.Values{"state": {"active"}, "scrapePool": {job}}, &r); err != nil {
			return err
		}
		if len(r.ActiveTargets) != 1 || r.ActiveTargets[0].Health != health {
			return fmt.Errorf("targets: %+v", r.ActiveTargets)
		}
		return nil
	})
}

// WaitForData waits until the query returns at least one sample.
func (p *Prometheus) WaitForData(t testing.TB, query string) {
	t.Helper()
	Eventually(t, 60*time.Second, "data for "+query, func(ctx context.Context) error {
		s, err := p.Query(ctx, query)
		if err != nil || len(s) == 0 {
			return fmt.Errorf("%v %v", s, err)
		}
		return nil
	})
}

// httpGet GETs u and returns the status and the body.
func httpGet(ctx context.Context, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
