package dsp

import "math"

// Demodulator is a receive front end for one passband carrier: at two
// points per symbol (T/2) it computes the line mixed down to baseband and
// matched (root-raised-cosine) filtered, at a fractional time, from a
// polyphase table. A Gardner timing
// error detector steers where those points fall, so it follows a symbol
// clock that is off by far more than ±100 ppm. Every second output is
// "on time" (the symbol centre the loop steers to); the others are the
// midpoints the equaliser and the detector also use.
//
// The mixing is folded into the filter: a window of real line samples is
// weighted by taps h(k) e^{-j w k} and the sum turned by the carrier phase
// of the window's first sample, so a line sample costs only its store, and
// a T/2 output one pass of 2 multiply-adds a tap and one rotation (the
// carrier is a table over its period, so it must be a whole number of
// hertz). Carrier phase and frequency errors are left to the caller's
// PhaseLoop.
type Demodulator struct {
	car    []complex128 // e^{-j w n} over the carrier's period
	ci     int          // the next sample's place in car
	ring   []float64    // line samples, written twice (i and i+n) so a window is contiguous
	n, pos int
	taps   [][]complex128 // taps[p]: h e^{-j w k} for a point p/phases of a sample before the newest, oldest sample first
	phases int
	back   int // (taps - 1) mod the carrier period: the oldest sample's carrier phase behind the newest's

	half   float64 // nominal samples per T/2
	cd     float64 // samples until the next T/2 output
	onTime bool
	prev   complex128 // last on-time output
	mid    complex128 // last midpoint output

	kp, ki, integ float64
	frozen        bool
}

// NewDemodulator makes a front end for baud symbols per second on a
// carrier at carrierHz, sampled at sampleRate, with a matched
// root-raised-cosine filter of roll-off beta spanning span symbols.
func NewDemodulator(sampleRate, baud int, carrierHz, beta float64, span int) *Demodulator {
	sps := float64(sampleRate) / float64(baud)
	n := int(math.Ceil(float64(span) * sps))
	const phases = 64
	fc := int(math.Round(carrierHz))
	car := make([]complex128, sampleRate/gcd(fc, sampleRate))
	for i := range car {
		s, c := math.Sincos(2 * math.Pi * float64(fc) * float64(i) / float64(sampleRate))
		car[i] = complex(c, -s)
	}
	d := &Demodulator{
		car:    car,
		ring:   make([]float64, 2*n),
		n:      n,
		taps:   make([][]complex128, phases+1),
		phases: phases,
		half:   sps / 2,
	}
	centre := float64(n-1) / 2
	for p := range d.taps {
		frac := float64(p) / phases
		row := make([]float64, n)
		var sum float64
		for j := range row {
			i := n - 1 - j // samples back from the newest
			row[j] = RootRaisedCosine((float64(i)-frac-centre)/sps, beta)
			sum += row[j]
		}
		c := make([]complex128, n)
		for j := range row {
			// unity gain at DC: a point of magnitude 1 comes out near 1/2
			c[j] = complex(row[j]/sum, 0) * car[j%len(car)]
		}
		d.taps[p] = c
	}
	d.back = (n - 1) % len(car)
	d.SetTimingGains(0.02, 0.0004)
	d.Reset()
	return d
}

// SetTimingGains sets the Gardner loop's proportional and integral gains
// (per symbol, for a signal normalised to unit power; defaults 0.02 and
// 0.0004).
func (d *Demodulator) SetTimingGains(kp, ki float64) { d.kp, d.ki = kp, ki }

// FreezeTiming stops (true) or restarts (false) the timing loop's updates.
func (d *Demodulator) FreezeTiming(f bool) { d.frozen = f }

// ClockOffset is the timing loop's estimate of how much longer the remote
// symbol is than nominal, as a fraction (1e-4 is +100 ppm).
func (d *Demodulator) ClockOffset() float64 { return d.integ / d.half }

// Reset clears the filter and the timing loop and the carrier phase.
func (d *Demodulator) Reset() {
	clear(d.ring)
	d.pos = 0
	d.cd = d.half
	d.onTime = false
	d.prev, d.mid = 0, 0
	d.integ = 0
	d.frozen = false
	d.ci = 0
}

// Process takes one line sample. When a T/2 point falls due it returns it
// with ok, and onTime says whether it is a symbol centre. At most one
// point falls due per sample (T/2 is longer than a sample for every baud
// rate below half the sample rate).
func (d *Demodulator) Process(x float64) (z complex128, onTime, ok bool) {
	if !d.Push(x) {
		return 0, false, false
	}
	z, onTime = d.Point()
	return z, onTime, true
}

// Push stores one line sample and reports whether a T/2 point is due; if
// so, Point computes it (before the next Push). Push is Process's cheap
// part, small enough to be inlined into a caller's per-sample loop.
func (d *Demodulator) Push(x float64) bool {
	if d.ci++; d.ci == len(d.car) {
		d.ci = 0
	}
	if d.pos++; d.pos == d.n {
		d.pos = 0
	}
	d.ring[d.pos] = x
	d.ring[d.pos+d.n] = x
	d.cd--
	return d.cd <= 0
}

// Point computes the T/2 point Push said is due and whether it is a symbol
// centre, and steps the timing loop.
func (d *Demodulator) Point() (z complex128, onTime bool) {
	cur := d.ci - 1 // the newest sample's carrier phase
	if cur < 0 {
		cur += len(d.car)
	}
	// The point lies frac samples before the newest sample.
	frac := -d.cd
	p := int(frac*float64(d.phases) + 0.5)
	if p > d.phases {
		p = d.phases
	}
	row := d.taps[p]
	// Oldest sample first: the window ends with the newest.
	win := d.ring[d.pos+1 : d.pos+1+len(row)]
	// Three sums for each part (short chains of dependent additions),
	// walking both slices down together so no index is bounds checked.
	var r0, i0, r1, i1, r2, i2 float64
	for len(row) >= 3 && len(win) >= 3 {
		r0 += real(row[0]) * win[0]
		i0 += imag(row[0]) * win[0]
		r1 += real(row[1]) * win[1]
		i1 += imag(row[1]) * win[1]
		r2 += real(row[2]) * win[2]
		i2 += imag(row[2]) * win[2]
		row, win = row[3:], win[3:]
	}
	for len(row) > 0 && len(win) > 0 {
		r0 += real(row[0]) * win[0]
		i0 += imag(row[0]) * win[0]
		row, win = row[1:], win[1:]
	}
	// Turn by the carrier phase of the window's first (oldest) sample.
	k := cur - d.back
	if k < 0 {
		k += len(d.car)
	}
	z = complex(r0+r1+r2, i0+i1+i2) * d.car[k]
	d.onTime = !d.onTime
	step := d.half
	if d.onTime {
		if !d.frozen {
			// Gardner: late sampling puts the midpoint past the zero
			// crossing, which makes e negative; sample earlier then.
			dz := d.prev - z
			e := real(dz)*real(d.mid) + imag(dz)*imag(d.mid)
			pw := real(z)*real(z) + imag(z)*imag(z) + real(d.prev)*real(d.prev) + imag(d.prev)*imag(d.prev)
			if pw > 1e-9 {
				e /= pw
				if e > 1 {
					e = 1
				} else if e < -1 {
					e = -1
				}
				d.integ += d.ki * e
				step += d.kp*e*d.half + d.integ
			}
		} else {
			step += d.integ
		}
		d.prev = z
	} else {
		d.mid = z
		step += d.integ
	}
	d.cd += step
	return z, d.onTime
}
