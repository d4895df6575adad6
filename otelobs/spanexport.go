package otelobs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// finalExport wraps a span exporter to keep the errors of the exports made
// while Shutdown runs: the batch span processor's last export reports its
// failure to otel.Handle only, so a Shutdown with the Collector down
// returned nil for traces, and the spans it lost went unsaid.
type finalExport struct {
	sdktrace.SpanExporter
	closing atomic.Bool
	mu      sync.Mutex
	err     error
}

// ExportSpans exports, and keeps the error once Shutdown has begun.
func (f *finalExport) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := f.SpanExporter.ExportSpans(ctx, spans)
	if err != nil && f.closing.Load() {
		f.mu.Lock()
		if f.err == nil {
			f.err = err // the first says why; the rest repeat it
		}
		f.mu.Unlock()
	}
	return err
}

// closingErr is the first export error since Shutdown began.
func (f *finalExport) closingErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		return nil
	}
	return errors.Join(errors.New("the last spans were not exported"), f.err)
}
