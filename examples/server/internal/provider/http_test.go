package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
)

// testKey is the API key of the tests; no error text may contain it.
const testKey = "sk-test-SECRET-0123456789abcdef"

// newTestServer starts a loopback server that is closed when the test ends.
func newTestServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newTestHTTP returns a provider named "openai" talking to baseURL.
func newTestHTTP(t *testing.T, baseURL string, now func() time.Time) *HTTP {
	t.Helper()
	h, err := NewHTTP(HTTPConfig{Name: "openai", BaseURL: baseURL, APIKey: testKey, Now: now})
	if err != nil {
		t.Fatalf("NewHTTP: %v", err)
	}
	return h
}

// assertNoKey fails when err's text holds the API key or a long prefix of it.
func assertNoKey(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if s := err.Error(); strings.Contains(s, testKey) || strings.Contains(s, testKey[:10]) {
		t.Errorf("error text leaks the API key: %q", s)
	}
}

func TestHTTPCompleteSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		req       Request
		respModel string
		wantMsgs  []chatMessage
		wantMax   any // nil: max_tokens must be absent
		wantModel string
	}{
		{
			name:      "system and max tokens",
			req:       Request{Model: "gpt-4o", System: "be brief", Prompt: "hello", MaxTokens: 64, Purpose: PurposeCode},
			respModel: "gpt-4o-2024-08-06",
			wantMsgs:  []chatMessage{{"system", "be brief"}, {"user", "hello"}},
			wantMax:   float64(64),
			wantModel: "gpt-4o-2024-08-06",
		},
		{
			name:      "no system, no max tokens, model fallback",
			req:       Request{Model: "gpt-4o-mini", Prompt: "hi"},
			wantMsgs:  []chatMessage{{"user", "hi"}},
			wantModel: "gpt-4o-mini",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost {
					t.Errorf("method = %s, want POST", r.Method)
				}
				if r.URL.Path != "/v1/chat/completions" {
					t.Errorf("path = %s, want /v1/chat/completions", r.URL.Path)
				}
				if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
					t.Errorf("Authorization = %q", got)
				}
				if got := r.Header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type = %q", got)
				}
				var raw map[string]json.RawMessage
				if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
					t.Errorf("decoding the request: %v", err)
					return
				}
				var model string
				_ = json.Unmarshal(raw["model"], &model)
				if model != tt.req.Model {
					t.Errorf("model = %q, want %q", model, tt.req.Model)
				}
				var msgs []chatMessage
				if err := json.Unmarshal(raw["messages"], &msgs); err != nil {
					t.Errorf("messages: %v", err)
				}
				if fmt.Sprint(msgs) != fmt.Sprint(tt.wantMsgs) {
					t.Errorf("messages = %v, want %v", msgs, tt.wantMsgs)
				}
				mt, ok := raw["max_tokens"]
				switch {
				case tt.wantMax == nil && ok:
					t.Errorf("max_tokens = %s, want it omitted", mt)
				case tt.wantMax != nil:
					var v any
					_ = json.Unmarshal(mt, &v)
					if v != tt.wantMax {
						t.Errorf("max_tokens = %v, want %v", v, tt.wantMax)
					}
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"id":"x","model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"answer"}},{"message":{"content":"second"}}],
					"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":100}}}`, tt.respModel)
			})
			h := newTestHTTP(t, srv.URL+"/v1/", nil)
			resp, err := h.Complete(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			want := Response{Text: "answer", Model: tt.wantModel, Usage: llmmetrics.Usage{InputTokens: 120, OutputTokens: 30, CachedInputTokens: 100}}
			if resp != want {
				t.Errorf("Complete = %+v, want %+v", resp, want)
			}
		})
	}
}

func TestHTTPRateLimited(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"retry-after-ms", map[string]string{"retry-after-ms": "1500"}, 1500 * time.Millisecond},
		{"retry-after-ms fraction", map[string]string{"retry-after-ms": "20.5"}, 20500 * time.Microsecond},
		{"retry-after-ms first", map[string]string{"retry-after-ms": "250", "Retry-After": "7", "x-ratelimit-reset-requests": "9s"}, 250 * time.Millisecond},
		{"Retry-After seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"Retry-After before reset", map[string]string{"Retry-After": "2", "x-ratelimit-reset-requests": "9s"}, 2 * time.Second},
		{"Retry-After HTTP-date", map[string]string{"Retry-After": date(30 * time.Second)}, 30 * time.Second},
		{"Retry-After past HTTP-date", map[string]string{"Retry-After": date(-time.Minute)}, 0},
		{"reset-requests", map[string]string{"x-ratelimit-reset-requests": "1.5s"}, 1500 * time.Millisecond},
		{"reset-tokens ms", map[string]string{"x-ratelimit-reset-tokens": "20ms"}, 20 * time.Millisecond},
		{"both resets take the max", map[string]string{"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "1m30s"}, 90 * time.Second},
		{"both resets, requests larger", map[string]string{"x-ratelimit-reset-requests": "6s", "x-ratelimit-reset-tokens": "20ms"}, 6 * time.Second},
		{"none", nil, 0},
		{"garbage", map[string]string{"retry-after-ms": "soon", "Retry-After": "later", "x-ratelimit-reset-requests": "x", "x-ratelimit-reset-tokens": "1e3"}, 0},
		{"garbage falls through", map[string]string{"retry-after-ms": "NaN", "Retry-After": "3"}, 3 * time.Second},
		{"negative ignored", map[string]string{"retry-after-ms": "-5", "Retry-After": "-1", "x-ratelimit-reset-requests": "-1s", "x-ratelimit-reset-tokens": "2s"}, 2 * time.Second},
		{"huge Retry-After capped", map[string]string{"Retry-After": "99999999999999999999"}, maxRateLimitWait},
		{"huge retry-after-ms capped", map[string]string{"retry-after-ms": "86400000"}, maxRateLimitWait},
		{"huge HTTP-date capped", map[string]string{"Retry-After": date(24 * time.Hour)}, maxRateLimitWait},
		{"huge reset capped", map[string]string{"x-ratelimit-reset-requests": "6m0s"}, maxRateLimitWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, `{"error":{"message":"Rate limit reached for key %s"}}`, testKey)
			})
			h := newTestHTTP(t, srv.URL, func() time.Time { return now })
			_, err := h.Complete(context.Background(), Request{Model: "m", Prompt: "p"})
			var rl *RateLimitError
			if !errors.As(err, &rl) {
				t.Fatalf("error %v (%T) is not a *RateLimitError", err, err)
			}
			if rl.RetryAfter != tt.want {
				t.Errorf("RetryAfter = %v, want %v", rl.RetryAfter, tt.want)
			}
			if got := llmmetrics.Classify(err); got != llmmetrics.ErrorRateLimited {
				t.Errorf("Classify = %s, want %s", got, llmmetrics.ErrorRateLimited)
			}
			assertNoKey(t, err)
		})
	}
}

func TestHTTPStatusErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   llmmetrics.ErrorType
	}{
		{http.StatusBadRequest, llmmetrics.ErrorClient},
		{http.StatusUnauthorized, llmmetrics.ErrorAuth},
		{http.StatusForbidden, llmmetrics.ErrorAuth},
		{http.StatusNotFound, llmmetrics.ErrorClient},
		{http.StatusInternalServerError, llmmetrics.ErrorServer},
		{http.StatusServiceUnavailable, llmmetrics.ErrorServer},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s"}}`, testKey)
			})
			h := newTestHTTP(t, srv.URL, nil)
			_, err := h.Complete(context.Background(), Request{Model: "m", Prompt: "p"})
			if err == nil {
				t.Fatal("Complete succeeded")
			}
			if got := llmmetrics.Classify(err); got != tt.want {
				t.Errorf("Classify = %s, want %s", got, tt.want)
			}
			var rl *RateLimitError
			if errors.As(err, &rl) {
				t.Errorf("HTTP %d is a *RateLimitError", tt.status)
			}
			if s := err.Error(); !strings.Contains(s, fmt.Sprintf("openai: HTTP %d: ", tt.status)) || !strings.Contains(s, redacted) {
				t.Errorf("error text = %q", s)
			}
			assertNoKey(t, err)
		})
	}
}

func TestHTTPErrorSnippet(t *testing.T) {
	t.Parallel()
	// The key straddles the 200-byte cut: no prefix of it may survive.
	body := strings.Repeat("x", 195) + testKey + strings.Repeat("y", 1000)
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, body)
	})
	h := newTestHTTP(t, srv.URL, nil)
	_, err := h.Complete(context.Background(), Request{Model: "m", Prompt: "p"})
	if err == nil {
		t.Fatal("Complete succeeded")
	}
	prefix := "openai: HTTP 502: "
	s := err.Error()
	if !strings.HasPrefix(s, prefix) || len(s) > len(prefix)+errorSnippetBytes {
		t.Errorf("error text = %q (%d bytes), want %q and at most %d bytes of body", s, len(s), prefix, errorSnippetBytes)
	}
	if strings.Contains(s, "sk-") || strings.Contains(s, "y") {
		t.Errorf("error text = %q", s)
	}
	assertNoKey(t, err)
}

func TestHTTPInvalidResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"malformed JSON", `{"choices":[`},
		{"not JSON", fmt.Sprintf("<html>%s</html>", testKey)},
		{"wrong type", `{"choices":"nope"}`},
		{"empty choices", `{"model":"m","choices":[],"usage":{"prompt_tokens":1}}`},
		{"no choices", `{}`},
		{"too large", `{"choices":[` + strings.Repeat(" ", maxResponseBytes) + `]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.body)
			})
			h := newTestHTTP(t, srv.URL, nil)
			_, err := h.Complete(context.Background(), Request{Model: "m", Prompt: "p"})
			if got := llmmetrics.Classify(err); got != llmmetrics.ErrorInvalidResponse {
				t.Errorf("Classify(%v) = %s, want %s", err, got, llmmetrics.ErrorInvalidResponse)
			}
			assertNoKey(t, err)
		})
	}
}

// blockingServer is a server whose handler blocks until the client goes
// away (or the test ends).
func blockingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv
}

func TestHTTPContextEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		is   error
		want llmmetrics.ErrorType
	}{
		{"canceled before", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled, llmmetrics.ErrorCanceled},
		{"canceled while the server sleeps", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(30*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled, llmmetrics.ErrorCanceled},
		{"deadline while the server sleeps", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}, context.DeadlineExceeded, llmmetrics.ErrorTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := blockingServer(t)
			h := newTestHTTP(t, srv.URL, nil)
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := h.Complete(ctx, Request{Model: "m", Prompt: "p"})
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("Complete took %v after the context ended", elapsed)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if got := llmmetrics.Classify(err); got != tt.want {
				t.Errorf("Classify = %s, want %s", got, tt.want)
			}
			assertNoKey(t, err)
		})
	}
}

// arrivals records when requests reached a server.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
}

func (a *arrivals) add() {
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.mu.Unlock()
}

func (a *arrivals) get() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.times...)
}

// exhaustedServer answers successfully; its first answer says the rate
// limit of kind ("requests" or "tokens") is exhausted for reset.
func exhaustedServer(t *testing.T, kind, reset string) (*httptest.Server, *arrivals) {
	t.Helper()
	a := &arrivals{}
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		a.add()
		if len(a.get()) == 1 {
			w.Header().Set("x-ratelimit-remaining-"+kind, "0")
			w.Header().Set("x-ratelimit-reset-"+kind, reset)
		}
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}]}`)
	})
	return srv, a
}

func TestHTTPHonoursExhaustedRateLimit(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"requests", "tokens"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv, a := exhaustedServer(t, kind, "80ms")
			h := newTestHTTP(t, srv.URL, nil)
			for i := range 2 {
				if _, err := h.Complete(context.Background(), Request{Model: "m", Prompt: "p"}); err != nil {
					t.Fatalf("Complete %d: %v", i, err)
				}
			}
			times := a.get()
			if len(times) != 2 {
				t.Fatalf("server saw %d requests, want 2", len(times))
			}
			if gap := times[1].Sub(times[0]); gap < 60*time.Millisecond {
				t.Errorf("second request arrived %v after the first, want >= ~80ms", gap)
			}
		})
	}
}

func TestHTTPRateLimitWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		is   error
		want llmmetrics.ErrorType
	}{
		{"canceled during the wait", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(30*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled, llmmetrics.ErrorCanceled},
		{"canceled before the wait", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled, llmmetrics.ErrorCanceled},
		{"deadline before the reset", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded, llmmetrics.ErrorTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, a := exhaustedServer(t, "requests", "10s")
			h := newTestHTTP(t, srv.URL, nil)
			if _, err := h.Complete(context.Background(), Request{Model: "m", Prompt: "p"}); err != nil {
				t.Fatalf("first Complete: %v", err)
			}
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := h.Complete(ctx, Request{Model: "m", Prompt: "p"})
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("Complete took %v, want it to end with the context", elapsed)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if got := llmmetrics.Classify(err); got != tt.want {
				t.Errorf("Classify = %s, want %s", got, tt.want)
			}
			if n := len(a.get()); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

func TestHTTPNotBefore(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration // 0: no not-before time
	}{
		{"requests left", map[string]string{"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "1s"}, 0},
		{"requests exhausted", map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}, time.Second},
		{"tokens exhausted", map[string]string{"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "250ms", "x-ratelimit-reset-requests": "9s"}, 250 * time.Millisecond},
		{"both exhausted", map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2s", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "3s"}, 3 * time.Second},
		{"capped", map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1h"}, maxRateLimitWait},
		{"no reset", map[string]string{"x-ratelimit-remaining-requests": "0"}, 0},
		{"garbage reset", map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "soon"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHTTP(t, "http://127.0.0.1:1", func() time.Time { return now })
			hdr := http.Header{}
			for k, v := range tt.headers {
				hdr.Set(k, v)
			}
			h.noteRateLimit(hdr)
			h.mu.Lock()
			nb := h.notBefore
			h.mu.Unlock()
			var want time.Time
			if tt.want > 0 {
				want = now.Add(tt.want)
			}
			if !nb.Equal(want) {
				t.Errorf("notBefore = %v, want %v", nb, want)
			}
		})
	}
}

func TestNewHTTPValidation(t *testing.T) {
	t.Parallel()
	valid := HTTPConfig{Name: "openai", BaseURL: "https://api.openai.com/v1", APIKey: testKey}
	tests := []struct {
		name  string
		edit  func(*HTTPConfig)
		field string
	}{
		{"empty name", func(c *HTTPConfig) { c.Name = "" }, "Name"},
		{"empty key", func(c *HTTPConfig) { c.APIKey = "" }, "APIKey"},
		{"blank key", func(c *HTTPConfig) { c.APIKey = "  \n" }, "APIKey"},
		{"control character in key", func(c *HTTPConfig) { c.APIKey = testKey + "\r\nX: y" }, "APIKey"},
		{"empty base URL", func(c *HTTPConfig) { c.BaseURL = "" }, "BaseURL"},
		{"relative base URL", func(c *HTTPConfig) { c.BaseURL = "/v1" }, "BaseURL"},
		{"ftp base URL", func(c *HTTPConfig) { c.BaseURL = "ftp://example.com/v1" }, "BaseURL"},
		{"no host", func(c *HTTPConfig) { c.BaseURL = "https:///v1" }, "BaseURL"},
		{"unparsable base URL", func(c *HTTPConfig) { c.BaseURL = "http://[::1" }, "BaseURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.edit(&cfg)
			h, err := NewHTTP(cfg)
			if err == nil {
				t.Fatalf("NewHTTP = %v, want an error", h)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
			assertNoKey(t, err)
		})
	}

	endpoints := map[string]string{
		"https://api.openai.com/v1":                        "https://api.openai.com/v1/chat/completions",
		"https://api.openai.com/v1/":                       "https://api.openai.com/v1/chat/completions",
		"HTTP://127.0.0.1:8080":                            "http://127.0.0.1:8080/chat/completions",
		"https://example.com/openai?api-version=2024-10-1": "https://example.com/openai/chat/completions?api-version=2024-10-1",
	}
	for base, want := range endpoints {
		cfg := valid
		cfg.BaseURL = base
		h, err := NewHTTP(cfg)
		if err != nil {
			t.Errorf("NewHTTP(%q): %v", base, err)
			continue
		}
		if h.endpoint != want {
			t.Errorf("NewHTTP(%q) endpoint = %q, want %q", base, h.endpoint, want)
		}
		if h.Name() != "openai" || h.Simulated() {
			t.Errorf("Name, Simulated = %q, %v", h.Name(), h.Simulated())
		}
	}
}

func TestHTTPFormattingHidesKey(t *testing.T) {
	t.Parallel()
	cfg := HTTPConfig{Name: "openai", BaseURL: "https://api.openai.com/v1", APIKey: testKey}
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var p Provider = h
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s", h, h, h, h),
		fmt.Sprintf("%v %+v", p, &cfg),
	} {
		if strings.Contains(s, testKey) {
			t.Errorf("formatted text leaks the key: %q", s)
		}
	}
}

func TestHTTPTransportError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		server func(t *testing.T) string
	}{
		{"server closed", func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return srv.URL
		}},
		{"connection dropped", func(t *testing.T) string {
			return newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("Hijack: %v", err)
					return
				}
				conn.Close()
			}).URL
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHTTP(t, tt.server(t)+"/"+testKey, nil)
			_, err := h.Complete(context.Background(), Request{Model: "m", Prompt: "p"})
			if err == nil {
				t.Fatal("Complete succeeded")
			}
			if got := llmmetrics.Classify(err); got != llmmetrics.ErrorServer {
				t.Errorf("Classify(%v) = %s, want %s", err, got, llmmetrics.ErrorServer)
			}
			assertNoKey(t, err)
			// Nothing reachable by unwrapping may hold the key either.
			for e := err; e != nil; e = errors.Unwrap(e) {
				assertNoKey(t, e)
			}
		})
	}
}

func TestHTTPConcurrent(t *testing.T) {
	t.Parallel()
	a := &arrivals{}
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		a.add()
		w.Header().Set("x-ratelimit-remaining-requests", "0")
		w.Header().Set("x-ratelimit-reset-requests", "1ms")
		io.WriteString(w, `{"model":"m","choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":2,"completion_tokens":1}}`)
	})
	h := newTestHTTP(t, srv.URL, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				resp, err := h.Complete(context.Background(), Request{Model: "m", Prompt: "p"})
				if err != nil || resp.Text != "ok" {
					t.Errorf("Complete = %+v, %v", resp, err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(a.get()); n != 40 {
		t.Errorf("server saw %d requests, want 40", n)
	}
}
