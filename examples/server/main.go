// Command server is the Agent Orchestrator API example: it sets up telemetry
// with otelobs.Setup and serves the Prometheus metrics on its own port.
//
//	go run ./examples/server            # listens on :8000, GET /metrics, GET /healthz
//	go run ./examples/server -addr 127.0.0.1:9000
//
// Telemetry is configured by the OTEL_* environment variables (see the
// otelobs package); with none set, metrics are served on /metrics for
// Prometheus to scrape and no other service is needed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/agentorchestrator/observability/otelobs"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run starts the server and blocks until SIGINT or SIGTERM, then shuts the
// HTTP server and the telemetry down. The named result collects shutdown
// errors.
func run(ctx context.Context, args []string) (err error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", envOr("ORCH_ADDR", ":8000"), "listen address (env ORCH_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	tel, err := otelobs.Setup(ctx, otelobs.WithServiceName("agent-orchestrator"))
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = errors.Join(err, tel.Shutdown(sctx))
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(tel),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	slog.Info("server: listening", "addr", ln.Addr().String(), "metrics", "http://"+ln.Addr().String()+"/metrics")
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	slog.Info("server: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// newHandler is the API: /metrics, /healthz, each request traced and measured
// by otelhttp.
func newHandler(tel *otelobs.Telemetry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.MetricsHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return otelhttp.NewHandler(mux, "agent-orchestrator",
		otelhttp.WithMeterProvider(tel.MeterProvider()),
		otelhttp.WithTracerProvider(tel.TracerProvider()),
		otelhttp.WithPropagators(tel.Propagator()),
		// Scrapes would otherwise dominate the request metrics and traces.
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/metrics" }),
	)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
