package instr

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Post "https://generativelanguage.googleapis.com/v1/models/gemini:generate?key=AIzaSyA1234567890abcdefghijklmnopqrstu&alt=sse": EOF`,
			`Post "https://generativelanguage.googleapis.com/v1/models/gemini:generate?key=REDACTED&alt=REDACTED": EOF`},
		{`dial "http://admin:hunter2@gateway:8080/v1/chat": refused`, `dial "http://REDACTED@gateway:8080/v1/chat": refused`},
		{`401: invalid header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig`, `401: invalid header Authorization: Bearer REDACTED`},
		{`invalid api key sk-proj-AbcdEfghIjklMnop1234 given`, `invalid api key REDACTED given`},
		{`merge conflict in src/main.go`, `merge conflict in src/main.go`},
		{`git merge feature-branch: exit status 1`, `git merge feature-branch: exit status 1`},
		{`git merge orch/sk-learning-rate-sweep-v2: exit status 1`, `git merge orch/sk-learning-rate-sweep-v2: exit status 1`},
		{`oauth: access_token=ya29.a0AfH6SMBx9 expired`, `oauth: access_token=REDACTED expired`},
		{`{"error": "bad", "token": "tok_9a8b7c6d5e4f"}`, `{"error": "bad", "token": "REDACTED"}`},
		{`upstream sent x-api-key: 7f3e2d1c0b9a8877`, `upstream sent x-api-key: REDACTED`},
		{`password=Hunter2hunter in config`, `password=REDACTED in config`},
		{`token verification failed`, `token verification failed`},
		{`refresh token: upstream_unavailable`, `refresh token: upstream_unavailable`},
		{`Basic authentication required`, `Basic authentication required`},
		{`leaked github_pat_11ABCDEFG0123456789abcdef and hf_AbCdEfGhIjKlMnOpQrStUv12`, `leaked REDACTED and REDACTED`},
		{`aws AKIAIOSFODNN7EXAMPLE denied`, `aws REDACTED denied`},
		{`jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijk rejected`, `jwt REDACTED rejected`},
		{`Get http://h/v1?key=S3cr3tValue: EOF`, `Get http://h/v1?key=REDACTED: EOF`},
		{`(url=http://h/v1?key=S3cr3tValue)`, `(url=http://h/v1?key=REDACTED)`},
		{`read /srv/repos/plan-1/main.go: no such file or directory`, `read /srv/repos/plan-1/main.go: no such file or directory`},
		{`{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`,
			`{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`},
	} {
		if got := Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if ScrubError(nil) != "" {
		t.Error("ScrubError(nil) is not empty")
	}
}

// TestScrubRealURLError: the error Go's HTTP client really returns for a
// URL with a key keeps it no more (a password it already writes as ***).
func TestScrubRealURLError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/v1/models?key=SECRETKEY123", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = http.DefaultClient.Do(req)
	if err == nil {
		t.Fatal("a request to port 1 succeeded")
	}
	wrapped := fmt.Errorf("llm call: %w", err)
	if !strings.Contains(wrapped.Error(), "SECRETKEY123") {
		t.Fatalf("the client's error does not quote the key, so this test proves nothing: %v", wrapped)
	}
	got := ScrubError(wrapped)
	if strings.Contains(got, "SECRETKEY123") || !strings.Contains(got, "127.0.0.1:1") {
		t.Errorf("ScrubError = %q", got)
	}
}

// TestScrubBounded: a long error body is cut to 4 KiB.
func TestScrubBounded(t *testing.T) {
	if got := Scrub(strings.Repeat("<html>", 10_000)); len(got) > maxScrubbed+len("…") {
		t.Errorf("%d bytes", len(got))
	}
}

func BenchmarkScrub(b *testing.B) {
	for _, s := range []string{
		"git merge orch/r1/plan-1: exit status 1: CONFLICT (content): Merge conflict in hello.py",
		`Post "https://generativelanguage.googleapis.com/v1/models/gemini:generate?key=AIzaSyA1234567890abcdefghijklmnopqrstu": dial tcp: i/o timeout`,
	} {
		b.Run(strings.Fields(s)[0], func(b *testing.B) {
			for b.Loop() {
				Scrub(s)
			}
		})
	}
}
