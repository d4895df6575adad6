package view

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// tracePage model.
type tracePage struct {
	*traceView
	Error      string
	Back       string // the dashboard around the trace
	BackPanel  string
	Series     string // the query of the exemplar's series
	SeriesLink string
	Metrics    []link // tracesToMetrics queries
	JaegerURL  string
}

func (s *Server) tracePage(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("id"))
	if !traceIDRE.MatchString(id) {
		s.fail(w, http.StatusBadRequest, "Bad trace id", fmt.Sprintf("%q is not a trace id: want 32 hex digits", r.PathValue("id")))
		return
	}
	page := &tracePage{traceView: &traceView{TraceID: id}, JaegerURL: s.jaeger.display}
	t, err := s.jaeger.trace(r.Context(), id)
	status := http.StatusOK
	switch {
	case errors.Is(err, errTraceNotFound):
		status = http.StatusNotFound
		page.Error = "Jaeger (" + s.jaeger.display + ") has no trace " + id + ": its spans were not exported to Jaeger, are still in the exporter's batch (retry in a few seconds), " +
			"or were dropped by its retention. `go run ./cmd/otelobs doctor` checks the chain."
	case err != nil:
		status = http.StatusBadGateway
		page.Error = err.Error()
	default:
		page.traceView = buildTraceView(t)
	}
	// The way back: the dashboard around the trace (or the exemplar's time),
	// with that moment marked.
	f := r.URL.Query()
	at := page.Start
	exemplarMs, _ := strconv.ParseInt(f.Get("t"), 10, 64)
	if at.IsZero() && exemplarMs > 0 {
		at = time.UnixMilli(exemplarMs)
	}
	if !at.IsZero() {
		from, to := at.Add(-15*time.Minute), at.Add(page.Duration+15*time.Minute)
		mark := at.UnixMilli()
		if exemplarMs > 0 {
			mark = exemplarMs
		}
		v := url.Values{"from": {strconv.FormatInt(from.UnixMilli(), 10)}, "to": {strconv.FormatInt(to.UnixMilli(), 10)},
			"refresh": {"off"}, "mark": {strconv.FormatInt(mark, 10)}}
		page.Back = "/?" + v.Encode()
		if pid, err := strconv.Atoi(f.Get("panel")); err == nil {
			if p, ok := s.dash.Panel(pid); ok {
				page.BackPanel = p.Title
				page.Back += "#panel-" + strconv.Itoa(pid)
			}
		}
		if sel := f.Get("series"); sel != "" && len(sel) < 2048 {
			if expr, ok := seriesExpr(sel); ok {
				page.Series = expr // what the link runs, not the parameter
				v.Set("expr", expr)
				v.Del("mark")
				page.SeriesLink = "/explore?" + v.Encode()
			}
		}
		if s.t2m != nil && page.traceView != nil && len(page.Spans) > 0 {
			page.Metrics = s.t2m.links(page.traceView, t)
		}
	}
	s.render(w, status, "trace.html", page)
}

// seriesExpr turns an exemplar's series ({__name__="x_bucket", le=…, …})
// into what to look at: the p95 for a histogram bucket, the rate for a
// counter, the series itself otherwise.
func seriesExpr(sel string) (string, bool) {
	m, err := parseLabelSet(sel)
	if err != nil {
		return "", false
	}
	name := m[model.MetricNameLabel]
	delete(m, model.MetricNameLabel)
	delete(m, "le")
	if !model.LegacyValidation.IsValidMetricName(string(name)) {
		return "", false
	}
	for l := range m {
		if !model.LegacyValidation.IsValidLabelName(string(l)) {
			return "", false
		}
	}
	selector := string(name) + m.String()
	if len(m) == 0 {
		selector = string(name)
	}
	switch {
	case strings.HasSuffix(string(name), "_bucket"):
		return "histogram_quantile(0.95, sum by (le) (rate(" + selector + "[5m])))", true
	case strings.HasSuffix(string(name), "_total"):
		return "rate(" + selector + "[5m])", true
	}
	return selector, true
}

// parseLabelSet reads a label set as model.LabelSet.String() writes it.
func parseLabelSet(s string) (model.LabelSet, error) {
	var m model.LabelSet
	// String() writes {a="b", c="d"}: valid JSON once the keys are quoted.
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("not a label set")
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	m = model.LabelSet{}
	for inner != "" {
		eq := strings.Index(inner, "=")
		if eq <= 0 {
			return nil, fmt.Errorf("not a label set")
		}
		name := strings.TrimSpace(inner[:eq])
		rest := strings.TrimSpace(inner[eq+1:])
		val, tail, err := unquote(rest)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(name, `"`) {
			if name, _, err = unquote(name); err != nil {
				return nil, err
			}
		}
		m[model.LabelName(name)] = model.LabelValue(val)
		inner = strings.TrimPrefix(strings.TrimSpace(tail), ",")
		inner = strings.TrimSpace(inner)
	}
	return m, nil
}

// unquote reads a Go-quoted string at the start of s.
func unquote(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("want a quoted value")
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			v, err := strconv.Unquote(s[:i+1])
			return v, s[i+1:], err
		}
	}
	return "", "", fmt.Errorf("unterminated value")
}
