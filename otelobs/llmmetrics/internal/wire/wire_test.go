package wire

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"go.opentelemetry.io/otel/attribute"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

// events is a dialect that keeps what it is given: each event's name and
// data; "done" ends a stream, "usage" is hidden when asked.
type events struct{ got *[]string }

func (events) Request(string, string) (Info, bool) { return Info{Model: "m"}, true }
func (events) Response(Info, string) Result        { return Result{} }
func (d events) Event(r *Result, event, data []byte, hideUsage bool) (bool, bool) {
	*d.got = append(*d.got, string(event)+"|"+string(data))
	r.Done = r.Done || string(data) == "done"
	return true, hideUsage && string(data) == "usage"
}

func newAttempt(t *testing.T, d Dialect) (*attempt, *otelobstest.Telemetry) {
	t.Helper()
	tel := otelobstest.New(t)
	m, err := llmmetrics.New(llmmetrics.WithMeterProvider(tel.MeterProvider()), llmmetrics.WithTracerProvider(tel.TracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	w := New(m, "openai", d)
	_, call := m.StartCall(t.Context(), llmmetrics.Request{Provider: "openai", Model: "m"})
	return &attempt{w: w, call: call}, tel
}

func TestStreamEvents(t *testing.T) {
	t.Parallel()
	const stream = "event: a\ndata: one\n\n" +
		"data: two\r\ndata: lines\r\n\r\n" + // CRLF, and data on two lines
		": a comment\n\n" + // no data: passed on, not read
		"data: usage\n\n" +
		"data: done" // the last event without its blank line
	for _, tt := range []struct {
		name string
		r    func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte a read", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			a, tel := newAttempt(t, events{&got})
			a.hideUsage = true
			body := newStreamBody(io.NopCloser(tt.r(strings.NewReader(stream))), a)
			out, err := io.ReadAll(iotest.OneByteReader(body))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"a|one", "|two\nlines", "|usage", "|done"}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("events %q, want %q", got, want)
			}
			if wantOut := strings.Replace(stream, "data: usage\n\n", "", 1); string(out) != wantOut {
				t.Errorf("the caller read %q, want %q", out, wantOut)
			}
			_ = body.Close()
			pm := []attribute.KeyValue{llmmetrics.ProviderKey.String("openai"), llmmetrics.ModelKey.String("m")}
			if n := tel.Value(llmmetrics.RequestsName, pm...); n != 1 {
				t.Errorf("requests %v", n)
			}
		})
	}
}

// TestRetriedErrorCarriesTheCall: an error body closed unread leaves the call
// for the next attempt; one read ends it.
func TestRetriedErrorCarriesTheCall(t *testing.T) {
	t.Parallel()
	a, tel := newAttempt(t, events{new([]string)})
	a.key = carryKey{body: 42, attempt: 0}
	(&errorBody{rc: io.NopCloser(bytes.NewReader(nil)), a: a, err: &StatusError{Code: 429}}).Close()
	if c := a.w.claim(carryKey{body: 42, attempt: 2}); c != nil {
		t.Fatal("a later attempt took the call")
	}
	c := a.w.claim(carryKey{body: 42, attempt: 1})
	if c == nil || c.call != a.call {
		t.Fatal("the next attempt did not get the call")
	}
	next := &attempt{w: a.w, key: carryKey{body: 42, attempt: 1}, call: c.call}
	eb := &errorBody{rc: io.NopCloser(strings.NewReader("{}")), a: next, err: &StatusError{Code: 500}}
	_, _ = io.ReadAll(eb)
	_ = eb.Close()
	pm := []attribute.KeyValue{llmmetrics.ProviderKey.String("openai"), llmmetrics.ModelKey.String("m")}
	if n := tel.Value(llmmetrics.RequestsName, pm...); n != 1 {
		t.Errorf("requests %v", n)
	}
	if n := tel.Value(llmmetrics.RequestErrorsName, append(pm, llmmetrics.ErrorTypeKey.String("server_error"))...); n != 1 {
		t.Errorf("server errors %v", n)
	}
}

func TestStatusError(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]llmmetrics.ErrorType{429: llmmetrics.ErrorRateLimited, 529: llmmetrics.ErrorServer,
		401: llmmetrics.ErrorAuth, 400: llmmetrics.ErrorClient, 408: llmmetrics.ErrorTimeout} {
		if got := llmmetrics.Classify(&StatusError{Code: code}); got != want {
			t.Errorf("%d: %s, want %s", code, got, want)
		}
	}
	if s := (&StatusError{Code: http.StatusTooManyRequests}).Error(); s != "HTTP 429 Too Many Requests" {
		t.Errorf("Error() = %q", s)
	}
}
