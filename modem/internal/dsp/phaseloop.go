package dsp

import "math"

// PhaseLoop is a second-order (proportional plus integral) carrier phase
// and frequency tracking loop, run once a symbol: Derotate the equalised
// point, decide, then Update with the phase error of the point against
// the decision.
type PhaseLoop struct {
	phase, freq float64 // radians, radians per symbol
	kp, ki      float64
	rot         complex128 // e^{-j phase}
	steps       int        // small turns since rot was last computed exactly
}

// NewPhaseLoop makes a loop with proportional gain kp and integral gain ki.
func NewPhaseLoop(kp, ki float64) *PhaseLoop {
	return &PhaseLoop{kp: kp, ki: ki, rot: 1}
}

// SetGains changes the loop gains.
func (l *PhaseLoop) SetGains(kp, ki float64) { l.kp, l.ki = kp, ki }

// Set puts the loop at phase (radians) and freq (radians per symbol).
func (l *PhaseLoop) Set(phase, freq float64) {
	l.phase, l.freq = phase, freq
	l.turn(0)
}

// Phase and Freq are the loop's current estimates.
func (l *PhaseLoop) Phase() float64 { return l.phase }

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

func (l *PhaseLoop) turn(d float64) {
	l.phase += d
	if l.phase > math.Pi {
		l.phase -= 2 * math.Pi
	} else if l.phase < -math.Pi {
		l.phase += 2 * math.Pi
	}
	if l.steps++; l.steps == 64 || d == 0 || d > 0.1 || d < -0.1 {
		l.steps = 0
		s, c := math.Sincos(-l.phase)
		l.rot = complex(c, s)
		return
	}
	// Small turn: rotate by e^{-jd} from its Taylor series (error below
	// 1e-7 for |d| <= 0.1) and pull the magnitude back to 1.
	d2 := d * d
	r := l.rot * complex(1-d2/2+d2*d2/24, -d*(1-d2/6))
	m := real(r)*real(r) + imag(r)*imag(r)
	l.rot = r * complex((3-m)/2, 0)
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
