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
	l := newTSLayout(d, c)
	l.bands(d.Bands)
	l.series(d)
	l.thresholds(d.Panel.FieldConfig.Defaults)
	l.exemplars(d.Exemplars, traceLink)
	return c
}

// tsLayout maps a time series panel's data to the chart's coordinates.
type tsLayout struct {
	c             *chart
	left, right   axis
	from, to      int64 // the range, Unix ms
	tops, bottoms [][]Point
	stepPx        float64
	def           FieldDefaults
	rangeDuration time.Duration
	stepMs        int64
}

// newTSLayout finds the axes' ranges (the data, the exemplars drawn at
// their values, the panel's min/max, 0 for bars and stacks), leaves room
// for the tick labels, and writes the ticks.
func newTSLayout(d *panelData, c *chart) *tsLayout {
	l := &tsLayout{c: c, def: d.Panel.FieldConfig.Defaults, from: d.Range.From.UnixMilli(), to: d.Range.To.UnixMilli(),
		rangeDuration: d.Range.To.Sub(d.Range.From), stepMs: d.Step.Milliseconds()}
	l.tops, l.bottoms = stacked(d.Series)
	l.left = axis{unit: l.def.Unit, decimals: l.def.Decimals, min: math.Inf(1), max: math.Inf(-1)}
	l.right = axis{min: math.Inf(1), max: math.Inf(-1)}
	for i, s := range d.Series {
		a := &l.left
		if s.Right {
			a, c.HasRight = &l.right, true
			l.right.unit = s.Unit
		} else if s.Unit != "" {
			l.left.unit = s.Unit
		}
		for j, p := range l.tops[i] {
			if !finite(p.V) || p.T < l.from || p.T > l.to {
				continue
			}
			a.min, a.max = math.Min(a.min, math.Min(p.V, l.bottoms[i][j].V)), math.Max(a.max, p.V)
		}
		if s.Bars || s.Stack {
			a.min = math.Min(a.min, 0)
		}
	}
	for _, e := range d.Exemplars {
		if e.OnValue && finite(e.V) {
			l.left.min, l.left.max = math.Min(l.left.min, e.V), math.Max(l.left.max, e.V)
		}
	}
	for _, a := range []*axis{&l.left, &l.right} {
		if math.IsInf(a.min, 1) {
			a.min, a.max = 0, 1
		}
		a.min = math.Min(a.min, 0) // counts, rates and durations read best from zero
	}
	if l.def.Min != nil {
		l.left.min = *l.def.Min
	}
	if l.def.Max != nil {
		l.left.max = *l.def.Max
	}
	var lt, rt []float64
	l.left.min, l.left.max, lt = niceTicks(l.left.min, l.left.max, 4)
	if l.def.Min != nil {
		l.left.min = *l.def.Min
	}
	if l.def.Max != nil {
		l.left.max = *l.def.Max
	}
	if c.HasRight {
		l.right.min, l.right.max, rt = niceTicks(l.right.min, l.right.max, 4)
	}
	c.PlotX, c.PlotY = labelWidth(lt, l.left)+10, 8
	c.PlotW, c.PlotH = float64(c.W)-c.PlotX-12, float64(c.H)-8-22
	if c.HasRight {
		c.PlotW -= labelWidth(rt, l.right) + 4
	}
	c.PlotW, c.PlotH = math.Max(c.PlotW, 40), math.Max(c.PlotH, 30)
	for _, v := range lt {
		if v >= l.left.min && v <= l.left.max {
			c.YTicks = append(c.YTicks, tick{f1(l.left.y(v, c.PlotY, c.PlotH)), FormatValue(v, l.left.unit, l.left.decimals)})
		}
	}
	for _, v := range rt {
		c.Y2Ticks = append(c.Y2Ticks, tick{f1(l.right.y(v, c.PlotY, c.PlotH)), FormatValue(v, l.right.unit, nil)})
	}
	for _, t := range timeTicks(d.Range.From, d.Range.To, int(c.PlotW/90)) {
		c.XTicks = append(c.XTicks, tick{f1(l.x(t.UnixMilli())), timeLabel(t, l.rangeDuration)})
	}
	l.stepPx = float64(l.stepMs) / float64(max(l.to-l.from, 1)) * c.PlotW
	return l
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (l *tsLayout) x(t int64) float64 {
	if l.to == l.from {
		return l.c.PlotX
	}
	return l.c.PlotX + float64(t-l.from)/float64(l.to-l.from)*l.c.PlotW
}

func (l *tsLayout) y(s series, v float64) float64 {
	if s.Right {
		return l.right.y(v, l.c.PlotY, l.c.PlotH)
	}
	return l.left.y(v, l.c.PlotY, l.c.PlotH)
}

// bands draws the annotations, behind the data.
func (l *tsLayout) bands(bands []band) {
	c := l.c
	clamp := func(x float64) float64 { return math.Max(c.PlotX, math.Min(c.PlotX+c.PlotW, x)) }
	for _, b := range bands {
		if b.T1 < l.from || b.T0 > l.to {
			continue
		}
		x0, x1 := clamp(l.x(b.T0)), clamp(l.x(b.T1))
		c.Bands = append(c.Bands, rect{X: f1(x0), Y: f1(c.PlotY), W: f1(math.Max(x1-x0, 2)), H: f1(c.PlotH), Color: b.Color, Title: b.Title})
	}
}

// series draws each series (lines with their fill, or bars) and its
// legend entry.
func (l *tsLayout) series(d *panelData) {
	nBars, barIndex := 0, 0
	for _, s := range d.Series {
		if s.Bars && !s.Stack {
			nBars++
		}
	}
	for i, s := range d.Series {
		item := legendItem{Name: s.Name, Color: s.Color}
		if last, ok := lastFinite(s.Points); ok {
			maxV := math.Inf(-1)
			for _, p := range s.Points {
				if finite(p.V) {
					maxV = math.Max(maxV, p.V)
				}
			}
			item.Last, item.Max = FormatValue(last, s.Unit, l.def.Decimals), FormatValue(maxV, s.Unit, l.def.Decimals)
		}
		l.c.Legend = append(l.c.Legend, item)
		if s.Bars {
			l.bars(i, s, nBars, &barIndex)
		} else {
			l.lines(i, s)
		}
	}
}

func (l *tsLayout) bars(i int, s series, nBars int, barIndex *int) {
	bw := math.Max(l.stepPx*0.8, 1)
	off := -bw / 2
	if !s.Stack && nBars > 1 {
		bw /= float64(nBars)
		off += float64(*barIndex) * bw
		*barIndex++
	}
	for j, p := range l.tops[i] {
		if !finite(p.V) || p.T < l.from || p.T > l.to {
			continue
		}
		y0, y1 := l.y(s, l.bottoms[i][j].V), l.y(s, p.V)
		if y1 > y0 {
			y0, y1 = y1, y0
		}
		l.c.Bars = append(l.c.Bars, rect{X: f1(l.x(p.T) + off), Y: f1(y1), W: f1(bw), H: f1(math.Max(y0-y1, 0.5)), Color: s.Color,
			Title: s.Name + ": " + FormatValue(s.Points[j].V, s.Unit, l.def.Decimals) + " at " + time.UnixMilli(p.T).Format("15:04:05")})
	}
}

func (l *tsLayout) lines(i int, s series) {
	for _, seg := range segments(l.tops[i], l.bottoms[i], l.stepMs, l.from, l.to) {
		var line, area strings.Builder
		for k, p := range seg.top {
			cmd := "L"
			if k == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&line, "%s%s %s ", cmd, f1(l.x(p.T)), f1(l.y(s, p.V)))
		}
		if len(seg.top) == 1 { // a lone sample: a short tick
			p := seg.top[0]
			fmt.Fprintf(&line, "L%s %s", f1(l.x(p.T)+1.5), f1(l.y(s, p.V)))
		}
		l.c.Lines = append(l.c.Lines, path{D: strings.TrimSpace(line.String()), Color: s.Color, Title: s.Name})
		if s.Fill > 0 {
			area.WriteString(strings.TrimSpace(line.String()))
			for k := len(seg.bottom) - 1; k >= 0; k-- {
				p := seg.bottom[k]
				fmt.Fprintf(&area, " L%s %s", f1(l.x(p.T)), f1(l.y(s, p.V)))
			}
			area.WriteString(" Z")
			l.c.Areas = append(l.c.Areas, path{D: area.String(), Color: s.Color, Opacity: f1(s.Fill), Title: s.Name})
		}
	}
}

// thresholds draws the thresholds as lines, when the panel asks for them.
func (l *tsLayout) thresholds(def FieldDefaults) {
	m := def.Custom.ThresholdsStyle.Mode
	if m != "line" && m != "dashed" && m != "line+area" && m != "dashed+area" {
		return
	}
	c := l.c
	for _, st := range def.Thresholds.Steps {
		if st.Value == nil || *st.Value < l.left.min || *st.Value > l.left.max {
			continue
		}
		c.Thresholds = append(c.Thresholds, hline{Y: f1(l.left.y(*st.Value, c.PlotY, c.PlotH)), X1: f1(c.PlotX), X2: f1(c.PlotX + c.PlotW),
			Color: cssColor(st.Color), Label: FormatValue(*st.Value, l.left.unit, l.left.decimals)})
	}
}

// exemplars marks histogram observations at their value and counter
// exemplars on the time axis. They are drawn against the left axis
// (query_exemplars does not say which target a series came from), inside
// the plot.
func (l *tsLayout) exemplars(ex []exemplar, traceLink func(exemplar) string) {
	c := l.c
	for _, e := range ex {
		if e.T < l.from || e.T > l.to {
			continue
		}
		ey := c.PlotY + c.PlotH - 4
		val := strconv.FormatFloat(e.V, 'g', 6, 64)
		if e.OnValue {
			ey = math.Max(c.PlotY, math.Min(c.PlotY+c.PlotH, l.left.y(e.V, c.PlotY, c.PlotH)))
			val = FormatValue(e.V, l.left.unit, nil)
		}
		c.Exemplars = append(c.Exemplars, marker{
			X: f1(l.x(e.T)), Y: f1(ey), Href: traceLink(e), Color: "#B877D9", TraceID: e.TraceID,
			Title: fmt.Sprintf("exemplar %s at %s, trace_id %s, series %s", val, time.UnixMilli(e.T).Format("15:04:05"), e.TraceID, e.Series),
		})
	}
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
	// Round in the zone the labels are written in: an hour tick at :00
	// local time, also where the zone is half an hour off UTC.
	_, offset := from.Zone()
	off := time.Duration(offset) * time.Second
	var out []time.Time
	for t := from.Add(off).Truncate(step).Add(step - off); !t.After(to); t = t.Add(step) {
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
func arcPath(cx, cy, r, from, to float64) string {
	const start, sweep = 210 * math.Pi / 180, 240 * math.Pi / 180
	a0, a1 := start-from*sweep, start-to*sweep
	x0, y0 := polar(cx, cy, r, a0)
	x1, y1 := polar(cx, cy, r, a1)
	large := 0
	if (to-from)*240 > 180 {
		large = 1
	}
	return fmt.Sprintf("M%s %s A%s %s 0 %d 1 %s %s", f1(x0), f1(y0), f1(r), f1(r), large, f1(x1), f1(y1))
}

// drawGauges lays out one gauge per series in a row.
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
		v, ok := lastFinite(s.Points)
		if !ok {
			continue
		}
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
		v, ok := lastFinite(s.Points)
		if !ok {
			continue
		}
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
