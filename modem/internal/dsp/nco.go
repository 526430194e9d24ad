package dsp

import (
	"math"
	"math/cmplx"
)

// NCO is a numerically controlled oscillator: a unit phasor that turns by
// a set angle every sample. It rotates a complex value instead of looking
// up a table, renormalising now and then so its amplitude cannot drift.
type NCO struct {
	z    complex128 // current phasor e^{j phase}
	step complex128 // e^{j 2 pi f / fs}
	rad  float64    // step angle, radians per sample
	n    int
}

// NewNCO makes an oscillator at freqHz for a sampleRate, starting at phase 0.
func NewNCO(freqHz, sampleRate float64) *NCO {
	o := &NCO{z: 1}
	o.SetStep(2 * math.Pi * freqHz / sampleRate)
	return o
}

// SetStep sets the turn per sample, in radians.
func (o *NCO) SetStep(rad float64) {
	o.rad = rad
	s, c := math.Sincos(rad)
	o.step = complex(c, s)
}

// Step returns the turn per sample, in radians.
func (o *NCO) Step() float64 { return o.rad }

// Phasor returns the current phasor without advancing.
func (o *NCO) Phasor() complex128 { return o.z }

// Next returns the current phasor e^{j phase} and advances one sample.
func (o *NCO) Next() complex128 {
	z := o.z
	o.z *= o.step
	if o.n++; o.n >= 256 {
		o.n = 0
		o.z /= complex(cmplx.Abs(o.z), 0)
	}
	return z
}

// Reset puts the phase back to 0.
func (o *NCO) Reset() { o.z, o.n = 1, 0 }
