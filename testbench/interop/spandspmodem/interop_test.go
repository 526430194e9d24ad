package spandspmodem

import (
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
	}{
		{"clean", impair.Config{}},
		{"ulaw", impair.Config{G711: true, Law: g711.ULaw}},
		{"alaw", impair.Config{G711: true, Law: g711.ALaw}},
		{"+100ppm", impair.Config{ClockPPM: 100}},
		{"-100ppm", impair.Config{ClockPPM: -100}},
		{"+10dB", impair.Config{GainDB: 10}},
		{"-10dB", impair.Config{GainDB: -10}},
		{"ulaw -10dB -100ppm 30dB SNR", impair.Config{G711: true, Law: g711.ULaw, GainDB: -10, ClockPPM: -100, SNR: 30, SignalDBm0: -24, Seed: 5}},
	}
	for _, c := range allRates {
		for _, dir := range [][2]side{{spandsp, ours}, {ours, spandsp}, {ours, ours}} {
			for _, l := range lines {
				name := fmt.Sprintf("%v/%v-to-%v/%s", c, dir[0], dir[1], l.name)
				t.Run(name, func(t *testing.T) {
					want := randomBits(10000, uint64(c.rate)+uint64(len(name)))
					s, _ := transmit(t, dir[0], c, want)
					r, _ := receive(t, dir[1], c, impaired(s, l.cfg))
					if !strings.HasPrefix(r.Events, "UT") {
						t.Fatalf("events %q, want carrier up then training succeeded", r.Events)
					}
					n := bitErrors(r, want)
					if n == 0 {
						return
					}
					if dir[1] == spandsp {
						// Is it our signal or SpanDSP's receiver? Its own
						// transmitter over the same line tells.
						s, _ := transmit(t, spandsp, c, want)
						ref, _ := receive(t, spandsp, c, impaired(s, l.cfg))
						if m := bitErrors(ref, want); m != 0 {
							t.Logf("SpanDSP's receiver: %d bit errors from ours, %d from SpanDSP's own transmitter on this line", n, m)
							return
						}
					}
					t.Fatalf("%d bit errors in %d (events %q, %d bits)", n, len(want), r.Events, len(r.Bits))
				})
			}
		}
	}
}
