package foip

import (
	"slices"
	"testing"

	"github.com/pion/rtp"

	"github.com/faxagent/faxagent/modem/g711"
)

// TestPlayout feeds the audio phase's playout packets and frame ticks in
// an order (what arrived between two 20 ms ticks) and checks which
// packets the modem hears, whole and in order, and the counters. Each
// packet carries one µ-law code repeated, so a heard frame names its
// packet.
func TestPlayout(t *testing.T) {
	const (
		tick   = -1 // a frame played out
		behind = -2 // a frame played out while catching up after a stall
	)
	fill := func(n, step int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = step
		}
		return s
	}
	ticks := func(n int) []int { return fill(n, tick) }
	seq := func(from, to int) []int { // packets from..to-1
		var s []int
		for i := from; i < to; i++ {
			s = append(s, i)
		}
		return s
	}
	steady := func(from, to int) []int { // one packet, one tick
		var s []int
		for i := from; i < to; i++ {
			s = append(s, i, tick)
		}
		return s
	}
	for _, tc := range []struct {
		name  string
		steps []int // packet index (its seq and timestamp follow from it), or tick
		heard []int // packets heard, in order
		want  AudioStats
	}{
		{"steady", slices.Concat(steady(0, 20), ticks(10)), seq(0, 20), AudioStats{Received: 20}},
		{"jitter within the delay", slices.Concat(steady(0, 5), ticks(4), seq(5, 9), steady(9, 20), ticks(10)),
			seq(0, 20), AudioStats{Received: 20}},
		// The far end (or this process) stalls 400 ms, twice the playout
		// delay, then its packets come in a burst in order: each is heard.
		{"stall then burst", slices.Concat(steady(0, 10), ticks(20), seq(10, 30), steady(30, 40), ticks(40)),
			seq(0, 40), AudioStats{Received: 40, Resyncs: 1, Underruns: 1}},
		// The far end stalls and then carries on in real time, behind the
		// wall clock for good: playout follows it.
		{"stall, stays behind", slices.Concat(steady(0, 10), ticks(20), steady(10, 40), ticks(20)),
			seq(0, 40), AudioStats{Received: 40, Resyncs: 1, Underruns: 1}},
		// This process stalls 400 ms: catching up it plays what it holds,
		// then waits (silence) for the packets still queued, and hears
		// them all.
		{"own stall", slices.Concat(steady(0, 10), fill(20, behind), seq(10, 30), steady(30, 40), ticks(40)),
			seq(0, 40), AudioStats{Received: 40, Held: 12 * frameSamples}},
		// A long stall: the wait is bounded, the rest is an underrun.
		{"own stall, long", slices.Concat(steady(0, 10), fill(40, behind), seq(10, 50), steady(50, 60), ticks(70)),
			seq(0, 60), AudioStats{Received: 60, Held: 25 * frameSamples, Resyncs: 1, Underruns: 1}},
		// A packet overtaken by a later one and arriving after its time is
		// late (its gap was played as silence), not an underrun.
		{"reordered too late", slices.Concat(steady(0, 5), []int{6}, ticks(10), []int{5}, steady(7, 15), ticks(20)),
			slices.Concat(seq(0, 5), seq(6, 15)), AudioStats{Received: 15, Late: 1, Lost: 1, Concealed: 160}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &rtpModem{}
			var heard []int
			rx := make([]int16, frameSamples)
			for _, st := range tc.steps {
				if st >= 0 {
					code := byte(0x10 + st)
					p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptPCMU, SSRC: 7,
						SequenceNumber: uint16(500 + st), Timestamp: uint32(90000 + st*frameSamples)},
						Payload: slices.Repeat([]byte{code}, frameSamples)}
					m.take(&p)
					continue
				}
				m.playout(rx, st == behind)
				if slices.Equal(rx, make([]int16, frameSamples)) {
					continue
				}
				var v int16
				k := -1
				for i := 0; i < 100; i++ {
					if v = g711.Decode(g711.ULaw, make([]int16, 1), []byte{byte(0x10 + i)})[0]; v == rx[0] {
						k = i
						break
					}
				}
				if k < 0 || !slices.Equal(rx, slices.Repeat([]int16{v}, frameSamples)) {
					t.Fatalf("frame %v... is not one packet's whole frame", rx[:4])
				}
				heard = append(heard, k)
			}
			if !slices.Equal(heard, tc.heard) {
				t.Errorf("heard %v, want %v", heard, tc.heard)
			}
			if got := m.Stats(); got != tc.want {
				t.Errorf("stats %+v, want %+v", got, tc.want)
			}
		})
	}
}
