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
		{errors.New("boom"), "_OTHER"},
		{fmt.Errorf("wrapped: %w", errors.New("boom")), "_OTHER"},
	} {
		if got := ErrorType(tc.err); got != tc.want {
			t.Errorf("ErrorType(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
