// Package v21 is the ITU-T V.21 channel 2 modem T.30 uses for its control
// frames: binary FSK at 300 bit/s, 1650 Hz for a one (mark) and 1850 Hz for
// a zero (space). The transmitter keeps the phase continuous across bits;
// the receiver correlates one bit's worth of signal against both tones,
// recovers the bit clock from the transitions, and detects the carrier
// from the signal's power and how much of it lies on the two tones.
//
// v21 implements the modem/pump contract and imports only modem/pump and
// the standard library.
package v21

import (
	"math"

	"github.com/faxagent/faxagent/modem/pump"
)

// Channel 2 frequencies and the bit rate.
const (
	MarkHz  = 1650
	SpaceHz = 1850
	Baud    = 300
)

// DefaultLevel is the transmit level in dBm0 (T.30 terminals send between
// -6 and -15 dBm0).
const DefaultLevel = -12.0

// amplitude0dBm0 is the peak of a 0 dBm0 sine in 16-bit linear samples
// (G.711: a full-scale sine is +3.14 dBm0).
const amplitude0dBm0 = 22786.0

// Amplitude returns the peak sample value of a sine at level dBm0.
func Amplitude(dBm0 float64) float64 { return amplitude0dBm0 * math.Pow(10, dBm0/20) }

// Both tones are whole multiples of 50 Hz (33 and 37 x 50): their phase
// steps are whole steps of a 160-entry sine table, so the phase stays
// exact and continuous with no trigonometry per sample.
const (
	tableLen  = pump.SampleRate / 50
	markStep  = MarkHz / 50
	spaceStep = SpaceHz / 50
)

// Tx is a V.21 channel 2 transmitter.
type Tx struct {
	src   pump.BitSource
	sine  [tableLen]int16
	phase int // index into sine
	clk   int // bit clock: +Baud per sample, a new bit at SampleRate
	bit   int
	done  bool
}

// NewTx returns a transmitter at level dBm0 that sends the bits of src.
func NewTx(level float64, src pump.BitSource) *Tx {
	t := &Tx{src: src, clk: pump.SampleRate}
	amp := Amplitude(level)
	for i := range t.sine {
		t.sine[i] = int16(amp * math.Sin(2*math.Pi*float64(i)/tableLen))
	}
	return t
}

// Generate implements pump.Transmitter. V.21 has no turn-off sequence: the
// carrier stops after the last bit.
func (t *Tx) Generate(out []int16) int {
	for i := range out {
		if t.clk >= pump.SampleRate {
			t.clk -= pump.SampleRate
			if !t.done {
				t.bit = t.src()
			}
			if t.bit == pump.EndOfData {
				t.done = true
				return i
			}
		}
		t.clk += Baud
		if t.bit != 0 {
			t.phase += markStep
		} else {
			t.phase += spaceStep
		}
		if t.phase >= tableLen {
			t.phase -= tableLen
		}
		out[i] = t.sine[t.phase]
	}
	return len(out)
}
