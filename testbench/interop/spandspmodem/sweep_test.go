package spandspmodem

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/modem/g711"
	"github.com/faxagent/faxagent/modem/impair"
	"github.com/faxagent/faxagent/modem/v27ter"
)

// Each SNR step sends sweepRuns signals of sweepBits random bits, each
// with its own noise: error-free over all of them (10^5 bits) bounds the
// BER below about 1e-5. One run alone moves the threshold by ±2 dB from
// seed to seed.
const (
	sweepBits = 50000
	sweepRuns = 2
)

// lowestSNR steps the SNR down from 30 dB by 1 dB and returns the last
// SNR at which rx decoded tx's signal error-free (0 if it never failed
// down to 3 dB, -1 if it failed at 30 dB). With gated, the noise is on
// only while the transmitter's carrier is (from its first to its last
// non-zero sample); otherwise it is on the whole line, silence included.
func lowestSNR(t *testing.T, c modemCase, tx, rx side, gated bool) int {
	return lowestSNROn(t, c, tx, rx, gated, impair.Config{})
}

// lowestSNROn is lowestSNR with the line's other faults (gain, G.711,
// clock offset) from line applied after the noise, to the whole line.
func lowestSNROn(t *testing.T, c modemCase, tx, rx side, gated bool, line impair.Config) int {
	type run struct {
		want  []int
		clean []int16
	}
	var runs []run
	for seed := range uint64(sweepRuns) {
		want := randomBits(sweepBits, uint64(c.rate)*31+seed)
		clean, _ := transmit(t, tx, c, want)
		runs = append(runs, run{want, clean})
	}
	best := -1
	for snr := 30; snr >= 3; snr-- {
		for i, r := range runs {
			first, last := 0, len(r.clean)
			if gated {
				for first < last && r.clean[first] == 0 {
					first++
				}
				for last > first && r.clean[last-1] == 0 {
					last--
				}
			}
			noisy := impaired(r.clean[first:last], impair.Config{SNR: float64(snr), SignalDBm0: v27ter.TxLevel, Seed: uint64(snr) + uint64(i)*1000})
			whole := append(append(append([]int16{}, r.clean[:first]...), noisy...), r.clean[last:]...)
			got, _ := receive(t, rx, c, impaired(whole, line))
			if bitErrors(got, r.want) != 0 {
				return best
			}
		}
		best = snr
	}
	return 0
}

// TestSNRSweep reports, per modem and rate, the lowest SNR (white noise,
// signal at -14 dBm0) at which each receiver decodes every one of
// sweepBits random bits, for SpanDSP's signal and ours, beside SpanDSP's
// receiver on the same lines (error-free over 10^5 bits). The noise is on while the carrier is:
// SpanDSP's receivers take noise above their carrier threshold in the
// silence before a signal for a carrier, fail to train on it and then
// miss the signal. The last column is ours with the noise on the whole
// line. Ours must be no worse than SpanDSP's by more than 1 dB on
// SpanDSP's own signal.
func TestSNRSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("SNR sweep skipped in -short")
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-12s %14s %18s %14s %14s %22s\n", "modem/rate", "SpanDSP→ours", "SpanDSP→SpanDSP", "ours→SpanDSP", "ours→ours", "ours→ours, noise always")
	for _, c := range allRates {
		t.Run(c.String(), func(t *testing.T) {
			so := lowestSNR(t, c, spandsp, ours, true)
			ss := lowestSNR(t, c, spandsp, spandsp, true)
			os := lowestSNR(t, c, ours, spandsp, true)
			oo := lowestSNR(t, c, ours, ours, true)
			ooa := lowestSNR(t, c, ours, ours, false)
			fmt.Fprintf(&table, "%-12s %11d dB %15d dB %11d dB %11d dB %19d dB\n", c, so, ss, os, oo, ooa)
			if so < 0 || (ss >= 0 && so > ss+1) {
				t.Errorf("our receiver needs %d dB on SpanDSP's signal, SpanDSP's own %d dB", so, ss)
			}
			if oo < 0 || ooa < 0 {
				t.Errorf("ours to ours fails at 30 dB")
			}
		})
	}
	t.Log(table.String())
}

// TestSNRSweepImpaired is TestSNRSweep's SpanDSP-signal columns on a
// worse line: after the noise, -10 dB of gain, a G.711 µ-law round trip
// and the far end's clock 100 ppm fast. SpanDSP's V.27 ter receivers fail
// this line even at 30 dB (shown as -1).
func TestSNRSweepImpaired(t *testing.T) {
	if testing.Short() {
		t.Skip("SNR sweep skipped in -short")
	}
	line := impair.Config{GainDB: -10, G711: true, Law: g711.ULaw, ClockPPM: 100}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-12s %14s %18s   (noise, then -10 dB, µ-law, +100 ppm)\n", "modem/rate", "SpanDSP→ours", "SpanDSP→SpanDSP")
	for _, c := range allRates {
		t.Run(c.String(), func(t *testing.T) {
			so := lowestSNROn(t, c, spandsp, ours, true, line)
			ss := lowestSNROn(t, c, spandsp, spandsp, true, line)
			fmt.Fprintf(&table, "%-12s %11d dB %15d dB\n", c, so, ss)
			if so < 0 || (ss >= 0 && so > ss+1) {
				t.Errorf("our receiver needs %d dB on SpanDSP's signal, SpanDSP's own %d dB", so, ss)
			}
		})
	}
	t.Log(table.String())
}

// TestCPUVsSpanDSP reports the CPU time per second of signal of each
// transmitter and receiver on the same clean signals, ours (thread CPU
// time) beside SpanDSP's (process CPU time of its loop over the modem
// calls): the least of 5 interleaved runs each, which a loaded machine
// disturbs least.
func TestCPUVsSpanDSP(t *testing.T) {
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-12s %12s %12s %12s %12s   (µs of CPU per second of signal, least of %d runs)\n", "modem/rate", "ours tx", "SpanDSP tx", "ours rx", "SpanDSP rx", cpuRuns)
	for _, c := range allRates {
		want := randomBits(c.rate*20, 77)
		line, _ := transmit(t, ours, c, want)
		secs := float64(len(line)) / 8000
		best := [4]time.Duration{}
		for i := range cpuRuns {
			_, otx := transmit(t, ours, c, want)
			_, stx := transmit(t, spandsp, c, want)
			_, orx := receive(t, ours, c, line)
			_, srx := receive(t, spandsp, c, line)
			for j, d := range [4]time.Duration{otx, stx, orx, srx} {
				if i == 0 || d < best[j] {
					best[j] = d
				}
			}
		}
		us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 / secs }
		fmt.Fprintf(&table, "%-12s %12.0f %12.0f %12.0f %12.0f\n", c, us(best[0]), us(best[1]), us(best[2]), us(best[3]))
	}
	t.Log(table.String())
}

const cpuRuns = 5
