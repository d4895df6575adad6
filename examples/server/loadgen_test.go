package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/agentorchestrator/observability/examples/loadgen/loadgen"
	"github.com/agentorchestrator/observability/examples/server/internal/workspace"
)

func TestLoadgen(t *testing.T) {
	s := startApp(t, testEnv(t, nil))
	res, err := loadgen.Run(t.Context(), loadgen.Config{BaseURL: s.URL, Runs: 6, Rate: 20, Concurrency: 3,
		Workspace: filepath.Join(s.root, "load"), Poll: 10 * time.Millisecond})
	if err != nil || res.Started != 6 || res.ByState["completed"] != 6 || len(res.Errors) != 0 {
		t.Fatalf("loadgen = %v, %v", res, err)
	}
	if res.Throughput() <= 0 || res.Percentile(0.95) <= 0 || res.CostUSD <= 0 || len(res.Latency) != 6 {
		t.Errorf("summary: %s", res)
	}
	// A bad request is an error, not a hang.
	res, _ = loadgen.Run(t.Context(), loadgen.Config{BaseURL: s.URL, Runs: 1, Workspace: "/etc/nope"})
	if len(res.Errors) != 1 {
		t.Errorf("a rejected run gave %v", res)
	}
}

// TestDefaultRootAdmitsTheGuidesPath: the guide's curl uses
// /tmp/test-workspace, which the default workspace root must admit.
func TestDefaultRootAdmitsTheGuidesPath(t *testing.T) {
	c, err := loadConfig(nil, func(string) string { return "" }, func() uint64 { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	m, err := workspace.NewManager(c.workspaceRoot, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Resolve("/tmp/test-workspace"); err != nil {
		t.Errorf("the default root %s refuses the guide's workspace: %v", c.workspaceRoot, err)
	}
}
