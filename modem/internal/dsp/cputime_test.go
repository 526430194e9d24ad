package dsp

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// threadCPU is this OS thread's CPU time (benchmarks on a loaded machine
// report wall time, which waiting inflates).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// reportCPU runs f n times and reports its thread CPU time per run.
func reportCPU(b *testing.B, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	for range b.N {
		f()
	}
	b.ReportMetric(float64((threadCPU()-t0).Nanoseconds())/float64(b.N)/1000, "cpu-µs/op")
}
