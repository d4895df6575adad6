package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/agentorchestrator/observability/internal/doctor"
	"github.com/agentorchestrator/observability/internal/view"
)

const viewUsage = `usage: otelobs view [flags]

Serves the "Agent Orchestrator - Overview" dashboard drawn from Prometheus
(panels, thresholds, the job, instance and worker_profile variables, the data
source variable standing for -prometheus, exemplars), the trace each
exemplar opens from Jaeger (a span waterfall with links back to the metrics),
and the stack's health (scrape targets and their errors, exemplar storage,
Jaeger), on 127.0.0.1:GRAFANA_PORT (3001) by default. Addresses come from
observability/.env (or .env.example); flags override.

`

func runView(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("otelobs view", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, viewUsage); fs.PrintDefaults() }
	envFile := fs.String("env", "", "the stack's .env (default observability/.env, else observability/.env.example)")
	listen := fs.String("listen", "", "address to serve on (default 127.0.0.1:GRAFANA_PORT)")
	prom := fs.String("prometheus", "", "Prometheus's URL (default http://localhost:PROMETHEUS_PORT)")
	jaeger := fs.String("jaeger", "", "Jaeger's UI/API URL (default http://localhost:JAEGER_UI_PORT)")
	dash := fs.String("dashboard", "", "the dashboard JSON (default grafana/dashboards/agent-orchestrator-overview.json beside the .env)")
	sources := fs.String("datasources", "", "Grafana's data source provisioning folder, for the trace page's links to metrics and the data source's name (default grafana/provisioning/datasources beside the .env)")
	minStep := fs.Duration("min-step", 15*time.Second, "the smallest query_range step (Prometheus's scrape interval)")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout of each request to Prometheus or Jaeger")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "otelobs view: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *minStep <= 0 || *timeout <= 0 {
		fmt.Fprintf(stderr, "otelobs view: -min-step=%v, -timeout=%v: want positive durations\n", *minStep, *timeout)
		return 2
	}
	env, _, dir, err := readEnv(*envFile)
	if err != nil {
		fmt.Fprintf(stderr, "otelobs view: %v\n", err)
		return 2
	}
	dcfg, err := doctor.ConfigFromEnv(env, dir)
	if err != nil {
		fmt.Fprintf(stderr, "otelobs view: %v\n", err)
		return 2
	}
	cfg := view.Config{
		PrometheusURL: dcfg.PrometheusURL,
		JaegerURL:     dcfg.JaegerURL,
		Dashboard:     filepath.Join(dir, "grafana", "dashboards", "agent-orchestrator-overview.json"),
		Datasources:   filepath.Join(dir, "grafana", "provisioning", "datasources"),
		MinStep:       *minStep,
		Timeout:       *timeout,
	}
	addr := "127.0.0.1:" + doctor.Defaults["GRAFANA_PORT"]
	if p := env["GRAFANA_PORT"]; p != "" {
		addr = net.JoinHostPort("127.0.0.1", p)
	}
	for _, o := range []struct{ flag, into *string }{{prom, &cfg.PrometheusURL}, {jaeger, &cfg.JaegerURL},
		{dash, &cfg.Dashboard}, {sources, &cfg.Datasources}, {listen, &addr}} {
		if *o.flag != "" {
			*o.into = *o.flag
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintf(stderr, "otelobs view: -listen=%s: want host:port\n", addr)
		return 2
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		cfg.AllowedHosts = view.LoopbackHosts
	} else {
		fmt.Fprintf(stderr, "otelobs view: warning: serving on %s, beyond this machine, without authentication\n", addr)
	}
	srv, err := view.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "otelobs view: %v\n", err)
		if errors.Is(err, iofs.ErrNotExist) && *dash == "" {
			fmt.Fprintln(stderr, "otelobs view: run it from the repository's root, or pass -dashboard and -env")
		}
		return 2
	}
	for _, n := range srv.Dashboard().Check() {
		fmt.Fprintf(stderr, "otelobs view: %s\n", n)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "otelobs view: %v\n", err)
		return 1
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "otelobs view: http://%s (Prometheus %s, Jaeger %s, dashboard %s)\n", ln.Addr(), cfg.PrometheusURL, cfg.JaegerURL, cfg.Dashboard)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "otelobs view: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	return 0
}
