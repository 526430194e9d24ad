// Package v29 is the ITU-T V.29 data pump as fax uses it: 9600 bit/s
// (16-point QAM) and 7200 bit/s (8 points) at 2400 baud on a 1700 Hz
// carrier, with the self-synchronising scrambler 1 + x^-18 + x^-23, the
// four-segment training (silence, ABAB, the CDCD sequence from the
// 1 + x^-6 + x^-7 training generator, scrambled ones) and a turn-off of
// scrambled ones.
//
// Transmitter and Receiver implement modem/pump's contract. The receiver
// detects the carrier by power (on above -43 dBm0, off below -48 dBm0),
// acquires symbol timing on the ABAB alternation, finds the start of the
// CDCD segment (its first symbol, C, lies opposite the B two symbols
// before), takes gain and absolute phase from those known points, trains
// its T/2 equaliser and carrier loop on the CDCD segment, checks the
// segment-4 ones, and only then reports TrainingSucceeded and bits.
//
// v29 imports modem/pump and modem/internal/dsp only.
package v29

import "errors"

// ErrRate is returned for a bit rate this package does not send.
var ErrRate = errors.New("v29: rate must be 7200 or 9600")

const (
	baud      = 2400
	carrierHz = 1700
	txBeta    = 0.25 // transmit root-raised-cosine roll-off
	txSpan    = 10   // pulse length, symbols
	// TxLevel is the transmit power, in dBm0.
	TxLevel = -14.0
)

// Training segment lengths, symbols (V.29 Table 4; no echo protection tone).
const (
	seg1Len    = 48  // silence
	seg2Len    = 128 // ABAB
	seg3Len    = 384 // CDCD
	seg4Len    = 48  // scrambled ones
	turnOffLen = 32
	trainInit  = 0x2A // training generator state at the start of segment 3
)

// point is a constellation point in V.29's units (Figure 3): absolute
// phase p in 45 degree units and the amplitude bit Q1.
func point(p, q1 int) complex128 {
	p &= 7
	var a, d float64 // on-axis and diagonal coordinates
	if q1 == 0 {
		a, d = 3, 1
	} else {
		a, d = 5, 3
	}
	switch p {
	case 0:
		return complex(a, 0)
	case 1:
		return complex(d, d)
	case 2:
		return complex(0, a)
	case 3:
		return complex(-d, d)
	case 4:
		return complex(-a, 0)
	case 5:
		return complex(-d, -d)
	case 6:
		return complex(0, -a)
	}
	return complex(d, -d)
}

// index is the position of point(p, q1) in constellation().
func index(p, q1 int) int { return p&7 | q1<<3 }

// constellation is every point, in index order.
func constellation() []complex128 {
	c := make([]complex128, 16)
	for i := range c {
		c[i] = point(i&7, i>>3)
	}
	return c
}

// indexOf is the index of a constellation point, -1 for any other value
// (every training point is one; TestTrainingPointsInConstellation).
func indexOf(z complex128) int {
	for i, c := range constellation() {
		if c == z {
			return i
		}
	}
	return -1
}

// The training points (V.29 Table 5) for 9600 and 7200 bit/s.
func trainA(rate int) complex128 {
	if rate == 9600 {
		return complex(3, -3)
	}
	return complex(1, -1)
}

func trainB(rate int) complex128 { return complex(-3, 0) }

func trainC(rate int) complex128 { return complex(3, 0) }

func trainD(rate int) complex128 {
	if rate == 9600 {
		return complex(-3, 3)
	}
	return complex(-1, 1)
}

// meanPower is the mean |point|^2 of the data (and ABAB) symbols.
func meanPower(rate int) float64 {
	if rate == 9600 {
		return 13.5
	}
	return 5.5
}

// phaseStep[tribit] is the phase change in 45 degree units for the bits
// Q2 Q3 Q4 (Q2 in the high bit), V.29 Table 2.
var phaseStep = [8]int{1, 0, 2, 3, 6, 7, 5, 4}

// scrambler is V.29's 1 + x^-18 + x^-23 self-synchronising scrambler.
type scrambler struct{ reg uint32 }

func (s *scrambler) scramble(in int) int {
	out := (in ^ int(s.reg>>17) ^ int(s.reg>>22)) & 1
	s.reg = s.reg<<1 | uint32(out)
	return out
}

func (s *scrambler) descramble(in int) int {
	out := (in ^ int(s.reg>>17) ^ int(s.reg>>22)) & 1
	s.reg = s.reg<<1 | uint32(in&1)
	return out
}

// trainGen is the segment-3 training generator 1 + x^-6 + x^-7: each
// call gives the next bit (0 sends C, 1 sends D).
type trainGen struct{ reg uint32 }

func (g *trainGen) next() int {
	b := int(g.reg & 1)
	g.reg >>= 1
	g.reg |= uint32((b^int(g.reg))&1) << 6
	return b
}
