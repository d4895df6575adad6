//go:build e2e

package observability

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/agentorchestrator/observability/internal/backends"
)

// stackPorts are the default ports the README's commands and .env.example
// name; the test moves each to a free port, in the commands and in the
// .env, so that parallel test packages do not collide. Nothing else of the
// commands changes.
var stackPorts = map[string]string{
	"API_PORT": "8000", "PROMETHEUS_PORT": "9090", "ALERTMANAGER_PORT": "9093", "JAEGER_UI_PORT": "16686",
	"OTLP_GRPC_PORT": "4317", "OTLP_HTTP_PORT": "4318", "COLLECTOR_HEALTH_PORT": "13133",
	"COLLECTOR_METRICS_PORT": "8888", "JAEGER_OTLP_GRPC_PORT": "14317", "GRAFANA_PORT": "3001",
}

// readmeStackBlock returns the README's run-local commands (the bash block
// after the readme-stack marker).
func readmeStackBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(backends.RepoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- readme-stack[^>]*-->\\s*```bash\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no bash block after <!-- readme-stack … -->")
	}
	return string(m[1])
}

// copyRepo copies the module (not .git, .tools or run-local's state) into
// a temporary folder, where the README's commands may write .env freely.
func copyRepo(t *testing.T) string {
	t.Helper()
	src, dst := backends.RepoPath(), t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && (rel == ".git" || rel == ".tools" || rel == filepath.Join("observability", ".local")) {
			return filepath.SkipDir
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestREADMEStackRunLocal follows the README's stack steps without Docker,
// as printed (ports moved): run-local.sh up, the server with its traces to
// the Collector, the guide's curl, load, then doctor passes with no ✗, and
// a browser on the view shows every panel of the dashboard with data (the
// budget panel too: the server's default budgets) and an exemplar opens the
// run's trace.
func TestREADMEStackRunLocal(t *testing.T) {
	block := readmeStackBlock(t)
	for _, want := range []string{"run-local.sh up", "go run ./examples/server", "curl -X POST", "otelobs doctor"} {
		if !strings.Contains(block, want) {
			t.Fatalf("the README's stack block lacks %q:\n%s", want, block)
		}
	}
	dir := copyRepo(t)
	example := filepath.Join(dir, "observability", ".env.example")
	original, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var run *readmeRun
	// Up again on new ports (three times at most) when a port was taken
	// meanwhile by a parallel test package, as TestRunLocal does.
	for attempt := 1; ; attempt++ {
		var log string
		run, log, err = startREADMEStack(t, dir, block, original)
		if err == nil {
			t.Logf("the README's commands:\n%s", log)
			break
		}
		if attempt == 3 || !strings.Contains(log, "address already in use") {
			t.Fatalf("the README's commands failed: %v\n%s", err, log)
		}
		t.Logf("the README's commands, attempt %d, lost a port:\n%s", attempt, log)
	}
	ports, shellEnv, doctorLine := run.ports, run.env, run.doctorLine

	// doctor, as printed; its newest traces may still be in the server's
	// span batch (5 s), so it is run again for a while, as a reader would.
	var last string
	deadline := time.Now().Add(60 * time.Second)
	for {
		dc := exec.Command("bash", "-c", doctorLine)
		dc.Dir, dc.Env = dir, shellEnv
		b, err := dc.CombinedOutput()
		last = string(b)
		if err == nil && !strings.Contains(last, "✗") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("doctor did not pass on the README's stack: %v\n%s", err, last)
		}
		time.Sleep(3 * time.Second)
	}
	t.Logf("doctor:\n%s", last)
	if !strings.Contains(last, "otelobs view at") {
		t.Errorf("doctor did not check the view on GRAFANA_PORT:\n%s", last)
	}

	// The browser on the view, as the README says to open it.
	viewURL := "http://localhost:" + ports["3001"]
	if resp, err := http.Get(viewURL + "/api/view"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the view does not answer at %s: %v", viewURL, err)
	}
	dash, err := LoadDashboard(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := backends.Browser(t, 1600, 1100)
	if err := chromedp.Do(ctx, chromedp.Navigate(viewURL+"/?from=now-15m&to=now")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelectorAll('[data-panel]').length === `+strconv.Itoa(len(dash.Panels))+` && document.querySelectorAll('[data-panel][data-state="loading"]').length === 0`,
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("the view's panels did not load: %v", err)
	}
	states, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[data-panel]')].map(e => [e.dataset.panel, e.dataset.state + ': ' + e.querySelector('.panel-body').innerText.slice(0, 200)]))`))
	if err != nil {
		t.Fatal(err)
	}
	for title, st := range states {
		if !strings.HasPrefix(st, "ok:") {
			t.Errorf("panel %q: %s", title, st)
		}
	}
	// The newest merge exemplar's trace, once Jaeger has all of it (the
	// run's span ends last, and the span batch leaves every 5 s).
	sel := `[data-panel="Git Merge Duration"] a.exemplar`
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('`+sel+`')].pop().dataset.traceId`))
	if err != nil || id == "" {
		t.Fatalf("no exemplar on Git Merge Duration: %v", err)
	}
	(&backends.Jaeger{QueryURL: "http://127.0.0.1:" + ports["16686"]}).WaitForTrace(t, id, "run", "git.merge")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll('`+sel+`')].pop()`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-trace-id]`))); err != nil {
		t.Fatalf("opening the newest merge exemplar: %v", err)
	}
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-span-name]')].map(e => e.dataset.spanName)`))
	if err != nil || !slices.Contains(names, "run") || !slices.Contains(names, "git.merge") {
		t.Errorf("the exemplar's trace page shows spans %v (%v), want the run's root span and git.merge", names, err)
	}
}

// stripComment drops a shell line's trailing # comment.
func stripComment(l string) string {
	if i := strings.Index(l, " #"); i >= 0 {
		return l[:i]
	}
	return l
}

// cleanEnviron is the test's environment without OTEL_* and ORCH_*
// variables, which would change what the commands do.
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "ORCH_") {
			out = append(out, kv)
		}
	}
	return out
}

// readmeRun is the README's stack, started.
type readmeRun struct {
	ports      map[string]string // default port → the port used
	env        []string
	doctorLine string
}

// startREADMEStack runs the README's commands up to doctor, in dir, on
// free ports (distinct, written to the .env.example the commands copy and
// into the commands), in one shell. After the line that starts the server
// in the background, it waits until the server answers, as a reader would
// before pasting the curl. It returns the shell's output.
func startREADMEStack(t *testing.T, dir, block string, example []byte) (*readmeRun, string, error) {
	t.Helper()
	r := &readmeRun{ports: map[string]string{}}
	used := map[string]bool{}
	for k, def := range stackPorts {
		p := strconv.Itoa(backends.FreePort(t))
		for used[p] {
			p = strconv.Itoa(backends.FreePort(t))
		}
		used[p], r.ports[def] = true, p
		example = regexp.MustCompile(`(?m)^`+k+`=.*$`).ReplaceAll(example, []byte(k+"="+p))
	}
	example = regexp.MustCompile(`(?m)^PROMETHEUS_SCRAPE_INTERVAL=.*$`).ReplaceAll(example, []byte("PROMETHEUS_SCRAPE_INTERVAL=2s"))
	if err := os.WriteFile(filepath.Join(dir, "observability", ".env.example"), example, 0o644); err != nil {
		t.Fatal(err)
	}
	script := regexp.MustCompile(`\b(8000|9090|9093|16686|4317|4318|13133|8888|14317|3001)\b`).ReplaceAllStringFunc(block,
		func(p string) string { return r.ports[p] })
	api := "127.0.0.1:" + r.ports["8000"]
	lines := strings.Split(strings.TrimSpace(script), "\n")
	r.doctorLine = lines[len(lines)-1]
	var body strings.Builder
	body.WriteString("set -euo pipefail\n")
	for _, l := range lines[:len(lines)-1] {
		body.WriteString(l + "\n")
		if strings.Contains(l, "go run ./examples/server") && strings.HasSuffix(strings.TrimSpace(stripComment(l)), "&") {
			fmt.Fprintf(&body, "for i in $(seq 600); do curl -fs -o /dev/null http://%s/healthz && break; sleep 0.2; done\n", api)
		}
	}
	r.env = append(cleanEnviron(), "ORCH_ADDR="+api,
		"OTELOBS_BACKENDS_DIR="+filepath.Dir(filepath.Dir(backends.Bin(t, "prometheus"))))
	// A file, not a pipe: the server started in the background keeps its
	// output open after the shell exits.
	out, err := os.Create(filepath.Join(t.TempDir(), "commands.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("bash", "-c", body.String())
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, r.env, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() {
		down := exec.Command("bash", "observability/run-local.sh", "down")
		down.Dir, down.Env = dir, r.env
		_ = down.Run()
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the server, started in the background
		}
		if t.Failed() {
			logs, _ := exec.Command("sh", "-c", "tail -n 20 "+filepath.Join(dir, "observability", ".local")+"/*.log").CombinedOutput()
			t.Logf("run-local logs:\n%s", logs)
		}
	})
	err = cmd.Run()
	log, _ := os.ReadFile(out.Name())
	return r, string(log), err
}
