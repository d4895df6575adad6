//go:build e2e

package observability

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/agentorchestrator/observability/internal/backends"
)

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(backends.Bin(t, bin), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestAlertRules: the rules load, and their unit tests (each alert firing
// under its condition, silent otherwise, at its threshold and `for`) pass.
func TestAlertRules(t *testing.T) {
	run(t, "promtool", "check", "rules", "alerts.yml")
	out := run(t, "promtool", "test", "rules", "alerts_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

// TestAlertRulesNameKnownSeries: every series an alert queries is one the
// SDK produces (the pull golden of the contract tests), so a renamed
// instrument cannot silently disable an alert.
func TestAlertRulesNameKnownSeries(t *testing.T) {
	golden, err := os.ReadFile(backends.RepoPath("internal", "contract", "testdata", "pull-series.golden"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for line := range strings.SplitSeq(string(golden), "\n") {
		name, _, _ := strings.Cut(line, "{")
		known[name] = true
	}
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	expr := regexp.MustCompile(`(?m)^\s+expr: (.*)$`)
	ident := regexp.MustCompile(`\b([a-z][a-z0-9_]*_[a-z0-9_]+)\b\s*(\{|\[|>|\)|$)`)
	found := 0
	for _, m := range expr.FindAllStringSubmatch(string(rules), -1) {
		e := m[1]
		if strings.HasPrefix(e, "|") || strings.HasPrefix(e, ">") {
			t.Errorf("keep alert expressions on one line, so that this test reads them: %q", e)
			continue
		}
		for _, id := range ident.FindAllStringSubmatch(e, -1) {
			switch id[1] {
			case "histogram_quantile", "otel_metric_overflow":
				continue
			}
			found++
			if !known[id[1]] {
				t.Errorf("alert expression %q uses %s, which the SDK does not produce", e, id[1])
			}
		}
	}
	if found < 10 {
		t.Errorf("found only %d series names in the alert expressions", found)
	}
}

// TestCollectorConfigValidates: the shipped Collector configuration is valid
// for the Collector the project builds.
func TestCollectorConfigValidates(t *testing.T) {
	run(t, "otelcol", "validate", "--config=file:"+backends.RepoPath("collector", "otel-collector.yaml"))
}
