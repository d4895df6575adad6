package gitmetrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

type harness struct {
	m   *Metrics
	tel *otelobstest.Telemetry
}

func setup(t *testing.T) *harness {
	t.Helper()
	tel := otelobstest.New(t)
	m, err := New(WithMeterProvider(tel.MeterProvider()), WithTracerProvider(tel.TracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{m: m, tel: tel}
}

func (h *harness) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	rm := h.tel.Collect()
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func resultSet(r Result) attribute.Set { return attribute.NewSet(ResultKey.String(string(r))) }

// TestMergeInstruments pins every instrument's name, unit, description,
// kind, buckets and attributes after one successful merge.
func TestMergeInstruments(t *testing.T) {
	t.Parallel()
	h := setup(t)
	w := h.m.StartLockWait(t.Context())
	w.End()
	_, op := h.m.StartMerge(t.Context(), MergeInfo{Repository: "ws", Base: "main", Head: "coder-1"})
	op.End(nil)

	got := h.collect(t)
	want := []metricdata.Metrics{
		{
			Name: MergeDurationName, Description: mergeDurationDesc, Unit: "s",
			Data: metricdata.Histogram[float64]{
				Temporality: metricdata.CumulativeTemporality,
				DataPoints: []metricdata.HistogramDataPoint[float64]{{
					Attributes: resultSet(ResultSuccess), Count: 1, Bounds: MergeDurationBuckets,
				}},
			},
		},
		{
			Name: MergeCountName, Description: mergeCountDesc, Unit: "{merge}",
			Data: metricdata.Sum[int64]{
				Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
				DataPoints: []metricdata.DataPoint[int64]{{Attributes: resultSet(ResultSuccess), Value: 1}},
			},
		},
		{
			Name: ActiveMergesName, Description: activeMergesDesc, Unit: "{merge}",
			Data: metricdata.Sum[int64]{
				Temporality: metricdata.CumulativeTemporality, IsMonotonic: false,
				DataPoints: []metricdata.DataPoint[int64]{{Attributes: *attribute.EmptySet(), Value: 0}},
			},
		},
		{
			Name: LockWaitName, Description: lockWaitDesc, Unit: "s",
			Data: metricdata.Histogram[float64]{
				Temporality: metricdata.CumulativeTemporality,
				DataPoints: []metricdata.HistogramDataPoint[float64]{{
					Attributes: *attribute.EmptySet(), Count: 1, Bounds: LockWaitBuckets,
				}},
			},
		},
		{
			Name: LockViolationName, Description: lockViolationDesc, Unit: "{merge}",
			Data: metricdata.Sum[int64]{
				Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
				DataPoints: []metricdata.DataPoint[int64]{{Attributes: *attribute.EmptySet(), Value: 0}},
			},
		},
	}
	if len(got) != len(want) {
		t.Errorf("%d instruments, want %d: %v", len(got), len(want), got)
	}
	for _, w := range want {
		metricdatatest.AssertEqual(t, w, got[w.Name], metricdatatest.IgnoreTimestamp(),
			metricdatatest.IgnoreExemplars(), metricdatatest.IgnoreValue())
	}
	// IgnoreValue skips counts and sums: check them here.
	if v := got[MergeCountName].Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 1 {
		t.Errorf("merges = %d", v)
	}
	if v := got[ActiveMergesName].Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 0 {
		t.Errorf("active = %d", v)
	}
	if v := got[LockViolationName].Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 0 {
		t.Errorf("lock violations = %d", v)
	}
}

// TestLockIsPerRepository: merges of different repositories may overlap
// (git_active_merges stays 1, no violation); a second merge of a repository
// that is merging is a violation, counted when it starts however short the
// overlap, and marked on its span; the gauge follows the busiest
// repository down again.
func TestLockIsPerRepository(t *testing.T) {
	t.Parallel()
	h := setup(t)
	values := func() (active, violations int64) {
		got := h.collect(t)
		return got[ActiveMergesName].Data.(metricdata.Sum[int64]).DataPoints[0].Value,
			got[LockViolationName].Data.(metricdata.Sum[int64]).DataPoints[0].Value
	}
	type step struct {
		name                  string
		do                    func()
		wantActive, wantViols int64
	}
	ops := map[string]*MergeOp{}
	start := func(key, repo string) func() {
		return func() { _, ops[key] = h.m.StartMerge(t.Context(), MergeInfo{Repository: repo, Head: key}) }
	}
	end := func(key string) func() { return func() { ops[key].End(nil) } }
	for _, s := range []step{
		{"a merges", start("a1", "ws-a"), 1, 0},
		{"b merges while a does: another repository", start("b1", "ws-b"), 1, 0},
		{"a merges twice: the lock failed", start("a2", "ws-a"), 2, 1},
		{"a's first merge ends", end("a1"), 1, 1},
		{"a's second merge ends", end("a2"), 1, 1},
		{"b ends", end("b1"), 0, 1},
		{"unnamed repositories are one", start("u1", ""), 1, 1},
		{"a second unnamed one overlaps", start("u2", ""), 2, 2},
		{"both end", func() { ops["u1"].End(nil); ops["u2"].End(nil) }, 0, 2},
	} {
		s.do()
		if a, v := values(); a != s.wantActive || v != s.wantViols {
			t.Errorf("%s: git_active_merges %d, lock violations %d; want %d, %d", s.name, a, v, s.wantActive, s.wantViols)
		}
	}
	marked := map[string]int64{}
	for _, sp := range h.tel.Ended() {
		for _, kv := range sp.Attributes {
			if kv.Key == overlapSpanKey {
				marked[sp.Name+" "+headOf(sp.Attributes)] = kv.Value.AsInt64()
			}
		}
	}
	if len(marked) != 2 || marked[MergeSpanName+" a2"] != 1 || marked[MergeSpanName+" u2"] != 1 {
		t.Errorf("spans marked with %s: %v, want a2 and u2 with 1 other merge each", overlapSpanKey, marked)
	}
}

func headOf(attrs []attribute.KeyValue) string {
	for _, kv := range attrs {
		if kv.Key == "vcs.ref.head.name" {
			return kv.Value.AsString()
		}
	}
	return ""
}

// TestMergeResults covers each way a merge ends.
func TestMergeResults(t *testing.T) {
	t.Parallel()
	boom := errors.New("git merge: exit status 128")
	tests := []struct {
		name     string
		conflict bool
		err      error
		want     Result
	}{
		{"success", false, nil, ResultSuccess},
		{"conflict error", false, fmt.Errorf("merge coder-1: %w", ErrConflict), ResultConflict},
		{"resolved conflict", true, nil, ResultConflict},
		{"other error", false, boom, ResultError},
		{"conflict then other error", true, boom, ResultError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			ctx, op := h.m.StartMerge(t.Context(), MergeInfo{Repository: "ws", Base: "main", Head: "coder-1"})
			if got := h.collect(t)[ActiveMergesName].Data.(metricdata.Sum[int64]).DataPoints[0].Value; got != 1 {
				t.Errorf("active during the merge = %d, want 1", got)
			}
			if tt.conflict {
				op.MarkConflict()
			}
			op.End(errp(tt.err))

			got := h.collect(t)
			merges := got[MergeCountName].Data.(metricdata.Sum[int64]).DataPoints
			if len(merges) != 1 || merges[0].Attributes != resultSet(tt.want) || merges[0].Value != 1 {
				t.Errorf("git.merge = %+v, want one %s", merges, tt.want)
			}
			dur := got[MergeDurationName].Data.(metricdata.Histogram[float64]).DataPoints
			if len(dur) != 1 || dur[0].Attributes != resultSet(tt.want) || dur[0].Count != 1 {
				t.Errorf("git.merge.duration = %+v", dur)
			}
			if v := got[ActiveMergesName].Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 0 {
				t.Errorf("active after End = %d", v)
			}

			// The exemplars are the merge span's.
			sc := trace.SpanContextFromContext(ctx)
			tid, sid := sc.TraceID(), sc.SpanID()
			for _, e := range append(dur[0].Exemplars, int64Exemplars(merges[0].Exemplars)...) {
				if string(e.TraceID) != string(tid[:]) || string(e.SpanID) != string(sid[:]) {
					t.Errorf("exemplar %x/%x, want the merge span %s/%s", e.TraceID, e.SpanID, tid, sid)
				}
			}
			if len(dur[0].Exemplars) != 1 || len(merges[0].Exemplars) != 1 {
				t.Errorf("exemplars: duration %d, count %d; want 1 each", len(dur[0].Exemplars), len(merges[0].Exemplars))
			}

			spans := h.tel.Ended()
			if len(spans) != 1 || spans[0].Name != MergeSpanName {
				t.Fatalf("spans = %v", spans)
			}
			attrs := attribute.NewSet(spans[0].Attributes...)
			for k, v := range map[string]string{
				"vcs.repository.name": "ws", "vcs.ref.base.name": "main", "vcs.ref.head.name": "coder-1",
				"git.merge.result": string(tt.want),
			} {
				if got, _ := attrs.Value(attribute.Key(k)); got.AsString() != v {
					t.Errorf("span %s = %q, want %q", k, got.AsString(), v)
				}
			}
			wantStatus := codes.Unset
			if tt.err != nil {
				wantStatus = codes.Error
				if _, ok := attrs.Value("error.type"); !ok {
					t.Error("span lacks error.type")
				}
			}
			if spans[0].Status.Code != wantStatus {
				t.Errorf("span status = %v, want %v", spans[0].Status.Code, wantStatus)
			}
		})
	}
}

func TestLockWaitAndRecordHelpers(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx, span := h.tel.TracerProvider().Tracer("test").Start(t.Context(), "worker")
	w := h.m.StartLockWait(ctx)
	time.Sleep(2 * time.Millisecond)
	if d := w.End(); d < 2*time.Millisecond {
		t.Errorf("End returned %v", d)
	}
	h.m.RecordLockWait(ctx, 3*time.Second)
	h.m.RecordMerge(ctx, ResultConflict, 2*time.Second)
	h.m.RecordMerge(ctx, Result("bogus"), time.Second)
	span.End()

	got := h.collect(t)
	lw := got[LockWaitName].Data.(metricdata.Histogram[float64]).DataPoints[0]
	if lw.Count != 2 || lw.Sum < 3 {
		t.Errorf("lock wait = %+v", lw)
	}
	tid := span.SpanContext().TraceID()
	if len(lw.Exemplars) == 0 || string(lw.Exemplars[0].TraceID) != string(tid[:]) {
		t.Errorf("lock wait exemplars = %+v, want the worker span's trace", lw.Exemplars)
	}
	counts := map[attribute.Set]int64{}
	for _, dp := range got[MergeCountName].Data.(metricdata.Sum[int64]).DataPoints {
		counts[dp.Attributes] = dp.Value
	}
	if counts[resultSet(ResultConflict)] != 1 || counts[resultSet(ResultError)] != 1 || len(counts) != 2 {
		t.Errorf("merges = %v; an unknown result must count as error", counts)
	}
}

func TestZeroOpsDoNothing(t *testing.T) {
	t.Parallel()
	var op *MergeOp // a nil op, as a failed start would leave
	op.MarkConflict()
	op.End(errp(errors.New("x")))
	if (LockWaitOp{}).End() != 0 {
		t.Error("zero LockWaitOp measured something")
	}
}

func TestNewJoinsErrorsAndStaysUsable(t *testing.T) {
	t.Parallel()
	m, err := New(WithMeterProvider(otelobstest.FailingMeterProvider()), WithMeterProvider(nil))
	if !errors.Is(err, otelobstest.ErrInstrument) {
		t.Fatalf("err = %v", err)
	}
	for _, name := range []string{MergeDurationName, MergeCountName, ActiveMergesName, LockWaitName} {
		if !strings.Contains(err.Error(), "gitmetrics: create "+name+":") {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if m == nil {
		t.Fatal("nil Metrics with the error")
	}
	ctx, op := m.StartMerge(t.Context(), MergeInfo{})
	op.End(nil)
	m.StartLockWait(ctx).End()
	m.RecordMerge(ctx, ResultSuccess, time.Second)
}

// TestConcurrentMergesConcurrentSafe: 64 goroutines merging at once leave
// exact counts and no active merge.
func TestConcurrentMergesConcurrentSafe(t *testing.T) {
	t.Parallel()
	h := setup(t)
	const workers, each = 64, 50
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				_, op := h.m.StartMerge(context.Background(), MergeInfo{Head: fmt.Sprint("w", g)})
				switch (g + i) % 3 {
				case 0:
					op.End(nil)
				case 1:
					op.End(errp(ErrConflict))
				default:
					op.End(errp(errors.New("x")))
				}
			}
		})
	}
	wg.Wait()
	got := h.collect(t)
	var total int64
	for _, dp := range got[MergeCountName].Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	if total != workers*each {
		t.Errorf("merges = %d, want %d", total, workers*each)
	}
	if v := got[ActiveMergesName].Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 0 {
		t.Errorf("active = %d after all merges ended", v)
	}
	if n := len(h.tel.Ended()); n != workers*each {
		t.Errorf("spans = %d", n)
	}
}

// int64Exemplars converts counter exemplars for comparison with histogram ones.
func int64Exemplars(in []metricdata.Exemplar[int64]) []metricdata.Exemplar[float64] {
	out := make([]metricdata.Exemplar[float64], len(in))
	for i, e := range in {
		out[i] = metricdata.Exemplar[float64]{TraceID: e.TraceID, SpanID: e.SpanID, Value: float64(e.Value)}
	}
	return out
}

// TestNoCredentialInSpans: a failed merge's error that quotes a URL with a
// key (a real *url.Error) reaches the span without the key.
func TestNoCredentialInSpans(t *testing.T) {
	h := setup(t)
	err := urlError()
	if !strings.Contains(err.Error(), secretKey) {
		t.Fatalf("the error does not carry the key, so this test proves nothing: %v", err)
	}
	_, op := h.m.StartMerge(t.Context(), MergeInfo{Repository: "ws", Base: "main", Head: "b"})
	op.End(errp(err))
	spans := h.tel.Ended()
	if leaks := h.tel.SpansContaining(secretKey); len(leaks) > 0 || len(spans) != 1 || !strings.Contains(spans[0].Status.Description, "127.0.0.1:1") {
		t.Errorf("leaks %v in %+v", leaks, spans)
	}
}

// TestErrorTypeIsAClass: a wrapped error's error.type names its class, not
// *fmt.wrapError.
func TestErrorTypeIsAClass(t *testing.T) {
	h := setup(t)
	_, op := h.m.StartMerge(t.Context(), MergeInfo{Repository: "ws", Base: "main", Head: "b"})
	op.End(errp(fmt.Errorf("merging: %w", context.DeadlineExceeded)))
	spans := h.tel.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	attrs := attribute.NewSet(spans[0].Attributes...)
	if got, _ := attrs.Value("error.type"); got.AsString() != "timeout" {
		t.Errorf("error.type = %q, want timeout", got.AsString())
	}
}

// errp is a pointer to e, for End.
func errp(e error) *error { return &e }

// TestMergeOpRecordsTheFinalResultOnce: the misuses the value API let
// through record the right data now. A deferred End reads the error the
// function returns (a conflict, not success); a second End records nothing
// (the active gauge stays at 0); MarkConflict through a copy of the pointer
// is the op's own.
func TestMergeOpRecordsTheFinalResultOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	merge := func(ctx context.Context) (err error) {
		_, op := h.m.StartMerge(ctx, MergeInfo{Repository: "w", Base: "main", Head: "b"})
		defer op.End(&err)
		return fmt.Errorf("merge: %w", ErrConflict) // set after the defer line
	}
	_ = merge(t.Context())
	_, op := h.m.StartMerge(t.Context(), MergeInfo{})
	alias := op
	alias.MarkConflict()
	op.End(nil)
	op.End(errp(errors.New("again"))) // ignored
	got := h.collect(t)
	counts := map[attribute.Set]int64{}
	for _, dp := range got[MergeCountName].Data.(metricdata.Sum[int64]).DataPoints {
		counts[dp.Attributes] = dp.Value
	}
	if counts[resultSet(ResultConflict)] != 2 || len(counts) != 1 {
		t.Errorf("merges = %v, want 2 conflicts and nothing else", counts)
	}
	if v := got[ActiveMergesName].Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 0 {
		t.Errorf("active merges = %d after every merge ended, want 0", v)
	}
}

// secretKey is the key in urlError's URL.
const secretKey = "SECRETKEY123"

// urlError is the error Go's HTTP client returns for a request to a closed
// port whose URL carries an API key in its query, as Gemini, Vertex and many
// gateways take it (instr.TestScrubRealURLError makes the real request).
func urlError() error {
	return fmt.Errorf("calling the provider: %w", &url.Error{Op: "Get", URL: "http://127.0.0.1:1/v1/models?key=" + secretKey,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}})
}
