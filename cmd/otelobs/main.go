// Command otelobs holds the SDK's tools. `otelobs doctor` checks the chain
// from the app's measurements to the trace behind them, link by link, and
// prints the fix for each broken one:
//
//	go run ./cmd/otelobs doctor            # reads observability/.env
//	go run ./cmd/otelobs doctor -json      # for machines
//	go run ./cmd/otelobs doctor -help      # every flag
//
// It exits 0 when every check passes (or is skipped), 1 when one fails and
// 2 on a usage error.
//
// `otelobs view` serves the "Agent Orchestrator - Overview" dashboard, its
// exemplars and the traces they open, drawn from Prometheus and Jaeger, on
// http://127.0.0.1:GRAFANA_PORT (3001): a way to look at traces and metrics
// together without Grafana or Docker.
//
//	go run ./cmd/otelobs view              # reads observability/.env
//	go run ./cmd/otelobs view -help        # every flag
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/agentorchestrator/observability/internal/doctor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: otelobs doctor [flags]
       otelobs view [flags]

Checks, in order: 1 the app's /metrics, its exemplars and the contract
series; 2 Prometheus (ready, exemplar storage, the scrape job and target, or
the OTLP receiver in push mode); 3 query_exemplars; 4 the trace in Jaeger;
5 Grafana's exemplar link; 6 the Collector's health and pipeline.
Addresses come from observability/.env (or .env.example); flags override.

`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "view" {
		return runView(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "doctor" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("otelobs doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	envFile := fs.String("env", "", "the stack's .env (default observability/.env, else observability/.env.example)")
	app := fs.String("app", "", "the app's base URL (default http://API_HOST:API_PORT)")
	prom := fs.String("prometheus", "", "Prometheus's URL (default http://localhost:PROMETHEUS_PORT)")
	jaeger := fs.String("jaeger", "", "Jaeger's UI/API URL (default http://localhost:JAEGER_UI_PORT)")
	grafana := fs.String("grafana", "", "Grafana's URL (default http://localhost:GRAFANA_PORT)")
	gUser := fs.String("grafana-user", "", "Grafana user (default GRAFANA_ADMIN_USER)")
	gPass := fs.String("grafana-password", "", "Grafana password (default GRAFANA_ADMIN_PASSWORD)")
	sources := fs.String("datasources", "", "Grafana data source provisioning folder, read when Grafana does not answer")
	health := fs.String("collector-health", "", "the Collector's health check URL (default http://localhost:COLLECTOR_HEALTH_PORT/)")
	colMetrics := fs.String("collector-metrics", "", "the Collector's own metrics URL (default http://localhost:COLLECTOR_METRICS_PORT/metrics)")
	am := fs.String("alertmanager", "", "Alertmanager's URL (default http://localhost:ALERTMANAGER_PORT)")
	amConfig := fs.String("alertmanager-config", "", "the alertmanager.yml whose receivers' secret files are checked (default observability/alertmanager.yml)")
	secrets := fs.String("secrets", "", "the folder of those secret files (default observability/secrets)")
	mode := fs.String("mode", "auto", "pull, push or auto (decided by the app's /metrics)")
	job := fs.String("job", "agent-orchestrator", "the app's Prometheus scrape job")
	timeout := fs.Duration("timeout", 5*time.Second, "timeout of each request")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "otelobs doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch doctor.Mode(*mode) {
	case doctor.ModeAuto, doctor.ModePull, doctor.ModePush:
	default:
		fmt.Fprintf(stderr, "otelobs doctor: -mode=%s: want pull, push or auto\n", *mode)
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "otelobs doctor: -timeout=%v: want a positive duration\n", *timeout)
		return 2
	}

	env, path, dir, err := readEnv(*envFile)
	if err != nil {
		fmt.Fprintf(stderr, "otelobs doctor: %v\n", err)
		return 2
	}
	cfg, err := doctor.ConfigFromEnv(env, dir)
	if err != nil {
		fmt.Fprintf(stderr, "otelobs doctor: %s: %v\n", path, err)
		return 2
	}
	for _, o := range []struct {
		flag string
		to   *string
	}{
		{*app, &cfg.AppURL}, {*prom, &cfg.PrometheusURL}, {*jaeger, &cfg.JaegerURL}, {*grafana, &cfg.GrafanaURL},
		{*gUser, &cfg.GrafanaUser}, {*gPass, &cfg.GrafanaPassword}, {*sources, &cfg.DatasourcesDir},
		{*health, &cfg.CollectorHealthURL}, {*colMetrics, &cfg.CollectorMetricsURL},
		{*am, &cfg.AlertmanagerURL}, {*amConfig, &cfg.AlertmanagerConfig}, {*secrets, &cfg.SecretsDir},
	} {
		if o.flag != "" {
			*o.to = o.flag
		}
	}
	cfg.Mode, cfg.Job, cfg.Timeout = doctor.Mode(*mode), *job, *timeout
	cfg.CheckEnv = true // the shell that starts the app

	r := doctor.Run(ctx, cfg)
	if *asJSON {
		err = r.WriteJSON(stdout)
	} else {
		if path != "" {
			fmt.Fprintf(stdout, "settings: %s\n", path)
		}
		err = r.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "otelobs doctor: %v\n", err)
		return 2
	}
	if !r.OK {
		return 1
	}
	return 0
}

// readEnv reads the stack's .env: the path given, else observability/.env,
// else observability/.env.example, else none (the defaults). It returns the
// settings, the file read and its folder.
func readEnv(path string) (env map[string]string, file, dir string, err error) {
	if path == "" {
		for _, p := range []string{filepath.Join("observability", ".env"), filepath.Join("observability", ".env.example")} {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		return map[string]string{}, "", "observability", nil
	}
	if env, err = doctor.ReadEnvFile(path); err != nil {
		return nil, "", "", err
	}
	return env, path, filepath.Dir(path), nil
}
