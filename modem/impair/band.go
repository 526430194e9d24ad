package impair

import "math"

// biquad is a second-order IIR section (RBJ cookbook form).
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

// newBiquad makes a Butterworth-Q low-pass (high false) or high-pass
// section at f Hz for 8 kHz.
func newBiquad(f float64, high bool) *biquad {
	w := 2 * math.Pi * f / 8000
	cw, sw := math.Cos(w), math.Sin(w)
	alpha := sw / math.Sqrt2 // sin(w) / (2Q), Q = 1/sqrt(2)
	a0 := 1 + alpha
	q := &biquad{a1: -2 * cw / a0, a2: (1 - alpha) / a0}
	if high {
		q.b0, q.b1, q.b2 = (1+cw)/2/a0, -(1+cw)/a0, (1+cw)/2/a0
	} else {
		q.b0, q.b1, q.b2 = (1-cw)/2/a0, (1-cw)/a0, (1-cw)/2/a0
	}
	return q
}

func (q *biquad) step(x float64) float64 {
	y := q.b0*x + q.b1*q.x1 + q.b2*q.x2 - q.a1*q.y1 - q.a2*q.y2
	q.x2, q.x1, q.y2, q.y1 = q.x1, x, q.y1, y
	return y
}

// Band filters samples like an analogue telephone channel: a high-pass at
// lo Hz and a low-pass at hi Hz, each of the order given (even: that many
// halves of cascaded second-order Butterworth sections, so order 4 is 6 dB
// down at lo and hi), whose phase distortion near the band edges is what
// the modems' equalisers are for.
func Band(in []int16, lo, hi float64, order int) []int16 {
	var qs []*biquad
	for range order / 2 {
		qs = append(qs, newBiquad(lo, true), newBiquad(hi, false))
	}
	out := make([]int16, len(in))
	for i, s := range in {
		v := float64(s)
		for _, q := range qs {
			v = q.step(v)
		}
		out[i] = clip(v)
	}
	return out
}
