package v17

import (
	"fmt"
	"math"
	"testing"
)

// Ours to ours, no impairment: long then short training, every rate.
func TestOursToOurs(t *testing.T) {
	for _, rate := range rates {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			bursts := []burst{
				{short: false, bits: randomBits(uint64(rate), 2*rate)},
				{short: true, bits: randomBits(uint64(rate)+1, rate)},
			}
			rec := ourRx(t, rate, ourTx(t, rate, bursts, 800))
			checkReport(t, rec, bursts)
		})
	}
}

func checkReport(t *testing.T, rec *recorder, bursts []burst) {
	t.Helper()
	if rec.stray != 0 {
		t.Errorf("%d bits outside training-succeeded..carrier-down", rec.stray)
	}
	if len(rec.bits) != len(bursts) {
		t.Fatalf("trained %d times, want %d; events %v", len(rec.bits), len(bursts), rec.events)
	}
	for i, b := range bursts {
		lead, errs := checkBits(rec.bits[i], b.bits, maxLead)
		t.Logf("burst %d (short=%v): %d leading ones, %d trailing bits", i, b.short, lead, len(rec.bits[i])-lead-len(b.bits))
		if errs != 0 {
			t.Errorf("burst %d (short=%v): %d of %d bits wrong (lead %d, got %d bits)", i, b.short, errs, len(b.bits), lead, len(rec.bits[i]))
		}
	}
}

// Short training after a long one, whatever the silence between them (so
// at every sub-sample offset of the second carrier), ours to ours and
// SpanDSP's transmitter to ours.
func TestShortTrainingAtAnyOffset(t *testing.T) {
	for _, rate := range []int{14400, 9600} {
		bursts := []burst{
			{short: false, bits: randomBits(uint64(rate)+20, rate)},
			{short: true, bits: randomBits(uint64(rate)+21, rate)},
		}
		sp := spandspTx(t, rate, bursts)
		st := burstStarts(sp)
		for gap := 600; gap < 610; gap++ {
			t.Run(fmt.Sprintf("%d/gap%d", rate, gap), func(t *testing.T) {
				checkReport(t, ourRx(t, rate, ourTx(t, rate, bursts, gap)), bursts)
				shifted := append(append(append([]int16{}, sp[:st[1]]...), make([]int16, gap-600)...), sp[st[1]:]...)
				checkReport(t, ourRx(t, rate, shifted), bursts)
			})
		}
	}
}

// SetLevel moves the whole signal: -30 dBm0 still decodes bit-exact and
// measures within 0.5 dB of what was asked for.
func TestSetLevel(t *testing.T) {
	for _, level := range []float64{-30, -9} {
		bits := randomBits(31, 9600)
		tx, _ := NewTransmitter(9600, false, sliceSource(bits))
		tx.SetLevel(level)
		var sig []int16
		buf := make([]int16, 160)
		for {
			n := tx.Generate(buf)
			sig = append(sig, buf[:n]...)
			if n < len(buf) {
				break
			}
		}
		if got := signalDBm0(sig[100:800]); math.Abs(got-level) > 0.5 {
			t.Errorf("SetLevel(%v): training at %.2f dBm0", level, got)
		}
		rec := ourRx(t, 9600, sig)
		checkReport(t, rec, []burst{{bits: bits}})
	}
}
