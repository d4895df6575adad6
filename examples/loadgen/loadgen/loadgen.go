// Package loadgen starts Agent Orchestrator runs against a server at a given
// rate and waits for them to finish, so that dashboards can be watched under
// load and the telemetry's overhead measured.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Config is one load run.
type Config struct {
	// BaseURL is the server, e.g. http://127.0.0.1:8000.
	BaseURL string
	// Runs is how many runs to start.
	Runs int
	// Rate is runs started per second; 0 starts them as fast as Concurrency
	// allows.
	Rate float64
	// Concurrency caps the runs in flight (default 8).
	Concurrency int
	// Objective, Workspace, Provider and Model fill the guide's request body
	// (Provider and Model: DefaultProvider and DefaultModel when Provider is
	// empty).
	Objective, Workspace, Provider, Model string
	// Poll is the status polling interval (default 50 ms).
	Poll time.Duration
	// RunTimeout bounds one run (default 5 min).
	RunTimeout time.Duration
	// Client is the HTTP client (default http.DefaultClient).
	Client *http.Client
}

// Result summarises a load run.
type Result struct {
	Started int
	ByState map[string]int
	Errors  []string
	Elapsed time.Duration
	Latency []time.Duration // per finished run, sorted
	CostUSD float64
}

// Throughput is finished runs per second.
func (r Result) Throughput() float64 {
	n := 0
	for _, c := range r.ByState {
		n += c
	}
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(n) / r.Elapsed.Seconds()
}

// Percentile returns the q-th latency percentile (0 < q ≤ 1).
func (r Result) Percentile(q float64) time.Duration {
	if len(r.Latency) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latency))+0.5) - 1
	return r.Latency[max(0, min(i, len(r.Latency)-1))]
}

// String is a one-paragraph report.
func (r Result) String() string {
	return fmt.Sprintf("started %d, finished %v in %v (%.2f runs/s), latency p50 %v p95 %v max %v, cost $%.4f, %d errors",
		r.Started, r.ByState, r.Elapsed.Round(time.Millisecond), r.Throughput(),
		r.Percentile(0.5).Round(time.Millisecond), r.Percentile(0.95).Round(time.Millisecond),
		r.Percentile(1).Round(time.Millisecond), r.CostUSD, len(r.Errors))
}

func (c *Config) defaults() error {
	if c.BaseURL == "" || c.Runs < 1 {
		return errors.New("loadgen: BaseURL and Runs ≥ 1 are required")
	}
	if c.Rate < 0 {
		return errors.New("loadgen: Rate must not be negative")
	}
	if c.Concurrency < 1 {
		c.Concurrency = 8
	}
	if c.Poll <= 0 {
		c.Poll = 50 * time.Millisecond
	}
	if c.RunTimeout <= 0 {
		c.RunTimeout = 5 * time.Minute
	}
	if c.Client == nil {
		c.Client = http.DefaultClient
	}
	if c.Objective == "" {
		c.Objective = "Create a simple hello world function"
	}
	if c.Provider == "" {
		c.Provider, c.Model = DefaultProvider, DefaultModel
	}
	return nil
}

// DefaultProvider and DefaultModel are the runs' model when Config.Provider
// is empty: the server's default, priced in llmmetrics' table, so that its
// simulated calls have a cost, and cheap should the server call it for
// real (ORCH_REAL_PROVIDERS).
const DefaultProvider, DefaultModel = "openai", "gpt-4o-mini"

// Run starts the runs and waits for all of them, until ctx ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	body, _ := json.Marshal(map[string]any{
		"objective":      cfg.Objective,
		"workspace_path": cfg.Workspace,
		"orch_config": map[string]any{
			"director_model": map[string]string{"provider": cfg.Provider, "model_name": cfg.Model},
			"worker_model":   map[string]string{"provider": cfg.Provider, "model_name": cfg.Model},
		},
	})
	if cfg.Workspace == "" {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		delete(m, "workspace_path")
		body, _ = json.Marshal(m)
	}
	res := Result{ByState: map[string]int{}}
	var mu sync.Mutex
	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	var tick <-chan time.Time
	if cfg.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
loop:
	for i := 0; i < cfg.Runs; i++ {
		if tick != nil && i > 0 {
			select {
			case <-tick:
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		res.Started++
		wg.Go(func() {
			defer func() { <-sem }()
			t0 := time.Now()
			state, cost, err := one(ctx, cfg, body)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
				return
			}
			res.ByState[state]++
			res.CostUSD += cost
			res.Latency = append(res.Latency, time.Since(t0))
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latency)
	return res, ctx.Err()
}

// one starts a run and polls it to its end.
func one(ctx context.Context, cfg Config, body []byte) (string, float64, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.RunTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.BaseURL+"/runs", bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	var created struct {
		RunID string `json:"run_id"`
	}
	if err := do(cfg.Client, req, http.StatusAccepted, &created); err != nil {
		return "", 0, err
	}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cfg.BaseURL+"/runs/"+created.RunID, nil)
		var v struct {
			State   string  `json:"state"`
			CostUSD float64 `json:"cost_usd"`
		}
		if err := do(cfg.Client, req, http.StatusOK, &v); err != nil {
			return "", 0, err
		}
		switch v.State {
		case "completed", "failed", "budget_exceeded", "canceled":
			return v.State, v.CostUSD, nil
		}
		select {
		case <-ctx.Done():
			return "", 0, fmt.Errorf("run %s: %w", created.RunID, ctx.Err())
		case <-time.After(cfg.Poll):
		}
	}
}

func do(c *http.Client, req *http.Request, want int, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}
