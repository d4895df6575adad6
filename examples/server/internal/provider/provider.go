// Package provider holds the LLM providers of the example server: a
// simulated provider (the default, so that the server works without an API
// key), and real ones on the official SDKs with their llmmetrics options:
// OpenAI (any OpenAI-compatible API) and Anthropic. A provider is real only
// when it is named in Config.Real (the server's ORCH_REAL_PROVIDERS) and its
// API key is set: a key that happens to be in the environment spends no
// money.
package provider

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// Purpose tells a provider what a request is for. The simulated provider
// shapes its answer by it; real providers only see the prompt.
type Purpose string

// The purposes the orchestrator uses.
const (
	PurposePlan    Purpose = "plan"    // the director splits the objective into tasks
	PurposeCode    Purpose = "code"    // a planner, coder or tester writes a file
	PurposeResolve Purpose = "resolve" // resolve a merge conflict in a file
)

// Request is one completion request.
type Request struct {
	Model     string
	Purpose   Purpose
	System    string
	Prompt    string
	MaxTokens int
}

// Response is a provider's answer.
type Response struct {
	// Text is the completion.
	Text string
	// Model is the model that answered (may differ from the request's).
	Model string
	// Usage is the token usage the provider reported (or, for the simulated
	// provider, computed from the text).
	Usage llmmetrics.Usage
}

// Provider completes prompts. Implementations are safe for concurrent use.
// Errors carry an llmmetrics error type (rate_limited, server_error, …);
// a rate limit is a *RateLimitError.
type Provider interface {
	// Name is the provider's name, as used on metrics (openai, anthropic, …).
	Name() string
	// Simulated reports whether answers are simulated locally.
	Simulated() bool
	Complete(ctx context.Context, req Request) (Response, error)
}

// RateLimitError is an HTTP 429 (or its simulation). RetryAfter is the
// server's hint, 0 when it gave none.
type RateLimitError struct {
	RetryAfter time.Duration
	Err        error
}

// Error implements error.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited (retry after %v): %v", e.RetryAfter, e.Err)
}

// Unwrap returns the underlying error.
func (e *RateLimitError) Unwrap() error { return e.Err }

// ErrorType classifies the error for llmmetrics.
func (e *RateLimitError) ErrorType() string { return string(llmmetrics.ErrorRateLimited) }

// Known lists the providers a run may name, with the base URL used when the
// provider is called for real: Anthropic's own API, and OpenAI-compatible
// ones for the others.
var Known = map[string]string{
	"openai":    "https://api.openai.com/v1",
	"anthropic": "https://api.anthropic.com",
	"google":    "https://generativelanguage.googleapis.com/v1beta/openai",
	"mistral":   "https://api.mistral.ai/v1",
	"deepseek":  "https://api.deepseek.com/v1",
	"groq":      "https://api.groq.com/openai/v1",
	"xai":       "https://api.x.ai/v1",
	"simulated": "",
}

// IsKnown reports whether name is a provider a run may use.
func IsKnown(name string) bool {
	_, ok := Known[strings.ToLower(name)]
	return ok
}

// RealAll in Config.Real makes every provider whose API key is set real.
const RealAll = "all"

// ParseReal reads ORCH_REAL_PROVIDERS: a comma-separated list of known
// providers (not simulated), or all. Names are lower-cased; all absorbs the
// others.
func ParseReal(s string) ([]string, error) {
	var out []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
			continue
		case name == RealAll:
			return []string{RealAll}, nil
		case name == "simulated" || !IsKnown(name):
			return nil, fmt.Errorf("%q is not a provider that can be called for real; want all or a comma-separated list of %s",
				name, strings.Join(realNames(), ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// realNames are the known providers but simulated, sorted.
func realNames() []string {
	return slices.DeleteFunc(slices.Sorted(maps.Keys(Known)), func(n string) bool { return n == "simulated" })
}

// Config says how to build providers.
type Config struct {
	// Env looks up environment variables (os.Getenv when nil):
	// <PROVIDER>_API_KEY (e.g. OPENAI_API_KEY) is the key of a provider
	// called for real through its SDK, <PROVIDER>_BASE_URL overrides its
	// base URL.
	Env func(string) string
	// Real names the providers that are called for real (ParseReal; RealAll
	// for every one whose key is set). Any other is simulated, even with its
	// key set; a named provider without its key is an error.
	Real []string
	// Logger receives the notes on keys that are set but ignored;
	// slog.Default() when nil.
	Logger *slog.Logger
	// LLM records the real providers' calls (their SDK options); the
	// orchestrator records the simulated ones.
	LLM *llmmetrics.Metrics
	// HTTPClient and TracerProvider are passed to the real providers
	// (SDKConfig).
	HTTPClient     *http.Client
	TracerProvider trace.TracerProvider
	// Seed seeds the simulated providers.
	Seed uint64
	// Sim tunes the simulated providers.
	Sim SimOptions
}

// Registry builds and caches one provider per name.
type Registry struct {
	providers map[string]Provider
}

// NewRegistry builds every known provider up front: real ones for the
// providers in cfg.Real (Anthropic on its SDK, the others on openai-go),
// simulated ones for the others. A key set for a provider that is not in
// cfg.Real is logged once, by its variable's name, with how to opt in.
func NewRegistry(cfg Config) (*Registry, error) {
	if cfg.Env == nil {
		cfg.Env = os.Getenv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	all := slices.Contains(cfg.Real, RealAll)
	r := &Registry{providers: map[string]Provider{}}
	for _, name := range slices.Sorted(maps.Keys(Known)) {
		base := Known[name]
		env := strings.ToUpper(name)
		key := strings.TrimSpace(cfg.Env(env + "_API_KEY"))
		optIn := name != "simulated" && (all || slices.Contains(cfg.Real, name))
		switch {
		case optIn && key == "" && !all:
			return nil, fmt.Errorf("ORCH_REAL_PROVIDERS names %s, but %s_API_KEY is not set", name, env)
		case key != "" && !optIn && name != "simulated":
			cfg.Logger.Info(fmt.Sprintf("provider: %s_API_KEY is set but ignored: runs on %s are simulated; "+
				"set ORCH_REAL_PROVIDERS=%s (or all) to call it for real", env, name, name))
		}
		if !optIn || key == "" {
			r.providers[name] = NewSimulated(name, cfg.Seed, cfg.Sim)
			continue
		}
		if u := cfg.Env(env + "_BASE_URL"); u != "" {
			base = u
		}
		sc := SDKConfig{Name: name, BaseURL: base, APIKey: key, LLM: cfg.LLM, HTTPClient: cfg.HTTPClient, TracerProvider: cfg.TracerProvider}
		var p Provider
		var err error
		if name == "anthropic" {
			p, err = NewAnthropic(sc)
		} else {
			p, err = NewOpenAI(sc)
		}
		if err != nil {
			return nil, err
		}
		r.providers[name] = p
	}
	return r, nil
}

// Get returns the provider of that name, or false.
func (r *Registry) Get(name string) (Provider, bool) {
	p, ok := r.providers[strings.ToLower(name)]
	return p, ok
}

// Set adds or replaces a provider under its name, for example a custom
// client, or a scripted one in tests.
func (r *Registry) Set(p Provider) {
	r.providers[strings.ToLower(p.Name())] = p
}
