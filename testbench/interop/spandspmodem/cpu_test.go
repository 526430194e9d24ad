package spandspmodem

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// threadCPU is the CPU time of the calling OS thread (Linux
// CLOCK_THREAD_CPUTIME_ID), so a loaded machine does not inflate it. Call
// it with the goroutine locked to its thread.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// cpuMeter sums the thread CPU time of the sections it brackets.
type cpuMeter struct {
	total time.Duration
	t0    time.Duration
}

func (m *cpuMeter) start() {
	runtime.LockOSThread()
	m.t0 = threadCPU()
}

func (m *cpuMeter) stop() {
	m.total += threadCPU() - m.t0
	runtime.UnlockOSThread()
}
