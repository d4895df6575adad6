package instr

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os/exec"
)

// ErrorType is a span's error.type for err: a low-cardinality class a
// reader can act on, found with errors.Is and errors.As through any
// wrapping (semconv.ErrorType gives the outermost Go type, *fmt.wrapError
// for every wrapped error). An error of no known class is "_OTHER", as the
// semantic conventions say.
func ErrorType(err error) string {
	var exit *exec.ExitError
	var nerr net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return "timeout"
	case errors.As(err, &exit):
		return "exit_status"
	case errors.Is(err, fs.ErrNotExist):
		return "not_found"
	case errors.Is(err, fs.ErrPermission):
		return "permission"
	case errors.As(err, &nerr):
		return "network"
	}
	return "_OTHER"
}
