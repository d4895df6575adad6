package llmmetrics

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// LimitTypeKey is the attribute of the rate-limit gauges that says which
// limit a value is of: requests or tokens.
const LimitTypeKey = attribute.Key("limit_type")

// RateLimit is the rate-limit state a provider's response reported. A
// negative count, or a zero RetryAfter, is unknown and leaves its gauge as
// it was.
type RateLimit struct {
	// RequestsLimit and RequestsRemaining are the requests allowed in the
	// current window and those left.
	RequestsLimit, RequestsRemaining int64
	// TokensLimit and TokensRemaining are the tokens allowed in the current
	// window and those left.
	TokensLimit, TokensRemaining int64
	// RetryAfter is the wait a rate-limited response asked for.
	RetryAfter time.Duration
}

// NoRateLimit is a RateLimit with every field unknown.
var NoRateLimit = RateLimit{RequestsLimit: -1, RequestsRemaining: -1, TokensLimit: -1, TokensRemaining: -1}

// maxRetryAfter caps a Retry-After taken from a response: a provider's
// answer, not a caller's, but a gauge should not hold a year.
const maxRetryAfter = 24 * time.Hour

// RateLimitFromHeaders reads the rate-limit headers of a provider's
// response: OpenAI's (and most OpenAI-compatible servers')
// x-ratelimit-limit-requests, x-ratelimit-remaining-requests,
// x-ratelimit-limit-tokens and x-ratelimit-remaining-tokens; Anthropic's
// anthropic-ratelimit-requests-limit, -requests-remaining, -tokens-limit and
// -tokens-remaining; and retry-after-ms or retry-after (seconds or an
// HTTP-date, against now). ok is false when none of them is present or
// usable; values that do not parse are unknown.
func RateLimitFromHeaders(h http.Header, now time.Time) (rl RateLimit, ok bool) {
	rl = NoRateLimit
	for _, f := range [...]struct {
		dst            *int64
		openai, claude string
	}{
		{&rl.RequestsLimit, "X-Ratelimit-Limit-Requests", "Anthropic-Ratelimit-Requests-Limit"},
		{&rl.RequestsRemaining, "X-Ratelimit-Remaining-Requests", "Anthropic-Ratelimit-Requests-Remaining"},
		{&rl.TokensLimit, "X-Ratelimit-Limit-Tokens", "Anthropic-Ratelimit-Tokens-Limit"},
		{&rl.TokensRemaining, "X-Ratelimit-Remaining-Tokens", "Anthropic-Ratelimit-Tokens-Remaining"},
	} {
		v := header(h, f.openai)
		if v == "" {
			v = header(h, f.claude)
		}
		if v == "" {
			continue // no error to allocate for an absent header
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
			*f.dst, ok = n, true
		}
	}
	if d := retryAfter(h, now); d > 0 {
		rl.RetryAfter, ok = d, true
	}
	return rl, ok
}

// header is h.Get for a key already in canonical form, without
// canonicalising it again (ten look-ups a response).
func header(h http.Header, canonical string) string {
	if v := h[canonical]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// retryAfter reads retry-after-ms, else retry-after; 0 when neither is
// usable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(header(h, "Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return seconds(ms / 1000)
		}
	}
	v := strings.TrimSpace(header(h, "Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 {
			return seconds(s)
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// seconds converts a positive wait, capped at maxRetryAfter before the
// conversion could overflow.
func seconds(s float64) time.Duration {
	if math.IsNaN(s) || s >= maxRetryAfter.Seconds() {
		return maxRetryAfter
	}
	return time.Duration(s * float64(time.Second))
}

// recordRateLimit sets the gauges of l from rl's known fields.
func (m *Metrics) recordRateLimit(ctx context.Context, l *labelSet, rl RateLimit) {
	for i, v := range [...]int64{rl.RequestsLimit, rl.TokensLimit} {
		if v >= 0 {
			m.limit.Record(ctx, v, l.limits[i].Record...)
		}
	}
	for i, v := range [...]int64{rl.RequestsRemaining, rl.TokensRemaining} {
		if v >= 0 {
			m.remaining.Record(ctx, v, l.limits[i].Record...)
		}
	}
	if rl.RetryAfter > 0 {
		m.retryAfter.Record(ctx, rl.RetryAfter.Seconds(), l.base.Record...)
	}
}
