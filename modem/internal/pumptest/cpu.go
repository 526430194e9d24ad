package pumptest

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// ThreadCPU is the calling OS thread's CPU time (Linux
// CLOCK_THREAD_CPUTIME_ID): on a loaded machine wall time also counts the
// waiting. Lock the goroutine to its thread around a measurement.
func ThreadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// ReportCPU runs f b.N times and reports its thread CPU time per run
// divided by per (for example seconds of signal), as unit.
func ReportCPU(b *testing.B, per float64, unit string, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	t0 := ThreadCPU()
	for range b.N {
		f()
	}
	b.ReportMetric(float64((ThreadCPU()-t0).Nanoseconds())/1000/float64(b.N)/per, unit)
}
