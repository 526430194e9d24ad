package t30

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	c   *VirtualClock
	evs []Event
	at  []time.Duration
}

func (r *recorder) handle(ev Event) {
	if ev.Frame != nil {
		ev.Frame = append([]byte(nil), ev.Frame...)
	}
	r.evs = append(r.evs, ev)
	r.at = append(r.at, r.c.Elapsed())
}

func TestLinePairTiming(t *testing.T) {
	c := NewVirtualClock()
	a, b := NewLinePair(c, LineModel{})
	ra, rb := &recorder{c: c}, &recorder{c: c}
	a.SetHandler(ra.handle)
	b.SetHandler(rb.handle)
	dcn := []byte{0xFF, 0x13, 0xFA}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.StartTx(Speed{V21, 300}, false))
	must(a.SendFrame(dcn))
	must(a.StopTx())
	must(a.StartTx(Speed{V17, 14400}, true))
	must(a.SendData(make([]byte, 1800))) // 14400 bits = 1 s
	must(a.StopTx())
	must(c.Run(context.Background(), nil))
	frameT := V21Preamble + BitsDuration(HDLCBits(dcn), 300)
	hsUp := frameT + 142*time.Millisecond
	want := []struct {
		kind EventKind
		at   time.Duration
	}{
		{EventCarrierUp, 0}, {EventFrame, frameT}, {EventCarrierDown, frameT},
		{EventCarrierUp, hsUp}, {EventData, hsUp + time.Second}, {EventCarrierDown, hsUp + time.Second},
	}
	if len(rb.evs) != len(want) {
		t.Fatalf("events %v", rb.evs)
	}
	for i, w := range want {
		if rb.evs[i].Kind != w.kind || rb.at[i] != w.at {
			t.Fatalf("event %d: %v at %v, want %v at %v", i, rb.evs[i].Kind, rb.at[i], w.kind, w.at)
		}
	}
	if !rb.evs[1].FCSOK || string(rb.evs[1].Frame) != string(dcn) {
		t.Fatalf("frame %+v", rb.evs[1])
	}
	// The sender gets one TxDone per carrier.
	if len(ra.evs) != 2 || ra.evs[0].Kind != EventTxDone || ra.at[1] != hsUp+time.Second {
		t.Fatalf("sender events %v at %v", ra.evs, ra.at)
	}
}

func TestLinePairFaults(t *testing.T) {
	c := NewVirtualClock()
	a, b := NewLinePair(c, LineModel{
		Frame: func(from, n int, _ []byte) Fate {
			switch n {
			case 1:
				return Drop
			case 2:
				return Corrupt
			}
			return Deliver
		},
		BitErrorRate: 0.01,
		Seed:         7,
	})
	rb := &recorder{c: c}
	b.SetHandler(rb.handle)
	a.SetHandler(func(Event) {})
	_ = a.StartTx(Speed{V21, 300}, false)
	for i := 0; i < 4; i++ {
		_ = a.SendFrame([]byte{0xFF, 0x03, byte(i)})
	}
	_ = a.StopTx()
	_ = a.StartTx(Speed{V29, 9600}, false)
	_ = a.SendData(make([]byte, 10000))
	_ = a.StopTx()
	_ = c.Run(context.Background(), nil)
	var frames []Event
	ones := 0
	for _, ev := range rb.evs {
		switch ev.Kind {
		case EventFrame:
			frames = append(frames, ev)
		case EventData:
			for _, x := range ev.Data {
				for ; x != 0; x &= x - 1 {
					ones++
				}
			}
		}
	}
	if len(frames) != 3 || frames[0].Frame[2] != 0 || !frames[0].FCSOK || frames[1].Frame[2] != 2 || frames[1].FCSOK || !frames[2].FCSOK {
		t.Fatalf("frames %+v", frames)
	}
	// 80000 bits at 1 %: about 800 errors.
	if ones < 600 || ones > 1000 {
		t.Fatalf("%d bit errors in 80000 bits at 1%%", ones)
	}
	// Cut: both ends are told, later sends fail.
	c2 := NewVirtualClock()
	x, y := NewLinePair(c2, LineModel{})
	lost := 0
	x.SetHandler(func(ev Event) {
		if ev.Kind == EventLineLost {
			lost++
		}
	})
	y.SetHandler(func(ev Event) {
		if ev.Kind == EventLineLost {
			lost++
		}
	})
	_ = x.StartTx(Speed{V21, 300}, false)
	_ = x.SendFrame([]byte{0xFF, 0x13, 0xFA})
	x.Pair().Cut()
	_ = c2.Run(context.Background(), nil)
	if lost != 2 || x.SendFrame([]byte{0xFF, 0x13, 0xFA}) != ErrLineDown {
		t.Fatalf("cut: lost=%d", lost)
	}
}

// stallingClock is a WallClock whose n-th reading of the time comes back
// late by stall[n], as when the goroutine is preempted just after reading
// the clock.
type stallingClock struct {
	*WallClock
	mu    sync.Mutex
	n     int
	stall map[int]time.Duration
}

func (c *stallingClock) Now() time.Time {
	c.mu.Lock()
	c.n++
	d := c.stall[c.n]
	c.mu.Unlock()
	now := time.Now()
	time.Sleep(d)
	return now
}

// TestLinePairWallOrder sends a carrier's data and its end for one instant
// on a wall clock whose reading stalls while the data is scheduled: the
// far end still gets the data before the carrier's end (before At, a TCF
// judged on no data under load: FTT at every speed).
func TestLinePairWallOrder(t *testing.T) {
	for stalled := 1; stalled <= 7; stalled++ {
		c := &stallingClock{WallClock: NewWallClock(), stall: map[int]time.Duration{stalled: 20 * time.Millisecond}}
		a, b := NewLinePair(c, LineModel{})
		var mu sync.Mutex
		var kinds []EventKind
		b.SetHandler(func(ev Event) {
			mu.Lock()
			kinds = append(kinds, ev.Kind)
			mu.Unlock()
		})
		a.SetHandler(func(Event) {})
		c.AfterFunc(0, func() {
			sp := Speed{V29, 9600}
			if a.StartTx(sp, false) != nil || a.SendData(make([]byte, 12)) != nil || a.StopTx() != nil {
				t.Error("sending failed")
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Run(ctx, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(kinds) == 3
		})
		cancel()
		if err != nil {
			t.Fatalf("reading %d stalled: %v (events %v)", stalled, err, kinds)
		}
		if want := []EventKind{EventCarrierUp, EventData, EventCarrierDown}; !slices.Equal(kinds, want) {
			t.Errorf("reading %d stalled: events %v, want %v", stalled, kinds, want)
		}
	}
}
