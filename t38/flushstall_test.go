package t38

import (
	"context"
	"testing"
	"time"

	"github.com/faxagent/faxagent/t30"
)

// stallClock is a VirtualClock whose Now can be pushed ahead of the timer
// being fired: a timer then runs late, as after a stall of the process.
type stallClock struct {
	*t30.VirtualClock
	lag time.Duration
}

func (c *stallClock) Now() time.Time { return c.VirtualClock.Now().Add(c.lag) }

type nopTransport struct{}

func (nopTransport) Send([]byte) error { return nil }

// The reorder wait must not turn a stall of the process into losses: a
// datagram still queued (in the socket behind a stalled reader, or handed
// to the loop by ReceiveAsync but not yet run) when the flush timer fires
// is waited for once more. Real losses are given up exactly as before.
func TestTerminalFlushWaitsOutStall(t *testing.T) {
	ifps := ifpStream(3)
	dg := make([][]byte, len(ifps))
	for i, ifp := range ifps {
		b, err := (&UDPTLPacket{Seq: uint16(i), Primary: ifp}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		dg[i] = b
	}
	const flush = 60 * time.Millisecond
	cases := []struct {
		name      string
		stall     time.Duration // how late the flush timer fires
		late      bool          // seq 1 arrives right after the timer fired
		viaLoop   bool          // seq 1 is queued on the loop (ReceiveAsync) when the timer fires
		lost      uint64
		graces    uint64
		delivered uint64
	}{
		{name: "on time, really lost", lost: 1, delivered: 2},
		{name: "stall, queued in socket", stall: 500 * time.Millisecond, late: true, graces: 1, delivered: 3},
		{name: "stall, really lost", stall: 500 * time.Millisecond, lost: 1, graces: 1, delivered: 2},
		{name: "queued on the loop", viaLoop: true, graces: 1, delivered: 3},
		{name: "small lateness, really lost", stall: flush / 8, lost: 1, delivered: 2},
		{name: "moderate stall, queued in socket", stall: flush / 2, late: true, graces: 1, delivered: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := &stallClock{VirtualClock: t30.NewVirtualClock()}
			term, err := NewTerminal(TerminalConfig{Version: 2, FlushDelay: flush}, nopTransport{}, clock)
			if err != nil {
				t.Fatal(err)
			}
			if tc.viaLoop {
				// Set before the flush timer, so at the same instant it runs
				// first and queues seq 1 behind the flush timer.
				clock.AfterFunc(flush, func() { term.ReceiveAsync(dg[1]) })
			}
			term.Receive(dg[0])
			term.Receive(dg[2])
			if term.Stats().UDPTL.Delivered != 1 {
				t.Fatalf("before the timer: %+v", term.Stats().UDPTL)
			}
			clock.lag = tc.stall
			for clock.Pending() > 0 && term.flushT != nil && term.Stats().FlushGraces == 0 && term.Stats().UDPTL.Lost == 0 {
				clock.Step()
			}
			clock.lag = 0
			if tc.late {
				term.Receive(dg[1]) // the reader drains the socket after the stall
			}
			if err := clock.Run(context.Background(), nil); err != nil && err != t30.ErrIdle {
				t.Fatal(err)
			}
			st := term.Stats()
			if st.UDPTL.Lost != tc.lost || st.UDPTL.Delivered != tc.delivered || st.FlushGraces != tc.graces || st.UDPTL.Late != 0 {
				t.Fatalf("lost %d delivered %d late %d graces %d; want lost %d delivered %d late 0 graces %d",
					st.UDPTL.Lost, st.UDPTL.Delivered, st.UDPTL.Late, st.FlushGraces, tc.lost, tc.delivered, tc.graces)
			}
		})
	}
}
