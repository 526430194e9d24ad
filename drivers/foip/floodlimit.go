package foip

import (
	"net/netip"
	"sync"
	"time"
)

// maxFloodSources bounds the source addresses failLimit remembers: a
// flood from spoofed addresses costs at most this many entries.
const maxFloodSources = 4096

// failLimit counts the failed inbound calls of each source address over a
// sliding window: INVITEs we refused as malformed (400, 488) or for wrong
// digest credentials (403 to an INVITE that had some: a password guess),
// and answered calls that ended without a whole fax (each of those is a
// call record in the store). A source that is simply not allowed gets its
// 403 every time. A source with max failures in the window
// gets 503 with Retry-After for its next INVITEs, before any port, media
// socket or record is spent on them, until its oldest failure leaves the
// window. Busy answers (486, 482) are not failures of the caller.
type failLimit struct {
	max    int // 0 or less: no limit
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	bySrc map[netip.Addr][]time.Time // failure times, oldest first, at most max
}

func newFailLimit(max int, window time.Duration) *failLimit {
	return &failLimit{max: max, window: window, now: time.Now, bySrc: map[netip.Addr][]time.Time{}}
}

// sourceAddr is the address of a request's source "host:port" (invalid if
// it does not parse).
func sourceAddr(src string) netip.Addr {
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// allow reports whether src may place a call now; if not, how long until
// it may.
func (l *failLimit) allow(src netip.Addr) (bool, time.Duration) {
	if l.max <= 0 || !src.IsValid() {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.prune(src)
	if len(ts) < l.max {
		return true, 0
	}
	return false, ts[0].Add(l.window).Sub(l.now())
}

// failed counts a failed call from src.
func (l *failLimit) failed(src netip.Addr) {
	if l.max <= 0 || !src.IsValid() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.prune(src)
	if ts == nil && len(l.bySrc) >= maxFloodSources {
		// Full: look at a few sources (in the map's random order), drop
		// the stale ones, and forget a live one if that freed nothing.
		seen := 0
		for a := range l.bySrc {
			if len(l.prune(a)) > 0 && len(l.bySrc) >= maxFloodSources && seen >= 7 {
				delete(l.bySrc, a)
			}
			if seen++; len(l.bySrc) < maxFloodSources {
				break
			}
		}
	}
	if len(ts) >= l.max {
		ts = ts[1:]
	}
	l.bySrc[src] = append(ts, l.now())
}

// prune drops src's failures older than the window (and src itself when
// none is left) and returns the rest. l.mu is held.
func (l *failLimit) prune(src netip.Addr) []time.Time {
	ts := l.bySrc[src]
	cut := l.now().Add(-l.window)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	if i == len(ts) {
		delete(l.bySrc, src)
		return nil
	}
	ts = ts[i:]
	l.bySrc[src] = ts
	return ts
}
