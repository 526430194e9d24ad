// Package tone makes and detects the call-establishment tones of T.30 and
// V.25 on an 8 kHz sample stream: CNG (1100 Hz, 0.5 s on and 3 s off, sent
// by a calling fax terminal) and CED (2100 Hz answer tone, plain or with
// the phase reversals every 450 ms of V.25/V.8 ANS with reversals).
//
// tone imports only the standard library.
package tone

import (
	"fmt"
	"math"
)

// Kind is a tone.
type Kind int

// Tones.
const (
	None Kind = iota
	CNG       // 1100 Hz calling tone
	CED       // 2100 Hz answer tone
)

func (k Kind) String() string {
	switch k {
	case CNG:
		return "CNG"
	case CED:
		return "CED"
	case None:
		return "none"
	}
	return fmt.Sprintf("tone.Kind(%d)", int(k))
}

// Freq returns the tone's frequency in Hz.
func (k Kind) Freq() float64 {
	switch k {
	case CNG:
		return 1100
	case CED:
		return 2100
	}
	return 0
}

// Cadences and levels.
const (
	CNGOn         = 4000  // samples of tone (0.5 s)
	CNGOff        = 24000 // samples of silence (3 s)
	ReversalEvery = 3600  // samples between CED phase reversals (450 ms)
	DefaultLevel  = -12.0 // dBm0
)

const amplitude0dBm0 = 22786.0 // peak of a 0 dBm0 sine in 16-bit samples

// Both tones are whole multiples of 50 Hz: a 160-entry sine table read
// in whole steps gives them exactly, and a reversal is half the table.
const tableLen = 160

// Gen generates one tone continuously (the caller decides how long; CNG's
// cadence is the sender's business).
type Gen struct {
	sine      [tableLen]int16
	step      int
	phase     int
	reversals bool
	n         int // samples since the last reversal
}

// NewGen returns a generator of k at level dBm0; reversals adds V.25
// phase reversals every 450 ms (CED only).
func NewGen(k Kind, level float64, reversals bool) *Gen {
	g := &Gen{step: int(k.Freq()) / 50, reversals: reversals && k == CED}
	amp := amplitude0dBm0 * math.Pow(10, level/20)
	for i := range g.sine {
		g.sine[i] = int16(amp * math.Sin(2*math.Pi*float64(i)/tableLen))
	}
	return g
}

// Generate fills out with the tone.
func (g *Gen) Generate(out []int16) {
	for i := range out {
		if g.reversals {
			if g.n == ReversalEvery {
				g.n = 0
				g.phase = (g.phase + tableLen/2) % tableLen
			}
			g.n++
		}
		out[i] = g.sine[g.phase]
		if g.phase += g.step; g.phase >= tableLen {
			g.phase -= tableLen
		}
	}
}
