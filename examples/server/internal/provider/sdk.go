package provider

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

const (
	// requestTimeout bounds one request to a real provider.
	requestTimeout = 120 * time.Second
	// defaultMaxTokens is the output cap of a request that names none
	// (Anthropic's API requires one).
	defaultMaxTokens = 4096
	// redacted replaces the API key wherever it would appear in text.
	redacted = "[redacted]"
)

// SDKConfig configures a provider that calls a real API through its
// official SDK, with the llmmetrics option of that SDK recording each call.
type SDKConfig struct {
	// Name is the provider's label on metrics and in errors, e.g. "openai".
	Name string
	// BaseURL is the API's base URL: an absolute http or https URL with a
	// host.
	BaseURL string
	// APIKey is the key. Surrounding white space is trimmed. It never
	// appears in errors or in the provider's formatted form.
	APIKey string
	// LLM records the calls; nil records nothing.
	LLM *llmmetrics.Metrics
	// HTTPClient sends the requests; nil is the SDK's default. The server
	// gives one with an instrumented transport (otelobs'
	// Telemetry.HTTPTransport), whose HTTP spans nest under the call's and
	// which sends the trace context.
	HTTPClient *http.Client
	// TracerProvider is where an SDK that traces its own calls (Anthropic's)
	// sends its spans; nil is the global provider.
	TracerProvider trace.TracerProvider
}

// String formats the configuration with the API key redacted, so that
// logging an SDKConfig with %v or %+v cannot leak the key.
func (c SDKConfig) String() string {
	key := ""
	if c.APIKey != "" {
		key = redacted
	}
	return fmt.Sprintf("{Name:%s BaseURL:%s APIKey:%s}", c.Name, c.BaseURL, key)
}

// GoString is String for %#v.
func (c SDKConfig) GoString() string { return "provider.SDKConfig" + c.String() }

// check validates the configuration: the error names the field and never
// quotes the key.
func (c *SDKConfig) check() error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("provider: SDKConfig.Name is empty")
	}
	c.APIKey = strings.TrimSpace(c.APIKey)
	if c.APIKey == "" {
		return fmt.Errorf("provider %s: the API key is empty", c.Name)
	}
	if strings.ContainsFunc(c.APIKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("provider %s: the API key contains control characters", c.Name)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("provider %s: base URL %q is not an absolute http or https URL", c.Name, c.BaseURL)
	}
	return nil
}

// SelfRecording is a Provider whose calls its client records (an SDK with
// the llmmetrics option): the orchestrator does not record them again.
type SelfRecording interface {
	RecordsCalls() bool
}

// redactedError is an SDK error with the API key taken out of its text.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// callError wraps an SDK error for the orchestrator: classified, the key
// redacted, and a 429 as a *RateLimitError with the wait its headers ask.
func callError(name, key string, err error, t llmmetrics.ErrorType, resp *http.Response) error {
	red := &redactedError{msg: name + ": " + strings.ReplaceAll(err.Error(), key, redacted), cause: err}
	typed := llmmetrics.NewError(t, red)
	if t != llmmetrics.ErrorRateLimited {
		return typed
	}
	var wait time.Duration
	if resp != nil {
		rl, _ := llmmetrics.RateLimitFromHeaders(resp.Header, time.Now())
		wait = rl.RetryAfter
	}
	return &RateLimitError{RetryAfter: wait, Err: typed}
}

// invalid is an answer the orchestrator cannot use.
func invalid(name, what string) error {
	return llmmetrics.NewError(llmmetrics.ErrorInvalidResponse, fmt.Errorf("%s: %s", name, what))
}
