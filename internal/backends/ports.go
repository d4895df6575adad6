package backends

import (
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"
)

// reserved holds the sockets of reserved ports, by port.
var reserved sync.Map

// reservePort is FreePort for a port the caller needs to hold for a while
// before a backend listens on it: the port is bound by a socket that does
// not listen, so no other process can take it and connecting to it is
// refused. releasePort (or the test's end) frees it.
func reservePort(t testing.TB) int {
	t.Helper()
	base := 20000 + (os.Getpid()%12)*1000
	for range 200 {
		port := base + rand.IntN(1000)
		if holdPort(t, port) == nil {
			return port
		}
	}
	t.Fatalf("no port to reserve between %d and %d", base, base+1000)
	return 0
}

// holdPort reserves a given port, as reservePort does.
func holdPort(t testing.TB, port int) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		_ = syscall.Close(fd)
		return err
	}
	reserved.Store(port, fd)
	t.Cleanup(func() { releasePort(port) })
	return nil
}

// releasePort frees a port reservePort holds; it does nothing for others.
func releasePort(port int) {
	if fd, ok := reserved.LoadAndDelete(port); ok {
		_ = syscall.Close(fd.(int))
	}
}
