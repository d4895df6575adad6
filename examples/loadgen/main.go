// Command loadgen starts Agent Orchestrator runs against a server at a given
// rate, waits for them, and prints throughput and latency:
//
//	go run ./examples/loadgen -runs 50 -rate 2
//
// Watch the dashboard meanwhile. The runs use openai/gpt-4o-mini (-provider,
// -model), which the server simulates unless it was started with
// ORCH_REAL_PROVIDERS naming openai. Each run's LLM cost, simulated or not,
// counts against the server's budgets (ORCH_RUN_BUDGET_USD,
// ORCH_TOTAL_BUDGET_USD).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/agentorchestrator/observability/examples/loadgen/loadgen"
)

func main() {
	var cfg loadgen.Config
	flag.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8000", "server base URL")
	flag.IntVar(&cfg.Runs, "runs", 20, "runs to start")
	flag.Float64Var(&cfg.Rate, "rate", 1, "runs started per second (0: as fast as -concurrency allows)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 8, "runs in flight at most")
	flag.StringVar(&cfg.Workspace, "workspace", "/tmp/loadgen-workspace", "workspace_path of the runs")
	flag.StringVar(&cfg.Provider, "provider", loadgen.DefaultProvider, "provider of the director and workers")
	flag.StringVar(&cfg.Model, "model", loadgen.DefaultModel, "model of the director and workers")
	flag.StringVar(&cfg.Objective, "objective", "Create a simple hello world function", "objective of the runs")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after this long")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := loadgen.Run(ctx, cfg)
	fmt.Println(res)
	for i, e := range res.Errors {
		if i == 5 {
			fmt.Printf("… and %d more errors\n", len(res.Errors)-5)
			break
		}
		fmt.Println("error:", e)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if len(res.Errors) > 0 {
		os.Exit(1)
	}
}
