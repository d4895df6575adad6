package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/otelobs"
)

func TestHandlerServesHealthAndMetrics(t *testing.T) {
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	tel, err := otelobs.Setup(t.Context(), otelobs.WithoutGlobals(), otelobs.WithServiceName("server-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	srv := httptest.NewServer(newHandler(tel))
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	if !strings.Contains(body, `http_server_request_duration_seconds_count{`) || !strings.Contains(body, `service_name="server-test"`) {
		t.Fatalf("/metrics lacks the request histogram or target_info:\n%s", body)
	}
	if strings.Contains(body, `url_path="/metrics"`) || strings.Count(body, "http_server_request_duration_seconds_count{") != 1 {
		t.Errorf("scrapes are measured:\n%s", body)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRejectsBadEnv(t *testing.T) {
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus,carrier-pigeon")
	err := run(t.Context(), []string{"-addr", "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "OTEL_METRICS_EXPORTER") {
		t.Fatalf("run = %v, want an error naming OTEL_METRICS_EXPORTER", err)
	}
}
