package t30

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestVirtualClockOrder(t *testing.T) {
	c := NewVirtualClock()
	var got []int
	var at []time.Duration
	add := func(d time.Duration, id int) Timer {
		return c.AfterFunc(d, func() { got = append(got, id); at = append(at, c.Elapsed()) })
	}
	add(3*time.Second, 3)
	add(time.Second, 1)
	stop := add(2*time.Second, 99)
	add(time.Second, 2) // same instant as 1: fires after it
	c.AfterFunc(1500*time.Millisecond, func() {
		add(500*time.Millisecond, 4) // 2 s
		add(-time.Second, 5)         // now (1.5 s)
	})
	if !stop.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if stop.Stop() {
		t.Fatal("second Stop returned true")
	}
	if err := c.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	want := []int{1, 2, 5, 4, 3}
	wantAt := []time.Duration{time.Second, time.Second, 1500 * time.Millisecond, 2 * time.Second, 3 * time.Second}
	for i := range want {
		if got[i] != want[i] || at[i] != wantAt[i] {
			t.Fatalf("fired %v at %v, want %v at %v", got, at, want, wantAt)
		}
	}
	if c.Pending() != 0 {
		t.Fatal("timers left")
	}
}

func TestVirtualClockIdleAndDone(t *testing.T) {
	c := NewVirtualClock()
	n := 0
	var tick func()
	tick = func() { n++; c.AfterFunc(time.Second, tick) }
	c.AfterFunc(0, tick)
	if err := c.Run(context.Background(), func() bool { return n == 10 }); err != nil {
		t.Fatal(err)
	}
	if c.Elapsed() != 9*time.Second {
		t.Fatalf("elapsed %v", c.Elapsed())
	}
	c2 := NewVirtualClock()
	if err := c2.Run(context.Background(), func() bool { return false }); !errors.Is(err, ErrIdle) {
		t.Fatalf("idle clock: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx, func() bool { return false }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestWallClockRunsCallbacksInOrder(t *testing.T) {
	c := NewWallClock()
	var order []int
	var done atomic.Bool
	c.AfterFunc(2*time.Millisecond, func() { order = append(order, 2); done.Store(true) })
	c.AfterFunc(0, func() { order = append(order, 1) })
	s := c.AfterFunc(time.Millisecond, func() { order = append(order, 99) })
	s.Stop()
	// From another goroutine, as a Line reader would.
	go c.AfterFunc(0, func() { order = append(order, 3) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Run(ctx, func() bool { return done.Load() && len(order) >= 3 }); err != nil {
		t.Fatal(err)
	}
	if order[0] != 1 || len(order) != 3 {
		t.Fatalf("order %v", order)
	}
	for _, v := range order {
		if v == 99 {
			t.Fatal("stopped timer fired")
		}
	}
}

func TestSessionRunOnWallClock(t *testing.T) {
	// Nobody answers; with a short T1 the call ends on the real clock.
	clock := NewWallClock()
	a, _ := NewLinePair(clock, LineModel{})
	s, err := NewSession(Config{Calling: true, Transmit: true, NoTones: true, Document: textDoc(1, 1728, 10, 0),
		Timers: Timers{T1: 30 * time.Millisecond}}, a, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := s.Run(ctx)
	if err != nil || res.Code != CodeNoFax {
		t.Fatalf("code %v err %v", res.Code, err)
	}
	// Cancellation through the context.
	clock2 := NewWallClock()
	b, _ := NewLinePair(clock2, LineModel{})
	s2, _ := NewSession(Config{Calling: true, Transmit: true, NoTones: true, Document: textDoc(1, 1728, 10, 0)}, b, clock2)
	ctx2, cancel2 := context.WithCancel(context.Background())
	clock2.AfterFunc(0, cancel2)
	res2, err := s2.Run(ctx2)
	if !errors.Is(err, context.Canceled) || res2.Code != CodeCancelled {
		t.Fatalf("cancel: code %v err %v", res2.Code, err)
	}
}
