package otelobs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestHTTPHelpers: through HTTPTransport and HTTPHandler, a request's
// server span is named by its route and is the child of the client's span;
// scrapes, probes and the paths asked for are not traced; a key in the
// query reaches no client span.
func TestHTTPHelpers(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tel := setupEnv(t, nil, WithSpanProcessor(rec))
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }
	mux.HandleFunc("GET /runs/{id}", ok)
	mux.HandleFunc("GET /metrics", ok)
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /ready", ok)
	srv := httptest.NewServer(tel.HTTPHandler(mux, "/ready"))
	defer srv.Close()
	client := &http.Client{Transport: tel.HTTPTransport(nil)}
	for _, path := range []string{"/runs/42?key=SECRETKEY123", "/metrics", "/healthz", "/ready"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var server, clients []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.SpanKind() {
		case trace.SpanKindServer:
			server = append(server, s)
		case trace.SpanKindClient:
			clients = append(clients, s)
		}
	}
	if len(server) != 1 || server[0].Name() != "GET /runs/{id}" {
		var names []string
		for _, s := range server {
			names = append(names, s.Name())
		}
		t.Fatalf("server spans %v, want one named GET /runs/{id}", names)
	}
	if len(clients) != 4 {
		t.Fatalf("%d client spans, want 4", len(clients))
	}
	for _, s := range append(clients, server...) {
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.String(), "SECRETKEY123") {
				t.Errorf("span %s carries the query's key in %s: %s", s.Name(), a.Key, a.Value.String())
			}
		}
	}
	i := slices.IndexFunc(clients, func(s sdktrace.ReadOnlySpan) bool { return s.SpanContext().SpanID() == server[0].Parent().SpanID() })
	if i < 0 || clients[i].SpanContext().TraceID() != server[0].SpanContext().TraceID() {
		t.Errorf("the server span is not the client span's child")
	}
}
