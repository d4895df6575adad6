package otelobs

import (
	"net/http"
	"slices"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// DefaultUntracedPaths are the paths HTTPHandler neither traces nor
// measures: scrapes and health probes, which would otherwise dominate the
// request metrics and bury the traces worth seeing.
var DefaultUntracedPaths = []string{"/metrics", "/healthz"}

// HTTPHandler wraps h with otelhttp on the Telemetry's providers and
// propagator: each request gets a server span named by its method and route
// ("GET /runs/{id}", from the http.ServeMux pattern that matched) and is
// counted in the http.server.* metrics, and a traceparent header continues
// the caller's trace. Requests for DefaultUntracedPaths and untraced are
// neither traced nor measured.
//
//	srv := &http.Server{Handler: tel.HTTPHandler(mux)}
func (t *Telemetry) HTTPHandler(h http.Handler, untraced ...string) http.Handler {
	skip := append(slices.Clone(DefaultUntracedPaths), untraced...)
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithMeterProvider(t.mp), otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(t.prop),
		otelhttp.WithFilter(func(r *http.Request) bool { return !slices.Contains(skip, r.URL.Path) }))
}

// HTTPTransport wraps base (http.DefaultTransport when nil) with otelhttp on
// the Telemetry's providers and propagator: each request gets a client span
// and is counted in the http.client.* metrics, and the trace context goes
// out in its headers, so the server's spans join the caller's trace. The
// span's url.full has its query values redacted (otelhttp keeps them, and
// many LLM APIs and gateways take the key as ?key=…).
//
//	client := &http.Client{Transport: tel.HTTPTransport(nil)}
func (t *Telemetry) HTTPTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(redactingTransport{base},
		otelhttp.WithMeterProvider(t.mp), otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(t.prop))
}

// redactingTransport runs inside otelhttp's transport, once its span has
// started, and replaces the span's url.full with the URL without query
// values or userinfo.
type redactingTransport struct{ base http.RoundTripper }

func (r redactingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if span := trace.SpanFromContext(req.Context()); span.IsRecording() && req.URL != nil && (req.URL.RawQuery != "" || req.URL.User != nil) {
		u := *req.URL
		u.User = nil
		span.SetAttributes(semconv.URLFull(instr.Scrub(u.String())))
	}
	return r.base.RoundTrip(req)
}
