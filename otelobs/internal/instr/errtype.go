package instr

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
)

// ErrorType is a span's error.type for err: a low-cardinality class a
// reader can act on, found with errors.Is and errors.As through any
// wrapping (semconv.ErrorType gives the outermost Go type, *fmt.wrapError
// for every wrapped error). An error of no known class is "_OTHER", as the
// semantic conventions say. Network errors are recognised by their types
// (*net.OpError, *net.DNSError, *url.Error), not by net.Error, which
// syscall.Errno also satisfies.
func ErrorType(err error) string {
	var exit *exec.ExitError
	var op *net.OpError
	var dns *net.DNSError
	var ue *url.Error
	network := errors.As(err, &op) || errors.As(err, &dns) || errors.As(err, &ue)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		op != nil && op.Timeout(), dns != nil && dns.IsTimeout, ue != nil && ue.Timeout():
		return "timeout"
	case errors.As(err, &exit):
		return "exit_status"
	case errors.Is(err, exec.ErrNotFound):
		return "command_not_found"
	case errors.Is(err, fs.ErrNotExist):
		return "not_found"
	case errors.Is(err, fs.ErrExist):
		return "exists"
	case errors.Is(err, fs.ErrPermission):
		return "permission"
	case network:
		return "network"
	}
	return "_OTHER"
}
