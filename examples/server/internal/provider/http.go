package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

const (
	// defaultHTTPTimeout bounds one request when HTTPConfig.Client is nil.
	defaultHTTPTimeout = 120 * time.Second
	// maxResponseBytes is the most of a successful response body decoded.
	maxResponseBytes = 10 << 20
	// maxErrorBodyBytes is the most of an error response body read (and
	// then redacted) to build the error's snippet.
	maxErrorBodyBytes = 64 << 10
	// errorSnippetBytes is the most of an error body quoted in an error.
	errorSnippetBytes = 200
	// maxRateLimitWait caps every wait taken from rate-limit headers.
	maxRateLimitWait = 5 * time.Minute
	// redacted replaces the API key wherever it would appear in text.
	redacted = "[redacted]"
)

// HTTPConfig configures an OpenAI-compatible HTTP provider.
type HTTPConfig struct {
	// Name is the provider's label on metrics and in errors, e.g. "openai".
	Name string
	// BaseURL is the API's base URL, e.g. "https://api.openai.com/v1". It
	// must be an absolute http or https URL with a host; requests go to
	// BaseURL + "/chat/completions" (a query string is kept).
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>". Surrounding white
	// space is trimmed. It never appears in errors, in the provider's
	// formatted form, or in anything else the provider returns.
	APIKey string
	// Client sends the requests; nil means a client with a 120 s timeout.
	Client *http.Client
	// Now returns the current time; nil means time.Now. Tests set it to
	// resolve Retry-After HTTP-dates against a fixed clock.
	Now func() time.Time
}

// String formats the configuration with the API key redacted, so that
// logging an HTTPConfig with %v or %+v cannot leak the key.
func (c HTTPConfig) String() string {
	key := ""
	if c.APIKey != "" {
		key = redacted
	}
	return fmt.Sprintf("{Name:%s BaseURL:%s APIKey:%s}", c.Name, c.BaseURL, key)
}

// GoString is String for %#v.
func (c HTTPConfig) GoString() string { return "provider.HTTPConfig" + c.String() }

// HTTP is an OpenAI-compatible chat completions provider. It is safe for
// concurrent use.
//
// Complete makes exactly one attempt; retrying is the caller's business. It
// POSTs {"model", "messages", "max_tokens"} as JSON to BaseURL +
// "/chat/completions" with the API key as a bearer token, and reads the
// first choice's content, the answering model and the token usage (cached
// prompt tokens included) from the response. Failures carry an llmmetrics
// error type:
//
//   - HTTP 429 is a *RateLimitError whose RetryAfter comes, in this order,
//     from the retry-after-ms header, the Retry-After header (seconds or an
//     HTTP-date), or the larger of x-ratelimit-reset-requests and
//     x-ratelimit-reset-tokens (durations such as "6m0s"); negative or
//     unparsable values are skipped, the result is capped at 5 minutes and
//     is 0 when no header gives a hint.
//   - Other non-2xx statuses are classified by llmmetrics.HTTPErrorType;
//     the error quotes at most 200 bytes of the body.
//   - A 2xx response that is not valid JSON, has no choices or exceeds
//     10 MiB is invalid_response.
//   - Context cancellation and deadlines wrap context.Canceled and
//     context.DeadlineExceeded; other transport failures are server_error.
//
// The API key is replaced by "[redacted]" in every error text.
//
// After any response whose x-ratelimit-remaining-requests (or
// x-ratelimit-remaining-tokens) header is 0, the provider remembers that
// no request should be sent before the matching x-ratelimit-reset-* delay
// (capped at 5 minutes) has passed, and the next calls to Complete wait
// until then before sending, giving up with the context's error if the
// context ends first.
type HTTP struct {
	name     string
	endpoint string
	key      string
	client   *http.Client
	now      func() time.Time

	mu        sync.Mutex
	notBefore time.Time // no request is sent before this; guarded by mu
}

// NewHTTP returns an HTTP provider. It fails when Name or APIKey is empty,
// when APIKey contains control characters, or when BaseURL is not an
// absolute http or https URL with a host; the error names the field (and
// never quotes the key).
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if strings.TrimSpace(cfg.Name) == "" {
		return nil, errors.New("provider: HTTPConfig.Name is empty")
	}
	key := strings.TrimSpace(cfg.APIKey)
	if key == "" {
		return nil, fmt.Errorf("provider %s: HTTPConfig.APIKey is empty", cfg.Name)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == 0x7f {
			return nil, fmt.Errorf("provider %s: HTTPConfig.APIKey contains a control character", cfg.Name)
		}
	}
	endpoint, err := chatEndpoint(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("provider %s: HTTPConfig.BaseURL: %w", cfg.Name, err)
	}
	h := &HTTP{name: cfg.Name, endpoint: endpoint, key: key, client: cfg.Client, now: cfg.Now}
	if h.client == nil {
		h.client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// chatEndpoint validates base and returns its chat completions URL.
func chatEndpoint(base string) (string, error) {
	if base == "" {
		return "", errors.New("empty")
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	u = u.JoinPath("chat", "completions")
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// Name implements Provider.
func (h *HTTP) Name() string { return h.name }

// Simulated implements Provider; it is always false.
func (h *HTTP) Simulated() bool { return false }

// String names the provider without its configuration, so that printing an
// *HTTP cannot leak the API key.
func (h *HTTP) String() string { return "provider.HTTP(" + h.name + ")" }

// GoString is String for %#v.
func (h *HTTP) GoString() string { return h.String() }

// chatMessage is one message of a chat completions request.
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatRequest is the body of a chat completions request.
type chatRequest struct {
	Model     string        `json:"model"`
	Messages  []chatMessage `json:"messages"`
	MaxTokens int           `json:"max_tokens,omitempty"`
}

// chatResponse is the part of a chat completions response the provider uses.
type chatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		PromptTokensDetails struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
}

// Complete implements Provider: one chat completions request, as described
// on HTTP.
func (h *HTTP) Complete(ctx context.Context, req Request) (Response, error) {
	if err := h.waitTurn(ctx); err != nil {
		return Response{}, err
	}
	body := chatRequest{Model: req.Model, MaxTokens: max(req.MaxTokens, 0)}
	if req.System != "" {
		body.Messages = append(body.Messages, chatMessage{Role: "system", Content: req.System})
	}
	body.Messages = append(body.Messages, chatMessage{Role: "user", Content: req.Prompt})
	payload, err := json.Marshal(body)
	if err != nil {
		return Response{}, llmmetrics.NewError(llmmetrics.ErrorClient, fmt.Errorf("%s: encoding the request: %s", h.name, h.redact(err.Error())))
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, h.endpoint, bytes.NewReader(payload))
	if err != nil {
		return Response{}, llmmetrics.NewError(llmmetrics.ErrorClient, fmt.Errorf("%s: building the request: %s", h.name, h.redact(err.Error())))
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+h.key)

	resp, err := h.client.Do(hreq)
	if err != nil {
		return Response{}, h.transportError(err)
	}
	defer func() {
		// Drain a little so that the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	h.noteRateLimit(resp.Header)

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return Response{}, &RateLimitError{
			RetryAfter: retryAfter(resp.Header, h.now()),
			Err:        llmmetrics.NewError(llmmetrics.ErrorRateLimited, h.statusError(resp)),
		}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return Response{}, llmmetrics.NewError(llmmetrics.HTTPErrorType(resp.StatusCode), h.statusError(resp))
	}

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return Response{}, h.transportError(err)
	}
	if len(data) > maxResponseBytes {
		return Response{}, h.invalid("response body exceeds %d bytes", maxResponseBytes)
	}
	var out chatResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return Response{}, h.invalid("decoding the response: %s", h.redact(err.Error()))
	}
	if len(out.Choices) == 0 {
		return Response{}, h.invalid("the response has no choices")
	}
	model := out.Model
	if model == "" {
		model = req.Model
	}
	return Response{
		Text:  out.Choices[0].Message.Content,
		Model: model,
		Usage: llmmetrics.Usage{
			InputTokens:       out.Usage.PromptTokens,
			OutputTokens:      out.Usage.CompletionTokens,
			CachedInputTokens: out.Usage.PromptTokensDetails.CachedTokens,
		},
	}, nil
}

// invalid returns an invalid_response error.
func (h *HTTP) invalid(format string, args ...any) error {
	return llmmetrics.NewError(llmmetrics.ErrorInvalidResponse, fmt.Errorf("%s: "+format, append([]any{h.name}, args...)...))
}

// statusError describes a non-2xx response, quoting at most
// errorSnippetBytes of its body with the API key redacted.
func (h *HTTP) statusError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	// Redact before truncating so that no prefix of the key survives a cut.
	snippet := strings.TrimSpace(h.redact(string(data)))
	if len(snippet) > errorSnippetBytes {
		cut := errorSnippetBytes
		for cut > 0 && !utf8.RuneStart(snippet[cut]) {
			cut--
		}
		snippet = snippet[:cut]
	}
	snippet = strings.ToValidUTF8(snippet, "\uFFFD")
	return fmt.Errorf("%s: HTTP %d: %s", h.name, resp.StatusCode, snippet)
}

// redact replaces every occurrence of the API key in s.
func (h *HTTP) redact(s string) string {
	return strings.ReplaceAll(s, h.key, redacted)
}

// redactedError is an error whose text has been redacted. It unwraps to the
// original error only when that error's text is free of the key.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// transportError wraps a failure to send the request or read the response:
// context errors stay recognisable with errors.Is (so that
// llmmetrics.Classify reports timeout or canceled), anything else is a
// server_error. The key is redacted from the text, and the original error
// is only reachable by unwrapping when its own text does not hold the key.
func (h *HTTP) transportError(err error) error {
	text := err.Error()
	msg := fmt.Sprintf("%s: %s", h.name, h.redact(text))
	cause := err
	clean := !strings.Contains(text, h.key)
	if !clean {
		cause = nil
	}
	for _, sentinel := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, sentinel) {
			if !clean {
				cause = sentinel
			}
			return &redactedError{msg: msg, cause: cause}
		}
	}
	return llmmetrics.NewError(llmmetrics.ErrorServer, &redactedError{msg: msg, cause: cause})
}

// waitTurn blocks until the not-before time learnt from earlier responses
// has passed, or ctx ends.
func (h *HTTP) waitTurn(ctx context.Context) error {
	for {
		h.mu.Lock()
		nb := h.notBefore
		h.mu.Unlock()
		if nb.IsZero() {
			return nil
		}
		d := nb.Sub(h.now())
		if d <= 0 {
			return nil
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return fmt.Errorf("%s: the rate limit resets in %v, after the context deadline: %w", h.name, d, context.DeadlineExceeded)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: waiting %v for the rate limit to reset: %w", h.name, d, ctx.Err())
		case <-t.C:
		}
	}
}

// noteRateLimit records a not-before time when the response says that no
// requests or tokens are left in the current window.
func (h *HTTP) noteRateLimit(hdr http.Header) {
	var wait time.Duration
	found := false
	for _, kind := range []string{"requests", "tokens"} {
		if !isZero(hdr.Get("x-ratelimit-remaining-" + kind)) {
			continue
		}
		if d, ok := parseReset(hdr.Get("x-ratelimit-reset-" + kind)); ok {
			wait, found = max(wait, d), true
		}
	}
	if !found || wait <= 0 {
		return
	}
	nb := h.now().Add(min(wait, maxRateLimitWait))
	h.mu.Lock()
	if nb.After(h.notBefore) {
		h.notBefore = nb
	}
	h.mu.Unlock()
}

// isZero reports whether a remaining-count header says nothing is left.
func isZero(s string) bool {
	s = strings.TrimSpace(s)
	if !isDecimal(s) {
		return false
	}
	v, err := strconv.ParseFloat(s, 64)
	return err == nil && v == 0
}

// retryAfter returns the wait a 429 response asks for, capped at
// maxRateLimitWait, or 0.
func retryAfter(hdr http.Header, now time.Time) time.Duration {
	if d, ok := parseDecimal(hdr.Get("retry-after-ms"), time.Millisecond); ok {
		return d
	}
	if v := strings.TrimSpace(hdr.Get("Retry-After")); v != "" {
		if isDigits(v) {
			if d, ok := parseDecimal(v, time.Second); ok {
				return d
			}
		} else if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d >= 0 {
				return min(d, maxRateLimitWait)
			}
		}
	}
	var wait time.Duration
	found := false
	for _, name := range []string{"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"} {
		if d, ok := parseReset(hdr.Get(name)); ok {
			wait, found = max(wait, d), true
		}
	}
	if found {
		return wait
	}
	return 0
}

// parseReset parses an x-ratelimit-reset-* value: a Go-style duration such
// as "6m0s" or "20ms" (OpenAI's form), or a plain number of seconds. The
// result is capped at maxRateLimitWait; ok is false for an empty,
// negative or unparsable value.
func parseReset(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if isDecimal(s) {
		return parseDecimal(s, time.Second)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return min(d, maxRateLimitWait), true
}

// parseDecimal parses a non-negative decimal number of units, capped at
// maxRateLimitWait. ok is false for an empty or malformed value.
func parseDecimal(s string, unit time.Duration) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if !isDecimal(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	if v*float64(unit) >= float64(maxRateLimitWait) {
		return maxRateLimitWait, true
	}
	return time.Duration(v * float64(unit)), true
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDecimal reports whether s is digits with at most one decimal point
// and at least one digit ("12", "1.5", ".5", "3."). Signs, exponents,
// "Inf" and "NaN" are not decimals.
func isDecimal(s string) bool {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return false
	}
	return (whole == "" || isDigits(whole)) && (frac == "" || isDigits(frac))
}
