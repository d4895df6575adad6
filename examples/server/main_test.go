package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentorchestrator/observability/examples/server/internal/orchestrator"
	"github.com/agentorchestrator/observability/otelobs"
)

// testEnv is a fast, seeded configuration with its workspace root in a
// temporary directory.
func testEnv(t *testing.T, extra map[string]string) func(string) string {
	t.Helper()
	env := map[string]string{
		"ORCH_WORKSPACE_ROOT":      t.TempDir(),
		"ORCH_SEED":                "7",
		"ORCH_SIM_LATENCY_SCALE":   "0",
		"ORCH_SIM_RATE_LIMIT_RATE": "0",
		"ORCH_SIM_ERROR_RATE":      "0",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

type testServer struct {
	*httptest.Server
	app   *app
	spans *tracetest.InMemoryExporter
	root  string
}

func startApp(t *testing.T, env func(string) string) *testServer {
	t.Helper()
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	c, err := loadConfig(nil, env, func() uint64 { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewInMemoryExporter()
	a, err := newApp(t.Context(), c, otelobs.WithoutGlobals(), otelobs.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(spans)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.orch.Shutdown(ctx); err != nil {
			t.Errorf("orchestrator shutdown: %v", err)
		}
		_ = a.tel.Shutdown(ctx)
	})
	return &testServer{Server: srv, app: a, spans: spans, root: c.workspaceRoot}
}

func guideBody(workspace, provider, model string) string {
	return fmt.Sprintf(`{
    "objective": "Create a simple hello world function",
    "workspace_path": %q,
    "orch_config": {
      "director_model": {"provider": %q, "model_name": %q},
      "worker_model": {"provider": %q, "model_name": %q}
    }
  }`, workspace, provider, model, provider, model)
}

func (s *testServer) post(t *testing.T, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/runs", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// wait polls a run until it is in a final state.
func (s *testServer) wait(t *testing.T, id string) orchestrator.View {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/runs/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var v orchestrator.View
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch v.State {
		case orchestrator.StateCompleted, orchestrator.StateFailed, orchestrator.StateBudgetExceeded, orchestrator.StateCanceled:
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after 60 s: %+v", id, v.State, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *testServer) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestGuideRun: the guide's body starts a run that plans, writes, merges with
// real git and completes, with no API key.
func TestGuideRun(t *testing.T) {
	s := startApp(t, testEnv(t, nil))
	ws := filepath.Join(s.root, "test-workspace")
	code, body := s.post(t, guideBody(ws, "openai", "gpt-4"), nil)
	if code != http.StatusAccepted || body["run_id"] == nil || body["simulated"] != true {
		t.Fatalf("POST /runs = %d %v", code, body)
	}
	v := s.wait(t, body["run_id"].(string))
	if v.State != orchestrator.StateCompleted {
		t.Fatalf("run ended %s: %s\n%+v", v.State, v.Error, v.Tasks)
	}
	if len(v.Tasks) != 4 || v.Merges["success"]+v.Merges["conflict"] < 4 || v.Tokens.Input == 0 || v.Tokens.Output == 0 ||
		v.CostUSD <= 0 || v.UnpricedCalls != 0 || v.TraceID == "" {
		t.Errorf("run view lacks work: %+v", v)
	}
	for _, task := range v.Tasks {
		if task.State != "complete" {
			t.Errorf("task %s is %s", task.ID, task.State)
		}
	}
	// The files are on the base branch of a real repository.
	for _, f := range []string{"PLAN.md", "src/main.go", "src/main_test.go"} {
		out, err := exec(t, ws, "git", "show", "main:"+f)
		if err != nil || !strings.Contains(out, "//") && f != "PLAN.md" {
			t.Errorf("git show main:%s = %v %q", f, err, out)
		}
	}
	for path, want := range map[string]string{"/healthz": `"ok"`, "/runs": v.ID} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %s, want %s in it", path, resp.StatusCode, b, want)
		}
	}
	m := s.metrics(t)
	for _, want := range []string{
		`git_merge_total{result="success"}`, `task_states{state="complete"} 4`,
		`llm_requests_total{model="gpt-4",provider="openai"}`, `llm_cost_dollars_total{model="gpt-4",provider="openai"}`,
		`active_workers{worker_profile="coder"} 2`, `agentorch_runs_total{state="completed"} 1`,
		`task_execution_duration_seconds_count{status="success",worker_profile="tester"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// One trace: the run, its tasks, merges and LLM calls.
	names := map[string]int{}
	purposes := map[string]int{} // of the LLM calls, all chats
	for _, sp := range s.spans.GetSpans() {
		if sp.SpanContext.TraceID().String() == v.TraceID {
			names[sp.Name]++
			for _, a := range sp.Attributes {
				if a.Key == orchestrator.PurposeKey {
					purposes[a.Value.AsString()]++
				}
			}
		}
	}
	if names["run"] != 1 || names["task.execute"] < 4 || names["git.merge"] < 4 || names["chat gpt-4"] < 5 {
		t.Errorf("spans of the run's trace: %v", names)
	}
	// Each worker's LLM-driven step is an agent step named after its
	// profile, and each file it writes a tool run.
	agents := names["invoke_agent planner"] + names["invoke_agent coder"] + names["invoke_agent tester"]
	if agents < names["task.execute"] || names["execute_tool write_file"] < agents {
		t.Errorf("agent steps %d and tool runs %d for %d task attempts: %v", agents, names["execute_tool write_file"], names["task.execute"], names)
	}
	if purposes["plan"] != 1 || purposes["code"] < 4 || purposes["plan"]+purposes["code"]+purposes["resolve"] != names["chat gpt-4"] {
		t.Errorf("purposes of the LLM calls %v, want one plan, a code per task, one per chat span (%d)", purposes, names["chat gpt-4"])
	}
}

func exec(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := osexec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestTraceparentIsContinued(t *testing.T) {
	s := startApp(t, testEnv(t, nil))
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	code, body := s.post(t, guideBody(filepath.Join(s.root, "tp"), "simulated", "sim-small"),
		http.Header{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}})
	if code != http.StatusAccepted || body["trace_id"] != traceID {
		t.Fatalf("POST = %d %v, want trace %s", code, body, traceID)
	}
	s.wait(t, body["run_id"].(string))
}

func TestBadInput(t *testing.T) {
	s := startApp(t, testEnv(t, nil))
	ws := filepath.Join(s.root, "ok")
	big := `{"objective": "` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name, body, ctype string
		status            int
		field             string
	}{
		{"malformed JSON", `{"objective": "x",`, "application/json", 400, "body"},
		{"not an object", `["objective"]`, "application/json", 400, ""},
		{"two values", `{"objective":"x"} {}`, "application/json", 400, "body"},
		{"missing objective", `{"workspace_path": "` + ws + `"}`, "application/json", 400, "objective"},
		{"empty objective", `{"objective": "  "}`, "application/json", 400, "objective"},
		{"objective too long", `{"objective": "` + strings.Repeat("y", 9000) + `"}`, "application/json", 400, "objective"},
		{"objective not a string", `{"objective": 42}`, "application/json", 400, "objective"},
		{"unknown field", `{"objective": "x", "priority": 1}`, "application/json", 400, "priority"},
		{"unknown provider", `{"objective": "x", "orch_config": {"director_model": {"provider": "skynet", "model_name": "t-800"}}}`,
			"application/json", 400, "orch_config.director_model.provider"},
		{"bad model name", `{"objective": "x", "orch_config": {"worker_model": {"provider": "openai", "model_name": "gpt 4; rm -rf"}}}`,
			"application/json", 400, "orch_config.worker_model.model_name"},
		{"oversize body", big, "application/json", 413, "body"},
		{"outside the root", `{"objective": "x", "workspace_path": "/etc/orchestrator"}`, "application/json", 400, "workspace_path"},
		{"traversal", `{"objective": "x", "workspace_path": "` + s.root + `/../escape"}`, "application/json", 400, "workspace_path"},
		{"relative path", `{"objective": "x", "workspace_path": "ws"}`, "application/json", 400, "workspace_path"},
		{"the root itself", `{"objective": "x", "workspace_path": "` + s.root + `"}`, "application/json", 400, "workspace_path"},
		{"wrong content type", `objective=x`, "application/x-www-form-urlencoded", 415, "Content-Type"},
		// A page of any origin can POST a body without a Content-Type (or
		// text/plain) and no preflight: JSON is required.
		{"no content type", `{"objective": "x"}`, "", 415, "Content-Type"},
		{"text/plain", `{"objective": "x"}`, "text/plain", 415, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e := s.postError(t, tt.body, tt.ctype)
			if status != tt.status || (tt.field != "" && e.Field != tt.field) || e.Message == "" {
				t.Errorf("= %d %+v, want %d naming %q", status, e, tt.status, tt.field)
			}
		})
	}
	for _, path := range []string{"/runs/0123456789abcdef", "/runs/not-an-id"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 400 {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	// Nothing was started, and what was recorded is intact.
	if m := s.metrics(t); strings.Contains(m, "agentorch_runs_total") || !strings.Contains(m, "http_server_request_duration_seconds") {
		t.Errorf("bad requests started runs, or the request metrics are gone")
	}
}

// apiError is the error object of an error response.
type apiError struct{ Field, Message string }

// postError posts body to /runs with Content-Type ctype (none when "") and
// returns the status and the error object of the response.
func (s *testServer) postError(t *testing.T, body, ctype string) (int, apiError) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/runs", strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error apiError }
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("error body is not JSON: %v", err)
	}
	return resp.StatusCode, e.Error
}

// TestBadWorkspacePaths: a workspace_path the run would refuse is a 400
// naming the field and saying why, before any run starts, and what is at
// the path is left as it was.
func TestBadWorkspacePaths(t *testing.T) {
	s := startApp(t, testEnv(t, nil))
	ok := filepath.Join(s.root, "ok")
	// A repository the server did not create, with a branch checked out.
	theirs := filepath.Join(s.root, "theirs")
	for _, args := range [][]string{{"init", "-q", theirs}, {"-C", theirs, "commit", "-q", "--allow-empty", "-m", "theirs"},
		{"-C", theirs, "checkout", "-q", "-b", "feature"}} {
		if out, err := exec(t, s.root, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@localhost"}, args...)...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	refs := func() string {
		out, _ := exec(t, theirs, "git", "for-each-ref", "--format=%(refname) %(objectname)")
		cfg, _ := os.ReadFile(filepath.Join(theirs, ".git", "config"))
		return out + string(cfg)
	}
	before := refs()
	busy := filepath.Join(s.root, "busy")
	if err := os.MkdirAll(busy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(busy, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"NUL", ok + "\x00.txt", "control character U+0000"},
		{"newline", ok + "\nsecond", "control character U+000A"},
		{"terminal escape", ok + "\x1b[31m", "control character U+001B"},
		{"a repository the server did not create", theirs, "is a git repository the server did not create"},
		{"a directory with files", busy, "is not empty and is not a git repository"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"objective": "x", "workspace_path": tt.path})
			status, e := s.postError(t, string(body), "application/json")
			if status != http.StatusBadRequest || e.Field != "workspace_path" || !strings.Contains(e.Message, tt.want) {
				t.Errorf("= %d %+v, want 400 naming workspace_path, saying %q", status, e, tt.want)
			}
		})
	}
	if after := refs(); after != before {
		t.Errorf("their repository changed:\n%s\nwas:\n%s", after, before)
	}
	if m := s.metrics(t); strings.Contains(m, "agentorch_runs_total") {
		t.Errorf("bad workspace paths started runs")
	}
}

// TestConcurrentRuns: many runs at once in one workspace, with conflicts,
// retries and simulated 429s and 503s, all finish and are counted exactly.
func TestConcurrentRuns(t *testing.T) {
	s := startApp(t, testEnv(t, map[string]string{
		"ORCH_SIM_RATE_LIMIT_RATE": "0.1", "ORCH_SIM_ERROR_RATE": "0.05", "ORCH_SIM_CONFLICT_RATE": "1",
		// Calls that take a little time, so that both coders of a plan branch
		// before either merges (an instant LLM can serialise them).
		"ORCH_SIM_LATENCY_SCALE": "0.05",
		"ORCH_WORKERS":           "planner=2,coder=3,tester=2", "ORCH_TOTAL_BUDGET_USD": "0",
	}))
	const runs = 8
	ws := filepath.Join(s.root, "shared")
	var wg sync.WaitGroup
	views := make([]orchestrator.View, runs)
	for i := range runs {
		wg.Go(func() {
			code, body := s.post(t, guideBody(ws, "anthropic", "claude-sonnet-4-5"), nil)
			if code != http.StatusAccepted {
				t.Errorf("POST = %d %v", code, body)
				return
			}
			views[i] = s.wait(t, body["run_id"].(string))
		})
	}
	wg.Wait()
	var tasks, conflicts int
	for _, v := range views {
		if v.State != orchestrator.StateCompleted && v.State != orchestrator.StateFailed {
			t.Errorf("run %s ended %s: %s", v.ID, v.State, v.Error)
		}
		tasks += len(v.Tasks)
		conflicts += v.Merges["conflict"]
	}
	if conflicts == 0 {
		t.Error("no merge conflict with every plan sharing a file")
	}
	m := s.metrics(t)
	if !strings.Contains(m, `agentorch_runs_total{state="completed"}`) && !strings.Contains(m, `agentorch_runs_total{state="failed"}`) {
		t.Errorf("no finished runs counted")
	}
	var complete, failed int
	for line := range strings.SplitSeq(m, "\n") {
		fmt.Sscanf(line, `task_states{state="complete"} %d`, &complete)
		fmt.Sscanf(line, `task_states{state="failed"} %d`, &failed)
	}
	if complete+failed != tasks {
		t.Errorf("task_states complete %d + failed %d != %d tasks", complete, failed, tasks)
	}
	if !strings.Contains(m, `task_states{state="active"} 0`) || !strings.Contains(m, `git_active_merges 0`) {
		t.Errorf("gauges not back to 0:\n%s", grep(m, "task_states|git_active_merges|active_tasks"))
	}
}

func grep(s, pattern string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		for p := range strings.SplitSeq(pattern, "|") {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestRunBudget(t *testing.T) {
	// The plan fits in $0.10; the first coder call's worst case does not.
	s := startApp(t, testEnv(t, map[string]string{"ORCH_RUN_BUDGET_USD": "0.10"}))
	_, body := s.post(t, guideBody(filepath.Join(s.root, "budget"), "openai", "gpt-4"), nil)
	v := s.wait(t, body["run_id"].(string))
	if v.State != orchestrator.StateBudgetExceeded || !strings.Contains(v.Error, "budget") || v.CostUSD <= 0 || v.CostUSD > 0.10 {
		t.Fatalf("run = %s %q cost %v, want budget_exceeded after spending under $0.10", v.State, v.Error, v.CostUSD)
	}
	stopped := 0
	for _, task := range v.Tasks {
		if task.State == "failed" && strings.Contains(task.Error, "budget") {
			stopped++
		}
	}
	if stopped == 0 {
		t.Errorf("no task stopped by the budget: %+v", v.Tasks)
	}
	m := s.metrics(t)
	if !strings.Contains(m, `agentorch_runs_total{state="budget_exceeded"} 1`) {
		t.Errorf("budget stop not in metrics:\n%s", grep(m, "agentorch_runs_total"))
	}
	// The budget as gauges, for spent against the cap on a dashboard.
	for _, want := range []string{
		`agentorch_budget_limit_dollars{scope="run"} 0.1`, `agentorch_budget_limit_dollars{scope="total"} 100`,
		`agentorch_budget_spent_dollars{scope="run"} 0`, fmt.Sprintf(`agentorch_budget_spent_dollars{scope="total"} %g`, v.CostUSD),
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "agentorch_budget"))
		}
	}
}

// TestUnpricedModelUnderABudget: while a budget is set, a model with no
// price is refused up front, naming its field; without budgets it runs.
func TestUnpricedModelUnderABudget(t *testing.T) {
	s := startApp(t, testEnv(t, nil))
	ws := filepath.Join(s.root, "unpriced")
	for field, body := range map[string]string{
		"orch_config.director_model.model_name": guideBody(ws, "openai", "gpt-unreleased"),
		"orch_config.worker_model.model_name": `{"objective": "x", "workspace_path": "` + ws + `",
			"orch_config": {"worker_model": {"provider": "openai", "model_name": "gpt-unreleased"}}}`,
	} {
		code, resp := s.post(t, body, nil)
		e, _ := resp["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != http.StatusBadRequest || e["field"] != field ||
			!strings.Contains(msg, "no price") || !strings.Contains(msg, "OTELOBS_LLM_PRICES_FILE") {
			t.Errorf("POST = %d %v, want 400 naming %s", code, resp, field)
		}
	}
	if m := s.metrics(t); strings.Contains(m, "agentorch_runs_total") {
		t.Error("a refused run was counted")
	}
	free := startApp(t, testEnv(t, map[string]string{"ORCH_RUN_BUDGET_USD": "0", "ORCH_TOTAL_BUDGET_USD": "0"}))
	code, body := free.post(t, guideBody(filepath.Join(free.root, "unpriced"), "openai", "gpt-unreleased"), nil)
	if code != http.StatusAccepted {
		t.Fatalf("without budgets: POST = %d %v", code, body)
	}
	if v := free.wait(t, body["run_id"].(string)); v.State != orchestrator.StateCompleted || v.UnpricedCalls == 0 || v.CostUSD != 0 {
		t.Errorf("without budgets: %s, %d unpriced calls, $%v", v.State, v.UnpricedCalls, v.CostUSD)
	}
}

func TestShutdownCancelsRunningTasks(t *testing.T) {
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	env := testEnv(t, map[string]string{"ORCH_SIM_LATENCY_SCALE": "20", "ORCH_SHUTDOWN_GRACE": "300ms", "ORCH_ADDR": "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, env, ready) }()
	addr := <-ready
	resp, err := http.Post("http://"+addr+"/runs", "application/json",
		bytes.NewReader([]byte(guideBody(filepath.Join(env("ORCH_WORKSPACE_ROOT"), "slow"), "openai", "gpt-4"))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST = %d", resp.StatusCode)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v with a 300ms grace", d)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	wantConfigErrors(t, map[string]string{
		"ORCH_SIM_LATENCY_SCALE": "fast", "ORCH_RUN_BUDGET_USD": "-1", "ORCH_MAX_RETRIES": "many",
		"ORCH_WORKERS": "coder=0", "ORCH_SHUTDOWN_GRACE": "soon", "ORCH_SEED": "-3",
		"ORCH_DEFAULT_MODEL": "skynet/t-800", "ORCH_WORKSPACE_ROOT": "relative", "ORCH_SIM_CONFLICT_RATE": "2",
		"ORCH_ADDR": "8000",
	})
	c, err := loadConfig(nil, func(string) string { return "" }, func() uint64 { return 9 })
	if err != nil || c.addr != "127.0.0.1:8000" || c.workspaceRoot != "/tmp" || c.seed != 9 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
}

// wantConfigErrors: each variable's bad value is refused with an error
// naming the variable.
func wantConfigErrors(t *testing.T, bad map[string]string) {
	t.Helper()
	for name, value := range bad {
		_, err := loadConfig(nil, func(k string) string {
			if k == name {
				return value
			}
			return ""
		}, func() uint64 { return 1 })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v", name, value, err)
		}
	}
}
