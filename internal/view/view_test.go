package view

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/net/html"
)

var shipped = filepath.Join("..", "..", "observability", "grafana", "dashboards", "agent-orchestrator-overview.json")

// TestShippedDashboardUnderstood: every field of the shipped dashboard is
// one the reader knows (a strict decode), every panel type, override
// matcher and property is drawn, and the variable's query is understood.
func TestShippedDashboardUnderstood(t *testing.T) {
	b, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	var strict Dashboard
	if err := strictDecode(b, &strict); err != nil {
		t.Fatalf("the shipped dashboard has a field the view does not read: %v", err)
	}
	d, err := ParseDashboard(b)
	if err != nil {
		t.Fatal(err)
	}
	if notes := d.Check(); len(notes) > 0 {
		t.Errorf("the view cannot draw all of the shipped dashboard: %v", notes)
	}
	types := map[string]int{}
	for _, p := range d.Panels {
		types[p.Type]++
	}
	if types[TypeGauge] == 0 || types[TypeStat] == 0 || types[TypeTimeSeries] == 0 || len(d.Panels) != 9 {
		t.Errorf("panel types %v in %d panels: the tests below assume gauge, stat and timeseries in 9", types, len(d.Panels))
	}
	for _, p := range d.Panels {
		if p.Type == TypeTimeSeries && p.FieldConfig.Defaults.Color.Mode != "palette-classic" {
			t.Errorf("%s: colour mode %q: several series need distinct colours (palette-classic)", p.Title, p.FieldConfig.Defaults.Color.Mode)
		}
	}
	var got []string
	for _, v := range d.Templating.List {
		if v.Type == TypeDatasourceVar {
			got = append(got, v.Name+"=datasource:"+v.pluginType())
			continue
		}
		match, label, err := v.labelValues()
		if err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
		}
		got = append(got, v.Name+"="+label+"@"+match)
	}
	want := `datasource=datasource:prometheus job=job@target_info instance=instance@target_info{job=~"$job"} ` +
		`worker_profile=worker_profile@active_workers{job=~"$job", instance=~"$instance"}`
	if strings.Join(got, " ") != want {
		t.Errorf("variables:\n%s\nwant (each label_values selector reading only the variables before it):\n%s", strings.Join(got, " "), want)
	}
}

// TestCheckDatasources: a data source the view cannot stand for is noted:
// another type, or a variable that is not a data source variable of the
// dashboard; a reference to the data source variable, to a Prometheus by
// uid, or none, is not.
func TestCheckDatasources(t *testing.T) {
	for _, tc := range []struct{ vars, ds, want string }{
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `{"type":"prometheus","uid":"${ds}"}`, ""},
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `{"type":"prometheus","uid":"$ds"}`, ""},
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `{"type":"prometheus","uid":"[[ds]]"}`, ""},
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `{"type":"prometheus","uid":"prometheus"}`, ""},
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `null`, ""},
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `"Prometheus"`, ""},
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `{"type":"prometheus","uid":"${other}"}`,
			`panel "A": data source ${other} is not a data source variable of the dashboard`},
		{`{"name":"v","type":"query","query":"label_values(up, job)"}`, `{"type":"prometheus","uid":"${v}"}`,
			`panel "A": data source ${v} is not a data source variable of the dashboard`},
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `{"type":"loki","uid":"logs"}`,
			`panel "A": data source of type "loki": the view draws from its one Prometheus`},
		{`{"name":"ds","type":"datasource","query":"loki"}`, `{"type":"prometheus","uid":"${ds}"}`,
			`variable ds: data sources of type "loki": the view draws from its one Prometheus`},
		{`{"name":"ds","type":"datasource","query":"prometheus"}`, `7`, `panel "A": data source 7: want {"type": "prometheus", "uid": …}`},
	} {
		d, err := ParseDashboard([]byte(`{"title":"x","templating":{"list":[` + tc.vars + `]},"panels":[{"id":1,"title":"A","type":"stat",` +
			`"datasource":` + tc.ds + `,"gridPos":{"h":8,"w":6}}]}`))
		if err != nil {
			t.Errorf("%s %s: %v", tc.vars, tc.ds, err)
			continue
		}
		if got := strings.Join(d.Check(), "; "); got != tc.want {
			t.Errorf("%s with data source %s: notes %q, want %q", tc.vars, tc.ds, got, tc.want)
		}
	}
}

// TestParseDashboardErrors: what the view cannot lay out is an error that
// names the panel.
func TestParseDashboardErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"title":"x","panels":[]}`, "has no panels"},
		{`{"title":"x","panels":[{"id":1,"type":"stat","gridPos":{"h":8,"w":6}}]}`, "panel 0 has no title"},
		{`{"title":"x","panels":[{"id":1,"title":"A","type":"stat","gridPos":{"h":8,"w":30}}]}`, `panel 0 ("A"): gridPos`},
		{`{"title":"x","panels":[{"id":1,"title":"A","type":"stat","gridPos":{"h":8,"w":6}},{"id":1,"title":"B","type":"stat","gridPos":{"h":8,"w":6}}]}`, "id 1 is used twice"},
		{`{"title":"x","templating":{"list":[{"name":"v","type":"query","query":"up"}]},"panels":[{"id":1,"title":"A","type":"stat","gridPos":{"h":8,"w":6}}]}`, "want label_values"},
		{`{"title":`, "dashboard:"},
	} {
		if _, err := ParseDashboard([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.json, err, tc.want)
		}
	}
}

func writeDashboard(t *testing.T, json string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "d.json")
	if err := os.WriteFile(p, []byte(json), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// newTestServer is a view whose Prometheus and Jaeger do not answer
// (127.0.0.1:1): the paths tested here must not need them.
func newTestServer(t *testing.T, dashboard string) *Server {
	t.Helper()
	s, err := New(Config{PrometheusURL: "http://127.0.0.1:1", JaegerURL: "http://127.0.0.1:1", Dashboard: dashboard,
		Timeout: 2 * time.Second, AllowedHosts: LoopbackHosts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, s *Server, target string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Host = "localhost:3001"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// TestUnsupportedPanelType: a panel the view cannot draw says so in its
// place, as an error, and is not dropped from the page.
func TestUnsupportedPanelType(t *testing.T) {
	s := newTestServer(t, writeDashboard(t, `{"title":"x","panels":[
		{"id":1,"title":"Pie","type":"piechart","gridPos":{"h":8,"w":6,"x":0,"y":0},"targets":[{"expr":"up","refId":"A"}]},
		{"id":2,"title":"Stat","type":"stat","gridPos":{"h":8,"w":6,"x":6,"y":0}}]}`))
	page := get(t, s, "/").Body.String()
	if !strings.Contains(page, `data-panel="Pie"`) || !strings.Contains(page, `data-panel="Stat"`) {
		t.Errorf("the page lacks a panel:\n%s", page)
	}
	if !strings.Contains(page, "unsupported panel type piechart") {
		t.Errorf("the page does not note the unsupported type")
	}
	w := get(t, s, "/panel/1?width=400&height=200")
	if w.Header().Get("X-Panel-State") != StateError || !strings.Contains(w.Body.String(), "unsupported panel type piechart") {
		t.Errorf("panel 1: state %q, body %s", w.Header().Get("X-Panel-State"), w.Body.String())
	}
}

// TestUnreachablePrometheus: a panel whose Prometheus does not answer
// says so in the panel.
func TestUnreachablePrometheus(t *testing.T) {
	s := newTestServer(t, shipped)
	w := get(t, s, "/panel/3?width=600&height=200")
	b := w.Body.String()
	if w.Header().Get("X-Panel-State") != StateError || !strings.Contains(b, "A, B, C: Prometheus unreachable") ||
		strings.Count(b, "unreachable") != 1 {
		t.Errorf("state %q: want the one cause once, for the three targets, the exemplars and the annotation:\n%s", w.Header().Get("X-Panel-State"), b)
	}
	if b := get(t, s, "/fragment/health").Body.String(); !strings.Contains(b, "Prometheus ✗") || !strings.Contains(b, "Jaeger ✗") {
		t.Errorf("health strip: %s", b)
	}
}

// TestBadRequests: bad parameters are a 400 naming the parameter; a Host
// that is not loopback's is refused (DNS rebinding).
func TestBadRequests(t *testing.T) {
	s := newTestServer(t, shipped)
	for _, tc := range []struct {
		target string
		code   int
		want   string
	}{
		{"/?from=yesterday", 400, "from: time &#34;yesterday&#34;"},
		{"/?from=now-1h&to=now-2h", 400, "must be before"},
		{"/?from=now-400d", 400, "at most a year"},
		{"/?refresh=1s", 400, "refresh=&#34;1s&#34;: want one of off, 5s"},
		{"/panel/3?now=soon", 400, "now=&#34;soon&#34;: want Unix milliseconds"},
		{"/panel/99", 404, "no panel"},
		{"/panel/explore", 400, "expr: want a PromQL expression"},
		{"/trace/not-a-trace", 400, "is not a trace id"},
		{"/trace/0af7651916cd43dd8448eb211c80319c", 502, "Jaeger unreachable"},
	} {
		w := get(t, s, tc.target)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d, want %d and %q:\n%.600s", tc.target, w.Code, tc.code, tc.want, w.Body.String())
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "attacker.example:3001"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusMisdirectedRequest {
		t.Errorf("Host attacker.example: %d, want 421", w.Code)
	}
	r = httptest.NewRequest(http.MethodGet, "/panel/explore?expr=up", nil)
	r.Host = "localhost:3001"
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Sec-Fetch-Mode", "no-cors")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("a cross-site <img> of a fragment: %d, want 403", w.Code)
	}
	if csp := get(t, s, "/").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

// TestHostileLabelsAreText: label values (model names come from callers)
// reach the page as text, never as markup: no element or attribute but
// the template's own.
func TestHostileLabelsAreText(t *testing.T) {
	s := newTestServer(t, shipped)
	p, _ := s.dash.Panel(8)
	now := time.Now()
	hostile := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(2)>`, `javascript:alert(3)`}
	d := &panelData{Panel: p, Range: timeRange{From: now.Add(-time.Hour), To: now, Width: 500}, Step: time.Minute}
	for i, h := range hostile {
		m := model.Metric{"model": model.LabelValue(h)}
		d.Series = append(d.Series, series{Name: legend(p.Targets[0], m), Labels: m, Color: classicPalette[i],
			Points: []Point{{now.Add(-time.Minute).UnixMilli(), 1}, {now.UnixMilli(), 2}}})
		d.Exemplars = append(d.Exemplars, exemplar{TraceID: "0af7651916cd43dd8448eb211c80319c", T: now.UnixMilli(), V: 1, Series: model.LabelSet{"model": model.LabelValue(h)}})
	}
	v := panelView{State: StateOK, Chart: drawTimeSeries(d, 600, 200, traceHref(8)), Errors: hostile}
	var b strings.Builder
	if err := s.tmpl.ExecuteTemplate(&b, "panel.html", v); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		if tok.Type != html.StartTagToken && tok.Type != html.SelfClosingTagToken {
			continue
		}
		switch tok.Data {
		case "script", "img", "iframe", "object":
			t.Errorf("a <%s> element reached the page", tok.Data)
		}
		for _, a := range tok.Attr {
			if strings.HasPrefix(a.Key, "on") || strings.HasPrefix(strings.ToLower(a.Val), "javascript:") {
				t.Errorf("attribute %s=%q reached the page", a.Key, a.Val)
			}
		}
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the hostile legend is not shown as text:\n%s", out)
	}
}

// TestInterpolate: selected values reach the query as a regular expression
// that matches exactly them, whatever they hold, in every quoting; a
// value is never expanded twice; unknown names stay.
func TestInterpolate(t *testing.T) {
	for _, values := range [][]string{
		{"coder"}, {"coder", "tester"}, {`a.b`}, {`x"}) or vector(1) or up{a="`}, {`back\slash\`}, {`it's`}, {"$bb"},
	} {
		for _, q := range []string{`"`, `'`} {
			expr, err := interpolate(`active_tasks{worker_profile=~`+q+`$worker_profile`+q+`}`,
				map[string]string{"worker_profile": regexValue(values), "bb": `\d`})
			if err != nil {
				t.Errorf("%q in %s: %v", values, q, err)
				continue
			}
			lit := strings.TrimSuffix(strings.TrimPrefix(expr, `active_tasks{worker_profile=~`), "}")
			if q == `'` { // PromQL's single quotes escape as Go's double quotes do
				lit = `"` + strings.ReplaceAll(strings.ReplaceAll(lit[1:len(lit)-1], `\'`, `'`), `"`, `\"`) + `"`
			}
			re, err := strconv.Unquote(lit)
			if err != nil {
				t.Errorf("%q in %s: %s is not one string literal: %v", values, q, expr, err)
				continue
			}
			m := regexp.MustCompile("^(?:" + re + ")$")
			for _, v := range values {
				if !m.MatchString(v) {
					t.Errorf("%q in %s: %s does not match %q", values, q, expr, v)
				}
			}
			if m.MatchString("other") || m.MatchString(`\d`) || m.MatchString("7") {
				t.Errorf("%q in %s: %s matches more than the values", values, q, expr)
			}
		}
	}
	for _, tc := range []struct{ expr, want, err string }{
		{`a{x=~"$worker_profile"}`, `a{x=~"$worker_profile"}`, ""}, // only $worker is defined
		{`a{x=~"${worker}", y=~"[[worker]]"} by ($worker)`, `a{x=~"W", y=~"W"} by (W)`, ""},
		{"a{x=~`$worker`}", "a{x=~`W`}", ""},
		{"a{x=~`$q`}", "", "cannot hold a backtick"},
		{`sum by ($q) (a)`, "", "outside a string literal"},
		{`rate(a[$__rate_interval])`, `rate(a[60s])`, ""},
	} {
		got, err := interpolate(tc.expr, map[string]string{"worker": "W", "q": "x`y", "__rate_interval": "60s"})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %q, %v; want an error with %q", tc.expr, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s = %s, %v; want %s", tc.expr, got, err, tc.want)
		}
	}
	if got := builtinVars(15*time.Second, 15*time.Second, time.Hour)["__rate_interval"]; got != "60s" {
		t.Errorf("$__rate_interval at a 15 s step and scrape = %s, want 60s", got)
	}
}

func TestFormatValue(t *testing.T) {
	two := 2
	for _, tc := range []struct {
		v    float64
		unit string
		dec  *int
		want string
	}{
		{0.0368, "s", nil, "36.8 ms"},
		{1.5, "s", nil, "1.5 s"},
		{330, "s", nil, "5.5 min"},
		{0.7, "currencyUSD", nil, "$0.70"},
		{0.0012, "currencyUSD", nil, "$0.0012"},
		{12.5, "currencyUSD", &two, "$12.50"},
		{0.141, "reqps", nil, "0.141 req/s"},
		{1500, "short", nil, "1.5 K"},
		{0.25, "percentunit", nil, "25%"},
		{2048, "bytes", nil, "2 KiB"},
		{3, "suffix: tasks/s", nil, "3 tasks/s"},
		{3, "widgets", nil, "3 widgets"},
		{math.NaN(), "s", nil, "NaN"},
		{999.7, "short", nil, "1 K"},
		{59.99, "s", nil, "1 min"},
		{0.0009999, "s", nil, "1 ms"},
	} {
		if got := FormatValue(tc.v, tc.unit, tc.dec); got != tc.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

// TestStep: at most a point per pixel, never under the scrape interval,
// rounded to a whole interval.
func TestStep(t *testing.T) {
	for _, tc := range []struct {
		rng   time.Duration
		width int
		min   time.Duration
		want  time.Duration
	}{
		{5 * time.Minute, 600, 15 * time.Second, 15 * time.Second},
		{time.Hour, 600, 15 * time.Second, 15 * time.Second},
		{time.Hour, 200, 15 * time.Second, 30 * time.Second},
		{6 * time.Hour, 600, 15 * time.Second, time.Minute},
		{24 * time.Hour, 600, 15 * time.Second, 5 * time.Minute},
		{24 * time.Hour, 1200, 15 * time.Second, 2 * time.Minute},
		{time.Hour, 600, time.Second, 10 * time.Second},
	} {
		got := Step(tc.rng, tc.width, tc.min)
		if got != tc.want {
			t.Errorf("Step(%v, %d, %v) = %v, want %v", tc.rng, tc.width, tc.min, got, tc.want)
		}
		if points := tc.rng / got; int(points) > tc.width {
			t.Errorf("Step(%v, %d) gives %d points", tc.rng, tc.width, points)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	for in, want := range map[string]time.Time{
		"now": now, "now-5m": now.Add(-5 * time.Minute), "now-2d": now.Add(-48 * time.Hour), "1699990000000": time.UnixMilli(1699990000000),
	} {
		if got, err := parseTime(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "now-", "now-5x", "now--5m", "yesterday", "-1", "now-0m"} {
		if _, err := parseTime(bad, now); err == nil {
			t.Errorf("parseTime(%q) succeeded", bad)
		}
	}
}

// TestBuildTraceView: children follow their parent by start time, depth
// and errors are found, and a malformed trace (a cycle, a self-reference)
// still shows every span once.
func TestBuildTraceView(t *testing.T) {
	ref := func(id string) []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
		TraceID string `json:"traceID"`
	} {
		return []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
			TraceID string `json:"traceID"`
		}{{RefType: "CHILD_OF", SpanID: id}}
	}
	tr := &jaegerTrace{TraceID: "t", Processes: map[string]jaegerProcess{"p1": {ServiceName: "agent-orchestrator"}}, Spans: []jaegerSpan{
		{SpanID: "c2", OperationName: "git.merge", StartTime: 300, Duration: 100, References: ref("root"), ProcessID: "p1",
			Tags: []jaegerKV{{Key: "otel.status_code", Value: []byte(`"ERROR"`)}}},
		{SpanID: "root", OperationName: "run", StartTime: 100, Duration: 1000, ProcessID: "p1", Tags: []jaegerKV{{Key: "run.id", Value: []byte(`"r-1"`)}}},
		{SpanID: "c1", OperationName: "task.execute", StartTime: 200, Duration: 50, References: ref("root"), ProcessID: "p1"},
		{SpanID: "g1", OperationName: "chat gpt-4", StartTime: 210, Duration: 10, References: ref("c1"), ProcessID: "p1"},
		{SpanID: "x", OperationName: "self", StartTime: 150, Duration: 1, References: ref("x")},
		{SpanID: "y1", OperationName: "cycle-a", StartTime: 160, Duration: 1, References: ref("y2")},
		{SpanID: "y2", OperationName: "cycle-b", StartTime: 170, Duration: 1, References: ref("y1")},
	}}
	v := buildTraceView(tr)
	var order []string
	for _, s := range v.Spans {
		order = append(order, s.Name+":"+string(rune('0'+s.Depth)))
	}
	got := strings.Join(order, " ")
	if !strings.HasPrefix(got, "run:0 task.execute:1 chat gpt-4:2 git.merge:1") || len(v.Spans) != len(tr.Spans) {
		t.Errorf("order %s", got)
	}
	if v.MissingParents != 0 {
		t.Errorf("%d missing parents in a whole trace", v.MissingParents)
	}
	tr.Spans = tr.Spans[:4]
	tr.Spans[1].References = ref("absent") // the run's parent, not (yet) in Jaeger
	if p := buildTraceView(tr); p.MissingParents != 1 || len(p.Spans) != 4 {
		t.Errorf("a trace missing a parent: %d missing, %d spans", p.MissingParents, len(p.Spans))
	}
	if v.RunID != "r-1" || v.Root != "run" || v.Errors != 1 || v.Duration != 1000*time.Microsecond {
		t.Errorf("run %q root %q errors %d duration %v", v.RunID, v.Root, v.Errors, v.Duration)
	}
}

func TestSeriesExpr(t *testing.T) {
	for in, want := range map[string]string{
		`{__name__="git_merge_duration_seconds_bucket", job="a", le="0.5", result="success"}`: `histogram_quantile(0.95, sum by (le) (rate(git_merge_duration_seconds_bucket{job="a", result="success"}[5m])))`,
		`{__name__="llm_requests_total", model="gpt-4"}`:                                      `rate(llm_requests_total{model="gpt-4"}[5m])`,
		`{__name__="up"}`:              `up`,
		`{__name__="x", model="a\"b"}`: `x{model="a\"b"}`,
	} {
		if got, ok := seriesExpr(in); !ok || got != want {
			t.Errorf("seriesExpr(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{`up`, `{__name__="a b"}`, `{x=}`, `{x="unterminated}`} {
		if got, ok := seriesExpr(bad); ok {
			t.Errorf("seriesExpr(%s) = %s", bad, got)
		}
	}
}

// TestFlattenExemplars: one marker per trace, time and value (targets
// selecting the same series return it twice); exemplars without a trace id
// are not drawn; at most maxExemplarsPerPanel, the newest kept.
func TestFlattenExemplars(t *testing.T) {
	id := func(i int) model.LabelValue { return model.LabelValue(fmt.Sprintf("%032x", i+1)) }
	var ex []v1.Exemplar
	for i := range maxExemplarsPerPanel * 3 {
		ex = append(ex, v1.Exemplar{Labels: model.LabelSet{"trace_id": id(i)}, Value: 1, Timestamp: model.Time(i)})
	}
	ex = append(ex, v1.Exemplar{Labels: model.LabelSet{"span_id": "x"}, Value: 1, Timestamp: 5},
		v1.Exemplar{Labels: model.LabelSet{"trace_id": "<b>"}, Value: 1, Timestamp: 6})
	series := model.LabelSet{"__name__": "git_merge_duration_seconds_bucket"}
	got := flattenExemplars([]v1.ExemplarQueryResult{{SeriesLabels: series, Exemplars: ex}, {SeriesLabels: series, Exemplars: ex[:10]}})
	if len(got) != maxExemplarsPerPanel {
		t.Fatalf("%d exemplars, want %d", len(got), maxExemplarsPerPanel)
	}
	if last := got[len(got)-1]; last.TraceID != string(id(maxExemplarsPerPanel*3-1)) || !last.OnValue {
		t.Errorf("the newest exemplar is not kept: %+v", last)
	}
	few := flattenExemplars([]v1.ExemplarQueryResult{{SeriesLabels: series, Exemplars: ex[:10]}, {SeriesLabels: series, Exemplars: ex[:10]}})
	if len(few) != 10 {
		t.Errorf("%d exemplars from 10 twice, want 10", len(few))
	}
}

// TestLegendHeight: the room under a chart grows with the rows its legend
// wraps into, up to four.
func TestLegendHeight(t *testing.T) {
	item := func(name string) series { return series{Name: name} }
	for _, tc := range []struct {
		ss    []series
		width int
		rows  int
	}{
		{nil, 600, 0},
		{[]series{item("p50"), item("p95"), item("p99")}, 1200, 1},
		{[]series{item("p50"), item("p95"), item("p99")}, 600, 2},
		{[]series{item(strings.Repeat("m", 40)), item(strings.Repeat("m", 40))}, 390, 4},
	} {
		want := 0
		if tc.rows > 0 {
			want = tc.rows*18 + 4
		}
		if got := legendHeight(tc.ss, tc.width); got != want {
			t.Errorf("%d items at %d px: %d px, want %d (%d rows)", len(tc.ss), tc.width, got, want, tc.rows)
		}
	}
}

// TestTimeTicksLocal: ticks fall on round local times, in a zone half an
// hour off UTC too.
func TestTimeTicksLocal(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	from := time.Date(2026, 12, 1, 10, 7, 0, 0, ist)
	for _, tk := range timeTicks(from, from.Add(6*time.Hour), 6) {
		if tk.In(ist).Minute() != 0 {
			t.Errorf("tick at %s", tk.In(ist).Format("15:04"))
		}
	}
}

// pathPoints reads the coordinates of an SVG path of M/L commands.
func pathPoints(t *testing.T, d string) [][2]float64 {
	t.Helper()
	var out [][2]float64
	f := strings.Fields(strings.NewReplacer("M", " ", "L", " ", "Z", " ").Replace(d))
	for i := 0; i+1 < len(f); i += 2 {
		x, err1 := strconv.ParseFloat(f[i], 64)
		y, err2 := strconv.ParseFloat(f[i+1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("path %q", d)
		}
		out = append(out, [2]float64{x, y})
	}
	return out
}

// TestDrawTimeSeriesGeometry: stacked series sum, a right-axis series has
// its own scale, thresholds sit at their value, exemplars at theirs
// (inside the plot), NaN leaves a gap.
func TestDrawTimeSeriesGeometry(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	pts := func(v ...float64) []Point {
		out := make([]Point, len(v))
		for i, x := range v {
			out[i] = Point{now.Add(time.Duration(i-len(v)+1) * time.Minute).UnixMilli(), x}
		}
		return out
	}
	var p Panel
	p.Type = TypeTimeSeries
	five := 5.0
	p.FieldConfig.Defaults.Thresholds.Steps = []ThresholdStep{{Color: "green"}, {Color: "red", Value: &five}}
	p.FieldConfig.Defaults.Custom.ThresholdsStyle.Mode = "line"
	d := &panelData{Panel: p, Range: timeRange{From: now.Add(-4 * time.Minute), To: now}, Step: time.Minute, Series: []series{
		{Name: "a", Stack: true, Points: pts(1, 1, 1, 1, 1), Color: "#111111"},
		{Name: "b", Stack: true, Points: pts(2, 2, 2, 2, 2), Color: "#222222"},
		{Name: "r", Right: true, Points: pts(0.5, 0.5, 0.5, 0.5, 0.5), Color: "#333333"},
		{Name: "gap", Points: pts(1, math.NaN(), 1, 1, 1), Color: "#444444"},
	}, Exemplars: []exemplar{{TraceID: "t", T: now.UnixMilli(), V: 10, OnValue: true}},
		// An alert firing for the last minute; one from before the range
		// into it (clipped at the left edge); one long over.
		Bands: []band{{T0: now.Add(-time.Minute).UnixMilli(), T1: now.UnixMilli(), Title: "A"},
			{T0: now.Add(-time.Hour).UnixMilli(), T1: now.Add(-3 * time.Minute).UnixMilli(), Title: "B"},
			{T0: now.Add(-time.Hour).UnixMilli(), T1: now.Add(-time.Hour).UnixMilli(), Title: "C"}}}
	c := drawTimeSeries(d, 600, 230, func(exemplar) string { return "/trace/t" })
	top, bottom := c.PlotY, c.PlotY+c.PlotH
	yAt := func(v, max float64) float64 { return bottom - v/max*c.PlotH }
	// The left axis runs to the exemplar at 10; "b" stacks on "a" to 3.
	byColor := map[string][][2]float64{}
	for _, l := range c.Lines {
		byColor[l.Color] = append(byColor[l.Color], pathPoints(t, l.D)...)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 0.11 }
	if got := byColor["#222222"][0][1]; !near(got, yAt(3, 10)) {
		t.Errorf("stacked b at y=%.1f, want %.1f (1+2 on a 0–10 axis)", got, yAt(3, 10))
	}
	if got := byColor["#333333"][0][1]; !near(got, yAt(0.5, 0.6)) {
		t.Errorf("right-axis series at y=%.1f, want %.1f (its own 0–0.6 axis)", got, yAt(0.5, 0.6))
	}
	if !c.HasRight || len(c.Y2Ticks) == 0 {
		t.Error("no right axis")
	}
	gaps := 0
	for _, l := range c.Lines {
		if l.Color == "#444444" {
			gaps++
		}
	}
	if gaps != 2 {
		t.Errorf("the series with a NaN is %d paths, want 2", gaps)
	}
	if len(c.Thresholds) != 1 || !near(mustFloat(t, c.Thresholds[0].Y), yAt(5, 10)) {
		t.Errorf("thresholds %+v, want one at y=%.1f", c.Thresholds, yAt(5, 10))
	}
	var titles []string
	for _, b := range c.Bands {
		titles = append(titles, b.Title)
	}
	if strings.Join(titles, ",") != "A,B" || !near(mustFloat(t, c.Bands[0].W), c.PlotW/4) ||
		!near(mustFloat(t, c.Bands[1].X), c.PlotX) || !near(mustFloat(t, c.Bands[1].W), c.PlotW/4) {
		t.Errorf("bands %+v, want A over the last quarter and B over the first, clipped", c.Bands)
	}
	if len(c.Exemplars) != 1 || !near(mustFloat(t, c.Exemplars[0].Y), top) || c.Exemplars[0].Href != "/trace/t" {
		t.Errorf("exemplars %+v, want one at the top (10)", c.Exemplars)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestGaugeAndThresholdColours: a value takes the colour of the highest
// step it reaches; the gauge's arc is the value's share of min–max; NaN
// draws nothing.
func TestGaugeAndThresholdColours(t *testing.T) {
	ten, twenty := 10.0, 20.0
	steps := []ThresholdStep{{Color: "green"}, {Color: "yellow", Value: &ten}, {Color: "red", Value: &twenty}}
	for v, want := range map[float64]string{0: "#73BF69", 9.99: "#73BF69", 10: "#FADE2A", 25: "#F2495C", -1: "#73BF69"} {
		if got := thresholdColor(steps, v); got != want {
			t.Errorf("thresholdColor(%v) = %s, want %s", v, got, want)
		}
	}
	var p Panel
	p.Type = TypeGauge
	zero, thirty := 0.0, 30.0
	p.FieldConfig.Defaults.Min, p.FieldConfig.Defaults.Max = &zero, &thirty
	p.FieldConfig.Defaults.Thresholds.Steps = steps
	p.FieldConfig.Defaults.Color.Mode = "thresholds"
	g := drawGauges(&panelData{Panel: p, Series: []series{{Points: []Point{{0, 30}}}, {Points: []Point{{0, 15}}}, {Points: []Point{{0, math.NaN()}}}}})
	if len(g) != 2 {
		t.Fatalf("%d gauges, want 2 (NaN draws none)", len(g))
	}
	if g[0].Arc != g[0].Track || g[0].Color != "#F2495C" {
		t.Errorf("a full gauge: arc %q, track %q, colour %s", g[0].Arc, g[0].Track, g[0].Color)
	}
	if g[1].Arc != arcPath(100, 100, 70, 0, 0.5) || g[1].Color != "#FADE2A" || len(g[1].Markers) != 3 {
		t.Errorf("a half gauge: %+v", g[1])
	}
}

// TestURLPasswordsHidden: a password in the Prometheus or Jaeger URL is
// used, never shown.
func TestURLPasswordsHidden(t *testing.T) {
	s, err := New(Config{PrometheusURL: "http://u:s3cret@127.0.0.1:1", JaegerURL: "http://j:t0ken@127.0.0.1:1", Dashboard: shipped,
		Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/", "/?var-datasource=mimir", "/api/view", "/health", "/fragment/health", "/panel/3", "/trace/0af7651916cd43dd8448eb211c80319c"} {
		if b := get(t, s, target).Body.String(); strings.Contains(b, "s3cret") || strings.Contains(b, "t0ken") {
			t.Errorf("%s shows a URL's password:\n%s", target, b)
		}
	}
}
