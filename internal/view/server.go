// Package view is `otelobs view`: a local web app that draws the shipped
// Grafana dashboard from Prometheus, marks its exemplars, and opens the
// trace behind one from Jaeger, for machines without Grafana (or Docker).
// Prometheus does the PromQL and Jaeger stores the traces; the view only
// renders. Pages are drawn on the server (SVG charts, html/template), with a
// small script that loads each panel at its width and refreshes it.
//
// Stable hooks for tests and scripts: each panel's element carries
// data-panel="<panel title>" and data-state="loading|ok|empty|error"; each
// exemplar marker is an <a> whose href contains /trace/<trace_id>; the trace
// page's <main> carries data-trace-id and each span row data-span-name.
package view

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"golang.org/x/sync/singleflight"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config says where the view's data comes from.
type Config struct {
	// PrometheusURL and JaegerURL are base URLs (http://localhost:9090,
	// http://localhost:16686).
	PrometheusURL, JaegerURL string
	// Dashboard is the path of the Grafana dashboard JSON to draw.
	Dashboard string
	// Datasources is Grafana's data source provisioning folder: its Jaeger
	// data source's tracesToMetrics queries become the trace page's links
	// to metrics, and its default Prometheus data source names the one the
	// view draws from (what the dashboard's data source variable resolves
	// to). Empty: none, and the variable's current value names it.
	Datasources string
	// MinStep is the smallest query_range step (the scrape interval; 15 s
	// when zero).
	MinStep time.Duration
	// Timeout bounds each request to Prometheus or Jaeger (10 s when zero).
	Timeout time.Duration
	// AllowedHosts, when set, are the only Host headers served (host or
	// host:port, compared without the port): a view bound to loopback
	// refuses other names, so that a web page cannot reach it through DNS
	// rebinding.
	AllowedHosts []string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Server is the view's HTTP handler.
type Server struct {
	cfg     Config
	dash    *Dashboard
	prom    *prometheus
	jaeger  *jaeger
	t2m     *tracesToMetrics
	source  promSource
	minStep time.Duration
	tmpl    *template.Template
	mux     *http.ServeMux

	group singleflight.Group
	mu    sync.Mutex
	cache map[string]cacheEntry
}

type cacheEntry struct {
	at  time.Time
	raw []rawSeries
}

// New reads the dashboard and prepares the handler; it does not contact
// Prometheus or Jaeger (a page says when they do not answer).
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	s := &Server{cfg: cfg, minStep: cfg.MinStep, cache: map[string]cacheEntry{}}
	if s.minStep <= 0 {
		s.minStep = 15 * time.Second
	}
	for _, u := range []struct{ name, v string }{{"Prometheus", cfg.PrometheusURL}, {"Jaeger", cfg.JaegerURL}} {
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("%s URL %q: want http://host:port", u.name, u.v)
		}
	}
	var err error
	if s.dash, err = LoadDashboard(cfg.Dashboard); err != nil {
		return nil, err
	}
	if s.prom, err = newPrometheus(cfg.PrometheusURL, cfg.Timeout); err != nil {
		return nil, err
	}
	s.jaeger = &jaeger{base: strings.TrimSuffix(cfg.JaegerURL, "/"), client: &http.Client{Timeout: cfg.Timeout}}
	s.jaeger.display = redact(s.jaeger.base)
	s.source = dashboardPromSource(s.dash)
	if cfg.Datasources != "" {
		if s.t2m, err = loadTracesToMetrics(cfg.Datasources); err != nil {
			return nil, err
		}
		src, ok, err := loadPromSource(cfg.Datasources)
		if err != nil {
			return nil, err
		}
		if ok {
			s.source = src
		}
	}
	s.tmpl, err = template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	static, _ := fs.Sub(staticFS, "static")
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.dashboardPage)
	s.mux.HandleFunc("GET /panel/{id}", s.panelFragment)
	s.mux.HandleFunc("GET /explore", s.explorePage)
	s.mux.HandleFunc("GET /trace/{id}", s.tracePage)
	s.mux.HandleFunc("GET /health", s.healthPage)
	s.mux.HandleFunc("GET /fragment/health", s.healthFragment)
	s.mux.HandleFunc("GET /api/view", s.apiView)
	s.mux.HandleFunc("GET /static/grid.css", gridCSS)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	return s, nil
}

// Dashboard returns the dashboard the view draws.
func (s *Server) Dashboard() *Dashboard { return s.dash }

// Stats returns the Prometheus requests made so far.
func (s *Server) Stats() Stats { return s.prom.stats() }

// contentSecurityPolicy allows the view's own script and styles only: no
// inline script or handler runs, whatever a label value holds.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ServeHTTP serves the view with its security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.AllowedHosts) > 0 && !hostAllowed(r.Host, s.cfg.AllowedHosts) {
		http.Error(w, "otelobs view: Host "+strconv.Quote(r.Host)+" is not served (it listens on loopback; open it as localhost)", http.StatusMisdirectedRequest)
		return
	}
	// Another site's page may link here (a navigation), but not fetch the
	// view's fragments or embed them (an <img> to /panel/explore?expr=…).
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" && r.Header.Get("Sec-Fetch-Mode") != "navigate" {
		http.Error(w, "otelobs view: cross-site requests are refused", http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

func hostAllowed(host string, allowed []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(strings.ToLower(host), "[]")
	for _, a := range allowed {
		if h, _, err := net.SplitHostPort(a); err == nil {
			a = h
		}
		if strings.Trim(strings.ToLower(a), "[]") == host {
			return true
		}
	}
	return false
}

// LoopbackHosts are the Host names a loopback-bound view serves.
var LoopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "otelobs view: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (s *Server) fail(w http.ResponseWriter, status int, title, msg string) {
	s.render(w, status, "error.html", map[string]string{"Title": title, "Message": msg})
}

// cachedRange runs a range query shared by the panels of one refresh (the
// annotations): the page gives them one "now", so their ranges are equal;
// concurrent callers wait for one request, and its answer serves for a few
// seconds.
func (s *Server) cachedRange(ctx context.Context, expr string, r v1.Range) ([]rawSeries, error) {
	key := fmt.Sprintf("%s|%d|%d|%d", expr, r.Start.UnixMilli(), r.End.UnixMilli(), r.Step)
	s.mu.Lock()
	if e, ok := s.cache[key]; ok && s.cfg.Now().Sub(e.at) < 5*time.Second {
		s.mu.Unlock()
		return e.raw, nil
	}
	s.mu.Unlock()
	ch := s.group.DoChan(key, func() (any, error) {
		// The first caller's request serves all: it must not end with that
		// caller's context (the query keeps its own timeout).
		raw, _, err := s.prom.queryRange(context.WithoutCancel(ctx), expr, r)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		now := s.cfg.Now()
		for k, e := range s.cache {
			if now.Sub(e.at) > time.Minute {
				delete(s.cache, k)
			}
		}
		s.cache[key] = cacheEntry{at: now, raw: raw}
		s.mu.Unlock()
		return raw, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]rawSeries), nil
	}
}

// apiView describes the view, for `otelobs doctor` and scripts.
func (s *Server) apiView(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"view":       "otelobs",
		"dashboard":  s.dash.Title,
		"prometheus": s.prom.display,
		"jaeger":     s.jaeger.display,
		"stats":      s.prom.stats(),
	})
}
