package wire

import (
	"context"
	"errors"
	"hash/maphash"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// RetryCountHeader is the header the SDKs number their attempts with.
const RetryCountHeader = "X-Stainless-Retry-Count"

// carryKey names the attempt that continues a retried call: a hash of the
// request body, its path and the caller's span (the SDK's own span of the
// call for Anthropic's), and the attempt's number.
type carryKey struct {
	id      uint64
	attempt int
}

// carried is a call whose response was retried, waiting for its next
// attempt.
type carried struct {
	call    *llmmetrics.CallOp
	span    trace.Span
	timer   *time.Timer
	stopCtx func() bool
}

const (
	// ctxGrace is how long a carried call still waits for its next
	// attempt once the attempt's context has ended: the SDK releases an
	// attempt's own timeout just before it sends the next one.
	ctxGrace = 2 * time.Second
	// deadlineGrace is that wait when the context ended by its deadline,
	// which an attempt's own timeout may reach during the SDK's backoff.
	deadlineGrace = 30 * time.Second
	// backstop is how long a carried call waits beyond the wait its
	// response asked for, for a caller whose context never ends: longer
	// than any backoff of the SDKs' defaults (8 s); a longer wait set with
	// the SDK's options makes the next attempt a call of its own.
	backstop = 2 * time.Minute
	// maxCarryWait bounds the wait a response may ask for.
	maxCarryWait = 10 * time.Minute
)

// keyOf returns the carry key of an attempt.
func (w *Middleware) keyOf(req *http.Request, body string) carryKey {
	h := maphash.String(w.seed, body) ^ maphash.String(w.seed, req.URL.Path)
	if sc := trace.SpanContextFromContext(req.Context()); sc.IsValid() {
		id := sc.SpanID()
		h ^= maphash.Bytes(w.seed, id[:])
	}
	n, _ := strconv.Atoi(req.Header.Get(RetryCountHeader))
	return carryKey{id: h, attempt: n}
}

// claim takes the oldest call that the attempt key continues, if any.
// Calls of identical requests from callers without a span share a key:
// each is still counted once, whichever attempt continues it.
func (w *Middleware) claim(k carryKey) *carried {
	if k.attempt == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.carried[k]
	if len(q) == 0 {
		return nil
	}
	c := q[0]
	w.pop(k, c)
	c.timer.Stop()
	c.stopCtx()
	return c
}

// pop removes c from its key's queue; it reports whether c was there.
// w.mu is held.
func (w *Middleware) pop(k carryKey, c *carried) bool {
	q := w.carried[k]
	for i, x := range q {
		if x == c {
			q = append(q[:i], q[i+1:]...)
			if len(q) == 0 {
				delete(w.carried, k)
			} else {
				w.carried[k] = q
			}
			return true
		}
	}
	return false
}

// carry keeps a retried call for the next attempt. If none comes (the
// caller's context ended during the SDK's wait, or the wait was longer than
// the backstop), the call ends with err, or with the context's error, at
// the moment it was last heard of.
func (w *Middleware) carry(a *attempt, err error) {
	k := carryKey{id: a.key.id, attempt: a.key.attempt + 1}
	c := &carried{call: a.call, span: a.span}
	at := time.Now()
	end := func(e error, t time.Time) {
		w.mu.Lock()
		mine := w.pop(k, c)
		w.mu.Unlock()
		if mine {
			c.call.EndAt(&e, t)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c.timer = time.AfterFunc(min(a.retryAfter, maxCarryWait)+backstop, func() { end(err, at) })
	c.stopCtx = context.AfterFunc(a.ctx, func() {
		t, cause := time.Now(), a.ctx.Err()
		grace := ctxGrace
		if errors.Is(cause, context.DeadlineExceeded) {
			grace = min(a.retryAfter, maxCarryWait) + deadlineGrace
		}
		time.AfterFunc(grace, func() { end(cause, t) })
	})
	w.carried[k] = append(w.carried[k], c)
}
