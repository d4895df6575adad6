package view

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Panel states, the data-state of each panel's element.
const (
	StateOK    = "ok"
	StateEmpty = "empty"
	StateError = "error"
)

// Limits that keep a panel cheap to query and to draw, whatever the data.
const (
	maxSeriesPerPanel    = 40
	maxExemplarsPerPanel = 400
	maxBandsPerPanel     = 50
)

// timeRange is what a panel is drawn for.
type timeRange struct {
	From, To time.Time
	// Width is the panel's plot width in pixels: the step follows from it.
	Width int
}

// series is one drawable series of a panel.
type series struct {
	Name   string
	RefID  string
	Labels model.Metric
	Points []Point
	Color  string
	Unit   string
	Right  bool // drawn against the right axis
	Stack  bool
	Bars   bool
	Fill   float64 // 0 to 1
}

// exemplar is one exemplar to mark.
type exemplar struct {
	TraceID string
	T       int64
	V       float64
	Series  model.LabelSet
	Labels  model.LabelSet
	// OnValue: the exemplar is a histogram observation, drawn at its value;
	// else (a counter's) on the time axis.
	OnValue bool
}

// band is an annotation: an alert firing from T0 to T1.
type band struct {
	T0, T1 int64
	Title  string
	Color  string
}

// panelData is what the queries of one panel returned.
type panelData struct {
	Panel     Panel
	Series    []series
	Exemplars []exemplar
	Bands     []band
	Errors    []string
	Notes     []string
	Step      time.Duration
	Range     timeRange
}

// State is the panel's data-state.
func (d *panelData) State() string {
	if len(d.Errors) > 0 {
		return StateError
	}
	for _, s := range d.Series {
		if _, ok := lastFinite(s.Points); ok {
			return StateOK
		}
	}
	return StateEmpty // no series, or only NaN (histogram_quantile of no observations)
}

// lastFinite is the newest sample that is a number.
func lastFinite(pts []Point) (float64, bool) {
	for i := len(pts) - 1; i >= 0; i-- {
		if v := pts[i].V; !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true
		}
	}
	return 0, false
}

// fetchPanel runs the panel's queries: one query (gauge, stat) or
// query_range (time series) per visible target, one query_exemplars for all
// of its exemplar targets together, and the annotation query (shared
// between panels through the cache).
func (s *Server) fetchPanel(ctx context.Context, p Panel, tr timeRange, vars map[string]string) *panelData {
	d := &panelData{Panel: p, Range: tr}
	if !p.Supported() {
		d.Errors = append(d.Errors, "unsupported panel type "+p.Type)
		return d
	}
	instant := p.Type != TypeTimeSeries
	d.Step = Step(tr.To.Sub(tr.From), tr.Width, s.minStep)
	rng := v1.Range{
		Start: tr.From.Truncate(d.Step),
		End:   tr.To,
		Step:  d.Step,
	}
	type result struct {
		raw  []rawSeries
		warn []string
		err  error
	}
	targets := visibleTargets(p)
	results := make([]result, len(targets))
	all := builtinVars(d.Step, s.minStep, tr.To.Sub(tr.From))
	for k, v := range vars {
		all[k] = v
	}
	var exemplarExprs []string
	var wg sync.WaitGroup
	for i, t := range targets {
		expr, err := interpolate(t.Expr, all)
		if err != nil {
			results[i].err = err
			continue
		}
		if t.Exemplar && !instant {
			exemplarExprs = append(exemplarExprs, "("+expr+")")
		}
		wg.Go(func() {
			var r result
			if instant {
				r.raw, r.warn, r.err = s.prom.query(ctx, expr, tr.To)
			} else {
				r.raw, r.warn, r.err = s.prom.queryRange(ctx, expr, rng)
			}
			results[i] = r
		})
	}
	var exemplars []v1.ExemplarQueryResult
	var exErr error
	if len(exemplarExprs) > 0 {
		wg.Go(func() {
			exemplars, exErr = s.prom.exemplars(ctx, strings.Join(exemplarExprs, " or "), tr.From, tr.To)
		})
	}
	var bands []band
	var bandErrs []targetError
	if !instant {
		wg.Go(func() { bands, bandErrs = s.annotations(ctx, rng) })
	}
	wg.Wait()

	colorIndex := 0
	var failed []targetError
	for i, t := range targets {
		r := results[i]
		if r.err != nil {
			failed = append(failed, targetError{t.RefID, r.err.Error()})
			continue
		}
		for _, w := range r.warn {
			d.Notes = append(d.Notes, t.RefID+": "+w)
		}
		for _, raw := range r.raw {
			if len(d.Series) == maxSeriesPerPanel {
				d.Notes = append(d.Notes, fmt.Sprintf("more than %d series: the rest are not drawn", maxSeriesPerPanel))
				break
			}
			sr := series{Name: legend(t, raw.labels), RefID: t.RefID, Labels: raw.labels, Points: raw.points}
			s.style(p, &sr, &colorIndex)
			d.Series = append(d.Series, sr)
		}
	}
	d.Errors = groupErrors(failed)
	// The exemplar and annotation queries fail alike when Prometheus does
	// not answer: said once, by the targets' error.
	if exErr != nil && !sameAsFailed(failed, exErr.Error()) {
		d.Notes = append(d.Notes, "exemplars: "+exErr.Error())
	}
	for _, e := range bandErrs {
		if !sameAsFailed(failed, e.err) {
			d.Notes = append(d.Notes, e.String())
		}
	}
	d.Exemplars = flattenExemplars(exemplars)
	d.Bands = bands
	return d
}

// targetError is a query's failure: the target's refId, or the annotation's
// name, and the message.
type targetError struct{ ref, err string }

func (e targetError) String() string { return e.ref + ": " + e.err }

// groupErrors writes each distinct message once, after the targets that
// failed with it ("A, B, C: Prometheus unreachable: …").
func groupErrors(failed []targetError) []string {
	var order []string
	refs := map[string][]string{}
	for _, f := range failed {
		if refs[f.err] == nil {
			order = append(order, f.err)
		}
		refs[f.err] = append(refs[f.err], f.ref)
	}
	out := make([]string, 0, len(order))
	for _, msg := range order {
		out = append(out, strings.Join(refs[msg], ", ")+": "+msg)
	}
	return out
}

func sameAsFailed(failed []targetError, msg string) bool {
	for _, f := range failed {
		if f.err == msg {
			return true
		}
	}
	return false
}

func visibleTargets(p Panel) []Target {
	var out []Target
	for _, t := range p.Targets {
		if !t.Hide && strings.TrimSpace(t.Expr) != "" {
			out = append(out, t)
		}
	}
	return out
}

var legendVar = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// legend names a series as Grafana does: the legendFormat with {{label}}
// replaced, else the series' labels.
func legend(t Target, m model.Metric) string {
	if f := strings.TrimSpace(t.LegendFormat); f != "" && f != "__auto" {
		return expandLegend(f, m)
	}
	if len(m) == 0 {
		return t.Expr
	}
	return m.String()
}

// expandLegend replaces {{label}} in a legend or display name with the
// series' label values.
func expandLegend(format string, m model.Metric) string {
	return legendVar.ReplaceAllStringFunc(format, func(s string) string {
		return string(m[model.LabelName(legendVar.FindStringSubmatch(s)[1])])
	})
}

// style applies the panel's colour mode, drawing options and overrides.
func (s *Server) style(p Panel, sr *series, colorIndex *int) {
	def := p.FieldConfig.Defaults
	sr.Unit = def.Unit
	sr.Stack = def.Custom.Stacking.Mode == "normal" || def.Custom.Stacking.Mode == "percent"
	sr.Bars = def.Custom.DrawStyle == "bars"
	sr.Right = def.Custom.AxisPlacement == "right"
	if def.Custom.FillOpacity != nil {
		sr.Fill = *def.Custom.FillOpacity / 100
	} else if sr.Bars {
		sr.Fill = 0.8
	}
	switch def.Color.Mode {
	case "fixed":
		sr.Color = cssColor(def.Color.FixedColor)
	case "thresholds":
		// Grafana colours every series by the base threshold (a single
		// colour); the shipped dashboard uses the palette.
		sr.Color = thresholdColor(def.Thresholds.Steps, math.Inf(-1))
	default:
		sr.Color = classicPalette[*colorIndex%len(classicPalette)]
		*colorIndex++
	}
	for _, o := range p.FieldConfig.Overrides {
		if !overrideMatches(o, sr) {
			continue
		}
		for _, pr := range o.Properties {
			applyProperty(pr, sr)
		}
	}
}

func overrideMatches(o Override, sr *series) bool {
	switch o.Matcher.ID {
	case "byName":
		return sr.Name == o.Matcher.Options
	case "byFrameRefID":
		return sr.RefID == o.Matcher.Options
	case "byRegexp":
		re, err := regexp.Compile("^(?:" + o.Matcher.Options + ")$")
		return err == nil && re.MatchString(sr.Name)
	}
	return false
}

func applyProperty(pr Property, sr *series) {
	switch pr.ID {
	case "color":
		var c Color
		if json.Unmarshal(pr.Value, &c) == nil && c.Mode == "fixed" {
			sr.Color = cssColor(c.FixedColor)
		}
	case "unit":
		_ = json.Unmarshal(pr.Value, &sr.Unit)
	case "displayName":
		var n string
		if json.Unmarshal(pr.Value, &n) == nil && n != "" {
			sr.Name = expandLegend(n, sr.Labels)
		}
	case "custom.axisPlacement":
		var a string
		if json.Unmarshal(pr.Value, &a) == nil {
			sr.Right = a == "right"
		}
	case "custom.drawStyle":
		var ds string
		if json.Unmarshal(pr.Value, &ds) == nil {
			sr.Bars = ds == "bars"
		}
	case "custom.fillOpacity":
		var f float64
		if json.Unmarshal(pr.Value, &f) == nil {
			sr.Fill = f / 100
		}
	case "custom.stacking":
		var st struct {
			Mode string `json:"mode"`
		}
		if json.Unmarshal(pr.Value, &st) == nil {
			sr.Stack = st.Mode == "normal" || st.Mode == "percent"
		}
	}
}

// flattenExemplars de-duplicates the exemplars (one per trace, time and
// value: several targets select the same series) and keeps at most
// maxExemplarsPerPanel, evenly over time.
func flattenExemplars(res []v1.ExemplarQueryResult) []exemplar {
	type key struct {
		id string
		t  int64
		v  float64
	}
	seen := map[key]bool{}
	var out []exemplar
	for _, r := range res {
		name := string(r.SeriesLabels[model.MetricNameLabel])
		for _, e := range r.Exemplars {
			id := string(e.Labels["trace_id"])
			if id == "" {
				id = string(e.Labels["traceID"])
			}
			id = strings.ToLower(id)
			k := key{id, int64(e.Timestamp), float64(e.Value)}
			if !traceIDRE.MatchString(id) || seen[k] {
				continue // no trace to open
			}
			seen[k] = true
			out = append(out, exemplar{TraceID: id, T: int64(e.Timestamp), V: float64(e.Value),
				Series: r.SeriesLabels, Labels: e.Labels, OnValue: strings.HasSuffix(name, "_bucket")})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T < out[j].T })
	if len(out) > maxExemplarsPerPanel {
		kept := make([]exemplar, 0, maxExemplarsPerPanel)
		for i := range maxExemplarsPerPanel {
			kept = append(kept, out[i*len(out)/maxExemplarsPerPanel])
		}
		kept[len(kept)-1] = out[len(out)-1] // the newest stays
		out = kept
	}
	return out
}

// annotations runs the dashboard's enabled annotation queries over the
// range (shared by the panels of a refresh that have the same step,
// through the cache) and returns the bands where a series has samples, and
// what failed (a note on the panel: the panel itself still draws).
func (s *Server) annotations(ctx context.Context, rng v1.Range) ([]band, []targetError) {
	var out []band
	var errs []targetError
	for _, a := range s.dash.Annotations.List {
		if !a.Enable || strings.TrimSpace(a.Expr) == "" {
			continue
		}
		step := rng.Step
		if d, err := model.ParseDuration(a.Step); err == nil && time.Duration(d) > step {
			step = time.Duration(d)
		}
		// Steps counted back from the range's end, so that an alert firing
		// now is sampled whatever the step.
		n := (rng.End.Sub(rng.Start) + step - 1) / step
		r := v1.Range{Start: rng.End.Add(-n * step), End: rng.End, Step: step}
		raw, err := s.cachedRange(ctx, a.Expr, r)
		if err != nil {
			errs = append(errs, targetError{fmt.Sprintf("annotation %q", a.Name), err.Error()})
			continue
		}
		for _, sr := range raw {
			title := legend(Target{LegendFormat: a.TitleFormat, Expr: a.Name}, sr.labels)
			var t0, prev int64 = -1, -1
			flush := func() {
				if t0 >= 0 && len(out) < maxBandsPerPanel {
					out = append(out, band{T0: t0, T1: prev, Title: title, Color: cssColor(a.IconColor)})
				}
			}
			for _, p := range sr.points {
				if t0 < 0 || p.T-prev > step.Milliseconds() {
					flush()
					t0 = p.T
				}
				prev = p.T
			}
			flush()
		}
	}
	return out, errs
}
