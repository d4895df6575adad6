package wire

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

// events is a dialect that keeps what it is given: each event's name and
// data; "done" ends a stream, "usage" is hidden when asked.
type events struct{ got *[]string }

func (events) Accepts(string) bool                 { return true }
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
	m, err := llmmetrics.New(llmmetrics.WithMeterProvider(tel.MeterProvider()), llmmetrics.WithTracerProvider(tel.TracerProvider()),
		llmmetrics.WithLogger(slog.New(slog.DiscardHandler)))
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
	a.ctx, a.key = context.Background(), carryKey{id: 42, attempt: 0}
	_ = newErrorBody(a.ctx, io.NopCloser(bytes.NewReader(nil)), a, &StatusError{Code: 429}).Close()
	if c := a.w.claim(carryKey{id: 42, attempt: 2}); c != nil {
		t.Fatal("a later attempt took the call")
	}
	c := a.w.claim(carryKey{id: 42, attempt: 1})
	if c == nil || c.call != a.call {
		t.Fatal("the next attempt did not get the call")
	}
	next := &attempt{w: a.w, ctx: a.ctx, key: carryKey{id: 42, attempt: 1}, call: c.call}
	eb := newErrorBody(next.ctx, io.NopCloser(strings.NewReader("{}")), next, &StatusError{Code: 500})
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

// TestCarriedCallEndsWithItsCaller: a retried call whose caller's context
// ends during the SDK's wait ends as canceled, dated when the context ended.
func TestCarriedCallEndsWithItsCaller(t *testing.T) {
	t.Parallel()
	a, tel := newAttempt(t, events{new([]string)})
	ctx, cancel := context.WithCancel(context.Background())
	a.ctx, a.key = ctx, carryKey{id: 7}
	_ = newErrorBody(ctx, io.NopCloser(bytes.NewReader(nil)), a, &StatusError{Code: 429}).Close()
	cancel()
	pm := []attribute.KeyValue{llmmetrics.ProviderKey.String("openai"), llmmetrics.ModelKey.String("m")}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(tel.Spans("chat m")) == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if n := tel.Value(llmmetrics.RequestErrorsName, append(pm, llmmetrics.ErrorTypeKey.String("canceled"))...); n != 1 {
		t.Errorf("canceled %v", n)
	}
	if d := tel.Histogram(llmmetrics.RequestDurationName, append(pm, llmmetrics.OutcomeKey.String("error"))...); d.Sum > 1 {
		t.Errorf("duration %v s: the grace was counted", d.Sum)
	}
	if c := a.w.claim(carryKey{id: 7, attempt: 1}); c != nil {
		t.Error("an ended call was still carried")
	}
}

// TestIdenticalCallsCarriedApart: two identical requests retried at once
// (same key) are two calls, each continued once.
func TestIdenticalCallsCarriedApart(t *testing.T) {
	t.Parallel()
	a, tel := newAttempt(t, events{new([]string)})
	b := &attempt{w: a.w, ctx: context.Background(), key: carryKey{id: 9}}
	_, b.call = a.w.m.StartCall(t.Context(), llmmetrics.Request{Provider: "openai", Model: "m"})
	a.ctx, a.key = context.Background(), carryKey{id: 9}
	for _, x := range []*attempt{a, b} {
		_ = newErrorBody(x.ctx, io.NopCloser(bytes.NewReader(nil)), x, &StatusError{Code: 429}).Close()
	}
	for range 2 {
		c := a.w.claim(carryKey{id: 9, attempt: 1})
		if c == nil {
			t.Fatal("a call was lost")
		}
		c.call.End(nil)
	}
	pm := []attribute.KeyValue{llmmetrics.ProviderKey.String("openai"), llmmetrics.ModelKey.String("m")}
	if n := tel.Value(llmmetrics.RequestsName, pm...); n != 2 {
		t.Errorf("requests %v, want 2", n)
	}
}

// TestReadBodyPutsTheBodyBack: a GetBody that hands out the body's own
// reader (as the SDKs do for a *bytes.Reader body) still sends the body.
func TestReadBodyPutsTheBodyBack(t *testing.T) {
	t.Parallel()
	r := bytes.NewReader([]byte(`{"model":"m"}`))
	req, _ := http.NewRequest(http.MethodPost, "http://x/v1/chat/completions", r)
	req.GetBody = func() (io.ReadCloser, error) { _, err := r.Seek(0, 0); return io.NopCloser(r), err }
	s, err := readBody(req)
	if err != nil || s != `{"model":"m"}` {
		t.Fatal(s, err)
	}
	for range 2 {
		sent, _ := io.ReadAll(req.Body)
		if string(sent) != s {
			t.Fatalf("the body sent is %q", sent)
		}
		req.Body, _ = req.GetBody()
	}
}

// TestJSONBodies: the usage of a large response is read by the scan, and a
// response closed after its whole document (a decoder that stops there)
// is a success.
func TestJSONBodies(t *testing.T) {
	t.Parallel()
	var got []string
	d := keepBodies{&got}
	big := `{"object":"list","data":[` + strings.Repeat(`{"embedding":[0.1,-0.2,"\"usage\":{"],"usage":{"x":1}},`, maxJSONCopy/40) +
		`{"embedding":[]}],"model":"text-embedding-3-large","usage":{"prompt_tokens":7,"total_tokens":7}}`
	for _, tt := range []struct {
		name, body, want string
		readAll          bool
	}{
		{"small", `{"model":"m","usage":{"prompt_tokens":1}}`, `{"model":"m","usage":{"prompt_tokens":1}}`, true},
		{"large", big, `{"model":"text-embedding-3-large","usage":{"prompt_tokens":7,"total_tokens":7}}`, true},
		{"closed after the document", `{"model":"m"}`, `{"model":"m"}`, false},
	} {
		got = got[:0]
		a, tel := newAttempt(t, d)
		jb := newJSONBody(io.NopCloser(strings.NewReader(tt.body)), a, 0)
		if tt.readAll {
			_, _ = io.Copy(io.Discard, iotest.HalfReader(jb))
		} else {
			_, _ = io.ReadFull(jb, make([]byte, len(tt.body)))
		}
		_ = jb.Close()
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: the dialect got %.200q, want %q", tt.name, got, tt.want)
		}
		pm := []attribute.KeyValue{llmmetrics.ProviderKey.String("openai"), llmmetrics.ModelKey.String("m")}
		if h := tel.Histogram(llmmetrics.RequestDurationName, append(pm, llmmetrics.OutcomeKey.String("success"))...); h.Count != 1 {
			t.Errorf("%s: %d successful calls, want 1", tt.name, h.Count)
		}
	}
}

// keepBodies is a dialect that keeps the JSON bodies it is given.
type keepBodies struct{ got *[]string }

func (keepBodies) Accepts(string) bool                 { return true }
func (keepBodies) Request(string, string) (Info, bool) { return Info{Model: "m"}, true }
func (d keepBodies) Response(_ Info, body string) Result {
	*d.got = append(*d.got, body)
	return Result{}
}
func (keepBodies) Event(*Result, []byte, []byte, bool) (bool, bool) { return false, false }

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
