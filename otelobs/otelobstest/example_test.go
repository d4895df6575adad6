package otelobstest_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
	"github.com/agentorchestrator/observability/otelobs/otelobstest"
)

// mergeBranch stands for the code under test.
func mergeBranch(ctx context.Context, git *gitmetrics.Metrics, branch string) (err error) {
	_, op := git.StartMerge(ctx, gitmetrics.MergeInfo{Repository: "ws", Base: "main", Head: branch})
	defer op.End(&err)
	return fmt.Errorf("merge %s: %w", branch, gitmetrics.ErrConflict)
}

// printer stands for the *testing.T a test passes to New.
type printer struct{}

func (printer) Helper()                      {}
func (printer) Fatalf(f string, args ...any) { fmt.Printf(f+"\n", args...) }
func (printer) Cleanup(func())               {}

// In a test, pass t to New; here a printer stands in for it.
func Example() {
	tel := otelobstest.New(printer{}) // otelobstest.New(t)
	git, _ := gitmetrics.New(gitmetrics.WithMeterProvider(tel.MeterProvider()),
		gitmetrics.WithTracerProvider(tel.TracerProvider()))

	_ = mergeBranch(context.Background(), git, "coder-1")

	conflict := attribute.String("result", "conflict")
	fmt.Println("conflicts:", tel.Value("git.merge", conflict))
	span := tel.Span("git.merge")
	fmt.Println("span result:", span.Attr("git.merge.result"))
	ex := tel.Exemplars("git.merge.duration", conflict)
	fmt.Println("exemplar leads to the span:", len(ex) == 1 && ex[0].SpanID == span.SpanID)
	tel.Value("git.merge", attribute.String("result", "success"))
	// Output:
	// conflicts: 1
	// span result: conflict
	// exemplar leads to the span: true
	// otelobstest: git.merge has no series {result="success"}; it has: {result="conflict"}
}
