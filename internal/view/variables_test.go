package view

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
)

var shippedSources = filepath.Join("..", "..", "observability", "grafana", "provisioning", "datasources")

// fakeProm answers the Prometheus API calls the view makes for variables
// and panels, and records them: label values from values (an error for a
// label in failing), one sample for every query.
type fakeProm struct {
	values  map[string][]string
	failing map[string]bool

	mu      sync.Mutex
	matches map[string][]string // label → the match[] of each request
	queries []string
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/label/"):
		label := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/label/"), "/values")
		f.matches[label] = append(f.matches[label], strings.Join(r.Form["match[]"], " "))
		if f.failing[label] {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"refused by the test"}`)
			return
		}
		vals := make([]string, 0, len(f.values[label]))
		for _, v := range f.values[label] {
			vals = append(vals, strconv.Quote(v))
		}
		fmt.Fprintf(w, `{"status":"success","data":[%s]}`, strings.Join(vals, ","))
	case r.URL.Path == "/api/v1/query", r.URL.Path == "/api/v1/query_range":
		f.queries = append(f.queries, r.Form.Get("query"))
		now := float64(time.Now().Unix())
		if r.URL.Path == "/api/v1/query" {
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%v,"1"]}]}}`, now)
		} else {
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[%v,"1"],[%v,"2"]]}]}}`, now-60, now)
		}
	case r.URL.Path == "/api/v1/query_exemplars":
		fmt.Fprint(w, `{"status":"success","data":[]}`)
	default:
		http.NotFound(w, r)
	}
}

// startFakeProm serves a fakeProm and a view of the shipped dashboard on it.
func startFakeProm(t *testing.T, values map[string][]string, failing ...string) (*fakeProm, *Server) {
	t.Helper()
	f := &fakeProm{values: values, failing: map[string]bool{}, matches: map[string][]string{}}
	for _, l := range failing {
		f.failing[l] = true
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := New(Config{PrometheusURL: srv.URL, JaegerURL: "http://127.0.0.1:1", Dashboard: shipped, Datasources: shippedSources,
		Timeout: 2 * time.Second, AllowedHosts: LoopbackHosts})
	if err != nil {
		t.Fatal(err)
	}
	return f, s
}

// matcherRegexp reads the regular expression a query's label=~"…" matcher
// holds (the string literal unquoted, as PromQL reads it).
func matcherRegexp(t *testing.T, expr, label string) *regexp.Regexp {
	t.Helper()
	m := regexp.MustCompile(`\b` + label + `=~("(?:[^"\\]|\\.)*")`).FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("%s has no %s=~\"…\" matcher", expr, label)
	}
	re, err := strconv.Unquote(m[1])
	if err != nil {
		t.Fatalf("%s: the %s matcher %s is not one string literal: %v", expr, label, m[1], err)
	}
	c, err := regexp.Compile("^(?:" + re + ")$")
	if err != nil {
		t.Fatalf("%s: the %s matcher is not the selection's regular expression: %v", expr, label, err)
	}
	return c
}

// hostileJob would end the selector and add a query of its own if it
// reached a query unescaped.
const hostileJob = `x"}) or vector(1) or up{a="`

// TestVariablesChainEscaped: the instance and worker_profile menus are read
// for the jobs (and instances) selected before them, each value escaped so
// that the selector matches exactly the selection, and the panels' queries
// filter on the selection the same way.
func TestVariablesChainEscaped(t *testing.T) {
	f, s := startFakeProm(t, map[string][]string{
		"job": {"agent-orchestrator", hostileJob}, "instance": {"i-1", "i-2"}, "worker_profile": {"coder"},
	})
	q := url.Values{"var-job": {hostileJob, "agent-orchestrator"}, "var-instance": {"i-2"}}.Encode()
	if w := get(t, s, "/?"+q); w.Code != http.StatusOK {
		t.Fatalf("GET /: %d %s", w.Code, w.Body.String())
	}
	if got := f.matches["job"]; len(got) != 1 || got[0] != "target_info" {
		t.Errorf("job's values read with match[] %q, want target_info", got)
	}
	check := func(where, expr, label string, want []string) {
		re := matcherRegexp(t, expr, label)
		for _, v := range want {
			if !re.MatchString(v) {
				t.Errorf("%s: %s does not match %q", where, expr, v)
			}
		}
		for _, other := range []string{"other", "x", "agent-orchestrator2", "i-1"} {
			if re.MatchString(other) {
				t.Errorf("%s: %s matches %q, beyond the selection %q", where, expr, other, want)
			}
		}
	}
	inst := f.matches["instance"]
	if len(inst) != 1 || !strings.HasPrefix(inst[0], "target_info{") {
		t.Fatalf("instance's values read with match[] %q, want target_info{job=~…}", inst)
	}
	check("the instance menu", inst[0], "job", []string{hostileJob, "agent-orchestrator"})
	wp := f.matches["worker_profile"]
	if len(wp) != 1 || !strings.HasPrefix(wp[0], "active_workers{") {
		t.Fatalf("worker_profile's values read with match[] %q", wp)
	}
	check("the worker_profile menu", wp[0], "job", []string{hostileJob, "agent-orchestrator"})
	check("the worker_profile menu", wp[0], "instance", []string{"i-2"})

	// A panel's query: the same selection, and the stat has its sample.
	w := get(t, s, "/panel/7?"+q)
	if st := w.Header().Get("X-Panel-State"); st != StateOK {
		t.Fatalf("Total LLM Cost: state %s: %s", st, w.Body.String())
	}
	if len(f.queries) != 1 || !strings.HasPrefix(f.queries[0], "sum(llm_cost_dollars_total{") {
		t.Fatalf("queries %q", f.queries)
	}
	check("Total LLM Cost", f.queries[0], "job", []string{hostileJob, "agent-orchestrator"})
	check("Total LLM Cost", f.queries[0], "instance", []string{"i-2"})

	// All: allValue, which matches every value (and a series without it).
	f.queries = nil
	get(t, s, "/panel/7")
	if want := `sum(llm_cost_dollars_total{job=~".*", instance=~".*"})`; len(f.queries) != 1 || f.queries[0] != want {
		t.Errorf("with All: queries %q, want %s", f.queries, want)
	}
}

// TestVariableMenus: the page offers job, instance and worker_profile as
// multi-value menus of what Prometheus has (values as text, never markup),
// keeps a selection Prometheus no longer has, and shows the data source
// variable as its one choice: the provisioned Prometheus, drawn from the
// view's URL. A menu whose values cannot be read says so, and the menus
// after it are still read.
func TestVariableMenus(t *testing.T) {
	hostile := `"><img src=x onerror=alert(1)>`
	_, s := startFakeProm(t, map[string][]string{"job": {"agent-orchestrator"}, "instance": {"i-1", hostile}, "worker_profile": {"coder"}}, "job")
	page := get(t, s, "/?var-instance=gone").Body.String()
	menus := map[string][]string{}
	var disabled []string
	z := html.NewTokenizer(strings.NewReader(page))
	var in string
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		tok := z.Token()
		switch {
		case tok.Type == html.StartTagToken && tok.Data == "select":
			in = attr(tok, "name")
			menus[in] = []string{}
			if hasAttr(tok, "disabled") {
				disabled = append(disabled, in)
			}
		case tok.Type == html.StartTagToken && tok.Data == "option":
			v := attr(tok, "value")
			if hasAttr(tok, "selected") {
				v += "*"
			}
			menus[in] = append(menus[in], v)
		case tok.Type == html.StartTagToken && (tok.Data == "img" || tok.Data == "script" && attr(tok, "src") == ""):
			t.Errorf("a <%s> element reached the page", tok.Data)
		}
	}
	want := map[string]string{
		"var-datasource":     "*", // one option, the text below
		"var-job":            "$__all*",
		"var-instance":       "$__all " + hostile + " i-1 gone*", // sorted, as Prometheus answers
		"var-worker_profile": "$__all* coder",
	}
	for name, w := range want {
		if got := strings.Join(menus[name], " "); got != w {
			t.Errorf("menu %s: options %q, want %q", name, got, w)
		}
	}
	if strings.Join(disabled, ",") != "var-datasource" {
		t.Errorf("disabled menus %v, want only var-datasource", disabled)
	}
	if !strings.Contains(page, `data-fixed><option selected>Prometheus</option>`) || !strings.Contains(page, "every panel is drawn from http://127.0.0.1:") {
		t.Errorf("the data source menu does not show the provisioned Prometheus and the view's URL:\n%s", page)
	}
	if !strings.Contains(page, `title="query error: refused by the test">values unavailable`) {
		t.Errorf("the job menu does not say its values are unavailable:\n%s", page)
	}
}

func attr(tok html.Token, key string) string {
	for _, a := range tok.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(tok html.Token, key string) bool {
	for _, a := range tok.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// TestDatasourceVariable: var-datasource naming the view's Prometheus (the
// provisioned uid or name, or Grafana's "default") is accepted silently;
// another is noted on the page, since the view draws from one Prometheus.
// Without the provisioning folder, the variable's current value names it.
func TestDatasourceVariable(t *testing.T) {
	_, s := startFakeProm(t, map[string][]string{})
	for _, v := range []string{"prometheus", "Prometheus", "default"} {
		if page := get(t, s, "/?var-datasource="+v).Body.String(); strings.Contains(page, "var-datasource=") {
			t.Errorf("var-datasource=%s is noted:\n%s", v, page)
		}
	}
	page := get(t, s, "/?var-datasource=mimir").Body.String()
	if !strings.Contains(page, `var-datasource=&#34;mimir&#34;: the view draws from one Prometheus, Prometheus (http://127.0.0.1:`) ||
		!strings.Contains(page, "start it with -prometheus") {
		t.Errorf("var-datasource=mimir is not noted:\n%s", page)
	}
	bare := newTestServer(t, shipped)
	if bare.source != (promSource{Name: "Prometheus", UID: "prometheus"}) {
		t.Errorf("without provisioning the data source is %+v, want the variable's current Prometheus/prometheus", bare.source)
	}

	dir := t.TempDir()
	for name, body := range map[string]string{
		"a.yml": "datasources:\n  - {name: Jaeger, uid: jaeger, type: jaeger}\n  - {name: First, uid: first, type: prometheus}\n",
		"b.yml": "datasources:\n  - {name: Mimir, uid: mimir, type: prometheus, isDefault: true}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if src, ok, err := loadPromSource(dir); err != nil || !ok || src != (promSource{Name: "Mimir", UID: "mimir"}) {
		t.Errorf("loadPromSource = %+v %v %v, want the default one, Mimir", src, ok, err)
	}
	if err := os.Remove(filepath.Join(dir, "b.yml")); err != nil {
		t.Fatal(err)
	}
	if src, ok, err := loadPromSource(dir); err != nil || !ok || src.UID != "first" {
		t.Errorf("without a default: %+v %v %v, want the first Prometheus", src, ok, err)
	}
	if _, ok, err := loadPromSource(t.TempDir()); ok || err != nil {
		t.Errorf("an empty folder: %v %v", ok, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.yml"), []byte("datasources: {"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadPromSource(dir); err == nil || !strings.Contains(err.Error(), "c.yml") {
		t.Errorf("a broken file: %v, want an error naming it", err)
	}
}
