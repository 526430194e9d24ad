package v17

import (
	"fmt"
	"testing"

	"github.com/faxagent/faxagent/modem/pump"
)

// Our transmitter to SpanDSP's receiver: a long training then a short one
// on the same receiver, random bits, bit-exact.
func TestOurTxToSpanDSPRx(t *testing.T) {
	for _, rate := range rates {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			bursts := []burst{
				{short: false, bits: randomBits(uint64(rate), 3*rate)},
				{short: true, bits: randomBits(uint64(rate)+1, rate)},
			}
			sig := ourTx(t, rate, bursts, peerGap)
			rep := spandspRx(t, rate, bursts, sig, burstStarts(sig))
			if len(rep.bits) != len(bursts) {
				t.Fatalf("SpanDSP trained %d times, want %d; events %v", len(rep.bits), len(bursts), rep.events)
			}
			for i, b := range bursts {
				lead, errs := checkBits(rep.bits[i], b.bits, 0)
				if errs != 0 {
					t.Errorf("burst %d (short=%v): %d of %d bits wrong (lead %d)", i, b.short, errs, len(b.bits), lead)
				}
			}
		})
	}
}

// SpanDSP's transmitter to our receiver: long then short training.
func TestSpanDSPTxToOurRx(t *testing.T) {
	for _, rate := range rates {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			bursts := []burst{
				{short: false, bits: randomBits(uint64(rate), 3*rate)},
				{short: true, bits: randomBits(uint64(rate)+1, rate)},
			}
			rec := ourRx(t, rate, spandspTx(t, rate, bursts))
			checkReport(t, rec, bursts)
		})
	}
}

// SpanDSP's transmitter may send the talker echo protection tone (200 ms
// of unmodulated carrier, 20 ms of silence) before the training: our
// receiver waits it out without calling the training failed.
func TestTalkerEchoProtectionTone(t *testing.T) {
	for _, rate := range []int{14400, 9600} {
		bursts := []burst{
			{tep: true, bits: randomBits(uint64(rate)+60, rate)},
			{tep: true, short: true, bits: randomBits(uint64(rate)+61, rate)},
		}
		rec := ourRx(t, rate, spandspTx(t, rate, bursts))
		checkReport(t, rec, bursts)
		for _, e := range rec.events {
			if e == pump.TrainingFailed {
				t.Errorf("%d: events %v", rate, rec.events)
				break
			}
		}
	}
}
