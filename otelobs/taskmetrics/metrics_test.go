package taskmetrics

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

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentorchestrator/observability/otelobs/internal/instr"
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
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sums returns an int64 sum's values by the value of one attribute key.
func sums(t *testing.T, m metricdata.Metrics, key attribute.Key) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T", m.Name, m.Data)
	}
	for _, dp := range s.DataPoints {
		v, _ := dp.Attributes.Value(key)
		out[v.String()] += dp.Value
	}
	return out
}

func (h *harness) states(t *testing.T) map[string]int64 {
	return sums(t, h.collect(t)[TaskStatesName], StateKey)
}

func set(kv ...attribute.KeyValue) attribute.Set { return attribute.NewSet(kv...) }

func TestInstruments(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	w := h.m.StartWorker(ctx, Coder)
	task := h.m.NewTask(ctx, TaskInfo{ID: "t1", Name: "write hello", RunID: "r1", Profile: Coder})
	if err := task.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	_, exec, err := task.Start(ctx, "coder-1")
	if err != nil {
		t.Fatal(err)
	}
	exec.End(nil)
	w.End()

	coder := ProfileKey.String("coder")
	success := StatusKey.String("success")
	stateDP := func(s State, v int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: set(StateKey.String(string(s))), Value: v}
	}
	want := []metricdata.Metrics{
		{Name: TaskStatesName, Description: taskStatesDesc, Unit: "{task}", Data: metricdata.Sum[int64]{
			Temporality: metricdata.CumulativeTemporality,
			DataPoints: []metricdata.DataPoint[int64]{
				stateDP(Planned, 0), stateDP(Ready, 0), stateDP(Active, 0), stateDP(Complete, 1),
			},
		}},
		{Name: ActiveTasksName, Description: activeTasksDesc, Unit: "{task}", Data: metricdata.Sum[int64]{
			Temporality: metricdata.CumulativeTemporality,
			DataPoints:  []metricdata.DataPoint[int64]{{Attributes: set(coder), Value: 0}},
		}},
		{Name: ActiveWorkersName, Description: activeWorkersDesc, Unit: "{worker}", Data: metricdata.Sum[int64]{
			Temporality: metricdata.CumulativeTemporality,
			DataPoints:  []metricdata.DataPoint[int64]{{Attributes: set(coder), Value: 0}},
		}},
		{Name: CompletionName, Description: completionDesc, Unit: "{task}", Data: metricdata.Sum[int64]{
			Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
			DataPoints: []metricdata.DataPoint[int64]{{Attributes: set(coder, success), Value: 1}},
		}},
		{Name: RetryCountName, Description: retryCountDesc, Unit: "{retry}", Data: metricdata.Histogram[int64]{
			Temporality: metricdata.CumulativeTemporality,
			DataPoints: []metricdata.HistogramDataPoint[int64]{{
				Attributes: set(coder), Count: 1, Sum: 0, Bounds: RetryCountBuckets,
				BucketCounts: []uint64{1, 0, 0, 0, 0, 0, 0},
				Min:          metricdata.NewExtrema[int64](0), Max: metricdata.NewExtrema[int64](0),
			}},
		}},
	}
	got := h.collect(t)
	for _, w := range want {
		metricdatatest.AssertEqual(t, w, got[w.Name], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	}
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: ExecutionDurationName, Description: executionDurationDesc, Unit: "s",
		Data: metricdata.Histogram[float64]{
			Temporality: metricdata.CumulativeTemporality,
			DataPoints: []metricdata.HistogramDataPoint[float64]{{
				Attributes: set(coder, success), Count: 1, Bounds: ExecutionDurationBuckets,
			}},
		},
	}, got[ExecutionDurationName], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars(), metricdatatest.IgnoreValue())
	if len(got) != len(want)+2 { // + the duration, + the folded counter
		t.Errorf("%d instruments, want %d", len(got), len(want)+2)
	}
}

// TestFoldedProfilesCounted: a worker profile outside the vocabulary is
// recorded as _OTHER and counted, for tasks and workers alike; _OTHER passed
// as such is no fold. The series is there at 0 before any fold.
func TestFoldedProfilesCounted(t *testing.T) {
	t.Parallel()
	h := setup(t)
	if got := sums(t, h.collect(t)[instr.FoldedName], "label"); got["worker_profile"] != 0 || len(got) != 1 {
		t.Errorf("before any fold: %v", got)
	}
	ctx := t.Context()
	h.m.NewTask(ctx, TaskInfo{ID: "t1", Profile: "reviewer"})
	h.m.StartWorker(ctx, "reviewer").End()
	h.m.NewTask(ctx, TaskInfo{ID: "t2", Profile: ProfileOther})
	h.m.NewTask(ctx, TaskInfo{ID: "t3", Profile: Coder})
	if got := sums(t, h.collect(t)[instr.FoldedName], "label"); got["worker_profile"] != 2 {
		t.Errorf("folded = %v, want 2", got)
	}
}

func TestStateFlow(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	check := func(step string, want map[string]int64) {
		t.Helper()
		got := h.states(t)
		for _, s := range states {
			if got[string(s)] != want[string(s)] {
				t.Errorf("after %s: task_states = %v, want %v", step, got, want)
				return
			}
		}
	}
	a := h.m.NewTask(ctx, TaskInfo{ID: "a", Profile: Planner})
	b := h.m.NewTask(ctx, TaskInfo{ID: "b", Profile: Tester})
	c := h.m.NewTask(ctx, TaskInfo{ID: "c", Profile: Coder})
	check("three planned", map[string]int64{"planned": 3})
	if a.State() != Planned {
		t.Errorf("State = %s", a.State())
	}
	_ = a.Ready(ctx)
	_ = b.Ready(ctx)
	check("two ready", map[string]int64{"planned": 1, "ready": 2})
	_, ea, _ := a.Start(ctx, "")
	_, eb, _ := b.Start(ctx, "")
	check("two active", map[string]int64{"planned": 1, "active": 2})
	if got := sums(t, h.collect(t)[ActiveTasksName], ProfileKey); got["planner"] != 1 || got["tester"] != 1 {
		t.Errorf("active_tasks = %v", got)
	}
	ea.End(nil)
	eb.End(errp(errors.New("tests fail")))
	if err := c.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	check("done", map[string]int64{"complete": 1, "failed": 2})
	if b.State() != Failed || c.State() != Failed || a.State() != Complete {
		t.Errorf("states %s %s %s", a.State(), b.State(), c.State())
	}
	completion := h.collect(t)[CompletionName].Data.(metricdata.Sum[int64]).DataPoints
	byKey := map[attribute.Set]int64{}
	for _, dp := range completion {
		byKey[dp.Attributes] = dp.Value
	}
	if byKey[set(ProfileKey.String("planner"), StatusKey.String("success"))] != 1 ||
		byKey[set(ProfileKey.String("tester"), StatusKey.String("failure"))] != 1 || len(byKey) != 2 {
		t.Errorf("task_completion = %v (a cancelled task is not an execution)", byKey)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	task := h.m.NewTask(ctx, TaskInfo{ID: "flaky", Profile: Coder})
	for range 2 {
		_, exec, err := task.Start(ctx, "w")
		if err != nil {
			t.Fatal(err)
		}
		exec.Retry(errors.New("merge conflict"))
		if task.State() != Ready {
			t.Fatalf("after Retry: %s", task.State())
		}
	}
	_, exec, _ := task.Start(ctx, "w")
	exec.End(nil)
	if task.Retries() != 2 {
		t.Errorf("Retries = %d", task.Retries())
	}
	got := h.collect(t)
	retry := got[RetryCountName].Data.(metricdata.Histogram[int64]).DataPoints
	if len(retry) != 1 || retry[0].Count != 1 || retry[0].Sum != 2 {
		t.Errorf("task.retry.count = %+v, want one task with 2 retries", retry)
	}
	dur := got[ExecutionDurationName].Data.(metricdata.Histogram[float64]).DataPoints
	var attempts uint64
	for _, dp := range dur {
		attempts += dp.Count
	}
	if attempts != 3 {
		t.Errorf("execution durations = %d, want 3 attempts", attempts)
	}
	if s := sums(t, got[CompletionName], StatusKey); s["failure"] != 2 || s["success"] != 1 {
		t.Errorf("completions = %v", s)
	}
	spans := h.tel.Ended()
	if len(spans) != 3 {
		t.Fatalf("spans = %d", len(spans))
	}
	last := attribute.NewSet(spans[2].Attributes...)
	if v, _ := last.Value("task.attempt"); v.AsInt64() != 3 {
		t.Errorf("third span task.attempt = %v", v.AsInt64())
	}
	if spans[0].Status.Code != codes.Error || spans[2].Status.Code != codes.Unset {
		t.Errorf("span statuses %v, %v", spans[0].Status.Code, spans[2].Status.Code)
	}
}

func TestInvalidTransitionsRecordNothing(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	task := h.m.NewTask(ctx, TaskInfo{ID: "t", Profile: Coder})
	_ = task.Ready(ctx)
	if err := task.Ready(ctx); !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), `ready → ready (task "t")`) {
		t.Errorf("second Ready = %v", err)
	}
	_, exec, _ := task.Start(ctx, "")
	if _, _, err := task.Start(ctx, ""); !errors.Is(err, ErrTransition) {
		t.Errorf("Start while active = %v", err)
	}
	if err := task.Cancel(ctx); !errors.Is(err, ErrTransition) {
		t.Errorf("Cancel while active = %v", err)
	}
	exec.Retry(nil) // back to ready; a nil error still counts as a failed attempt
	_, exec2, _ := task.Start(ctx, "")
	exec.End(nil) // stale op of the first attempt: ignored
	if task.State() != Active {
		t.Fatalf("a stale ExecOp ended the current attempt: %s", task.State())
	}
	exec2.End(nil)
	exec2.End(errp(errors.New("again"))) // second End: ignored
	var zero ExecOp
	zero.End(nil)
	zero.Retry(nil)

	if got := h.states(t); got["complete"] != 1 || got["failed"] != 0 || got["active"] != 0 || got["ready"] != 0 {
		t.Errorf("task_states = %v", got)
	}
	if s := sums(t, h.collect(t)[CompletionName], StatusKey); s["success"] != 1 || s["failure"] != 1 {
		t.Errorf("completions = %v", s)
	}
}

func TestProfilesAreBounded(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	for i := range 50 {
		p := Profile(fmt.Sprint("profile-", i))
		h.m.StartWorker(ctx, p)
		task := h.m.NewTask(ctx, TaskInfo{ID: "x", Profile: p})
		if task.Info().Profile != ProfileOther {
			t.Fatalf("profile %q kept", p)
		}
		_, e, _ := task.Start(ctx, "")
		e.End(nil)
	}
	got := sums(t, h.collect(t)[ActiveWorkersName], ProfileKey)
	if len(got) != 1 || got["_OTHER"] != 50 {
		t.Errorf("active_workers = %v, want one _OTHER series", got)
	}
	if Profile("coder").Normalize() != Coder || Profile("Coder").Normalize() != ProfileOther {
		t.Error("Normalize")
	}
}

func TestWorkers(t *testing.T) {
	t.Parallel()
	h := setup(t)
	w1 := h.m.StartWorker(t.Context(), Planner)
	w2 := h.m.StartWorker(t.Context(), Planner)
	h.m.StartWorker(t.Context(), Tester)
	w1.End()
	w1.End() // twice: counted once
	if got := sums(t, h.collect(t)[ActiveWorkersName], ProfileKey); got["planner"] != 1 || got["tester"] != 1 {
		t.Errorf("active_workers = %v", got)
	}
	w2.End()
	(*WorkerOp)(nil).End()
}

func TestExemplarsAndSpan(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.m.NewTask(t.Context(), TaskInfo{ID: "t9", Name: "tests", RunID: "run-1", Profile: Tester})
	ctx, exec, _ := task.Start(t.Context(), "tester-2")
	sc := trace.SpanContextFromContext(ctx)
	exec.End(errp(errors.New("3 tests failed")))

	tid := sc.TraceID()
	got := h.collect(t)
	dur := got[ExecutionDurationName].Data.(metricdata.Histogram[float64]).DataPoints[0]
	comp := got[CompletionName].Data.(metricdata.Sum[int64]).DataPoints[0]
	retry := got[RetryCountName].Data.(metricdata.Histogram[int64]).DataPoints[0]
	for name, ex := range map[string][][]byte{
		"duration":   {dur.Exemplars[0].TraceID},
		"completion": {comp.Exemplars[0].TraceID},
		"retry":      {retry.Exemplars[0].TraceID},
	} {
		if string(ex[0]) != string(tid[:]) {
			t.Errorf("%s exemplar trace %x, want %s", name, ex[0], tid)
		}
	}
	spans := h.tel.Ended()
	if len(spans) != 1 || spans[0].Name != TaskSpanName {
		t.Fatalf("spans = %v", spans)
	}
	attrs := attribute.NewSet(spans[0].Attributes...)
	for k, v := range map[string]string{
		"cicd.pipeline.task.run.id": "t9", "cicd.pipeline.task.name": "tests", "cicd.pipeline.run.id": "run-1",
		"cicd.worker.id": "tester-2", "worker_profile": "tester", "cicd.pipeline.task.run.result": "failure",
	} {
		if got, _ := attrs.Value(attribute.Key(k)); got.String() != v {
			t.Errorf("span %s = %q, want %q", k, got.String(), v)
		}
	}
	if spans[0].Status.Code != codes.Error {
		t.Error("failed task span has no error status")
	}
}

// TestConcurrentTasksConcurrentSafe: 64 goroutines move tasks through their
// states while each transition is also attempted by a rival goroutine; the
// gauges end exact and never go negative.
func TestConcurrentTasksConcurrentSafe(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := context.Background()
	const goroutines, each = 64, 20
	stop := make(chan struct{})
	negative := make(chan string, 1)
	go func() { // a collector watching for negative counts meanwhile
		for {
			select {
			case <-stop:
				return
			default:
			}
			rm := h.tel.Collect()
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if s, ok := m.Data.(metricdata.Sum[int64]); ok {
						for _, dp := range s.DataPoints {
							if dp.Value < 0 {
								select {
								case negative <- fmt.Sprintf("%s %v = %d", m.Name, dp.Attributes.ToSlice(), dp.Value):
								default:
								}
							}
						}
					}
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			profile := builtinProfiles[g%3]
			w := h.m.StartWorker(ctx, profile)
			defer w.End()
			for i := range each {
				task := h.m.NewTask(ctx, TaskInfo{ID: fmt.Sprint(g, "-", i), Profile: profile})
				// Ready races a second Ready and a Start: whatever wins, the
				// task is counted once and never below zero.
				var rivals sync.WaitGroup
				rivals.Go(func() { _ = task.Ready(ctx) })
				rivals.Go(func() { _ = task.Ready(ctx) })
				_, exec, err := task.Start(ctx, "")
				rivals.Wait()
				if err != nil {
					t.Error(err)
					return
				}
				if i%4 == 0 {
					exec.Retry(errors.New("flaky"))
					_, exec, _ = task.Start(ctx, "")
				}
				var err2 error
				if i%5 == 0 {
					err2 = errors.New("failed")
				}
				rivals.Go(func() { exec.End(errp(err2)) })
				exec.End(errp(err2))
				rivals.Wait()
			}
		})
	}
	wg.Wait()
	close(stop)
	select {
	case msg := <-negative:
		t.Errorf("a gauge went negative: %s", msg)
	default:
	}
	total := int64(goroutines * each)
	failed := int64(goroutines * 4) // i%5 == 0 for 4 of every 20
	got := h.states(t)
	if got["complete"] != total-failed || got["failed"] != failed || got["planned"]+got["ready"]+got["active"] != 0 {
		t.Errorf("task_states = %v, want complete %d failed %d", got, total-failed, failed)
	}
	all := h.collect(t)
	for _, name := range []string{ActiveTasksName, ActiveWorkersName} {
		for p, v := range sums(t, all[name], ProfileKey) {
			if v != 0 {
				t.Errorf("%s{%s} = %d at the end", name, p, v)
			}
		}
	}
	var retried int64
	for _, dp := range all[RetryCountName].Data.(metricdata.Histogram[int64]).DataPoints {
		retried += dp.Sum
	}
	if retried != goroutines*5 {
		t.Errorf("retries = %d, want %d", retried, goroutines*5)
	}
}

func TestNewJoinsErrorsAndStaysUsable(t *testing.T) {
	t.Parallel()
	m, err := New(WithMeterProvider(otelobstest.FailingMeterProvider()))
	if !errors.Is(err, otelobstest.ErrInstrument) || m == nil {
		t.Fatalf("New = %v, %v", m, err)
	}
	for _, name := range []string{TaskStatesName, ActiveTasksName, ActiveWorkersName, ExecutionDurationName, CompletionName, RetryCountName} {
		if !strings.Contains(err.Error(), "taskmetrics: create "+name+":") {
			t.Errorf("error does not name %s", name)
		}
	}
	task := m.NewTask(t.Context(), TaskInfo{ID: "x"})
	_, exec, err := task.Start(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	exec.End(nil)
	m.StartWorker(t.Context(), Coder).End()
}

// TestNoCredentialInSpans: a failed task's error that quotes a URL with a
// key (a real *url.Error) reaches the span without the key.
func TestNoCredentialInSpans(t *testing.T) {
	h := setup(t)
	err := urlError()
	if !strings.Contains(err.Error(), secretKey) {
		t.Fatalf("the error does not carry the key, so this test proves nothing: %v", err)
	}
	task := h.m.NewTask(t.Context(), TaskInfo{ID: "t1", Name: "n", RunID: "r1", Profile: Coder})
	if err := task.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, exec, serr := task.Start(t.Context(), "w")
	if serr != nil {
		t.Fatal(serr)
	}
	exec.End(errp(err))
	spans := h.tel.Ended()
	if leaks := h.tel.SpansContaining(secretKey); len(leaks) > 0 || len(spans) != 1 || !strings.Contains(spans[0].Status.Description, "127.0.0.1:1") {
		t.Errorf("leaks %v in %+v", leaks, spans)
	}
}

// TestErrorTypeIsAClass: a wrapped error's error.type names its class, not
// *fmt.wrapError.
func TestErrorTypeIsAClass(t *testing.T) {
	h := setup(t)
	task := h.m.NewTask(t.Context(), TaskInfo{ID: "t1", Name: "n", RunID: "r1", Profile: Coder})
	if err := task.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, exec, err := task.Start(t.Context(), "w")
	if err != nil {
		t.Fatal(err)
	}
	exec.End(errp(fmt.Errorf("task: %w", context.Canceled)))
	spans := h.tel.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	attrs := attribute.NewSet(spans[0].Attributes...)
	if got, _ := attrs.Value("error.type"); got.AsString() != "canceled" {
		t.Errorf("error.type = %q, want canceled", got.AsString())
	}
}

// errp is a pointer to e, for End.
func errp(e error) *error { return &e }

// TestWithProfiles: added profiles are recorded as themselves, on every
// instrument and span; values outside the vocabulary still fold into
// _OTHER (and are counted); bad or excess profiles are reported and left
// out, and the rest is used.
func TestWithProfiles(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewInMemoryExporter()
	extra := []Profile{"reviewer", "researcher", "Bad Name", ProfileOther, Coder}
	for i := range MaxProfiles {
		extra = append(extra, Profile(fmt.Sprintf("role%d", i)))
	}
	m, err := New(WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))), WithProfiles(extra...))
	for _, want := range []string{`"Bad Name"`, `"_OTHER"`, `"role30": more than MaxProfiles`, `"role31"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v does not name %s", err, want)
		}
	}
	if m.Profile("reviewer") != "reviewer" || m.Profile("role29") != "role29" || m.Profile("role30") != ProfileOther || m.Profile("auditor") != ProfileOther {
		t.Errorf("vocabulary: reviewer→%s role29→%s role30→%s auditor→%s", m.Profile("reviewer"), m.Profile("role29"), m.Profile("role30"), m.Profile("auditor"))
	}
	ctx := t.Context()
	w := m.StartWorker(ctx, "reviewer")
	task := m.NewTask(ctx, TaskInfo{ID: "t1", Profile: "reviewer"})
	_ = task.Ready(ctx)
	_, exec, err := task.Start(ctx, "reviewer-1")
	if err != nil {
		t.Fatal(err)
	}
	exec.End(nil)
	w.End()
	m.NewTask(ctx, TaskInfo{ID: "t2", Profile: "auditor"})
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Metrics{}
	for _, mt := range rm.ScopeMetrics[0].Metrics {
		got[mt.Name] = mt
	}
	if c := sums(t, got[CompletionName], ProfileKey); c["reviewer"] != 1 || len(c) != 1 {
		t.Errorf("completions by profile %v, want one reviewer", c)
	}
	if f := sums(t, got[instr.FoldedName], "label"); f["worker_profile"] != 1 {
		t.Errorf("folded %v, want the auditor task", f)
	}
	if task.Info().Profile != "reviewer" {
		t.Errorf("Info().Profile = %q", task.Info().Profile)
	}
	var onSpan string
	for _, a := range spans.GetSpans()[0].Attributes {
		if a.Key == profileSpanKey {
			onSpan = a.Value.AsString()
		}
	}
	if onSpan != "reviewer" {
		t.Errorf("span worker profile %q", onSpan)
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
