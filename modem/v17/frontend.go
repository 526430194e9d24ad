package v17

import (
	"math"

	"github.com/faxagent/faxagent/modem/internal/dsp"
)

// The receive front end: it mixes the line down from 1800 Hz, applies the
// matched root raised cosine filter and interpolates the result at twice
// the symbol rate, at instants steered by a Gardner symbol timing loop.
// It knows nothing of V.17's training; the receiver drives it.

const (
	rxSpan    = 30 // matched filter length in samples (9 symbols)
	rxPhases  = 64 // fractional-delay steps per sample
	halfT     = 8000.0 / baud / 2
	rxHistLen = 2 * rxSpan
)

type frontEnd struct {
	carrier *carrierTable
	n       int // carrier table index
	// hist holds the mixed-down samples twice over, so a window of
	// rxSpan is always contiguous.
	hist [rxHistLen]complex128
	pos  int
	taps *[rxPhases][rxSpan]float64

	next   float64 // time of the next output, in samples after the newest
	onTime bool    // the next output is a symbol centre (else a midpoint)
	prevOn complex128
	mid    complex128
	power  float64 // running mean |y|^2, normalises the timing error
	kp, ki float64
	integ  float64 // timing loop integrator: samples per half symbol
}

func newMatchedTaps() *[rxPhases][rxSpan]float64 {
	var t [rxPhases][rxSpan]float64
	for p := range t {
		mu := float64(p) / rxPhases
		for i := range t[p] {
			// Tap i multiplies the sample i samples old; the output
			// instant is rxSpan/2 + mu samples old.
			ts := float64(i) - rxSpan/2 - mu
			t[p][i] = dsp.RootRaisedCosine(ts/(2*halfT), rollOff) / (2 * halfT)
		}
	}
	return &t
}

func newFrontEnd() *frontEnd {
	f := &frontEnd{carrier: newCarrierTable(), taps: newMatchedTaps()}
	f.reset()
	return f
}

// reset forgets the signal and the timing, not the clock rate learnt
// (integ): the far end's clock is the same on the next carrier.
func (f *frontEnd) reset() {
	f.hist = [rxHistLen]complex128{}
	f.next, f.onTime = halfT, true
	f.prevOn, f.mid, f.power = 0, 0, 0
	f.setGains(0.08, 0)
}

func (f *frontEnd) setGains(kp, ki float64) { f.kp, f.ki = kp, ki }

// push takes one line sample. When a T/2 output falls due it returns it
// (y) and whether it is a symbol centre.
func (f *frontEnd) push(x float64) (y complex128, onTime, ok bool) {
	z := f.carrier[f.n]
	if f.n++; f.n == len(f.carrier) {
		f.n = 0
	}
	b := complex(x*real(z), -x*imag(z))
	if f.pos--; f.pos < 0 {
		f.pos = rxSpan - 1
	}
	f.hist[f.pos] = b
	f.hist[f.pos+rxSpan] = b
	f.next--
	if f.next > 0 {
		return 0, false, false
	}
	// The output instant is -next samples before the newest sample, which
	// the taps place rxSpan/2 back: mu = -next in [0,1).
	mu := -f.next
	p := min(int(mu*rxPhases+0.5), rxPhases-1)
	w := f.hist[f.pos : f.pos+rxSpan]
	var re, im float64
	for i, c := range f.taps[p] {
		re += c * real(w[i])
		im += c * imag(w[i])
	}
	y = complex(re, im)
	onTime = f.onTime
	step := halfT
	if onTime {
		// Gardner: the midpoint between two symbol centres is zero on a
		// transition when the sampling is right.
		e := real((f.prevOn - y) * complex(real(f.mid), -imag(f.mid)))
		if f.power > 0 {
			e /= f.power
			e = math.Max(-1, math.Min(1, e))
			f.integ += f.ki * e
			f.integ = math.Max(-0.01, math.Min(0.01, f.integ))
			step += f.kp*e + f.integ
		}
		f.prevOn = y
	} else {
		f.mid = y
		step += f.integ
	}
	f.power += (real(y)*real(y) + imag(y)*imag(y) - f.power) / 64
	f.next += step
	f.onTime = !onTime
	return y, onTime, true
}
