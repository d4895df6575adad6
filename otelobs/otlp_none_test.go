//go:build otelobs_nootlp

package otelobs

import (
	"log/slog"
	"strings"
	"testing"
)

// TestNoOTLPBuild: built without the OTLP exporters, Setup warns about
// otlp in an exporter list (naming the build tag) and leaves it out, and an
// endpoint variable no longer turns traces on.
func TestNoOTLPBuild(t *testing.T) {
	var buf syncBuffer
	tel := setupEnv(t, map[string]string{"OTEL_METRICS_EXPORTER": "prometheus,otlp", "OTEL_TRACES_EXPORTER": "otlp"},
		WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	s := tel.Summary()
	if len(s.TracesExporters) != 0 || strings.Join(s.MetricsExporters, ",") != "prometheus" {
		t.Errorf("summary %+v: want the defaults", s)
	}
	if !strings.Contains(buf.String(), "otelobs_nootlp") {
		t.Errorf("no warning naming the build tag:\n%s", buf.String())
	}
	tel = setupEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"})
	if len(tel.Summary().TracesExporters) != 0 {
		t.Errorf("traces %v with no OTLP exporter built in", tel.Summary().TracesExporters)
	}
}
