// Package backends starts the real observability backends the end-to-end
// tests run against (Prometheus, the OpenTelemetry Collector, Jaeger and
// Alertmanager) as native processes on free 127.0.0.1 ports, each in a
// temporary directory, and stops them when the test ends. A failing test gets
// the tail of each backend's log.
//
// The binaries come from scripts/install-backends.sh: $OTELOBS_BACKENDS_DIR/bin
// when that variable is set, else .tools/bin at the repository root. A missing
// binary fails the test; it never skips.
package backends

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bin returns the path of an installed backend binary, or fails the test
// saying how to install it.
func Bin(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("OTELOBS_BACKENDS_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(), ".tools")
	}
	p := filepath.Join(dir, "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("backend %s is not installed at %s (%v): run scripts/install-backends.sh, "+
			"or scripts/test.sh which runs it", name, p, err)
	}
	return p
}

// repoRoot is the module root, found from this source file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// RepoPath returns a path inside the repository, for tests that use the
// project's shipped configuration files.
func RepoPath(elem ...string) string {
	return filepath.Join(append([]string{repoRoot()}, elem...)...)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. It
// picks at random below the kernel's ephemeral range (where the ports of
// outgoing connections come from), so that test packages running in
// parallel, and their connections, rarely pick the same one; a backend that
// still loses a port exits at start-up and is started again on new ports.
func FreePort(t testing.TB) int {
	t.Helper()
	// Each test binary draws from its own 1000-port block (by process id),
	// so parallel test packages seldom meet.
	base := 20000 + (os.Getpid()%12)*1000
	for range 200 {
		port := base + rand.IntN(1000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

// errExited reports a backend that ended during start-up.
var errExited = errors.New("exited during start-up")

// startRetrying calls start up to three times while the backend exits during
// start-up (a port taken meanwhile), each time with new ports.
func startRetrying(t testing.TB, name string, start func() (*Process, error)) {
	t.Helper()
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var p *Process
		if p, err = start(); err == nil {
			return
		}
		if p != nil {
			p.Stop()
		}
		if !errors.Is(err, errExited) {
			break
		}
		t.Logf("%s: %v; starting again on other ports", name, err)
	}
	t.Fatalf("%s: %v", name, err)
}

// Process is a running backend.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	once    sync.Once
}

// Start runs bin with args in dir (with extra environment variables), logging
// to a file in dir. The process is stopped when the test ends; if the test
// failed, the tail of its log is attached.
func Start(t testing.TB, name, dir, bin string, env []string, args ...string) *Process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("--- last lines of the %s log (%s) ---\n%s", name, logPath, p.tail(80))
		}
	})
	return p
}

// Stop ends the process: SIGTERM, then SIGKILL after 10 s. It is safe to call
// more than once.
func (p *Process) Stop() {
	p.once.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Log returns the whole log so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *Process) tail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// waitReady polls url until it answers 200; it fails with errExited when
// the process ends first, and with another error after timeout.
func (p *Process) waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%w:\n%s", errExited, p.tail(40))
		}
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready at %s after %v: %v\n%s", url, timeout, last, p.tail(40))
}

// Eventually calls check every 200 ms until it returns nil, failing the test
// with the last error when timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ErrNotFound is returned by look-ups that found nothing (yet).
var ErrNotFound = errors.New("not found")
