// Package wire is the HTTP middleware that the llmmetrics integrations of
// the official LLM SDKs share: it reads each request's model and operation,
// starts a CallOp, and reads usage, rate limits and errors from the response
// as the SDK consumes it, streamed or not. What differs between APIs is a
// Dialect.
//
// The SDKs call their middleware once per attempt, inside their own retry
// loop, and do not say which attempt is the last. A response the SDK
// retries is one whose body it closes without reading; one that ends the
// call is read (an error body to build the SDK's error, a success body to
// decode or stream it). So a retried response leaves its call open, to be
// continued by the next attempt (carry.go), which carries the retry count
// in the X-Stainless-Retry-Count header, the same request body and the same
// caller's span: one call, one request and one span however many 429s it
// took, and one rate-limit event per 429. A transport error (no response)
// cannot be told apart in the same way, and ends the call: an SDK retry
// after it is a call of its own.
//
// The middleware must come before options whose middleware reads bodies
// (the SDKs' debug logging) or rewrites requests (Bedrock, Vertex AI): it
// reads what the SDK built, and its bodies as the SDK reads them.
package wire

import (
	"context"
	"hash/maphash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// Next sends a request on; it is the SDKs' MiddlewareNext.
type Next = func(*http.Request) (*http.Response, error)

// Info is what a Dialect reads from a request.
type Info struct {
	Operation llmmetrics.Operation
	Model     string
	Stream    bool
	// Body, when not empty, replaces the request body (to ask a stream
	// for its usage, for example).
	Body string
	// HideUsage says that Body asked for a usage event the caller did not,
	// which is then kept from the caller.
	HideUsage bool
	// Endpoint is the dialect's own name of the API called, given back to
	// Response.
	Endpoint string
}

// Result is what a response said about its call.
type Result struct {
	Model     string
	Usage     llmmetrics.Usage
	HasUsage  bool
	ToolCalls int
	// Done says that a stream reached its end event.
	Done bool
	// Err is the error a stream reported in an event of its own.
	Err error
}

// Dialect is one API's wire format.
type Dialect interface {
	// Accepts reports whether a POST to path is a model call; others
	// (files, uploads, batches) pass through unread and unrecorded.
	Accepts(path string) bool
	// Request reads a request body; ok is false for requests that are not
	// model calls after all, which pass through unrecorded.
	Request(path string, body string) (info Info, ok bool)
	// Response reads a whole JSON response body of a request info was
	// read from.
	Response(info Info, body string) Result
	// Event reads one server-sent event of a stream into r. chunk says
	// that it carries output (for time to first chunk and per chunk); hide
	// that the caller must not see it (see Info.HideUsage).
	Event(r *Result, event, data []byte, hideUsage bool) (chunk, hide bool)
}

// Middleware records the model calls made through it on m.
type Middleware struct {
	m        *llmmetrics.Metrics
	provider string
	dialect  Dialect
	seed     maphash.Seed
	// OwnSpan, when set, reports that the span in an attempt's context is
	// the SDK's own span of the call, which the call is then recorded on
	// (llmmetrics.StartCallIn) instead of a span of its own.
	OwnSpan func(trace.Span) bool

	mu      sync.Mutex
	carried map[carryKey][]*carried
}

// New returns the middleware for one client.
func New(m *llmmetrics.Metrics, provider string, d Dialect) *Middleware {
	return &Middleware{m: m, provider: provider, dialect: d, seed: maphash.MakeSeed(), carried: map[carryKey][]*carried{}}
}

// Handle is the middleware: func(*http.Request, Next) (*http.Response, error).
func (w *Middleware) Handle(req *http.Request, next Next) (*http.Response, error) {
	if w == nil || w.m == nil || req.Method != http.MethodPost || req.Body == nil || req.Body == http.NoBody ||
		!w.dialect.Accepts(req.URL.Path) {
		return next(req)
	}
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	info, ok := w.dialect.Request(req.URL.Path, body)
	if ok && info.Body != "" {
		setBody(req, info.Body)
	}
	if !ok {
		return next(req)
	}

	a := &attempt{w: w, ctx: req.Context(), key: w.keyOf(req, body), hideUsage: info.HideUsage, endpoint: info.Endpoint}
	if c := w.claim(a.key); c != nil {
		a.call, a.span = c.call, c.span
	} else if sdk := trace.SpanFromContext(req.Context()); w.OwnSpan != nil && w.OwnSpan(sdk) {
		a.span = sdk
		a.call = w.m.StartCallIn(req.Context(), llmmetrics.Request{
			Provider: w.provider, Model: info.Model, Operation: info.Operation, Stream: info.Stream,
		})
	} else {
		var ctx context.Context
		ctx, a.call = w.m.StartCall(req.Context(), llmmetrics.Request{
			Provider: w.provider, Model: info.Model, Operation: info.Operation,
			ServerAddress: req.URL.Hostname(), Stream: info.Stream,
		})
		a.span = trace.SpanFromContext(ctx)
	}
	req = req.WithContext(trace.ContextWithSpan(req.Context(), a.span))

	res, err := next(req)
	if err != nil {
		a.call.End(&err)
		return res, err
	}
	if rl, ok := llmmetrics.RateLimitFromHeaders(res.Header, time.Now()); ok {
		a.call.SetRateLimit(rl)
		a.retryAfter = rl.RetryAfter
	}
	if res.StatusCode == http.StatusTooManyRequests {
		a.call.RateLimited()
	}
	if res.Body == nil {
		res.Body = http.NoBody
	}
	switch {
	case res.StatusCode >= 400:
		res.Body = newErrorBody(req.Context(), res.Body, a, &StatusError{Code: res.StatusCode})
	case isEventStream(res.Header.Get("Content-Type")):
		res.Body = newStreamBody(res.Body, a)
	default:
		res.Body = newJSONBody(res.Body, a, res.ContentLength)
	}
	return res, nil
}

// readBody returns the request body as a string, and makes the request's
// body and GetBody read that string: the SDKs' GetBody may hand out the
// body's own reader (a *bytes.Reader body is rewound and reused), so what
// was read must be put back whichever way it was read.
func readBody(req *http.Request) (string, error) {
	rc := req.Body
	if req.GetBody != nil {
		if r, err := req.GetBody(); err == nil {
			rc = r
		}
	}
	defer rc.Close()
	var sb strings.Builder
	if req.ContentLength > 0 {
		sb.Grow(int(req.ContentLength))
	}
	// The SDKs' bodies are in memory already (and replayable), so this is
	// one copy, through the reader's WriteTo.
	if _, err := io.Copy(&sb, rc); err != nil {
		return "", err
	}
	s := sb.String()
	setBody(req, s)
	return s, nil
}

// Pass is a middleware that records nothing, for an option given no
// Metrics.
func Pass(req *http.Request, next Next) (*http.Response, error) { return next(req) }

// setBody makes body the request's body, replayable.
func setBody(req *http.Request, body string) {
	req.Body = io.NopCloser(strings.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
}

func isEventStream(ct string) bool {
	return len(ct) >= 17 && strings.EqualFold(ct[:17], "text/event-stream")
}

// attempt is one request of a call and its response.
type attempt struct {
	ctx        context.Context // the attempt's request context
	w          *Middleware
	key        carryKey
	call       *llmmetrics.CallOp
	span       trace.Span
	hideUsage  bool
	endpoint   string
	retryAfter time.Duration
}

// finish ends the call with what the response said.
func (a *attempt) finish(r Result, err error) {
	if r.Model != "" {
		a.call.SetResponseModel(r.Model)
	}
	if r.HasUsage {
		a.call.SetUsage(r.Usage)
	}
	a.call.SetToolCalls(r.ToolCalls)
	a.call.End(&err)
}

// StatusError is a response with an HTTP error status.
type StatusError struct{ Code int }

// Error implements error.
func (e *StatusError) Error() string {
	return "HTTP " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// ErrorType classifies the status for llmmetrics.
func (e *StatusError) ErrorType() string { return string(llmmetrics.HTTPErrorType(e.Code)) }
