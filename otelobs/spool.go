package otelobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
)

// DefaultSpanBuffer is the number of spans Setup holds per span exporter
// while its endpoint does not answer (WithSpanBuffer changes it). At the
// outage tests' load on the example server (a run started every 300 ms,
// about 3,700 spans a minute with the runs' polls) it holds four minutes of
// an outage (the outage tests log their counts); a held git.merge span
// takes about 0.8 KiB (BenchmarkHeldSpan), so a full buffer of them is about
// 13 MiB, and more with spans of more attributes.
const DefaultSpanBuffer = 16384

// Delays between the attempts to deliver held spans: the first retry comes
// soon (a Collector restart takes seconds), later ones at most maxBackoff
// apart, so that spans flow again within seconds of the endpoint's return.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// spool sits between a batch span processor and its exporter, and keeps
// what an outage of the exporter's endpoint would lose.
//
// The OTLP span exporters drop a batch they cannot send (the HTTP one does
// not even retry a refused connection), so every span ended while the
// Collector is down or restarting was lost, and only a log line said so. The
// spool takes each batch at once (the processor's queue never fills behind a
// slow endpoint), and one goroutine delivers the batches in order through
// the exporter, which still makes its own retries within an attempt. When an
// attempt fails in a way a later one may not (a refused connection, a
// timeout, 429, 502-504, gRPC UNAVAILABLE and its kin) the spool waits and
// tries the same batch again; spans keep arriving behind it. Up to capacity
// spans are held; beyond it the oldest are dropped and counted, as are the
// batches the endpoint refused for good and those still held when Shutdown
// gives up.
//
// The SDK's own self-observability (OTEL_GO_X_OBSERVABILITY) counts export
// attempts and its processor's queue, not spans held and lost here, so the
// spool counts its own losses in otelobs.telemetry.dropped.
type spool struct {
	exp      sdktrace.SpanExporter
	capacity int
	timeout  time.Duration // of one attempt
	logger   *slog.Logger
	dropped  *dropCounts

	stopCtx  context.Context    // done when Shutdown gives up
	stop     context.CancelFunc // ends the attempt in flight
	done     chan struct{}      // closed when run returns
	kick     chan struct{}      // ends a wait between attempts
	closed   chan struct{}      // closed when Shutdown returns finalErr
	finalErr error

	mu      sync.Mutex
	changed *sync.Cond // the queue or an attempt's outcome changed
	queue   [][]sdktrace.ReadOnlySpan
	held    int  // spans queued and in flight
	closing bool // Shutdown began: a failed attempt is the last
	final   bool // Shutdown counted what was left: run must not touch the counts
	// Running totals, for ForceFlush to wait for what was handed over
	// before it: spans taken, spans settled (delivered or lost), spans
	// lost, failed attempts.
	taken, settled, lost, failures int
	// started counts the attempts begun; failedAttempt is the number of
	// the latest that failed; flushes counts the ForceFlush calls waiting,
	// for which a failed attempt is retried at once.
	started, failedAttempt, flushes int
	lastErr                         error // of the latest failed attempt, nil once one succeeds
	lossErr                         error // why the latest spans were lost
	since                           time.Time
	lostNow                         int // spans dropped since the buffer last drained, for the logs
}

func newSpool(exp sdktrace.SpanExporter, capacity int, timeout time.Duration, logger *slog.Logger, dropped *dropCounts) *spool {
	ctx, cancel := context.WithCancel(context.Background())
	s := &spool{
		exp: exp, capacity: max(capacity, 1), timeout: timeout, logger: logger, dropped: dropped,
		stopCtx: ctx, stop: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1), closed: make(chan struct{}),
	}
	s.changed = sync.NewCond(&s.mu)
	go s.run()
	return s
}

// ExportSpans takes a batch to deliver. It does not wait for the endpoint;
// the batch span processor reuses its slice, so the spool keeps a copy.
func (s *spool) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taken += len(spans)
	if s.stopCtx.Err() != nil {
		err := fmt.Errorf("%d spans ended after Shutdown were dropped", len(spans))
		s.lose(reasonShutdown, len(spans), err)
		return err
	}
	batch := append([]sdktrace.ReadOnlySpan(nil), spans...)
	if over := s.held + len(batch) - s.capacity; over > 0 {
		batch = s.dropOldest(over, batch)
	}
	if len(batch) > 0 {
		s.queue = append(s.queue, batch)
		s.held += len(batch)
	}
	s.changed.Broadcast()
	return nil
}

// lose counts n spans as settled and lost, for reason; s.mu is held.
func (s *spool) lose(r dropReason, n int, why error) {
	s.dropped.add(signalTraces, r, n)
	s.settled += n
	s.lost += n
	s.lossErr = why
}

// dropOldest drops n spans, the oldest first: whole queued batches and the
// front of the next (never the batch in flight, which may yet be
// delivered), then the front of the new batch.
func (s *spool) dropOldest(n int, batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	why := s.lastErr
	if why == nil {
		why = errors.New("the endpoint takes spans more slowly than they end")
	}
	if s.lostNow == 0 {
		s.logger.Warn("otelobs: traces: the span buffer is full; the oldest spans are dropped (otelobs_telemetry_dropped_total counts them)",
			"capacity", s.capacity, "cause", instr.ScrubError(why))
	}
	s.lostNow += n
	s.lose(reasonBufferFull, n, fmt.Errorf("the span buffer (%d) is full: %w", s.capacity, why))
	for n > 0 && len(s.queue) > 0 {
		front := s.queue[0]
		k := min(n, len(front))
		if k == len(front) {
			s.queue[0] = nil
			s.queue = s.queue[1:]
		} else {
			s.queue[0] = front[k:]
		}
		s.held -= k
		n -= k
	}
	return batch[n:]
}

// run delivers the queued batches in order until Shutdown stops it.
func (s *spool) run() {
	defer close(s.done)
	backoff := minBackoff
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && s.stopCtx.Err() == nil {
			s.changed.Wait()
		}
		if s.stopCtx.Err() != nil {
			s.mu.Unlock()
			return
		}
		batch := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.started++
		attempt := s.started
		s.mu.Unlock()

		began := time.Now()
		ctx, cancel := s.stopCtx, context.CancelFunc(func() {})
		if s.timeout > 0 {
			ctx, cancel = context.WithTimeout(s.stopCtx, s.timeout)
		}
		err := s.exp.ExportSpans(ctx, batch)
		cancel()
		out, rejected := classifyExport(err, len(batch))

		s.mu.Lock()
		if s.final { // Shutdown gave up on this attempt and counted it
			s.mu.Unlock()
			return
		}
		if out == exportRetry {
			// Back to the front: the order holds, and Shutdown counts it
			// if this was the last attempt.
			s.queue = append([][]sdktrace.ReadOnlySpan{batch}, s.queue...)
			if s.lastErr == nil {
				s.since = began
				s.logger.Warn("otelobs: traces: export failed; spans are held until the endpoint answers",
					"error", instr.ScrubError(err), "capacity", s.capacity)
			}
			s.lastErr = err
			s.failures++
			s.failedAttempt = attempt
			closing, flushing := s.closing, s.flushes > 0
			s.changed.Broadcast()
			s.mu.Unlock()
			if closing {
				<-s.stopCtx.Done()
				return
			}
			if flushing {
				// A ForceFlush waits for an attempt begun after it: make it
				// now (it returns at that attempt's failure).
				continue
			}
			s.sleep(backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		s.held -= len(batch)
		s.settled += len(batch) - rejected
		if rejected > 0 {
			s.lose(reasonRejected, rejected, err)
			s.logger.Error("otelobs: traces: the endpoint refused spans for good; they are dropped",
				"spans", rejected, "error", instr.ScrubError(err))
		}
		if s.lastErr != nil {
			s.logger.Info("otelobs: traces: the endpoint answers again; the held spans follow in order",
				"outage", time.Since(s.since).Round(time.Millisecond).String(), "held", s.held, "dropped", s.lostNow)
			s.lastErr = nil
		}
		if s.held == 0 {
			s.lostNow = 0
		}
		backoff = minBackoff
		s.changed.Broadcast()
		s.mu.Unlock()
	}
}

// sleep waits d, or less when flushed or stopped.
func (s *spool) sleep(d time.Duration) {
	select { // a wake-up from before the attempt is spent
	case <-s.kick:
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.kick:
	case <-s.stopCtx.Done():
	}
}

// wake ends a wait between attempts.
func (s *spool) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// waitFor waits until done returns true or ctx is done; s.mu is held when
// done is called.
func (s *spool) waitFor(ctx context.Context, done func() bool) {
	unhook := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	defer unhook()
	s.mu.Lock()
	defer s.mu.Unlock()
	for ctx.Err() == nil && !done() {
		s.changed.Wait()
	}
}

// ForceFlush tries at once to deliver the spans handed over before it, and
// waits until they are delivered, or an attempt failed (the endpoint is
// down: the spans stay held), or ctx is done. Its error says how many are
// not delivered, and why.
func (s *spool) ForceFlush(ctx context.Context) error {
	s.mu.Lock()
	// An attempt in flight began before this call: only the failure of a
	// later one says the endpoint is down now.
	target, lost0, started0 := s.taken, s.lost, s.started
	s.flushes++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.flushes--
		s.mu.Unlock()
	}()
	s.wake()
	s.waitFor(ctx, func() bool {
		return s.settled >= target || s.failedAttempt > started0 || s.stopCtx.Err() != nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.settled < target && s.lastErr != nil:
		return fmt.Errorf("%d spans are not exported yet: %s", target-s.settled, instr.ScrubError(s.lastErr))
	case s.settled < target:
		cause := "the span exporter is shut down"
		if ctx.Err() != nil {
			cause = ctx.Err().Error()
		}
		return fmt.Errorf("%d spans are not exported yet: %s", target-s.settled, cause)
	case s.lost > lost0:
		return fmt.Errorf("%d spans were dropped: %s", s.lost-lost0, instr.ScrubError(s.lossErr))
	}
	return nil
}

// Shutdown delivers what is held with one attempt more (no waiting out an
// outage: a program that exits with its Collector down must still exit),
// counts, logs and reports what is left, and shuts the exporter down.
func (s *spool) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	failures := s.failures
	s.mu.Unlock()
	s.wake()
	s.waitFor(ctx, func() bool { return s.held == 0 || s.failures > failures })
	s.stop()
	s.mu.Lock()
	s.changed.Broadcast() // run may be waiting for a batch
	left, lastErr := s.held, s.lastErr
	s.queue, s.held, s.final = nil, 0, true
	var err error
	if left > 0 {
		cause := "the endpoint did not answer before the deadline"
		if lastErr != nil {
			cause = instr.ScrubError(lastErr)
		} else if ctx.Err() != nil {
			cause = ctx.Err().Error()
		}
		err = fmt.Errorf("the last %d spans were not exported: %s", left, cause)
		s.lose(reasonShutdown, left, err)
		// The batch span processor drops this error when its own context
		// ends at the same time: the log says it in any case.
		s.logger.Error("otelobs: traces: "+err.Error(), "spans", left)
	}
	s.mu.Unlock()
	select { // an exporter that ignores its context must not hold Shutdown
	case <-s.done:
	case <-ctx.Done():
	}
	s.finalErr = errors.Join(err, s.exp.Shutdown(ctx))
	close(s.closed)
	return s.finalErr
}

// shutdownErr is what Shutdown reported, once it has returned (waiting at
// most grace for it), for Telemetry.Shutdown: the batch span processor
// drops it when its own context ends at the same time.
func (s *spool) shutdownErr(grace time.Duration) error {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.closed:
	case <-t.C:
		return nil
	}
	return s.finalErr
}

// bspExportTimeout is OTEL_BSP_EXPORT_TIMEOUT (validated by loadSettings),
// the time one attempt may take; 0 is none, as for the SDK.
func bspExportTimeout(lookup lookupFunc) time.Duration {
	if v, ok := lookup("OTEL_BSP_EXPORT_TIMEOUT"); ok && v != "" {
		if ms, err := strconv.Atoi(v); err == nil && ms >= 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return 30 * time.Second
}
