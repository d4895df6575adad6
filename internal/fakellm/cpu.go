package fakellm

import (
	"syscall"
	"testing"
	"time"
)

// CPUPerOp reports the process's CPU time (user and system) per operation
// of a benchmark against a fake, as cpu-ns/op, which the wall time of
// loopback calls hides in scheduling noise: the fake's own work is in every
// column alike, so the difference between two columns is the client's. Use
// it as defer fakellm.CPUPerOp(b)().
func CPUPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
