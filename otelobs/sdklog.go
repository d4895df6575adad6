package otelobs

import (
	"context"
	"log/slog"

	"github.com/go-logr/logr"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// sdkLogSink carries the OpenTelemetry SDK's own log lines (otel.SetLogger:
// duplicate instruments, dropped attributes, exporters' notices) to the
// logger Setup uses, so that OTEL_LOG_LEVEL and WithLogger apply to them.
// logr's own slog bridge maps V(n) to slog level -n, which would put the
// SDK's warnings (V(1)) below Info; this sink maps the SDK's levels: V(0)
// and V(1) are warnings, the rest (the SDK's Info is V(4): every provider's
// configuration at start-up) debug, shown with OTEL_LOG_LEVEL=debug.
type sdkLogSink struct{ l *slog.Logger }

var _ logr.LogSink = sdkLogSink{}

func sdkLevel(v int) slog.Level {
	if v <= 1 {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

func (s sdkLogSink) Init(logr.RuntimeInfo) {}

func (s sdkLogSink) Enabled(level int) bool {
	return s.l.Enabled(context.Background(), sdkLevel(level))
}

func (s sdkLogSink) Info(level int, msg string, kv ...any) {
	s.l.Log(context.Background(), sdkLevel(level), "otel: "+msg, kv...)
}

// Error logs the SDK's error with credentials scrubbed from its text (an
// exporter's error quotes its endpoint's URL).
func (s sdkLogSink) Error(err error, msg string, kv ...any) {
	s.l.Error("otel: "+msg, append(kv, "error", instr.ScrubError(err))...)
}

func (s sdkLogSink) WithValues(kv ...any) logr.LogSink { return sdkLogSink{s.l.With(kv...)} }

func (s sdkLogSink) WithName(name string) logr.LogSink { return sdkLogSink{s.l.With("logger", name)} }
