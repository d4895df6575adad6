package backends

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/agentorchestrator/observability/otelobs"
)

// SetupTelemetry runs otelobs.Setup (installing the globals) with exactly
// env as its OTEL_* configuration (see CleanEnv). Setup must return within
// 2 s whatever the backends' state. At the end of the test it shuts the
// telemetry down, failing the test on an error, and restores the globals.
func SetupTelemetry(t *testing.T, env map[string]string) *otelobs.Telemetry {
	t.Helper()
	CleanEnv(t, env)
	mp, tp, prop := otel.GetMeterProvider(), otel.GetTracerProvider(), otel.GetTextMapPropagator()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	tel, err := otelobs.Setup(ctx, otelobs.WithStrictEnv()) // a typo in a test fails it
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Setup took %v", d)
	}
	t.Logf("telemetry: %s", tel.Summary())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tel.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		otel.SetMeterProvider(mp)
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
	})
	return tel
}
