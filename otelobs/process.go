package otelobs

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/procfs"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/semconv/v1.41.0/processconv"
)

// startProcessMetrics records the process's CPU time, memory, threads, open
// file descriptors and uptime with the semantic conventions' process.*
// instruments (their names and units from semconv's processconv), read
// from /proc once per collection. contrib's instrumentation/runtime covers
// the Go runtime only, and contrib's host instrumentation needs gopsutil;
// procfs is what client_golang's own process collector reads. Where /proc
// is missing (not Linux), it records nothing.
func startProcessMetrics(m metric.Meter) error {
	self, err := procfs.Self()
	if err != nil {
		return nil // not Linux: no process metrics
	}
	cpu, err1 := processconv.NewCPUTime(m)
	mem, err2 := processconv.NewMemoryUsageObservable(m)
	virt, err3 := processconv.NewMemoryVirtualObservable(m)
	threads, err4 := processconv.NewThreadCountObservable(m)
	fds, err5 := processconv.NewUnixFileDescriptorCountObservable(m)
	uptime, err6 := processconv.NewUptimeObservable(m)
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return err
	}
	user := metric.WithAttributes(cpu.AttrCPUMode(processconv.CPUModeUser))
	system := metric.WithAttributes(cpu.AttrCPUMode(processconv.CPUModeSystem))
	started := time.Now()
	if st, err := self.Stat(); err == nil {
		if t, err := st.StartTime(); err == nil {
			started = time.Unix(0, int64(t*float64(time.Second)))
		}
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st, err := self.Stat()
		if err != nil {
			return err
		}
		// procfs reads the kernel's clock ticks, USER_HZ: 100 on Linux,
		// as its own CPUTime assumes.
		o.ObserveFloat64(cpu.Inst(), float64(st.UTime)/100, user)
		o.ObserveFloat64(cpu.Inst(), float64(st.STime)/100, system)
		o.ObserveInt64(mem.Inst(), int64(st.ResidentMemory()))
		o.ObserveInt64(virt.Inst(), int64(st.VirtualMemory()))
		o.ObserveInt64(threads.Inst(), int64(st.NumThreads))
		if n, err := self.FileDescriptorsLen(); err == nil {
			o.ObserveInt64(fds.Inst(), int64(n))
		}
		o.ObserveFloat64(uptime.Inst(), time.Since(started).Seconds())
		return nil
	}, cpu.Inst(), mem.Inst(), virt.Inst(), threads.Inst(), fds.Inst(), uptime.Inst())
	return err
}
