package backends

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

// TestReservePort: a reserved port refuses connections, as a backend that
// is down does, and nothing else can listen on it until it is released.
func TestReservePort(t *testing.T) {
	port := reservePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if _, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a reserved port: %v, want connection refused", err)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatal("another listener took the reserved port")
	}
	releasePort(port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen after release: %v", err)
	}
	ln.Close()
}
