package otelobs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// endpoint is a span exporter standing for a Collector that can be down:
// while down, every export fails as a refused connection does.
type endpoint struct {
	mu       sync.Mutex
	down     bool
	fail     error // when set, every export fails with it
	got      []string
	attempts int
}

func (e *endpoint) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempts++
	if e.down {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	if e.fail != nil {
		return e.fail
	}
	for _, s := range spans {
		e.got = append(e.got, s.Name())
	}
	return nil
}

func (e *endpoint) Shutdown(context.Context) error { return nil }

func (e *endpoint) set(down bool) {
	e.mu.Lock()
	e.down = down
	e.mu.Unlock()
}

func (e *endpoint) delivered() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

// spans makes n spans named prefix0, prefix1, …
func spans(prefix string, n int) []sdktrace.ReadOnlySpan {
	stubs := make(tracetest.SpanStubs, n)
	for i := range stubs {
		stubs[i].Name = fmt.Sprintf("%s%d", prefix, i)
	}
	return stubs.Snapshots()
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func newTestSpool(t *testing.T, e sdktrace.SpanExporter, capacity int) (*spool, *dropCounts) {
	t.Helper()
	d := &dropCounts{}
	s := newSpool(e, capacity, time.Second, quiet, d)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, d
}

// TestSpoolDeliversAfterOutage: batches exported while the endpoint is down
// all arrive once it is back, in order and once each, and none is counted
// as dropped; the exporter never blocks its caller meanwhile.
func TestSpoolDeliversAfterOutage(t *testing.T) {
	t.Parallel()
	e := &endpoint{down: true}
	s, d := newTestSpool(t, e, 1000)
	var want []string
	for b := range 10 {
		batch := spans(fmt.Sprintf("b%d-", b), 7)
		want = append(want, names(batch)...)
		start := time.Now()
		if err := s.ExportSpans(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("ExportSpans took %v during the outage", d)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	err := s.ForceFlush(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "70 spans are not exported yet") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("ForceFlush during the outage = %v, want what is held and why", err)
	}
	e.set(false)
	if err := s.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.delivered(); !slices.Equal(got, want) {
		t.Errorf("delivered %d spans %v, want %d in order", len(got), got, len(want))
	}
	for r := range numReasons {
		if n := d.n[signalTraces][r].Load(); n != 0 {
			t.Errorf("%d spans counted as dropped (%s)", n, reasonNames[r])
		}
	}
}

// TestSpoolDropsOldestPastBound: past its bound the spool drops the oldest
// spans, counts exactly those, and delivers the rest in order.
func TestSpoolDropsOldestPastBound(t *testing.T) {
	t.Parallel()
	e := &endpoint{down: true}
	s, d := newTestSpool(t, e, 10)
	var all []string
	for b := range 5 {
		batch := spans(fmt.Sprintf("b%d-", b), 4)
		all = append(all, names(batch)...)
		if err := s.ExportSpans(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	e.set(false)
	if err := s.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := e.delivered()
	dropped := d.n[signalTraces][reasonBufferFull].Load()
	if int(dropped)+len(got) != len(all) || dropped != 10 {
		t.Errorf("%d delivered, %d counted dropped, of %d: want 10 and 10", len(got), dropped, len(all))
	}
	// The first batch may have been in flight (it is kept); the rest of
	// what arrives is the newest, in order.
	if !slices.IsSorted(indexes(all, got)) || !slices.Equal(got[len(got)-8:], all[len(all)-8:]) {
		t.Errorf("delivered %v, want the newest in order", got)
	}
}

func indexes(all, got []string) []int {
	var out []int
	for _, g := range got {
		out = append(out, slices.Index(all, g))
	}
	return out
}

// TestSpoolRejected: a batch the endpoint refuses for good is dropped and
// counted, and does not hold up the next.
func TestSpoolRejected(t *testing.T) {
	t.Parallel()
	e := &endpoint{fail: errors.New("failed to send to http://c/v1/traces: 400 Bad Request (body: bad)")}
	s, d := newTestSpool(t, e, 100)
	if err := s.ExportSpans(t.Context(), spans("bad", 3)); err != nil {
		t.Fatal(err)
	}
	if err := s.ForceFlush(t.Context()); err == nil || !strings.Contains(err.Error(), "3 spans were dropped: failed to send") {
		t.Errorf("ForceFlush = %v, want the 3 refused spans named", err)
	}
	e.mu.Lock()
	e.fail = nil
	e.mu.Unlock()
	if err := s.ExportSpans(t.Context(), spans("good", 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.delivered(); !slices.Equal(got, []string{"good0", "good1"}) {
		t.Errorf("delivered %v", got)
	}
	if n := d.n[signalTraces][reasonRejected].Load(); n != 3 {
		t.Errorf("%d counted as rejected, want 3", n)
	}
}

// TestSpoolShutdownCountsWhatIsLeft: Shutdown with the endpoint down makes
// one attempt more rather than waiting out its deadline, counts every span
// still held, and says how many were lost and why.
func TestSpoolShutdownCountsWhatIsLeft(t *testing.T) {
	t.Parallel()
	e := &endpoint{down: true}
	d := &dropCounts{}
	s := newSpool(e, 100, time.Second, quiet, d)
	for b := range 3 {
		if err := s.ExportSpans(t.Context(), spans(fmt.Sprint(b), 5)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Shutdown took %v with the endpoint down", took)
	}
	if err == nil || !strings.Contains(err.Error(), "the last 15 spans were not exported: dial tcp: connect: connection refused") {
		t.Errorf("Shutdown = %v", err)
	}
	if n := d.n[signalTraces][reasonShutdown].Load(); n != 15 {
		t.Errorf("%d counted as lost at shutdown, want 15", n)
	}
	if err := s.ExportSpans(t.Context(), spans("late", 2)); err == nil {
		t.Error("ExportSpans after Shutdown succeeded")
	}
	if n := d.n[signalTraces][reasonShutdown].Load(); n != 17 {
		t.Errorf("%d counted as lost at shutdown, want 17 with the late ones", n)
	}
}

// TestSpoolShutdownDelivers: what is held when Shutdown begins is delivered
// if the endpoint answers.
func TestSpoolShutdownDelivers(t *testing.T) {
	t.Parallel()
	e := &endpoint{down: true}
	s := newSpool(e, 100, time.Second, quiet, &dropCounts{})
	if err := s.ExportSpans(t.Context(), spans("s", 5)); err != nil {
		t.Fatal(err)
	}
	e.set(false)
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.delivered(); len(got) != 5 {
		t.Errorf("delivered %v", got)
	}
}

// TestClassifyRealExporters: the OTLP exporters' own errors are classed as
// the spool needs: a refused connection and 503 are retried, 400 is final,
// a partial success is delivered with its rejected spans counted.
func TestClassifyRealExporters(t *testing.T) {
	t.Parallel()
	partial, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{
		PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 2, ErrorMessage: "too old"}})
	answer := func(code int, body []byte) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(code)
			_, _ = w.Write(body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/v1/traces"
	}
	closed := "http://" + closedAddr(t)
	tlsAnswer := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
	t.Cleanup(tlsAnswer.Close)
	tests := []struct {
		name     string
		http     bool
		url      string
		want     exportOutcome
		rejected int
	}{
		{"http refused", true, closed + "/v1/traces", exportRetry, 0},
		{"grpc refused", false, closed, exportRetry, 0},
		{"http 503", true, answer(503, nil), exportRetry, 0},
		{"http 400", true, answer(400, []byte("bad")), exportRejected, 3},
		{"http partial success", true, answer(200, partial), exportDelivered, 2},
		{"http ok", true, answer(200, nil), exportDelivered, 0},
		{"https to plain http", true, strings.Replace(answer(200, nil), "http://", "https://", 1), exportRejected, 3},
		{"untrusted certificate", true, tlsAnswer.URL + "/v1/traces", exportRejected, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				exp sdktrace.SpanExporter
				err error
			)
			if tc.http {
				exp, err = otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(tc.url),
					otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 10 * time.Millisecond, MaxElapsedTime: 50 * time.Millisecond}))
			} else {
				exp, err = otlptracegrpc.New(t.Context(), otlptracegrpc.WithEndpointURL(tc.url),
					otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 10 * time.Millisecond, MaxElapsedTime: 50 * time.Millisecond}))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = exp.Shutdown(context.Background()) }()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err = exp.ExportSpans(ctx, spans("s", 3))
			got, rejected := classifyExport(err, 3)
			if got != tc.want || rejected != tc.rejected {
				t.Errorf("classifyExport(%v) = %d, %d; want %d, %d", err, got, rejected, tc.want, tc.rejected)
			}
		})
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestSetupCountsDroppedSpans: through Setup, with the Collector down, the
// spans past WithSpanBuffer's bound are counted on /metrics, by signal and
// reason, whose series are there at 0 before any loss; Shutdown counts and
// names the rest.
func TestSetupCountsDroppedSpans(t *testing.T) {
	addr := closedAddr(t)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"+addr+"/v1/traces") // the exporter reads its own variables
	env := map[string]string{
		"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_TRACES_EXPORTER": "otlp",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://" + addr + "/v1/traces",
	}
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2") // the SDK reads it itself
	env["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] = "2"
	tel := setupEnv(t, env, WithSpanBuffer(4))
	body, _ := scrape(t, tel.MetricsHandler(), "")
	for _, r := range []string{"buffer_full", "rejected", "shutdown"} {
		if want := `otelobs_telemetry_dropped_total{reason="` + r + `",signal="traces"} 0`; !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s before any loss:\n%s", want, body)
		}
	}
	for range 10 {
		_, span := tel.TracerProvider().Tracer("test").Start(t.Context(), "s")
		span.End()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_ = tel.ForceFlush(ctx) // the endpoint is down: an error
	body, _ = scrape(t, tel.MetricsHandler(), "")
	if want := `otelobs_telemetry_dropped_total{reason="buffer_full",signal="traces"} 6`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s:\n%s", want, body)
	}
	if err := tel.Shutdown(t.Context()); err == nil || !strings.Contains(err.Error(), "traces: the last 4 spans were not exported") {
		t.Errorf("Shutdown = %v", err)
	}
}

// TestSetupRejectsSmallSpanBuffer: a bound below two batches would drop
// spans with the endpoint up.
func TestSetupRejectsSmallSpanBuffer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		n    int
		want string
	}{
		{nil, 0, "WithSpanBuffer(0)"},
		{nil, 1000, "WithSpanBuffer(1000): the buffer must hold at least two batches of the batch span processor (2 × 512 spans"},
		{map[string]string{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "50"}, 99, "2 × 50 spans"},
		{map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "10"}, 19, "2 × 10 spans"},
	} {
		_, err := Setup(t.Context(), withLookupEnv(mapLookup(tc.env)), WithoutGlobals(), WithLogger(quiet), WithSpanBuffer(tc.n))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, WithSpanBuffer(%d): Setup = %v, want %q", tc.env, tc.n, err, tc.want)
		}
	}
	setupEnv(t, map[string]string{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "50"}, WithSpanBuffer(100)) // two batches fit
}
