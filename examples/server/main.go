// Command server is the Agent Orchestrator API: POST /runs plans an
// objective into tasks with an LLM director, planner/coder/tester workers
// write files on their own git branches, and the branches are merged back
// under a lock with real git. Every step is measured with the otelobs
// packages, so the dashboard comes alive. The LLM is simulated unless
// ORCH_REAL_PROVIDERS names the provider (and its API key is set): a key in
// the shell alone calls nothing for real.
//
//	go run ./examples/server
//	curl -X POST localhost:8000/runs -H 'Content-Type: application/json' \
//	  -d '{"objective":"Create a simple hello world function","workspace_path":"/tmp/test-workspace",
//	       "orch_config":{"director_model":{"provider":"openai","model_name":"gpt-4"},
//	                      "worker_model":{"provider":"openai","model_name":"gpt-4"}}}'
//	curl localhost:8000/runs/<run_id>
//	curl localhost:8000/metrics
//
// It listens on 127.0.0.1:8000 (ORCH_ADDR): this machine only. Bound to
// loopback, it answers only requests whose Host is localhost, a 127.0.0.0/8
// address, [::1] or a name in ORCH_ALLOWED_HOSTS (host.docker.internal by
// default), so that no web page reaches it by DNS rebinding. Prometheus on
// this machine or in Docker Desktop (API_HOST=host.docker.internal) scrapes
// that default; Prometheus in Docker on Linux needs ORCH_ADDR=172.17.0.1:8000
// (the bridge); one elsewhere, the address it scrapes, or :8000 (every
// interface). Beyond loopback there is no Host check and no authentication,
// and the start-up log says so.
//
// Telemetry is configured by the OTEL_* variables (see the otelobs package);
// with none set, metrics are served on /metrics for Prometheus to scrape and
// no other service is needed. `server -help` lists the ORCH_* variables.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/agentorchestrator/observability/examples/server/internal/api"
	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/examples/server/internal/workspace"
	"github.com/agentorchestrator/observability/otelobs"
	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, nil); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// app is the wired server, for run and for tests.
type app struct {
	tel     *otelobs.Telemetry
	orch    *orchestrator.Orchestrator
	handler http.Handler
	scrapes *scrapeWatch // the scrapes of /metrics, for the shutdown
}

// newApp wires telemetry, the domain instruments, the workspace manager, the
// providers, the orchestrator and the API.
func newApp(ctx context.Context, c config, opts ...otelobs.Option) (a *app, err error) {
	tel, err := otelobs.Setup(ctx, append([]otelobs.Option{otelobs.WithServiceName("agent-orchestrator")}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tel.Shutdown(context.WithoutCancel(ctx)))
		}
	}()
	mp, tp := tel.MeterProvider(), tel.TracerProvider()
	git, err1 := gitmetrics.New(gitmetrics.WithMeterProvider(mp), gitmetrics.WithTracerProvider(tp))
	tasks, err2 := taskmetrics.New(taskmetrics.WithMeterProvider(mp), taskmetrics.WithTracerProvider(tp))
	llm, err3 := llmmetrics.New(llmmetrics.WithMeterProvider(mp), llmmetrics.WithTracerProvider(tp))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	ws, err := workspace.NewManager(c.workspaceRoot, git)
	if err != nil {
		return nil, fmt.Errorf("ORCH_WORKSPACE_ROOT: %w", err)
	}
	providers, err := provider.NewRegistry(provider.Config{Seed: c.seed, Sim: c.sim, LLM: llm, Real: c.realProviders,
		HTTPClient: &http.Client{Transport: tel.HTTPTransport(nil)}, TracerProvider: tp})
	if err != nil {
		return nil, err
	}
	orch, err := orchestrator.New(c.orch, orchestrator.Instruments{
		Git: git, Tasks: tasks, LLM: llm,
		Meter:  mp.Meter("github.com/agentorchestrator/observability/examples/server"),
		Tracer: tp.Tracer("github.com/agentorchestrator/observability/examples/server"),
	}, providers, ws)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	scrapes := newScrapeWatch()
	mux.Handle("GET /metrics", scrapes.wrap(tel.MetricsHandler()))
	api.New(orch, ws, api.Defaults{Workspace: c.defaultWorkspace, Model: c.defaultModel}, nil).Register(mux)
	// Route-named server spans and http.server.* metrics; /metrics and
	// /healthz untraced. Bound to loopback, every path (/metrics too) checks
	// the Host, against DNS rebinding.
	h := tel.HTTPHandler(api.HostGuard(mux, c.loopback, c.allowedHosts))
	for name := range provider.Known {
		if p, _ := providers.Get(name); p != nil && !p.Simulated() {
			slog.Info("server: LLM provider called for real", "provider", name)
		}
	}
	return &app{tel: tel, orch: orch, handler: h, scrapes: scrapes}, nil
}

// run starts the server and blocks until SIGINT or SIGTERM (or ctx ends),
// then shuts it down in the order shutdown.go describes; a second signal
// ends it at once. ready, when not nil, receives the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, ready chan<- string) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return runWithSignals(ctx, args, getenv, ready, sigs)
}

// runWithSignals is run with the signals read from sigs: the end of ctx or
// the first signal starts the shutdown, a second signal cuts it short.
func runWithSignals(ctx context.Context, args []string, getenv func(string) string, ready chan<- string, sigs <-chan os.Signal) (err error) {
	c, err := loadConfig(args, getenv, func() uint64 { return uint64(time.Now().UnixNano()) })
	if err != nil {
		return err
	}

	a, err := newApp(ctx, c)
	if err != nil {
		return err
	}
	flush := true // not after a second signal
	defer func() {
		if flush {
			err = errors.Join(err, a.flush(sigs))
		}
	}()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("ORCH_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	logListening(slog.Default(), ln.Addr().String(), c)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	case sig := <-sigs:
		slog.Info("server: " + sig.String())
	}
	err = a.shutdown(srv, c, sigs)
	flush = !errors.Is(err, errSecondSignal)
	return err
}
