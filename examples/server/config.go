package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agentorchestrator/observability/examples/server/internal/api"
	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/examples/server/internal/provider"
	"github.com/agentorchestrator/observability/otelobs/taskmetrics"
)

// config is the server's configuration: flags, then ORCH_* variables, then
// defaults. Telemetry is configured separately, by the OTEL_* variables.
type config struct {
	addr             string
	loopback         bool     // addr is loopback only: the Host check is on
	allowedHosts     []string // Host names served besides the loopback ones
	workspaceRoot    string
	defaultWorkspace string
	defaultModel     orchestrator.ModelRef
	realProviders    []string // providers called for real (provider.ParseReal)
	seed             uint64
	sim              provider.SimOptions
	orch             orchestrator.Config
	grace            time.Duration
	scrapeWait       time.Duration
}

// envDoc lists every variable the server reads, for -help and the README.
const envDoc = `Environment (telemetry: the OTEL_* variables of the otelobs package):
  ORCH_ADDR                  listen address, IP:port or localhost:port; :8000 is every interface (default 127.0.0.1:8000)
  ORCH_WORKSPACE_ROOT        runs may only use workspaces under this directory (default /tmp)
  ORCH_DEFAULT_WORKSPACE     workspace of a run that names none (default <root>/agent-orchestrator-workspace)
  ORCH_DEFAULT_MODEL         provider/model of a run that names none (default openai/gpt-4o-mini)
  ORCH_SEED                  seed of the simulated LLM (default: from the clock)
  ORCH_SIM_LATENCY_SCALE     simulated latency multiplier, 0 for none (default 1)
  ORCH_SIM_RATE_LIMIT_RATE   share of simulated calls answered 429 (default 0.04)
  ORCH_SIM_ERROR_RATE        share of simulated calls answered 503 (default 0.02)
  ORCH_SIM_CONFLICT_RATE     share of simulated plans where two coders edit one file (default 0.5)
  ORCH_RUN_BUDGET_USD        LLM cost cap of one run, 0 for none (default 2)
  ORCH_TOTAL_BUDGET_USD      LLM cost cap of the process, 0 for none (default 100; 10 when ORCH_REAL_PROVIDERS is set)
  ORCH_MAX_RETRIES           retries of a failed task (default 2)
  ORCH_LLM_ATTEMPTS          attempts of one LLM call on 429/5xx (default 4)
  ORCH_WORKERS               worker pool sizes (default planner=1,coder=2,tester=1)
  ORCH_SHUTDOWN_GRACE        how long running tasks may finish on SIGTERM, then they are canceled (default 4s)
  ORCH_MAX_ACTIVE_RUNS       unfinished runs at most; beyond, POST /runs answers 429 (default 100)
  ORCH_RUN_RETENTION         how long a finished run stays visible to GET /runs (default 1h)
  ORCH_MAX_FINISHED_RUNS     finished runs kept at most, the oldest forgotten first (default 1000)
  ORCH_SHUTDOWN_SCRAPE_WAIT  on SIGTERM, how long /metrics waits for a scrape of the final states (default 2s)
  <PROVIDER>_API_KEY         e.g. OPENAI_API_KEY: the key of a provider in ORCH_REAL_PROVIDERS (ignored otherwise)
  <PROVIDER>_BASE_URL        e.g. OPENAI_BASE_URL: its OpenAI-compatible base URL
  ORCH_ALLOWED_HOSTS         Host names a loopback-bound server answers besides localhost, 127.0.0.0/8 and ::1 (default host.docker.internal,gateway.docker.internal,host.containers.internal)
  ORCH_REAL_PROVIDERS        providers called for real with their <PROVIDER>_API_KEY, e.g. openai,anthropic, or all (default none: all simulated)`

// loadConfig reads the configuration; every bad value is reported, naming
// its variable or flag.
func loadConfig(args []string, getenv func(string) string, seedNow func() uint64) (config, error) {
	var errs []error
	bad := func(name, value, want string) {
		errs = append(errs, fmt.Errorf("%s=%q: %s", name, value, want))
	}
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	float := func(name, def string, lo, hi float64) float64 {
		v := env(name, def)
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f < lo || f > hi {
			bad(name, v, fmt.Sprintf("want a number from %g to %g", lo, hi))
			return 0
		}
		return f
	}
	integer := func(name, def string, lo, hi int) int {
		v := env(name, def)
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			bad(name, v, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
			return lo
		}
		return n
	}

	duration := func(name, def string, lo time.Duration) time.Duration {
		v := env(name, def)
		d, err := time.ParseDuration(v)
		if err != nil || d < lo {
			bad(name, v, fmt.Sprintf("want a duration of at least %s, such as %s", lo, def))
			return lo
		}
		return d
	}

	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", env("ORCH_ADDR", "127.0.0.1:8000"), "listen address (env ORCH_ADDR)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: server [-addr host:port]")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), envDoc)
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.loopback, err = api.LoopbackBind(c.addr); err != nil {
		bad("ORCH_ADDR", c.addr, err.Error()+", e.g. 127.0.0.1:8000 (this machine), 172.17.0.1:8000 (Linux's Docker bridge) or :8000 (every interface)")
	}
	hosts := env("ORCH_ALLOWED_HOSTS", strings.Join(api.DefaultAllowedHosts, ","))
	for h := range strings.SplitSeq(hosts, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if err := api.CheckAllowedHost(h); err != nil {
			bad("ORCH_ALLOWED_HOSTS", hosts, err.Error()+"; want a comma-separated list, e.g. host.docker.internal,orchestrator.lan")
			break
		}
		c.allowedHosts = append(c.allowedHosts, h)
	}

	c.workspaceRoot = env("ORCH_WORKSPACE_ROOT", "/tmp")
	if !filepath.IsAbs(c.workspaceRoot) {
		bad("ORCH_WORKSPACE_ROOT", c.workspaceRoot, "want an absolute path")
	}
	c.defaultWorkspace = env("ORCH_DEFAULT_WORKSPACE", filepath.Join(c.workspaceRoot, "agent-orchestrator-workspace"))
	dm := env("ORCH_DEFAULT_MODEL", "openai/gpt-4o-mini")
	if p, m, ok := strings.Cut(dm, "/"); ok && provider.IsKnown(p) && m != "" {
		c.defaultModel = orchestrator.ModelRef{Provider: strings.ToLower(p), Model: m}
	} else {
		bad("ORCH_DEFAULT_MODEL", dm, "want provider/model with a known provider, e.g. openai/gpt-4o-mini")
	}
	if v := env("ORCH_SEED", ""); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			bad("ORCH_SEED", v, "want a non-negative whole number")
		}
		c.seed = s
	} else {
		c.seed = seedNow()
	}
	c.sim = provider.SimOptions{
		LatencyScale:  float("ORCH_SIM_LATENCY_SCALE", "1", 0, 100),
		RateLimitRate: float("ORCH_SIM_RATE_LIMIT_RATE", "0.04", 0, 1),
		ErrorRate:     float("ORCH_SIM_ERROR_RATE", "0.02", 0, 1),
		ConflictRate:  float("ORCH_SIM_CONFLICT_RATE", "0.5", 0, 1),
	}
	if c.sim.RateLimitRate+c.sim.ErrorRate > 1 {
		bad("ORCH_SIM_RATE_LIMIT_RATE", fmt.Sprint(c.sim.RateLimitRate), "with ORCH_SIM_ERROR_RATE, must add up to at most 1")
	}
	rp := env("ORCH_REAL_PROVIDERS", "")
	if c.realProviders, err = provider.ParseReal(rp); err != nil {
		bad("ORCH_REAL_PROVIDERS", rp, err.Error())
	}
	// A smaller default cap once real money is at stake.
	totalBudget := "100"
	if len(c.realProviders) > 0 {
		totalBudget = "10"
	}
	c.orch = orchestrator.Config{
		RunBudgetUSD:   float("ORCH_RUN_BUDGET_USD", "2", 0, 1e9),
		TotalBudgetUSD: float("ORCH_TOTAL_BUDGET_USD", totalBudget, 0, 1e9),
		MaxRetries:     integer("ORCH_MAX_RETRIES", "2", 0, 10),
		LLMAttempts:    integer("ORCH_LLM_ATTEMPTS", "4", 1, 20),
		Workers:        map[taskmetrics.Profile]int{},
	}
	workers := env("ORCH_WORKERS", "planner=1,coder=2,tester=1")
	for kv := range strings.SplitSeq(workers, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(v)
		p := taskmetrics.Profile(k)
		if !ok || err != nil || n < 1 || n > 64 || p.Normalize() != p || p == taskmetrics.ProfileOther {
			bad("ORCH_WORKERS", workers, "want profile=count pairs (planner, coder, tester; 1 to 64), e.g. planner=1,coder=2,tester=1")
			break
		}
		c.orch.Workers[p] = n
	}
	g := env("ORCH_SHUTDOWN_GRACE", "4s")
	d, err := time.ParseDuration(g)
	if err != nil || d < 0 {
		bad("ORCH_SHUTDOWN_GRACE", g, "want a duration such as 4s")
	}
	c.grace = d
	c.orch.MaxActiveRuns = integer("ORCH_MAX_ACTIVE_RUNS", "100", 1, 100000)
	c.orch.MaxFinishedRuns = integer("ORCH_MAX_FINISHED_RUNS", "1000", 1, 1000000)
	c.orch.Retention = duration("ORCH_RUN_RETENTION", "1h", time.Second)
	c.scrapeWait = duration("ORCH_SHUTDOWN_SCRAPE_WAIT", "2s", 0)
	return c, errors.Join(errs...)
}
