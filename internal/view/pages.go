package view

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

var funcs = template.FuncMap{
	"dur":     FormatDuration,
	"clock":   func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"ago":     func(t time.Time) string { return FormatDuration(time.Since(t).Round(time.Second)) + " ago" },
	"seconds": func(f float64) string { return FormatDuration(time.Duration(f * float64(time.Second))) },
	"addf":    func(a, b float64) float64 { return a + b },
	"diamond": func(x, y string) string { return "M" + x + " " + y + " m0 -5 l5 5 l-5 5 l-5 -5 z" },
}

// ranges are the time range choices, as in Grafana's picker.
var ranges = []string{"5m", "15m", "1h", "6h", "24h"}

// refreshes are the auto-refresh choices.
var refreshes = []string{"off", "5s", "10s", "30s", "1m", "5m"}

// pageQuery is a page's time range, refresh and variable selection.
type pageQuery struct {
	FromRaw, ToRaw string
	From, To       time.Time
	Refresh        string
	// Selected holds each variable's chosen values; nil means All.
	Selected map[string][]string
	// Mark is a time to draw a line at (Unix ms; 0: none): where a trace
	// page's link came from.
	Mark int64
}

// values are the query parameters that reproduce q (for the panels'
// sources and links).
func (q pageQuery) values() url.Values {
	v := url.Values{"from": {q.FromRaw}, "to": {q.ToRaw}}
	for name, sel := range q.Selected {
		if sel != nil {
			v["var-"+name] = sel
		}
	}
	if q.Mark > 0 {
		v.Set("mark", strconv.FormatInt(q.Mark, 10))
	}
	return v
}

func (s *Server) readQuery(r *http.Request) (pageQuery, error) {
	q := pageQuery{FromRaw: s.dash.Time.From, ToRaw: s.dash.Time.To, Refresh: s.dash.Refresh, Selected: map[string][]string{}}
	if q.FromRaw == "" {
		q.FromRaw, q.ToRaw = "now-1h", "now"
	}
	if q.Refresh == "" {
		q.Refresh = "off"
	}
	f := r.URL.Query()
	if v := f.Get("from"); v != "" {
		q.FromRaw = v
	}
	if v := f.Get("to"); v != "" {
		q.ToRaw = v
	}
	if v := f.Get("refresh"); v != "" {
		if !slices.Contains(refreshes, v) {
			return q, fmt.Errorf("refresh=%q: want one of %s", v, strings.Join(refreshes, ", "))
		}
		q.Refresh = v
	}
	// "now" for relative times: the page's, so that every panel of one
	// refresh covers the same range (and shares its queries).
	now := s.cfg.Now()
	if v := f.Get("now"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return q, fmt.Errorf("now=%q: want Unix milliseconds", v)
		}
		now = time.UnixMilli(ms)
	}
	var err error
	if q.From, err = parseTime(q.FromRaw, now); err != nil {
		return q, fmt.Errorf("from: %v", err)
	}
	if q.To, err = parseTime(q.ToRaw, now); err != nil {
		return q, fmt.Errorf("to: %v", err)
	}
	if !q.From.Before(q.To) {
		return q, fmt.Errorf("from (%s) must be before to (%s)", q.FromRaw, q.ToRaw)
	}
	if q.To.Sub(q.From) > 31*24*time.Hour {
		return q, fmt.Errorf("the range %s to %s is longer than 31 days", q.FromRaw, q.ToRaw)
	}
	if v := f.Get("mark"); v != "" {
		if q.Mark, err = strconv.ParseInt(v, 10, 64); err != nil || q.Mark < 0 {
			return q, fmt.Errorf("mark=%q: want Unix milliseconds", v)
		}
	}
	for _, vr := range s.dash.Templating.List {
		if vr.Type == TypeDatasourceVar {
			continue // the view's one Prometheus; see datasourceNotes
		}
		sel := f["var-"+vr.Name]
		if len(sel) == 0 || slices.Contains(sel, "$__all") {
			q.Selected[vr.Name] = nil
			continue
		}
		if len(sel) > 100 {
			return q, fmt.Errorf("var-%s: %d values, at most 100", vr.Name, len(sel))
		}
		q.Selected[vr.Name] = sel
	}
	return q, nil
}

// varValues resolves the variables for interpolation, as regular
// expressions: the selected values, or for All the variable's allValue
// (else every value Prometheus has).
func (s *Server) varValues(ctx context.Context, q pageQuery) (map[string]string, error) {
	vals, _, err := s.resolveVars(ctx, q, false)
	return vals, err
}

// varMenu is what Prometheus has for one variable.
type varMenu struct {
	values []string
	err    error
}

// resolveVars resolves the query variables in the dashboard's order, each
// label_values() selector interpolated with the variables before it, as
// Grafana chains them (the instances of the jobs selected). With menus,
// every variable's values are read, for the page's menus, and a failed
// read is that menu's error (the variable then stands for .*); without,
// only the values an All without allValue needs are read, and a failed
// read is the error.
func (s *Server) resolveVars(ctx context.Context, q pageQuery, menus bool) (map[string]string, map[string]varMenu, error) {
	vals := map[string]string{}
	out := map[string]varMenu{}
	for _, vr := range s.dash.Templating.List {
		if vr.Type == TypeDatasourceVar {
			continue
		}
		sel := q.Selected[vr.Name]
		var m varMenu
		if menus || (sel == nil && vr.AllValue == "") {
			m.values, m.err = s.variableOptions(ctx, vr, q, vals)
			if m.err != nil && !menus {
				return nil, nil, m.err
			}
		}
		out[vr.Name] = m
		switch {
		case sel != nil:
			vals[vr.Name] = regexValue(sel)
		case vr.AllValue != "":
			vals[vr.Name] = vr.AllValue
		case len(m.values) == 0:
			vals[vr.Name] = ".*"
		default:
			vals[vr.Name] = regexValue(m.values)
		}
	}
	return vals, out, nil
}

// variableOptions lists a variable's values: its label_values() selector,
// with the variables resolved so far (vars) interpolated and escaped, at
// Prometheus.
func (s *Server) variableOptions(ctx context.Context, vr Variable, q pageQuery, vars map[string]string) ([]string, error) {
	match, label, err := vr.labelValues()
	if err != nil {
		return nil, err
	}
	if match, err = interpolate(match, vars); err != nil {
		return nil, fmt.Errorf("variable %s: %v", vr.Name, err)
	}
	return s.prom.labelValues(ctx, label, match, q.From, q.To)
}

// datasourceNotes are the page's notes on var-datasource values that name
// another data source than the view's Prometheus (a Grafana link's, for
// one): the view draws from one Prometheus only.
func (s *Server) datasourceNotes(r *http.Request) []string {
	var out []string
	for _, vr := range s.dash.Templating.List {
		if vr.Type != TypeDatasourceVar {
			continue
		}
		for _, v := range r.URL.Query()["var-"+vr.Name] {
			if !s.source.means(v) {
				out = append(out, fmt.Sprintf("var-%s=%s: the view draws from one Prometheus, %s (%s); start it with -prometheus to draw from another",
					vr.Name, strconv.Quote(v), s.source.Name, s.prom.display))
			}
		}
	}
	return out
}

// gridClass places a panel on the dashboard's 24-column grid (classes
// defined in /static/grid.css, since the page allows no inline styles).
func gridClass(p Panel) string {
	g := p.GridPos
	return fmt.Sprintf("gx-%d gw-%d gy-%d gh-%d", g.X, g.W, min(g.Y, maxGridRow), min(g.H, maxGridRow))
}

const maxGridRow = 200

// gridCSS serves the grid's placement classes.
func gridCSS(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	for i := 0; i <= maxGridRow; i++ {
		if i < 24 {
			fmt.Fprintf(&b, ".gx-%d{grid-column-start:%d}", i, i+1)
		}
		if i >= 1 && i <= 24 {
			fmt.Fprintf(&b, ".gw-%d{grid-column-end:span %d}", i, i)
		}
		fmt.Fprintf(&b, ".gy-%d{grid-row-start:%d}", i, i+1)
		if i >= 1 {
			fmt.Fprintf(&b, ".gh-%d{grid-row-end:span %d}", i, i)
		}
		b.WriteByte('\n')
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write([]byte(b.String()))
}

type link struct {
	Label, Href string
	Active      bool
}

type varView struct {
	Name, Label string
	All         bool
	Options     []option
	Error       string
	// Fixed is a data source variable's one choice (the view's
	// Prometheus), and Title says where it points.
	Fixed, Title string
}

type option struct {
	Value    string
	Selected bool
}

type panelSlot struct {
	ID, Title, Type, Description, Src, Class string
}

type dashPage struct {
	Title, Description string
	Ranges, Refreshes  []link
	Refresh            string
	Vars               []varView
	Panels             []panelSlot
	RangeText          string
	From, To           string
	Notes              []string
	Explore            bool
	Expr               string
}

func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) {
	q, err := s.readQuery(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	page := s.basePage(r.Context(), q, "/", nil)
	page.Title, page.Description = s.dash.Title, s.dash.Description
	page.Notes = append(s.dash.Check(), s.datasourceNotes(r)...)
	qs := q.values().Encode()
	for _, p := range s.dash.Panels {
		page.Panels = append(page.Panels, panelSlot{ID: strconv.Itoa(p.ID), Title: p.Title, Type: p.Type,
			Description: p.Description, Src: "/panel/" + strconv.Itoa(p.ID) + "?" + qs, Class: gridClass(p)})
	}
	s.render(w, http.StatusOK, "dashboard.html", page)
}

// basePage fills the header: range and refresh choices (links that keep
// the rest of the query) and the variables.
func (s *Server) basePage(ctx context.Context, q pageQuery, path string, keep url.Values) *dashPage {
	page := &dashPage{Refresh: q.Refresh, From: q.FromRaw, To: q.ToRaw,
		RangeText: q.From.Format("2006-01-02 15:04:05") + " to " + q.To.Format("15:04:05 MST")}
	with := func(set map[string]string) string {
		v := q.values()
		v.Del("mark")
		v.Set("refresh", q.Refresh)
		for k, x := range keep {
			v[k] = x
		}
		for k, x := range set {
			v.Set(k, x)
		}
		return path + "?" + v.Encode()
	}
	for _, rg := range ranges {
		page.Ranges = append(page.Ranges, link{Label: "Last " + rg, Href: with(map[string]string{"from": "now-" + rg, "to": "now"}),
			Active: q.FromRaw == "now-"+rg && q.ToRaw == "now"})
	}
	for _, rf := range refreshes {
		page.Refreshes = append(page.Refreshes, link{Label: rf, Href: with(map[string]string{"refresh": rf}), Active: rf == q.Refresh})
	}
	_, menus, _ := s.resolveVars(ctx, q, true)
	for _, vr := range s.dash.Templating.List {
		vv := varView{Name: vr.Name, Label: vr.Label, All: q.Selected[vr.Name] == nil}
		if vv.Label == "" {
			vv.Label = vr.Name
		}
		if vr.Type == TypeDatasourceVar {
			vv.Fixed = s.source.Name
			vv.Title = "every panel is drawn from " + s.prom.display
			page.Vars = append(page.Vars, vv)
			continue
		}
		m := menus[vr.Name]
		vals := m.values
		if m.err != nil {
			vv.Error = m.err.Error()
		}
		for _, x := range q.Selected[vr.Name] { // a selected value Prometheus no longer has stays selectable
			if !slices.Contains(vals, x) {
				vals = append(vals, x)
			}
		}
		for _, x := range vals {
			vv.Options = append(vv.Options, option{Value: x, Selected: slices.Contains(q.Selected[vr.Name], x)})
		}
		page.Vars = append(page.Vars, vv)
	}
	return page
}

// explorePanel is the panel of /explore: one query, its exemplars.
func explorePanel(expr string) Panel {
	p := Panel{ID: 0, Title: "Explore", Type: TypeTimeSeries}
	p.GridPos.W, p.GridPos.H = 24, 14
	p.Targets = []Target{{Expr: expr, RefID: "A", Exemplar: true}}
	p.FieldConfig.Defaults.Color.Mode = "palette-classic"
	return p
}

func (s *Server) explorePage(w http.ResponseWriter, r *http.Request) {
	q, err := s.readQuery(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	expr := strings.TrimSpace(r.URL.Query().Get("expr"))
	if len(expr) > 4096 {
		s.fail(w, http.StatusBadRequest, "Bad request", "expr: longer than 4096 bytes")
		return
	}
	page := s.basePage(r.Context(), q, "/explore", url.Values{"expr": {expr}})
	page.Title, page.Explore, page.Expr = "Explore", true, expr
	if expr != "" {
		v := q.values()
		v.Set("expr", expr)
		page.Panels = []panelSlot{{ID: "explore", Title: expr, Type: TypeTimeSeries, Src: "/panel/explore?" + v.Encode(), Class: gridClass(explorePanel(expr))}}
	}
	s.render(w, http.StatusOK, "dashboard.html", page)
}

// panelView is a panel fragment's model.
type panelView struct {
	State         string
	Errors, Notes []string
	Chart         *chart
	Gauges        []gauge
	Stats         []stat
	Step          string
	Mark          string // x of the marked time
}

func (s *Server) panelFragment(w http.ResponseWriter, r *http.Request) {
	q, err := s.readQuery(r)
	if err != nil {
		s.fragmentError(w, http.StatusBadRequest, err.Error())
		return
	}
	var p Panel
	if id := r.PathValue("id"); id == "explore" {
		expr := strings.TrimSpace(r.URL.Query().Get("expr"))
		if expr == "" || len(expr) > 4096 {
			s.fragmentError(w, http.StatusBadRequest, "expr: want a PromQL expression of at most 4096 bytes")
			return
		}
		p = explorePanel(expr)
	} else {
		n, err := strconv.Atoi(id)
		var ok bool
		if err == nil {
			p, ok = s.dash.Panel(n)
		}
		if !ok {
			s.fragmentError(w, http.StatusNotFound, "no panel "+strconv.Quote(id)+" in the dashboard")
			return
		}
	}
	width := clampInt(r.URL.Query().Get("width"), 100, 4000, p.GridPos.W*60)
	height := clampInt(r.URL.Query().Get("height"), 60, 2000, p.GridPos.H*30-40)
	vars, err := s.varValues(r.Context(), q)
	if err != nil {
		s.fragmentError(w, http.StatusOK, err.Error())
		return
	}
	d := s.fetchPanel(r.Context(), p, timeRange{From: q.From, To: q.To, Width: width - 80}, vars)
	v := panelView{State: d.State(), Errors: d.Errors, Notes: d.Notes, Step: d.Step.String()}
	if len(d.Series) > 0 || d.State() == StateOK {
		switch p.Type {
		case TypeTimeSeries:
			v.Chart = drawTimeSeries(d, width, max(height-legendHeight(d.Series, width), 60), traceHref(p.ID))
			if q.Mark > 0 && q.Mark >= q.From.UnixMilli() && q.Mark <= q.To.UnixMilli() {
				c := v.Chart
				v.Mark = f1(c.PlotX + float64(q.Mark-q.From.UnixMilli())/float64(q.To.UnixMilli()-q.From.UnixMilli())*c.PlotW)
			}
		case TypeGauge:
			v.Gauges = drawGauges(d)
		case TypeStat:
			v.Stats = drawStats(d)
		}
	}
	w.Header().Set("X-Panel-State", v.State)
	s.render(w, http.StatusOK, "panel.html", v)
}

// legendHeight estimates the pixels the legend under a chart takes: its
// items wrap in rows of the panel's width (at most 4 rows; it scrolls).
func legendHeight(ss []series, width int) int {
	if len(ss) == 0 {
		return 0
	}
	rows, x := 1, 0
	for _, s := range ss {
		w := (len([]rune(s.Name))+32)*7 + 30 // name, "last … · max …", swatch and gap
		switch {
		case w > width: // an item wider than the panel wraps on its own lines
			if x > 0 {
				rows++
			}
			rows += (w - 1) / width
			x = w % width
		case x > 0 && x+w > width:
			rows, x = rows+1, w
		default:
			x += w
		}
	}
	return min(rows, 4)*18 + 4
}

func (s *Server) fragmentError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Panel-State", StateError)
	s.render(w, status, "panel.html", panelView{State: StateError, Errors: []string{msg}})
}

func clampInt(s string, lo, hi, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		n = def
	}
	return max(lo, min(hi, n))
}
