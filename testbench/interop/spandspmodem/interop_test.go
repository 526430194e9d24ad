package spandspmodem

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/modem/g711"
	"github.com/faxagent/faxagent/modem/impair"
)

// TestInterop: random bits, every rate, SpanDSP's transmitter to our
// receiver, ours to SpanDSP's and ours to ours, over a clean line and over
// each impairment the issue names; the bits after training must be exact.
// Where SpanDSP's receiver makes errors on our signal it must make them on
// its own transmitter's too (its 2400 bit/s receiver does at ±100 ppm).
func TestInterop(t *testing.T) {
	lines := []struct {
		name string
		cfg  impair.Config
		band int // through a telephone band first: 1 300-3400 Hz fourth order, 2 400-3200 Hz sixth order
	}{
		{"clean", impair.Config{}, 0},
		{"ulaw", impair.Config{G711: true, Law: g711.ULaw}, 0},
		{"alaw", impair.Config{G711: true, Law: g711.ALaw}, 0},
		{"+100ppm", impair.Config{ClockPPM: 100}, 0},
		{"-100ppm", impair.Config{ClockPPM: -100}, 0},
		{"+10dB", impair.Config{GainDB: 10}, 0},
		{"-10dB", impair.Config{GainDB: -10}, 0},
		{"ulaw -10dB -100ppm 30dB SNR", impair.Config{G711: true, Law: g711.ULaw, GainDB: -10, ClockPPM: -100, SNR: 30, SignalDBm0: -24, Seed: 5}, 0},
		{"300-3400Hz band", impair.Config{}, 1},
		{"300-3400Hz band alaw +100ppm 30dB SNR", impair.Config{G711: true, Law: g711.ALaw, ClockPPM: 100, SNR: 30, SignalDBm0: -14, Seed: 6}, 1},
		{"400-3200Hz 6th-order band", impair.Config{}, 2},
	}
	for _, c := range allRates {
		for _, dir := range [][2]side{{spandsp, ours}, {ours, spandsp}, {ours, ours}} {
			for _, l := range lines {
				name := fmt.Sprintf("%v/%v-to-%v/%s", c, dir[0], dir[1], l.name)
				t.Run(name, func(t *testing.T) {
					want := randomBits(10000, uint64(c.rate)+uint64(len(name)))
					s, _ := transmit(t, dir[0], c, want)
					line := func(s []int16) []int16 {
						switch l.band {
						case 1:
							s = impair.Band(s, 300, 3400, 4)
						case 2:
							s = impair.Band(s, 400, 3200, 6)
						}
						return impaired(s, l.cfg)
					}
					r, _ := receive(t, dir[1], c, line(s))
					// Training must succeed (first) and the bits be exact.
					n := bitErrors(r, want)
					if !strings.HasPrefix(r.Events, "UT") {
						n = len(want)
					}
					if n == 0 {
						return
					}
					if dir[1] == spandsp {
						// Is it our signal or SpanDSP's receiver? Its own
						// transmitter over the same line tells.
						s, _ := transmit(t, spandsp, c, want)
						ref, _ := receive(t, spandsp, c, line(s))
						m := bitErrors(ref, want)
						if !strings.HasPrefix(ref.Events, "UT") {
							m = len(want)
						}
						if m != 0 {
							t.Logf("SpanDSP's receiver fails here on its own transmitter too: %d bit errors (events %q) from ours, %d (events %q) from its own", n, r.Events, m, ref.Events)
							return
						}
					}
					t.Fatalf("%d bit errors in %d (events %q, %d bits)", n, len(want), r.Events, len(r.Bits))
				})
			}
		}
	}
}

// TestTalkerEchoProtectionTone: SpanDSP's transmitter with the talker
// echo protection tone before its training (unmodulated carrier, then
// silence) to our receiver: one carrier, trained, bits exact.
func TestTalkerEchoProtectionTone(t *testing.T) {
	for _, c := range allRates {
		t.Run(c.String(), func(t *testing.T) {
			want := randomBits(10000, uint64(c.rate))
			s, _, err := peer(t).TxTEP(context.Background(), c.modem, c.rate, want)
			if err != nil {
				t.Fatal(err)
			}
			line := append(append(make([]int16, 2000), s...), make([]int16, 2000)...)
			r, _ := receive(t, ours, c, line)
			if r.Events != "UTD" {
				t.Fatalf("events %q, want UTD", r.Events)
			}
			if n := bitErrors(r, want); n != 0 {
				t.Fatalf("%d bit errors", n)
			}
		})
	}
}
