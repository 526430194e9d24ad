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

// Gen generates one tone continuously (the caller decides how long; CNG's
// cadence is the sender's business).
type Gen struct {
	step, phase float64
	amp         float64
	reversals   bool
	n           int // samples since the last reversal
}

// NewGen returns a generator of k at level dBm0; reversals adds V.25
// phase reversals every 450 ms (CED only).
func NewGen(k Kind, level float64, reversals bool) *Gen {
	return &Gen{step: 2 * math.Pi * k.Freq() / 8000, amp: amplitude0dBm0 * math.Pow(10, level/20), reversals: reversals && k == CED}
}

// Generate fills out with the tone.
func (g *Gen) Generate(out []int16) {
	for i := range out {
		if g.reversals {
			if g.n == ReversalEvery {
				g.n = 0
				g.phase += math.Pi
			}
			g.n++
		}
		out[i] = int16(g.amp * math.Sin(g.phase))
		g.phase += g.step
		if g.phase > 2*math.Pi {
			g.phase -= 2 * math.Pi
		}
	}
}
