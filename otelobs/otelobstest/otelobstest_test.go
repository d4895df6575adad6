package otelobstest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/llmmetrics"
	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

// recorder is a TB that keeps the first failure instead of ending the test.
type recorder struct {
	failed   string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	if r.failed == "" {
		r.failed = fmt.Sprintf(format, args...)
	}
	panic(r)
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// failure runs f against a recorder and returns the failure it reported.
func failure(f func(tel *otelobstest.Telemetry)) (msg string) {
	r := &recorder{}
	tel := otelobstest.New(r)
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
		msg = r.failed
	}()
	f(tel)
	return ""
}

func TestLookups(t *testing.T) {
	tel := otelobstest.New(t)
	git, err := gitmetrics.New(gitmetrics.WithMeterProvider(tel.MeterProvider()), gitmetrics.WithTracerProvider(tel.TracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, op := git.StartMerge(t.Context(), gitmetrics.MergeInfo{Repository: "ws", Base: "main", Head: "coder-1"})
		err := fmt.Errorf("merge: %w", gitmetrics.ErrConflict)
		op.End(&err)
	}
	conflict := attribute.String("result", "conflict")
	if n := tel.Value(gitmetrics.MergeCountName, conflict); n != 2 {
		t.Errorf("merges = %v, want 2", n)
	}
	if n := tel.Value(gitmetrics.ActiveMergesName); n != 0 {
		t.Errorf("active = %v, want 0", n)
	}
	h := tel.Histogram(gitmetrics.MergeDurationName, conflict)
	if h.Count != 2 || len(h.BucketCounts) != len(h.Bounds)+1 {
		t.Errorf("histogram %+v", h)
	}
	spans := tel.Spans(gitmetrics.MergeSpanName)
	if len(spans) != 2 || spans[1].Attr("git.merge.result") != "conflict" || spans[1].Status != codes.Error {
		t.Fatalf("spans %+v", spans)
	}
	ex := tel.Exemplars(gitmetrics.MergeCountName, conflict)
	if len(ex) != 1 || ex[0].TraceID != spans[1].TraceID || ex[0].SpanID != spans[1].SpanID {
		t.Errorf("exemplars %+v: want the latest merge's span %s", ex, spans[1].SpanID)
	}
	if tel.Spans("nothing") != nil {
		t.Error("spans of a name never used")
	}
}

// TestFailuresSayWhatThereIs: a look-up that finds nothing fails the test
// and lists what there is.
func TestFailuresSayWhatThereIs(t *testing.T) {
	record := func(tel *otelobstest.Telemetry) {
		llm, _ := llmmetrics.New(llmmetrics.WithMeterProvider(tel.MeterProvider()), llmmetrics.WithTracerProvider(tel.TracerProvider()))
		llm.RecordCall(t.Context(), llmmetrics.Request{Provider: "openai", Model: "gpt-4o"}, llmmetrics.Usage{InputTokens: 3}, 0, nil)
	}
	for _, tc := range []struct {
		name string
		f    func(*otelobstest.Telemetry)
		want []string
	}{
		{"no instrument", func(tel *otelobstest.Telemetry) { record(tel); tel.Value("llm.request") },
			[]string{`no instrument "llm.request" has recorded anything`, "llm.requests"}},
		{"no series", func(tel *otelobstest.Telemetry) {
			record(tel)
			tel.Value(llmmetrics.RequestsName, llmmetrics.ModelKey.String("gpt-4"))
		},
			[]string{`llm.requests has no series {model="gpt-4"}`, `{model="gpt-4o",provider="openai"}`}},
		{"wrong kind", func(tel *otelobstest.Telemetry) { record(tel); tel.Value(llmmetrics.RequestDurationName) },
			[]string{"not a counter or a gauge: use Histogram"}},
		{"not one span", func(tel *otelobstest.Telemetry) { record(tel); tel.Span("chat gpt-4o") },
			[]string{`0 ended spans named "chat gpt-4o", want 1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := failure(tc.f)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("failure %q lacks %q", msg, w)
				}
			}
		})
	}
	if msg := failure(func(tel *otelobstest.Telemetry) {
		record(tel)
		tel.Value(llmmetrics.RequestsName, llmmetrics.ProviderKey.String("openai"), llmmetrics.ModelKey.String("gpt-4o"))
	}); msg != "" {
		t.Errorf("an exact look-up failed: %s", msg)
	}
}

// TestFailingProviderAndSpansContaining: a domain package on
// FailingMeterProvider reports every instrument and stays usable; a
// secret in an error reaches no span through the domain packages, and
// SpansContaining finds what a span does carry.
func TestFailingProviderAndSpansContaining(t *testing.T) {
	git, err := gitmetrics.New(gitmetrics.WithMeterProvider(otelobstest.FailingMeterProvider()))
	if !errors.Is(err, otelobstest.ErrInstrument) || git == nil || !strings.Contains(err.Error(), gitmetrics.MergeCountName) {
		t.Fatalf("New = %v, %v", git, err)
	}
	tel := otelobstest.New(t)
	git, _ = gitmetrics.New(gitmetrics.WithMeterProvider(tel.MeterProvider()), gitmetrics.WithTracerProvider(tel.TracerProvider()))
	_, op := git.StartMerge(t.Context(), gitmetrics.MergeInfo{Repository: "ws", Head: "token-branch"})
	err = errors.New(`Get "https://api.example/v1?key=SECRETKEY123": refused`)
	op.End(&err)
	if got := tel.SpansContaining("SECRETKEY123"); len(got) != 0 {
		t.Errorf("the key reached spans: %v", got)
	}
	if got := tel.SpansContaining("token-branch"); len(got) != 1 || !strings.Contains(got[0], "vcs.ref.head.name") {
		t.Errorf("SpansContaining(token-branch) = %v", got)
	}
}
