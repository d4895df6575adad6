package observability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procStart is a process's start time as /proc/PID/stat gives it (clock
// ticks after boot, its 22nd field), which run-local.sh records on Linux.
func procStart(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+1:]) // from the 3rd field on
	return fields[22-3]
}

// sleeper is a sleep the test starts; exited is closed when it ends.
func sleeper(t *testing.T) (pid int, exited chan struct{}) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	return cmd.Process.Pid, exited
}

// TestRunLocalDownLeavesOthersAlone: after a reboot, the pids run-local.sh
// recorded may belong to other processes. status and down recognise theirs
// by the start time recorded with each pid: a live process started at
// another time, or one recorded without a start time (by an older
// run-local.sh), is left alone and named, and up refuses to start while the
// latter runs; the one that is still theirs is stopped.
func TestRunLocalDownLeavesOthersAlone(t *testing.T) {
	state := t.TempDir()
	reused, reusedExited := sleeper(t)
	legacy, legacyExited := sleeper(t)
	ours, oursExited := sleeper(t)
	pids := fmt.Sprintf("prometheus %d 1\njaeger %d\nview %d %s\n", reused, legacy, ours, procStart(t, ours))
	if err := os.WriteFile(filepath.Join(state, "pids"), []byte(pids), 0o600); err != nil {
		t.Fatal(err)
	}
	script := func(arg string) string {
		cmd := exec.Command("bash", "run-local.sh", arg)
		cmd.Env = append(os.Environ(), "RUN_LOCAL_DIR="+state)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", arg, err, out)
		}
		return string(out)
	}
	status := script("status")
	for _, want := range []string{
		"prometheus: stopped (pid " + strconv.Itoa(reused) + " is another process now)",
		"jaeger: unknown (pid " + strconv.Itoa(legacy) + " is running, recorded without its start time by an older run-local.sh)",
		"view: running (pid " + strconv.Itoa(ours) + ")",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	// up does not start over processes that may still run.
	cmd := exec.Command("bash", "run-local.sh", "up")
	cmd.Env = append(os.Environ(), "RUN_LOCAL_DIR="+state, "OTELOBS_BACKENDS_DIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "recorded without its start time") {
		t.Errorf("up over a pid recorded without its start time: %v\n%s", err, out)
	}
	down := script("down")
	for _, want := range []string{
		fmt.Sprintf("prometheus: pid %d is another process now, not the one up started: left alone", reused),
		fmt.Sprintf("jaeger: pid %d was recorded without its start time (by an older run-local.sh), so it may be another process now: left alone; if it is jaeger, stop it (kill %d)", legacy, legacy),
	} {
		if !strings.Contains(down, want) {
			t.Errorf("down does not say %q:\n%s", want, down)
		}
	}
	select {
	case <-oursExited:
	case <-time.After(10 * time.Second):
		t.Errorf("down left its own process (pid %d) running:\n%s", ours, down)
	}
	for _, c := range []chan struct{}{reusedExited, legacyExited} {
		select {
		case <-c:
			t.Errorf("down stopped a process that was not its own:\n%s", down)
		default:
		}
	}
	if _, err := os.Stat(filepath.Join(state, "pids")); !os.IsNotExist(err) {
		t.Errorf("down left the pids file: %v", err)
	}
}
