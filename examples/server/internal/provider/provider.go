// Package provider holds the LLM providers of the example server: a
// simulated provider (the default, so that the server works without an API
// key), and real ones on the official SDKs with their llmmetrics options:
// OpenAI (any OpenAI-compatible API) and Anthropic.
package provider

import (
	"context"
	"fmt"
	"net/http"
	"os"
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
// provider's API key is set: Anthropic's own API, and OpenAI-compatible ones
// for the others.
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

// Config says how to build providers.
type Config struct {
	// Env looks up environment variables (os.Getenv when nil):
	// <PROVIDER>_API_KEY (e.g. OPENAI_API_KEY) switches a provider to real
	// calls through its SDK, <PROVIDER>_BASE_URL overrides its base URL.
	Env func(string) string
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

// NewRegistry builds every known provider up front: simulated ones, or real
// ones for providers whose API key is set (Anthropic on its SDK, the others
// on openai-go).
func NewRegistry(cfg Config) (*Registry, error) {
	if cfg.Env == nil {
		cfg.Env = os.Getenv
	}
	r := &Registry{providers: map[string]Provider{}}
	for name, base := range Known {
		env := strings.ToUpper(name)
		key := cfg.Env(env + "_API_KEY")
		if name == "simulated" || key == "" {
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
