package t30

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Timer is a pending callback of a Clock.
type Timer interface {
	// Stop cancels the callback. It reports whether the call stopped it
	// (false if it already ran or was stopped).
	Stop() bool
}

// Clock is the engine's time base and executor. Every callback a Clock runs
// (timers, and the Line events a Line delivers through the Clock) runs on
// the clock's loop, one at a time, so a Session needs no locks.
//
// AfterFunc may be called from any goroutine; AfterFunc(0, f) is the way a
// Line implementation that reads packets on its own goroutine hands an
// event to the engine.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// AtClock is a Clock that can schedule a callback at an instant. Callbacks
// set for one instant run in the order they were set; AfterFunc(t.Sub(Now()))
// cannot promise that on a wall clock, where the two readings of the time
// drift apart by however long the goroutine was preempted between them.
type AtClock interface {
	Clock
	AtFunc(t time.Time, f func()) Timer
}

// At schedules f at the instant t on c: exactly at t when c is an AtClock,
// else after t.Sub(c.Now()). A Line that schedules several events for one
// instant (the last data of a carrier and its end) uses At so that they
// arrive in the order sent.
func At(c Clock, t time.Time, f func()) Timer {
	if a, ok := c.(AtClock); ok {
		return a.AtFunc(t, f)
	}
	return c.AfterFunc(t.Sub(c.Now()), f)
}

// Runner is a Clock that runs its own loop.
type Runner interface {
	Clock
	// Run executes callbacks until done returns true (checked before
	// the first and after every callback), ctx ends, or, for a virtual
	// clock, nothing is left to run.
	Run(ctx context.Context, done func() bool) error
}

// ErrIdle is returned by VirtualClock.Run when no timer is pending and the
// done condition is still false: nothing can ever happen again.
var ErrIdle = errors.New("t30: virtual clock idle with work unfinished")

type ctimer struct {
	when time.Time
	seq  uint64
	f    func()
	idx  int // position in the heap, -1 when not queued
	h    *timerHeap
	mu   sync.Locker
}

func (t *ctimer) Stop() bool {
	if t.mu != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
	}
	if t.idx < 0 {
		return false
	}
	t.h.remove(t.idx)
	return true
}

type timerHeap []*ctimer

func (h timerHeap) less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *timerHeap) push(t *ctimer) {
	t.idx = len(*h)
	*h = append(*h, t)
	h.up(t.idx)
}

func (h *timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h *timerHeap) down(i int) {
	n := len(*h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

func (h *timerHeap) remove(i int) *ctimer {
	old := *h
	n := len(old) - 1
	t := old[i]
	if i != n {
		h.swap(i, n)
	}
	old[n] = nil
	*h = old[:n]
	if i != n {
		h.down(i)
		h.up(i)
	}
	t.idx = -1
	return t
}

// VirtualClock is a deterministic Clock for tests and simulations: time
// stands still until Run fires the earliest pending timer and jumps to its
// time. Timers due at the same instant fire in the order they were set.
// It is not safe for concurrent use: everything runs on the goroutine that
// calls Run.
type VirtualClock struct {
	now  time.Time
	seq  uint64
	heap timerHeap
}

// virtualEpoch is where every VirtualClock starts.
var virtualEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// NewVirtualClock returns a virtual clock at 2000-01-01 00:00 UTC.
func NewVirtualClock() *VirtualClock { return &VirtualClock{now: virtualEpoch} }

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time { return c.now }

// Elapsed is the virtual time since the clock was created.
func (c *VirtualClock) Elapsed() time.Duration { return c.now.Sub(virtualEpoch) }

// AfterFunc schedules f at Now()+d (d < 0 counts as 0).
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) Timer {
	return c.AtFunc(c.now.Add(d), f)
}

// AtFunc schedules f at t (a time before Now counts as Now).
func (c *VirtualClock) AtFunc(t time.Time, f func()) Timer {
	if t.Before(c.now) {
		t = c.now
	}
	c.seq++
	ct := &ctimer{when: t, seq: c.seq, f: f, h: &c.heap}
	c.heap.push(ct)
	return ct
}

// Pending is the number of timers waiting.
func (c *VirtualClock) Pending() int { return len(c.heap) }

// Next is the time of the earliest pending timer; false when none is.
func (c *VirtualClock) Next() (time.Time, bool) {
	if len(c.heap) == 0 {
		return time.Time{}, false
	}
	return c.heap[0].when, true
}

// Step fires the earliest timer, advancing the time to it. It reports
// false when no timer is pending.
func (c *VirtualClock) Step() bool {
	if len(c.heap) == 0 {
		return false
	}
	t := c.heap.remove(0)
	if t.when.After(c.now) {
		c.now = t.when
	}
	t.f()
	return true
}

// Run fires timers in time order until done returns true, ctx ends or no
// timer is left (ErrIdle).
func (c *VirtualClock) Run(ctx context.Context, done func() bool) error {
	for n := 0; ; n++ {
		if done != nil && done() {
			return nil
		}
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if !c.Step() {
			if done == nil {
				return nil
			}
			return ErrIdle
		}
	}
}

// WallClock is the production Clock: real time, callbacks run one at a
// time on the goroutine that calls Run. AfterFunc and Stop are safe from
// any goroutine.
type WallClock struct {
	mu   sync.Mutex
	seq  uint64
	heap timerHeap
	wake chan struct{}
}

// NewWallClock returns a wall clock; call Run to execute its callbacks.
func NewWallClock() *WallClock { return &WallClock{wake: make(chan struct{}, 1)} }

// Now returns time.Now().
func (c *WallClock) Now() time.Time { return time.Now() }

// AfterFunc schedules f to run on the Run goroutine after d.
func (c *WallClock) AfterFunc(d time.Duration, f func()) Timer {
	return c.AtFunc(time.Now().Add(d), f)
}

// AtFunc schedules f to run on the Run goroutine at t; callbacks set for
// one instant run in the order they were set.
func (c *WallClock) AtFunc(when time.Time, f func()) Timer {
	c.mu.Lock()
	c.seq++
	t := &ctimer{when: when, seq: c.seq, f: f, h: &c.heap, mu: &c.mu}
	c.heap.push(t)
	first := t.idx == 0
	c.mu.Unlock()
	if first {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return t
}

// Run executes due callbacks until done returns true or ctx ends.
func (c *WallClock) Run(ctx context.Context, done func() bool) error {
	wait := time.NewTimer(time.Hour)
	defer wait.Stop()
	for {
		if done != nil && done() {
			return nil
		}
		c.mu.Lock()
		var f func()
		next := time.Hour
		if len(c.heap) > 0 {
			if d := time.Until(c.heap[0].when); d <= 0 {
				f = c.heap.remove(0).f
			} else {
				next = d
			}
		}
		c.mu.Unlock()
		if f != nil {
			f()
			continue
		}
		wait.Reset(next)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.wake:
		case <-wait.C:
		}
	}
}
