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
		{`invalid api key sk-proj-abcdefghijklmnop1234 given`, `invalid api key REDACTED given`},
		{`merge conflict in src/main.go`, `merge conflict in src/main.go`},
		{`git merge feature-branch: exit status 1`, `git merge feature-branch: exit status 1`},
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
// URL with a key and a password keeps neither.
func TestScrubRealURLError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://user:pa55word@127.0.0.1:1/v1/models?key=SECRETKEY123", nil)
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
	if strings.Contains(got, "SECRETKEY123") || strings.Contains(got, "pa55word") || !strings.Contains(got, "127.0.0.1:1") {
		t.Errorf("ScrubError = %q", got)
	}
}
