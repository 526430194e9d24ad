package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Resources is what the process held at one moment: its goroutines (by
// ID) and its open sockets (by inode). Comparing a later moment with it
// finds exactly what was started or opened since and is still there,
// whatever else the process (other tests, the runtime) does meanwhile: a
// leak check with no tolerance to tune.
type Resources struct {
	goroutines map[int]bool
	sockets    map[string]bool
}

// Snapshot records the goroutines and sockets of the process now.
func Snapshot() Resources {
	r := Resources{goroutines: map[int]bool{}, sockets: map[string]bool{}}
	for id := range goroutineStacks() {
		r.goroutines[id] = true
	}
	for _, s := range sockets() {
		r.sockets[s] = true
	}
	return r
}

// goroutineStacks returns every goroutine's stack by goroutine ID.
func goroutineStacks() map[int]string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[int]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		rest, ok := strings.CutPrefix(g, "goroutine ")
		if !ok {
			continue
		}
		idText, _, _ := strings.Cut(rest, " ")
		if id, err := strconv.Atoi(idText); err == nil {
			out[id] = g
		}
	}
	return out
}

// sockets lists the inodes of the process's open sockets ("socket:[N]").
func sockets() []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(l, "socket:") {
			out = append(out, l)
		}
	}
	return out
}

// Since returns the stacks of the goroutines started after r that are
// still running and mention one of markers (import paths such as
// "github.com/emiago/sipgo"; none: any), and the sockets opened after r
// that are still open.
func (r Resources) Since(markers ...string) (goroutines, socks []string) {
	for id, stack := range goroutineStacks() {
		if r.goroutines[id] {
			continue
		}
		if len(markers) == 0 || slices.ContainsFunc(markers, func(m string) bool { return strings.Contains(stack, m) }) {
			goroutines = append(goroutines, stack)
		}
	}
	for _, s := range sockets() {
		if !r.sockets[s] {
			socks = append(socks, s)
		}
	}
	return goroutines, socks
}

// WaitReleased waits until every goroutine started since r that mentions
// one of markers has ended and every socket opened since r is closed, and
// fails the test with what is left when that has not happened after
// timeout (a bound for slow shutdown under load, not a measurement).
func (r Resources) WaitReleased(tb testing.TB, timeout time.Duration, markers ...string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		gs, socks := r.Since(markers...)
		if len(gs) == 0 && len(socks) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v, %d goroutines and %d sockets are left over:\n%v\n\n%s",
				timeout, len(gs), len(socks), socks, strings.Join(gs, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
