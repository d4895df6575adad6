package view

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The view draws its charts as SVG on the server, from Go: the page needs
// no chart library (nothing to vendor, nothing fetched from a CDN), every
// label value is escaped by html/template on the way out, exemplar markers
// are plain <a> links that work without JavaScript, and the same code is
// unit-tested without a browser. A time series of a panel is at most one
// point per pixel of its width (the query's step), so the SVG stays small.

// chart is a drawn time series panel, in the SVG's user units (pixels).
type chart struct {
	W, H                       int
	PlotX, PlotY, PlotW, PlotH float64
	YTicks, Y2Ticks, XTicks    []tick
	Areas, Lines               []path
	Bars                       []rect
	Thresholds                 []hline
	Bands                      []rect
	Exemplars                  []marker
	Legend                     []legendItem
	HasRight                   bool
}

type tick struct {
	Pos   string // y or x coordinate
	Label string
}

type path struct {
	D, Color, Opacity, Title string
}

type rect struct {
	X, Y, W, H, Color, Title string
}

type hline struct {
	Y, X1, X2, Color, Label string
}

type marker struct {
	X, Y, Href, Color, Title, TraceID string
}

type legendItem struct {
	Name, Color, Last, Max string
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// axis is a linear y scale.
type axis struct {
	min, max float64
	unit     string
	decimals *int
}

func (a axis) y(v float64, top, height float64) float64 {
	if a.max == a.min {
		return top + height/2
	}
	return top + height - (v-a.min)/(a.max-a.min)*height
}

// niceTicks returns about n round values covering [min, max], and widens
// the range to them.
func niceTicks(min, max float64, n int) (float64, float64, []float64) {
	if max == min {
		if max == 0 {
			max = 1
		} else {
			max, min = max+math.Abs(max)*0.1, min-math.Abs(min)*0.1
		}
	}
	raw := (max - min) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	lo, hi := math.Floor(min/step)*step, math.Ceil(max/step)*step
	var out []float64
	for v := lo; v <= hi+step/2 && len(out) < 20; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return lo, hi, out
}

// stacked returns the series' points with the stacked series summed over
// those before them on the same axis (by timestamp), and the bottom of
// each stacked point.
func stacked(ss []series) (tops, bottoms [][]Point) {
	tops, bottoms = make([][]Point, len(ss)), make([][]Point, len(ss))
	base := map[bool]map[int64]float64{false: {}, true: {}}
	for i, s := range ss {
		tops[i] = make([]Point, len(s.Points))
		bottoms[i] = make([]Point, len(s.Points))
		for j, p := range s.Points {
			b := 0.0
			if s.Stack && !math.IsNaN(p.V) {
				b = base[s.Right][p.T]
				base[s.Right][p.T] = b + p.V
			}
			tops[i][j] = Point{p.T, b + p.V}
			bottoms[i][j] = Point{p.T, b}
		}
	}
	return tops, bottoms
}

// drawTimeSeries lays a panel's series, exemplars, thresholds and
// annotation bands out in a w×h SVG.
func drawTimeSeries(d *panelData, w, h int, traceLink func(exemplar) string) *chart {
	c := &chart{W: w, H: h}
	def := d.Panel.FieldConfig.Defaults
	from, to := d.Range.From.UnixMilli(), d.Range.To.UnixMilli()
	tops, bottoms := stacked(d.Series)

	// The axes' ranges: the data, the exemplars drawn at their values,
	// min/max from the panel, 0 for bars and stacks.
	left, right := axis{unit: def.Unit, decimals: def.Decimals, min: math.Inf(1), max: math.Inf(-1)},
		axis{min: math.Inf(1), max: math.Inf(-1)}
	for i, s := range d.Series {
		a := &left
		if s.Right {
			a, c.HasRight = &right, true
			right.unit = s.Unit
		} else if s.Unit != "" {
			left.unit = s.Unit
		}
		for j, p := range tops[i] {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) || p.T < from || p.T > to {
				continue
			}
			a.min, a.max = math.Min(a.min, math.Min(p.V, bottoms[i][j].V)), math.Max(a.max, p.V)
		}
		if s.Bars || s.Stack {
			a.min = math.Min(a.min, 0)
		}
	}
	for _, e := range d.Exemplars {
		if e.OnValue && !math.IsNaN(e.V) && !math.IsInf(e.V, 0) {
			left.min, left.max = math.Min(left.min, e.V), math.Max(left.max, e.V)
		}
	}
	for _, a := range []*axis{&left, &right} {
		if math.IsInf(a.min, 1) {
			a.min, a.max = 0, 1
		}
		if a.min > 0 {
			a.min = 0 // counts, rates and durations read best from zero
		}
	}
	if def.Min != nil {
		left.min = *def.Min
	}
	if def.Max != nil {
		left.max = *def.Max
	}
	var lt, rt []float64
	left.min, left.max, lt = niceTicks(left.min, left.max, 4)
	if def.Min != nil {
		left.min = *def.Min
	}
	if def.Max != nil {
		left.max = *def.Max
	}
	if c.HasRight {
		right.min, right.max, rt = niceTicks(right.min, right.max, 4)
	}

	// Geometry: room for the y labels on the left (and right), the time
	// labels at the bottom.
	c.PlotX, c.PlotY = labelWidth(lt, left)+10, 8
	c.PlotW, c.PlotH = float64(w)-c.PlotX-12, float64(h)-8-22
	if c.HasRight {
		c.PlotW -= labelWidth(rt, right) + 4
	}
	if c.PlotW < 40 {
		c.PlotW = 40
	}
	if c.PlotH < 30 {
		c.PlotH = 30
	}
	x := func(t int64) float64 {
		if to == from {
			return c.PlotX
		}
		return c.PlotX + float64(t-from)/float64(to-from)*c.PlotW
	}
	y := func(s series, v float64) float64 {
		if s.Right {
			return right.y(v, c.PlotY, c.PlotH)
		}
		return left.y(v, c.PlotY, c.PlotH)
	}
	for _, v := range lt {
		if v >= left.min && v <= left.max {
			c.YTicks = append(c.YTicks, tick{f1(left.y(v, c.PlotY, c.PlotH)), FormatValue(v, left.unit, left.decimals)})
		}
	}
	for _, v := range rt {
		c.Y2Ticks = append(c.Y2Ticks, tick{f1(right.y(v, c.PlotY, c.PlotH)), FormatValue(v, right.unit, nil)})
	}
	for _, t := range timeTicks(d.Range.From, d.Range.To, int(c.PlotW/90)) {
		c.XTicks = append(c.XTicks, tick{f1(x(t.UnixMilli())), timeLabel(t, d.Range.To.Sub(d.Range.From))})
	}

	// Annotation bands, behind the data.
	for _, b := range d.Bands {
		x0, x1 := math.Max(x(b.T0), c.PlotX), math.Min(x(b.T1), c.PlotX+c.PlotW)
		if x1 < x0 {
			continue
		}
		c.Bands = append(c.Bands, rect{X: f1(x0), Y: f1(c.PlotY), W: f1(math.Max(x1-x0, 2)), H: f1(c.PlotH), Color: b.Color, Title: b.Title})
	}

	// Series.
	stepPx := float64(d.Step.Milliseconds()) / float64(max(to-from, 1)) * c.PlotW
	nBarSeries := 0
	for _, s := range d.Series {
		if s.Bars && !s.Stack {
			nBarSeries++
		}
	}
	barIndex := 0
	for i, s := range d.Series {
		last, maxV := math.NaN(), math.Inf(-1)
		for _, p := range s.Points {
			if !math.IsNaN(p.V) {
				last, maxV = p.V, math.Max(maxV, p.V)
			}
		}
		item := legendItem{Name: s.Name, Color: s.Color}
		if !math.IsNaN(last) {
			item.Last, item.Max = FormatValue(last, s.Unit, def.Decimals), FormatValue(maxV, s.Unit, def.Decimals)
		}
		c.Legend = append(c.Legend, item)
		if s.Bars {
			bw := math.Max(stepPx*0.8, 1)
			off := -bw / 2
			if !s.Stack && nBarSeries > 1 {
				bw /= float64(nBarSeries)
				off += float64(barIndex) * bw
				barIndex++
			}
			for j, p := range tops[i] {
				if math.IsNaN(p.V) || p.T < from || p.T > to {
					continue
				}
				y0, y1 := y(s, bottoms[i][j].V), y(s, p.V)
				if y1 > y0 {
					y0, y1 = y1, y0
				}
				c.Bars = append(c.Bars, rect{X: f1(x(p.T) + off), Y: f1(y1), W: f1(bw), H: f1(math.Max(y0-y1, 0.5)), Color: s.Color,
					Title: s.Name + ": " + FormatValue(s.Points[j].V, s.Unit, def.Decimals) + " at " + time.UnixMilli(p.T).Format("15:04:05")})
			}
			continue
		}
		for _, seg := range segments(tops[i], bottoms[i], d.Step.Milliseconds(), from, to) {
			var line, area strings.Builder
			for k, p := range seg.top {
				cmd := "L"
				if k == 0 {
					cmd = "M"
				}
				fmt.Fprintf(&line, "%s%s %s ", cmd, f1(x(p.T)), f1(y(s, p.V)))
			}
			if len(seg.top) == 1 { // a lone sample: a short tick
				p := seg.top[0]
				fmt.Fprintf(&line, "L%s %s", f1(x(p.T)+1.5), f1(y(s, p.V)))
			}
			c.Lines = append(c.Lines, path{D: strings.TrimSpace(line.String()), Color: s.Color, Title: s.Name})
			if s.Fill > 0 {
				area.WriteString(strings.TrimSpace(line.String()))
				for k := len(seg.bottom) - 1; k >= 0; k-- {
					p := seg.bottom[k]
					fmt.Fprintf(&area, " L%s %s", f1(x(p.T)), f1(y(s, p.V)))
				}
				area.WriteString(" Z")
				c.Areas = append(c.Areas, path{D: area.String(), Color: s.Color, Opacity: f1(s.Fill), Title: s.Name})
			}
		}
	}

	// Thresholds as lines, when the panel asks for them.
	if m := def.Custom.ThresholdsStyle.Mode; m == "line" || m == "dashed" || m == "line+area" || m == "dashed+area" {
		for _, st := range def.Thresholds.Steps {
			if st.Value == nil || *st.Value < left.min || *st.Value > left.max {
				continue
			}
			c.Thresholds = append(c.Thresholds, hline{Y: f1(left.y(*st.Value, c.PlotY, c.PlotH)), X1: f1(c.PlotX), X2: f1(c.PlotX + c.PlotW),
				Color: cssColor(st.Color), Label: FormatValue(*st.Value, left.unit, left.decimals)})
		}
	}

	// Exemplars: histogram observations at their value, counter exemplars
	// on the time axis.
	for _, e := range d.Exemplars {
		if e.T < from || e.T > to {
			continue
		}
		ey := c.PlotY + c.PlotH - 4
		if e.OnValue {
			ey = left.y(e.V, c.PlotY, c.PlotH)
		}
		val := FormatValue(e.V, left.unit, nil)
		if !e.OnValue {
			val = strconv.FormatFloat(e.V, 'g', 6, 64)
		}
		c.Exemplars = append(c.Exemplars, marker{
			X: f1(x(e.T)), Y: f1(ey), Href: traceLink(e), Color: "#B877D9", TraceID: e.TraceID,
			Title: fmt.Sprintf("exemplar %s at %s, trace_id %s, series %s", val, time.UnixMilli(e.T).Format("15:04:05"), e.TraceID, e.Series),
		})
	}
	return c
}

// labelWidth estimates the pixels the axis' tick labels need (11 px text).
func labelWidth(ticks []float64, a axis) float64 {
	n := 0
	for _, v := range ticks {
		n = max(n, len([]rune(FormatValue(v, a.unit, a.decimals))))
	}
	return max(float64(n)*6.6, 24)
}

type segment struct{ top, bottom []Point }

// segments splits a series where samples are missing (more than 1.5 steps
// apart), as Grafana leaves gaps for null values.
func segments(top, bottom []Point, stepMs, from, to int64) []segment {
	var out []segment
	var cur segment
	prev := int64(math.MinInt64)
	for i, p := range top {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) || p.T < from || p.T > to {
			continue
		}
		if prev != math.MinInt64 && p.T-prev > stepMs*3/2 && len(cur.top) > 0 {
			out = append(out, cur)
			cur = segment{}
		}
		cur.top = append(cur.top, p)
		cur.bottom = append(cur.bottom, bottom[i])
		prev = p.T
	}
	if len(cur.top) > 0 {
		out = append(out, cur)
	}
	return out
}

var tickSteps = []time.Duration{
	10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// timeTicks returns round times between from and to, at most n of them.
func timeTicks(from, to time.Time, n int) []time.Time {
	if n < 2 {
		n = 2
	}
	span := to.Sub(from)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= time.Duration(n) {
			step = s
			break
		}
	}
	var out []time.Time
	for t := from.Truncate(step).Add(step); !t.After(to); t = t.Add(step) {
		out = append(out, t)
	}
	return out
}

func timeLabel(t time.Time, span time.Duration) string {
	switch {
	case span <= 10*time.Minute:
		return t.Format("15:04:05")
	case span <= 24*time.Hour:
		return t.Format("15:04")
	}
	return t.Format("01-02 15:04")
}

// gauge is a drawn gauge of one value.
type gauge struct {
	Name, Value, Color string
	Track, Arc         string // SVG paths
	Markers            []path // threshold bands
	MinLabel, MaxLabel string
}

// polar returns the point at angle a (radians, 0 = right, counter-clockwise
// positive, SVG y down) on a circle.
func polar(cx, cy, r, a float64) (float64, float64) {
	return cx + r*math.Cos(a), cy - r*math.Sin(a)
}

// arcPath is the SVG arc from fraction f0 to f1 of a gauge's 240° sweep.
func arcPath(cx, cy, r, f0, f1 float64) string {
	const start, sweep = 210 * math.Pi / 180, 240 * math.Pi / 180
	a0, a1 := start-f0*sweep, start-f1*sweep
	x0, y0 := polar(cx, cy, r, a0)
	x1, y1 := polar(cx, cy, r, a1)
	large := 0
	if (f1-f0)*240 > 180 {
		large = 1
	}
	return fmt.Sprintf("M%s %s A%s %s 0 %d 1 %s %s", f1s(x0), f1s(y0), f1s(r), f1s(r), large, f1s(x1), f1s(y1))
}

func f1s(v float64) string { return f1(v) }

// drawGauge lays out one gauge per series in a row.
func drawGauges(d *panelData) []gauge {
	def := d.Panel.FieldConfig.Defaults
	lo, hi := 0.0, 100.0
	if def.Min != nil {
		lo = *def.Min
	}
	if def.Max != nil {
		hi = *def.Max
	}
	if hi <= lo {
		hi = lo + 1
	}
	frac := func(v float64) float64 { return math.Max(0, math.Min(1, (v-lo)/(hi-lo))) }
	const cx, cy, r = 100, 100, 70
	var out []gauge
	for _, s := range d.Series {
		if len(s.Points) == 0 {
			continue
		}
		v := s.Points[len(s.Points)-1].V
		g := gauge{Name: s.Name, Value: FormatValue(v, s.Unit, def.Decimals), Color: thresholdColor(def.Thresholds.Steps, v),
			Track: arcPath(cx, cy, r, 0, 1), MinLabel: FormatValue(lo, s.Unit, nil), MaxLabel: FormatValue(hi, s.Unit, nil)}
		if def.Color.Mode != "thresholds" && def.Color.Mode != "" {
			g.Color = s.Color
		}
		if f := frac(v); f > 0 {
			g.Arc = arcPath(cx, cy, r, 0, math.Max(f, 0.002))
		}
		if d.Panel.Options.ShowThresholdMarkers == nil || *d.Panel.Options.ShowThresholdMarkers {
			steps := def.Thresholds.Steps
			for i, st := range steps {
				f0 := 0.0
				if st.Value != nil {
					f0 = frac(*st.Value)
				}
				f1v := 1.0
				if i+1 < len(steps) && steps[i+1].Value != nil {
					f1v = frac(*steps[i+1].Value)
				}
				if f1v > f0 {
					g.Markers = append(g.Markers, path{D: arcPath(cx, cy, r+12, f0, f1v), Color: cssColor(st.Color)})
				}
			}
		}
		out = append(out, g)
	}
	if len(out) == 1 {
		out[0].Name = "" // one value needs no name, as in Grafana
	}
	return out
}

// stat is a drawn stat value.
type stat struct {
	Name, Value, Color string
}

func drawStats(d *panelData) []stat {
	def := d.Panel.FieldConfig.Defaults
	var out []stat
	for _, s := range d.Series {
		if len(s.Points) == 0 {
			continue
		}
		v := s.Points[len(s.Points)-1].V
		st := stat{Name: s.Name, Value: FormatValue(v, s.Unit, def.Decimals), Color: thresholdColor(def.Thresholds.Steps, v)}
		if def.Color.Mode != "thresholds" && def.Color.Mode != "" {
			st.Color = s.Color
		}
		if d.Panel.Options.ColorMode == "none" {
			st.Color = "#CCCCDC"
		}
		out = append(out, st)
	}
	if len(out) == 1 {
		out[0].Name = ""
	}
	return out
}

// traceHref is the link of an exemplar marker: the trace page, told which
// series and panel led there.
func traceHref(panelID int) func(exemplar) string {
	return func(e exemplar) string {
		q := url.Values{}
		q.Set("series", e.Series.String())
		q.Set("t", strconv.FormatInt(e.T, 10))
		q.Set("panel", strconv.Itoa(panelID))
		return "/trace/" + url.PathEscape(e.TraceID) + "?" + q.Encode()
	}
}
