package dsp

import (
	"math"
	"math/cmplx"
)

// PhaseLoop is a second-order (proportional plus integral) carrier phase
// and frequency tracking loop, run once a symbol: Derotate the equalised
// point, decide, then Update with the phase error of the point against
// the decision. It keeps the phase as a unit phasor, turned each symbol
// by a small-angle rotation, so it needs no trigonometry per symbol.
type PhaseLoop struct {
	freq   float64 // radians per symbol
	kp, ki float64
	rot    complex128 // e^{-j phase}
	steps  int        // turns since the phasor's magnitude was last corrected
}

// NewPhaseLoop makes a loop with proportional gain kp and integral gain ki.
func NewPhaseLoop(kp, ki float64) *PhaseLoop {
	return &PhaseLoop{kp: kp, ki: ki, rot: 1}
}

// SetGains changes the loop gains.
func (l *PhaseLoop) SetGains(kp, ki float64) { l.kp, l.ki = kp, ki }

// Set puts the loop at phase (radians) and freq (radians per symbol).
func (l *PhaseLoop) Set(phase, freq float64) {
	l.freq = freq
	l.rot = cmplx.Rect(1, -phase)
	l.steps = 0
}

// Phase is the loop's phase estimate, radians in (-pi, pi].
func (l *PhaseLoop) Phase() float64 { return -cmplx.Phase(l.rot) }

// Freq is the frequency estimate in radians per symbol.
func (l *PhaseLoop) Freq() float64 { return l.freq }

// Derotate removes the estimated carrier phase from z.
func (l *PhaseLoop) Derotate(z complex128) complex128 { return z * l.rot }

// Rotate puts the estimated phase back on z (to turn an error measured
// after Derotate back into the equaliser's frame).
func (l *PhaseLoop) Rotate(z complex128) complex128 {
	return z * complex(real(l.rot), -imag(l.rot))
}

// Update takes the phase error (radians, positive when the point is
// ahead of the decision) and advances the loop by one symbol.
func (l *PhaseLoop) Update(perr float64) {
	l.freq += l.ki * perr
	l.turn(l.kp*perr + l.freq)
}

// turn advances the phase by d radians.
func (l *PhaseLoop) turn(d float64) {
	if d > 0.1 || d < -0.1 {
		s, c := math.Sincos(-d)
		l.rot *= complex(c, s)
	} else {
		// e^{-jd} from its Taylor series: error below 1e-7 for |d| <= 0.1.
		d2 := d * d
		l.rot *= complex(1-d2/2+d2*d2/24, -d*(1-d2/6))
	}
	if l.steps++; l.steps == 16 {
		// Pull the magnitude back to 1 (one Newton step).
		l.steps = 0
		m := real(l.rot)*real(l.rot) + imag(l.rot)*imag(l.rot)
		l.rot *= complex((3-m)/2, 0)
	}
}

// PhaseError is the angle of z against the decision d, small-angle form:
// Im(z conj d) / |d|^2.
func PhaseError(z, d complex128) float64 {
	m := real(d)*real(d) + imag(d)*imag(d)
	if m == 0 {
		return 0
	}
	return (imag(z)*real(d) - real(z)*imag(d)) / m
}
