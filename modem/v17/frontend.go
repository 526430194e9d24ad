package v17

import (
	"sync"

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
	n       int // samples taken (mod the carrier period, at each output)
	// hist holds the line samples twice over, so a window of rxSpan is
	// always contiguous.
	hist [rxHistLen]float64
	pos  int
	taps *[rxPhases][rxSpan]complex128

	next   float64 // time of the next output, in samples after the newest
	onTime bool    // the next output is a symbol centre (else a midpoint)
	prevOn complex128
	mid    complex128
	power  float64 // running mean |y|^2, normalises the timing error
	kp, ki float64
	integ  float64 // timing loop integrator: samples per half symbol
}

// newMatchedTaps returns, per fractional delay, the matched filter's taps
// with the carrier folded in: mixing sample k down by conj(c[k]) and then
// filtering with h equals filtering the line samples with h[i] c[i] and
// turning the sum by conj(c[n]) for the newest sample n, which mixes once
// per output instead of once per sample.
func newMatchedTaps(c *carrierTable) *[rxPhases][rxSpan]complex128 {
	var t [rxPhases][rxSpan]complex128
	for p := range t {
		mu := float64(p) / rxPhases
		for i := range t[p] {
			// Tap i multiplies the sample i samples old; the output
			// instant is rxSpan/2 + mu samples old.
			ts := float64(i) - rxSpan/2 - mu
			t[p][i] = c[i%len(c)] * complex(dsp.RootRaisedCosine(ts/(2*halfT), rollOff)/(2*halfT), 0)
		}
	}
	return &t
}

// matchedTaps are shared by every receiver: a read-only table.
var matchedTaps = sync.OnceValue(func() *[rxPhases][rxSpan]complex128 { return newMatchedTaps(newCarrierTable()) })

func newFrontEnd() *frontEnd {
	f := &frontEnd{carrier: newCarrierTable(), taps: matchedTaps()}
	f.reset()
	return f
}

// reset forgets the signal and the timing, not the clock rate learnt
// (integ): the far end's clock is the same on the next carrier.
func (f *frontEnd) reset() {
	f.hist = [rxHistLen]float64{}
	f.next, f.onTime = halfT, true
	f.prevOn, f.mid, f.power = 0, 0, 0
	f.setGains(0.08, 0)
}

func (f *frontEnd) setGains(kp, ki float64) { f.kp, f.ki = kp, ki }

// in takes one line sample and reports whether an output falls due: then
// call out. (Split so that the per-sample part inlines.)
func (f *frontEnd) in(x float64) bool {
	if f.pos--; f.pos < 0 {
		f.pos = rxSpan - 1
	}
	f.hist[f.pos] = x
	f.hist[f.pos+rxSpan] = x
	f.n++
	f.next--
	return f.next <= 0
}

// out returns the T/2 output that fell due and whether it is a symbol
// centre.
func (f *frontEnd) out() (y complex128, onTime bool) {
	// The output instant is -next samples before the newest sample, which
	// the taps place rxSpan/2 back: mu = -next in [0,1).
	mu := -f.next
	p := min(int(mu*rxPhases+0.5), rxPhases-1)
	y = dot(&f.taps[p], (*[rxSpan]float64)(f.hist[f.pos:f.pos+rxSpan]))
	f.n %= len(f.carrier)
	z := f.carrier[(f.n+len(f.carrier)-1)%len(f.carrier)] // the newest sample's
	y *= complex(real(z), -imag(z))
	onTime = f.onTime
	step := halfT
	if onTime {
		// Gardner: the midpoint between two symbol centres is zero on a
		// transition when the sampling is right.
		e := real((f.prevOn - y) * complex(real(f.mid), -imag(f.mid)))
		if f.power > 0 {
			e = max(-1, min(1, e/f.power))
			f.integ = max(-0.01, min(0.01, f.integ+f.ki*e))
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
	return y, onTime
}

// dot is the complex taps times the real samples, in three interleaved
// sums for each part (shorter chains of dependent additions).
func dot(taps *[rxSpan]complex128, w *[rxSpan]float64) complex128 {
	var r0, i0, r1, i1, r2, i2 float64
	for i := 0; i < rxSpan; i += 3 {
		a, b, c := taps[i], taps[i+1], taps[i+2]
		r0 += real(a) * w[i]
		i0 += imag(a) * w[i]
		r1 += real(b) * w[i+1]
		i1 += imag(b) * w[i+1]
		r2 += real(c) * w[i+2]
		i2 += imag(c) * w[i+2]
	}
	return complex(r0+r1+r2, i0+i1+i2)
}
