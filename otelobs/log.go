package otelobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// newLogger applies OTEL_LOG_LEVEL to the configured logger.
func newLogger(l *slog.Logger, s settings) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if s.logOff {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(levelHandler{min: s.logLevel, h: l.Handler()})
}

// levelHandler drops records below min.
type levelHandler struct {
	min slog.Level
	h   slog.Handler
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.h.Enabled(ctx, l)
}
func (h levelHandler) Handle(ctx context.Context, r slog.Record) error { return h.h.Handle(ctx, r) }
func (h levelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return levelHandler{min: h.min, h: h.h.WithAttrs(a)}
}
func (h levelHandler) WithGroup(n string) slog.Handler {
	return levelHandler{min: h.min, h: h.h.WithGroup(n)}
}

// errorHandler logs the errors the SDK reports while running. The same
// message is logged at most once per interval, with the number of repeats
// suppressed since, so that an unreachable Collector yields one line a minute
// instead of one per export.
type errorHandler struct {
	logger   *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	seen map[string]*errorSeen
}

type errorSeen struct {
	last       time.Time
	suppressed int
}

// maxErrorKeys bounds the memory of distinct messages.
const maxErrorKeys = 256

var _ otel.ErrorHandler = (*errorHandler)(nil)

func newErrorHandler(l *slog.Logger) *errorHandler {
	return &errorHandler{logger: l, interval: time.Minute, now: time.Now, seen: map[string]*errorSeen{}}
}

// Handle implements otel.ErrorHandler.
func (h *errorHandler) Handle(err error) {
	if err == nil {
		return
	}
	msg := instr.ScrubError(err) // exporters' errors quote their endpoints
	key := msg
	if len(key) > 200 {
		key = key[:200]
	}
	now := h.now()
	h.mu.Lock()
	e, ok := h.seen[key]
	if ok && now.Sub(e.last) < h.interval {
		e.suppressed++
		h.mu.Unlock()
		return
	}
	suppressed := 0
	if ok {
		suppressed = e.suppressed
		e.last, e.suppressed = now, 0
	} else {
		if len(h.seen) >= maxErrorKeys {
			clear(h.seen)
		}
		h.seen[key] = &errorSeen{last: now}
	}
	h.mu.Unlock()
	if suppressed > 0 {
		h.logger.Error("otelobs: telemetry error", "error", msg, "repeats_suppressed", suppressed)
		return
	}
	h.logger.Error("otelobs: telemetry error", "error", msg)
}
