package contract

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainPackagesImportOnlyTheAPI: gitmetrics, taskmetrics and llmmetrics
// must work with any SDK set-up, so they may not depend on the OTel SDK, on
// an exporter, or on the root otelobs package.
func TestDomainPackagesImportOnlyTheAPI(t *testing.T) {
	const module = "github.com/agentorchestrator/observability/"
	for _, pkg := range []string{"otelobs/gitmetrics", "otelobs/taskmetrics", "otelobs/llmmetrics"} {
		out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for dep := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
			if strings.HasPrefix(dep, "go.opentelemetry.io/otel/sdk") ||
				strings.HasPrefix(dep, "go.opentelemetry.io/otel/exporters") ||
				strings.HasPrefix(dep, "github.com/prometheus/") ||
				dep == module+"otelobs" {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// TestOwnServiceUsesThePublicAPI: the example of a user's own service, and
// its test, reach the module through its public packages only.
func TestOwnServiceUsesThePublicAPI(t *testing.T) {
	const module = "github.com/agentorchestrator/observability/"
	out, err := exec.Command("go", "list", "-test", "-f", `{{join .Imports "\n"}}`, module+"examples/ownservice").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	n := 0
	for imp := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(imp, module) {
			continue
		}
		n++
		if strings.Contains(imp, "/internal/") || strings.HasPrefix(imp, module+"internal") {
			t.Errorf("examples/ownservice imports %s", imp)
		}
	}
	if n < 4 {
		t.Errorf("found %d imports of the module, want the domain packages and otelobstest", n)
	}
}

// TestNoOTLPBuildLeavesOTLPOut: built with -tags otelobs_nootlp, otelobs
// links neither an OTLP exporter nor gRPC (6.7 MB of a binary).
func TestNoOTLPBuildLeavesOTLPOut(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "otelobs_nootlp", "github.com/agentorchestrator/observability/otelobs").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for dep := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(dep, "go.opentelemetry.io/otel/exporters/otlp") || strings.HasPrefix(dep, "google.golang.org/grpc") {
			t.Errorf("the otelobs_nootlp build depends on %s", dep)
		}
	}
}
