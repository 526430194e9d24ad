package v17

import (
	"math"
	"math/cmplx"
)

// Training: segment 1's alternations set the equaliser's gain and phase,
// segment 2's scrambled training points train it and prove the carrier is
// V.17; the end of segment 2 starts the search for the data (align.go).

// seekABAB looks for segment 1's alternation of A and B, a quarter turn
// apart, in the front end's symbols y, and from it sets the equaliser's
// gain and phase (z is the equaliser's output).
func (r *Receiver) seekABAB(y, z complex128) {
	r.fw[r.wn%abWindow] = y
	r.win[r.wn%abWindow] = z
	r.wn++
	if r.count > abLatest {
		r.fail()
		return
	}
	if r.count < abEarliest || r.wn < abWindow {
		return
	}
	// An unmodulated carrier (the talker echo protection tone some
	// transmitters send first, V.17 §7) stands still at baseband: wait it
	// out rather than time out.
	var sum complex128
	var abs, lo, hi float64
	lo = math.Inf(1)
	for _, y := range r.fw {
		a := cmplx.Abs(y)
		sum += y
		abs += a
		lo, hi = min(lo, a), max(hi, a)
	}
	if abs > 0 && cmplx.Abs(sum) > 0.95*abs {
		r.count = abEarliest
		return
	}
	// A and B have one magnitude: a signal rising or dying is not them.
	if lo < 0.3*hi {
		return
	}
	// q_k = y_k conj(y_k-1) is +j|A|^2 after an A and -j|A|^2 after a B.
	var s complex128
	var mag float64
	for k := 1; k < abWindow; k++ {
		i := (r.wn - abWindow + k) % abWindow
		q := r.fw[i] * cmplx.Conj(r.fw[(i+abWindow-1)%abWindow])
		if (r.wn-abWindow+k)&1 == 1 {
			q = -q
		}
		s += q
		mag += cmplx.Abs(q)
	}
	if mag == 0 || cmplx.Abs(s) < 0.9*mag || math.Abs(real(s)) > 0.3*cmplx.Abs(s) {
		return
	}
	// Symbols of even index follow an A where s is +j: they are B. The
	// equaliser's centre tap lags by an even number of symbols, so its
	// outputs keep the parity.
	bParity := 0
	if imag(s) < 0 {
		bParity = 1
	}
	if r.kept {
		// Keep the trained equaliser if it fits the alternations once its
		// gain and phase are set; else start again from a plain delay.
		g, residual := r.fitAB(r.win[:], bParity)
		if residual < 0.05 {
			r.eq.scale(g)
		} else {
			r.kept = false
		}
	}
	if !r.kept {
		g, _ := r.fitAB(r.fw[:], bParity)
		r.eq.unit()
		r.eq.scale(g)
	}
	r.refEnergy = r.eq.energy()
	r.rot, r.freq = 1, 0
	r.kp, r.ki, r.mu = 0.1, 0.004, 0.05
	r.tr = scrambler{}
	r.to(rxSeekCDBA)
}

// fitAB returns the complex gain that best turns the window's symbols into
// the A and B points (B on bParity) and the relative error that remains.
func (r *Receiver) fitAB(w []complex128, bParity int) (g complex128, residual float64) {
	var num complex128
	var den, ref2 float64
	for k := range abWindow {
		n := r.wn - abWindow + k
		ref := pointsABCD[0].complex()
		if n&1 == bParity {
			ref = pointsABCD[1].complex()
		}
		zk := w[n%abWindow]
		num += ref * cmplx.Conj(zk)
		den += real(zk)*real(zk) + imag(zk)*imag(zk)
		ref2 += 40
	}
	if den == 0 {
		return 1, 1
	}
	g = num / complex(den, 0)
	var e float64
	for k := range abWindow {
		n := r.wn - abWindow + k
		ref := pointsABCD[0].complex()
		if n&1 == bParity {
			ref = pointsABCD[1].complex()
		}
		e += sqDist(ref, g*w[n%abWindow])
	}
	return g, e / ref2
}

// invCDBA maps a training point (A, B, C, D) to the two scrambled bits of
// segment 2 that select it (the first bit in bit 1).
var invCDBA = [4]int{3, 2, 0, 1}

// train runs through segments 1 to 3 on the four training points.
func (r *Receiver) train(z complex128) {
	zr := z * r.rot
	if r.st != rxSeekCDBA {
		r.onLabels(r.vit.add(zr))
	}
	best, bd := 0, math.Inf(1)
	for i, p := range pointsABCD {
		if d := sqDist(zr, p.complex()); d < bd {
			best, bd = i, d
		}
	}
	r.adapt(z, zr, pointsABCD[best].complex())
	b := invCDBA[best]
	one := r.tr.descramble(b>>1)&r.tr.descramble(b&1) == 1
	n := r.symbols
	r.regAt[n&15], r.abcdAt[n&15] = r.tr.reg, uint8(best)
	copy(r.recent[:], r.recent[1:])
	r.recent[3] = one
	if one {
		r.run++
	} else {
		r.run = 0
	}
	switch r.st {
	case rxSeekCDBA:
		if r.run >= onesToSeg2 {
			r.to(rxSeg2)
			r.count = r.run
			r.vit.reset()
			r.vitNext = n + 1
			r.ds = scrambler{}
		} else if r.count > seg1Len+seg2ShortLen+40 {
			r.fail()
		}
	case rxSeg2:
		misses, first := 0, 0
		for i, o := range r.recent {
			if !o {
				if misses++; misses == 1 {
					first = n - (len(r.recent) - 1 - i)
				}
			}
		}
		if misses >= 3 {
			r.seg2Ended(first, r.count > longSeg2)
		} else if r.count > seg2LongLen+100 {
			r.fail()
		}
	case rxBridge:
		for j := range r.bridges {
			r.bridges[j].check(n, uint8(best))
		}
		if n == r.decideAt {
			r.chooseBridge()
		} else if n == r.seg4At-1 {
			r.to(rxSeg4)
		}
	}
}
