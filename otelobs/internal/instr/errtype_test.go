package instr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
)

func TestErrorType(t *testing.T) {
	_, notFound := os.Open("/no/such/file")
	exitErr := exec.Command("false").Run()
	_, netErr := net.Dial("tcp", "127.0.0.1:1") // a real *net.OpError
	exists := os.Mkdir(os.TempDir(), 0o700)     // EEXIST: a syscall.Errno, which is a net.Error too
	_, isDir := os.ReadFile(os.TempDir())       // EISDIR
	noGit := exec.Command("no-such-command-otelobs").Run()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("run: %w", context.Canceled), "canceled"},
		{fmt.Errorf("merge: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("git merge: %w", exitErr), "exit_status"},
		{fmt.Errorf("read: %w", notFound), "not_found"},
		{fmt.Errorf("call: %w", netErr), "network"},
		{fmt.Errorf("mkdir: %w", exists), "exists"},
		{fmt.Errorf("read: %w", isDir), "_OTHER"},
		{fmt.Errorf("git: %w", noGit), "command_not_found"},
		{errors.New("boom"), "_OTHER"},
		{fmt.Errorf("wrapped: %w", errors.New("boom")), "_OTHER"},
	} {
		if got := ErrorType(tc.err); got != tc.want {
			t.Errorf("ErrorType(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
