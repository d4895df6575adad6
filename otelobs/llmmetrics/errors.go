package llmmetrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// ErrorType is the kind of a failed call: the value of the error_type metric
// attribute and of error.type on the span. The set is fixed so that errors
// cannot create unbounded series.
type ErrorType string

// The error types.
const (
	ErrorRateLimited     ErrorType = "rate_limited"     // HTTP 429
	ErrorTimeout         ErrorType = "timeout"          // deadline exceeded
	ErrorCanceled        ErrorType = "canceled"         // the caller gave up
	ErrorConnection      ErrorType = "connection"       // the provider could not be reached: refused, reset, DNS, TLS
	ErrorAuth            ErrorType = "auth"             // HTTP 401, 403
	ErrorClient          ErrorType = "client_error"     // other HTTP 4xx
	ErrorServer          ErrorType = "server_error"     // HTTP 5xx
	ErrorInvalidResponse ErrorType = "invalid_response" // a response that could not be used
	ErrorBudgetExceeded  ErrorType = "budget_exceeded"  // stopped by a cost budget
	ErrorOther           ErrorType = Other
)

var errorTypes = map[ErrorType]bool{
	ErrorRateLimited: true, ErrorTimeout: true, ErrorCanceled: true, ErrorConnection: true, ErrorAuth: true, ErrorClient: true,
	ErrorServer: true, ErrorInvalidResponse: true, ErrorBudgetExceeded: true, ErrorOther: true,
}

// Error wraps an error with its ErrorType.
type Error struct {
	Type ErrorType
	Err  error
}

// NewError returns err classified as typ.
func NewError(typ ErrorType, err error) error { return &Error{Type: typ, Err: err} }

// Error implements error.
func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Type)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorType returns the type, which semconv.ErrorType also reads.
func (e *Error) ErrorType() string { return string(e.Type) }

// HTTPErrorType classifies an HTTP status code of a provider's response.
func HTTPErrorType(status int) ErrorType {
	switch {
	case status == http.StatusTooManyRequests:
		return ErrorRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrorAuth
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return ErrorTimeout
	case status >= 500:
		return ErrorServer
	case status >= 400:
		return ErrorClient
	}
	return ErrorOther
}

// Classify returns the ErrorType of err: the type of an *Error (or of any
// error in the chain with an ErrorType() string method whose value is one of
// the ErrorType constants), timeout or canceled for context errors and
// network timeouts, connection for a provider that could not be reached (a
// refused or reset connection, a DNS or TLS failure, a connection closed
// mid-response), and _OTHER otherwise.
func Classify(err error) ErrorType {
	var et interface{ ErrorType() string }
	if errors.As(err, &et) {
		if t := ErrorType(et.ErrorType()); errorTypes[t] {
			return t
		}
	}
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorTimeout
	case errors.Is(err, context.Canceled):
		return ErrorCanceled
	case errors.As(err, &ne) && ne.Timeout():
		return ErrorTimeout
	case errors.As(err, &op), errors.As(err, &dns), errors.As(err, &unknownCA), errors.As(err, &hostname),
		errors.As(err, &verify), errors.As(err, &header),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrorConnection
	}
	return ErrorOther
}
