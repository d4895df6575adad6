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
type sdkLogSink struct {
	l    *slog.Logger
	name string // the logr name, dot-joined
}

var _ logr.LogSink = sdkLogSink{}

func sdkLevel(v int) slog.Level {
	switch {
	case v <= 1:
		return slog.LevelWarn
	case v < 8:
		return slog.LevelDebug
	}
	// The SDK's V(8) dumps every collection and export (the whole
	// ResourceMetrics at each scrape): below debug, shown only by a
	// handler set lower.
	return slog.LevelDebug - 4
}

func (s sdkLogSink) Init(logr.RuntimeInfo) {}

func (s sdkLogSink) Enabled(level int) bool {
	return s.l.Enabled(context.Background(), sdkLevel(level))
}

func (s sdkLogSink) Info(level int, msg string, kv ...any) {
	s.l.Log(context.Background(), sdkLevel(level), "otel: "+msg, s.args(kv)...)
}

// Error logs the SDK's error with credentials scrubbed from its text (an
// exporter's error quotes its endpoint's URL).
func (s sdkLogSink) Error(err error, msg string, kv ...any) {
	s.l.Error("otel: "+msg, append(s.args(kv), "error", instr.ScrubError(err))...)
}

// args are the key/value pairs with the logger's name, scrubbed.
func (s sdkLogSink) args(kv []any) []any {
	if s.name == "" {
		return scrubArgs(kv)
	}
	return append([]any{"logger", s.name}, scrubArgs(kv)...)
}

// scrubArgs returns key/value pairs with their strings and errors scrubbed
// of credentials (the SDK logs endpoints as "url").
func scrubArgs(kv []any) []any {
	out := make([]any, 0, len(kv))
	for _, v := range kv {
		switch x := v.(type) {
		case string:
			v = instr.Scrub(x)
		case error:
			v = instr.ScrubError(x)
		}
		out = append(out, v)
	}
	return out
}

func (s sdkLogSink) WithValues(kv ...any) logr.LogSink {
	return sdkLogSink{l: s.l.With(scrubArgs(kv)...), name: s.name}
}

func (s sdkLogSink) WithName(name string) logr.LogSink {
	if s.name != "" {
		name = s.name + "." + name
	}
	return sdkLogSink{l: s.l, name: name}
}
