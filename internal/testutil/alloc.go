package testutil

import (
	"context"
	"io"
	"runtime"
)

// Allocated runs f and returns the heap bytes allocated meanwhile
// (runtime.MemStats.TotalAlloc): what f cost, whatever the collector freed
// since. Tests of limits compare it with a bound.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// CancelAtEnd wraps a request body of size bytes and calls cancel when
// its last byte is read: the server then goes on for a client that is
// gone.
func CancelAtEnd(body io.Reader, size int64, cancel context.CancelFunc) io.ReadCloser {
	return io.NopCloser(&cancelAtEnd{r: body, left: size, cancel: cancel})
}

type cancelAtEnd struct {
	r      io.Reader
	left   int64
	cancel context.CancelFunc
}

func (c *cancelAtEnd) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left <= 0 {
		c.cancel()
	}
	return n, err
}
