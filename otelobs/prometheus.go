package otelobs

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentorchestrator/observability/otelobs/internal/promexpo"
)

// PrometheusHandler serves the gatherers (PrometheusReader's, and any of
// client_golang) as MetricsHandler does: OpenMetrics with exemplars to a
// scraper that asks for it, as Prometheus does, the text format otherwise,
// gzip when asked; a family that fails to gather does not hide the others,
// and each distinct problem is logged once through slog's default logger.
// When the first gatherer is PrometheusReader's, the text formats are
// written straight from the SDK's data (the OTel exporter's bytes, at less
// than client_golang's cost); other gatherers are merged in.
func PrometheusHandler(gatherers ...prometheus.Gatherer) http.Handler {
	if len(gatherers) == 0 {
		gatherers = []prometheus.Gatherer{prometheus.NewRegistry()}
	}
	return newPrometheusHandler(gatherers[0], gatherers[1:], slog.Default())
}

// newPrometheusHandler serves reg (nil when the prometheus exporter is off)
// and the extra gatherers. OpenMetrics is enabled: it is the only text format
// that carries exemplars, and Prometheus asks for it first.
func newPrometheusHandler(reg prometheus.Gatherer, extra []prometheus.Gatherer, logger *slog.Logger) http.Handler {
	gs := prometheus.Gatherers{}
	if reg != nil {
		gs = append(gs, reg)
	}
	gs = append(gs, extra...)
	if reg == nil && len(extra) == 0 {
		// The exporter is off (and the SDK not disabled): say so to whoever
		// scrapes, instead of serving a page that looks healthy and empty.
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "otelobs: the prometheus metrics exporter is not enabled: "+
				"set OTEL_METRICS_EXPORTER=prometheus (or a list that includes it)", http.StatusNotFound)
		})
	}
	errLog := &slogPromLogger{l: logger, seen: map[string]bool{}}
	if src, ok := reg.(*promexpo.Source); ok {
		return promexpo.Handler(src, extra, errLog)
	}
	return promhttp.HandlerFor(gs, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// A collection error for one metric family must not hide the others.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      errLog,
	})
}

// slogPromLogger adapts slog to promhttp's Println logger. A gathering
// problem recurs on every scrape (two scopes emitting one series under
// WithoutScopeInfo, say), so each distinct message is logged once, and past
// maxErrorKeys of them one line says the rest are not.
type slogPromLogger struct {
	l          *slog.Logger
	mu         sync.Mutex
	seen       map[string]bool
	suppressed bool
}

func (p *slogPromLogger) Println(v ...any) {
	if p.l == nil {
		return
	}
	msg := fmt.Sprint(v...)
	key := msg[:min(len(msg), 200)]
	p.mu.Lock()
	switch {
	case p.seen[key]:
		p.mu.Unlock()
		return
	case len(p.seen) >= maxErrorKeys:
		first := !p.suppressed
		p.suppressed = true
		p.mu.Unlock()
		if first {
			p.l.Warn(fmt.Sprintf("otelobs: serving /metrics: %d distinct problems logged; further ones are not", maxErrorKeys))
		}
		return
	}
	p.seen[key] = true
	p.mu.Unlock()
	p.l.Warn("otelobs: serving /metrics (logged once): " + msg)
}

// listen starts the stand-alone /metrics listener that
// OTEL_EXPORTER_PROMETHEUS_HOST/_PORT ask for.
func (t *Telemetry) listen(s settings) error {
	addr := net.JoinHostPort(s.prometheusHost, strconv.Itoa(s.prometheusPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("otelobs: start the /metrics listener on %s (from %s and %s): %w",
			addr, envPrometheusHost, envPrometheusPort, err)
	}
	t.listener = ln
	t.summary.PrometheusListener = ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", t.handler)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.logger.Error("otelobs: /metrics listener stopped", "addr", addr, "error", err)
		}
	}()
	t.listenerShutdown = append(t.listenerShutdown, srv.Shutdown)
	if isLoopback(s.prometheusHost) && inContainer() {
		t.logger.Warn("otelobs: /metrics listens on a loopback address inside a container; "+
			"a Prometheus outside this container cannot reach it. Set "+envPrometheusHost+"=0.0.0.0",
			"addr", addr)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// inContainer is a best-effort check for Docker, Podman and Kubernetes.
func inContainer() bool {
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return os.Getenv("KUBERNETES_SERVICE_HOST") != ""
}
