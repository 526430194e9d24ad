package drivers

import (
	"errors"
	"testing"
	"time"
)

// TestPortEvents: changes are reported once, with their error; Close
// reports the ports not down yet as Down and closes the channel; nothing
// is sent after it, and a full channel drops events instead of blocking.
func TestPortEvents(t *testing.T) {
	at := time.Unix(1e9, 0)
	e := NewPortEvents(1, func() time.Time { return at })
	a := &PortInfo{ID: "M0,0", State: StateDown}
	b := &PortInfo{ID: "M0,1", State: StateDown}
	boom := errors.New("board gone")
	e.Set(a, StateIdle, nil)
	e.Set(a, StateIdle, nil) // unchanged: not reported
	e.Set(b, StateIdle, nil)
	e.Set(b, StateDown, boom)
	e.Close([]*PortInfo{a, b})
	e.Close([]*PortInfo{a, b})
	e.Set(a, StateIdle, nil) // after Close: state changes, nothing sent
	var got []PortEvent
	for ev := range e.C() {
		got = append(got, ev)
	}
	want := []PortEvent{{"M0,0", StateIdle, at, nil}, {"M0,1", StateIdle, at, nil}, {"M0,1", StateDown, at, boom}, {"M0,0", StateDown, at, nil}}
	if len(got) != len(want) {
		t.Fatalf("events %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if a.State != StateIdle {
		t.Errorf("state after Close and Set: %v", a.State)
	}
	// A full channel drops.
	f := NewPortEvents(0, nil)
	p := &PortInfo{ID: "M0,0"}
	for i := 0; i < 100; i++ {
		f.Set(p, PortState(1+i%2), nil)
	}
	if n := len(f.ch); n != cap(f.ch) {
		t.Fatalf("%d events buffered, capacity %d", n, cap(f.ch))
	}
}
