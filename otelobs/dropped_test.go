package otelobs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// droppedOf reads otelobs.telemetry.dropped through a manual reader, by
// "signal/reason".
func droppedOf(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != DroppedMetricName {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				sig, _ := dp.Attributes.Value("signal")
				reason, _ := dp.Attributes.Value("reason")
				out[sig.AsString()+"/"+reason.AsString()] = dp.Value
			}
		}
	}
	return out
}

// TestMetricExportFailuresCounted: the data points of metric exports that
// fail are counted, as export_failed when a later export may succeed (the
// Collector is down) and as rejected when the endpoint refuses them for
// good (HTTP 400).
func TestMetricExportFailuresCounted(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer bad.Close()
	for _, tc := range []struct {
		name, endpoint, reason string
	}{
		{"collector down", "http://" + closedAddr(t) + "/v1/metrics", "metrics/export_failed"},
		{"rejected", bad.URL + "/v1/metrics", "metrics/rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", tc.endpoint) // the exporter reads its own variables
			reader := sdkmetric.NewManualReader()
			tel := setupEnv(t, map[string]string{
				"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": tc.endpoint,
				"OTEL_METRIC_EXPORT_INTERVAL": "50",
			}, WithMetricReader(reader))
			if got := droppedOf(t, reader); len(got) != 2 || got["metrics/export_failed"] != 0 || got["metrics/rejected"] != 0 {
				t.Fatalf("before any export: %v, want both series at 0", got)
			}
			deadline := time.Now().Add(10 * time.Second)
			for droppedOf(t, reader)[tc.reason] == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			got := droppedOf(t, reader)
			if got[tc.reason] == 0 {
				t.Errorf("dropped = %v: no %s counted", got, tc.reason)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_ = tel.Shutdown(ctx)
		})
	}
}
