package dsp

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/faxagent/faxagent/modem/internal/pumptest"
)

func TestRootRaisedCosineCascadeIsNyquist(t *testing.T) {
	for _, beta := range []float64{0.12, 0.25, 0.5} {
		// Convolve RRC with itself numerically at symbol instants.
		const os = 64
		var at [5]float64
		for k := range at {
			var s float64
			for i := -20 * os; i <= 20*os; i++ {
				u := float64(i) / os
				s += RootRaisedCosine(u, beta) * RootRaisedCosine(float64(k)-u, beta)
			}
			at[k] = s / os
		}
		for k := 1; k < len(at); k++ {
			if r := math.Abs(at[k] / at[0]); r > 0.01 {
				t.Errorf("beta %v: ISI at %d symbols = %.4f of the peak", beta, k, r)
			}
		}
		if math.Abs(at[0]-1) > 0.02 {
			t.Errorf("beta %v: energy %.4f, want 1", beta, at[0])
		}
		if rc := RaisedCosine(1, beta); math.Abs(rc) > 1e-12 {
			t.Errorf("beta %v: RaisedCosine(1) = %v", beta, rc)
		}
	}
}

func TestNCOFrequencyAndAmplitude(t *testing.T) {
	o := NewNCO(1800, 8000)
	var z complex128
	for range 100000 {
		z = o.Next()
	}
	want := cmplx.Exp(complex(0, 2*math.Pi*1800/8000*99999))
	if cmplx.Abs(z-want) > 1e-6 {
		t.Fatalf("after 100000 samples: %v, want %v", z, want)
	}
}

// resample reads x at positions n*ratio (cubic interpolation): ratio > 1
// makes the sender's clock slow compared with ours.
func resample(x []float64, ratio float64) []float64 {
	var out []float64
	for t := 1.0; t < float64(len(x)-3); t += ratio {
		i := int(t)
		f := t - float64(i)
		p0, p1, p2, p3 := x[i-1], x[i], x[i+1], x[i+2]
		out = append(out, p1+0.5*f*(p2-p0+f*(2*p0-5*p1+4*p2-p3+f*(3*(p1-p2)+p3-p0))))
	}
	return out
}

// qpskChain is a little receiver built from this package's parts the way
// a pump uses them: decision-directed equaliser and phase loop after the
// front end and AGC. It returns the decided points (as indexes 0..3).
func qpskChain(t *testing.T, line []float64, baud int, carrier, beta float64) []int {
	t.Helper()
	d := NewDemodulator(8000, baud, carrier, beta, 8)
	agc := NewAGC(1, 200)
	eq := NewEqualizer(17, 0.05)
	pl := NewPhaseLoop(0.1, 0.005)
	pts := [4]complex128{complex(1, 1) / math.Sqrt2, complex(-1, 1) / math.Sqrt2, complex(-1, -1) / math.Sqrt2, complex(1, -1) / math.Sqrt2}
	var out []int
	for _, x := range line {
		z, on, ok := d.Process(x)
		if !ok {
			continue
		}
		eq.Push(agc.Apply(z))
		if !on {
			continue
		}
		y := pl.Derotate(eq.Output())
		best, bd := 0, math.Inf(1)
		for i, p := range pts {
			if e := cmplx.Abs(y - p); e < bd {
				best, bd = i, e
			}
		}
		dec := pts[best]
		eq.Update(pl.Rotate(dec - y))
		pl.Update(PhaseError(y, dec))
		out = append(out, best)
	}
	return out
}

func TestModulatorDemodulatorQPSKWithClockOffsetAndEcho(t *testing.T) {
	for _, tc := range []struct {
		name    string
		baud    int
		carrier float64
		ppm     float64
		echo    bool
	}{
		{"1600 baud", 1600, 1800, 0, false},
		{"1600 baud +100ppm", 1600, 1800, 100, false},
		{"1200 baud -100ppm", 1200, 1800, -100, false},
		{"2400 baud +100ppm echo", 2400, 1700, 100, true},
		{"2400 baud -100ppm", 2400, 1700, -100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var qpsk []complex128
			for i := range 4 {
				qpsk = append(qpsk, cmplx.Exp(complex(0, math.Pi/4+math.Pi/2*float64(i))))
			}
			m := NewModulator(8000, tc.baud, tc.carrier, 0.5, 8, 8000, qpsk)
			const nsym = 6000
			// Differential QPSK: send the running sum of random steps.
			steps := make([]int, nsym)
			state := 0
			var line []float64
			k := 0
			next := func() int {
				steps[k] = rng.IntN(4)
				state = (state + steps[k]) & 3
				k++
				return state
			}
			for k < nsym-20 {
				line = append(line, m.Sample(next))
			}
			if tc.echo {
				for i := len(line) - 1; i >= 3; i-- {
					line[i] += 0.3 * line[i-3]
				}
			}
			line = resample(line, 1+tc.ppm*1e-6)
			got := qpskChain(t, line, tc.baud, tc.carrier, 0.5)
			// Differential decode and find the alignment over the tail.
			var diff []int
			for i := 1; i < len(got); i++ {
				diff = append(diff, (got[i]-got[i-1])&3)
			}
			tail := 1500
			bestErr, bestLag := tail, 0
			for lag := -20; lag <= 20; lag++ {
				errs := 0
				for i := len(diff) - tail; i < len(diff); i++ {
					j := i + 1 + lag
					if j < 0 || j >= nsym {
						errs++
						continue
					}
					if diff[i] != steps[j] {
						errs++
					}
				}
				if errs < bestErr {
					bestErr, bestLag = errs, lag
				}
			}
			if bestErr != 0 {
				t.Fatalf("%d symbol errors in the last %d (lag %d)", bestErr, tail, bestLag)
			}
		})
	}
}

func TestEqualizerLearnsISIChannel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	eq := NewEqualizer(21, 0.05)
	ch := []complex128{1, 0, complex(0.3, 0.15), 0, -0.1} // T/2 channel
	hist := make([]complex128, len(ch))
	var syms []complex128
	var mse float64
	const n = 4000
	for k := range n {
		s := complex(float64(2*rng.IntN(2)-1), float64(2*rng.IntN(2)-1))
		syms = append(syms, s)
		// Two T/2 points per symbol: the symbol then a zero (upsampled).
		for _, u := range []complex128{s, 0} {
			copy(hist[1:], hist)
			hist[0] = u
			var y complex128
			for i, c := range ch {
				y += c * hist[i]
			}
			eq.Push(y)
		}
		const delay = 5 // symbols back the centre tap looks
		if k < delay {
			continue
		}
		e := syms[k-delay] - eq.Output()
		eq.Update(e)
		if k > n-500 {
			mse += real(e)*real(e) + imag(e)*imag(e)
		}
	}
	if mse /= 500; mse > 0.01 {
		t.Fatalf("MSE after training %.4f, want < 0.01", mse)
	}
}

func TestPhaseLoopTracksFrequencyOffset(t *testing.T) {
	pl := NewPhaseLoop(0.1, 0.005)
	const f = 0.01 // radians per symbol
	for k := range 3000 {
		z := cmplx.Exp(complex(0, 0.3+f*float64(k)))
		y := pl.Derotate(z)
		pl.Update(PhaseError(y, 1))
	}
	if math.Abs(pl.Freq()-f) > 1e-4 {
		t.Fatalf("freq %.5f, want %.5f", pl.Freq(), f)
	}
}

func TestAGCAndPowerMeter(t *testing.T) {
	a := NewAGC(1, 50)
	var y complex128
	for range 1000 {
		y = a.Apply(complex(300, 400))
	}
	if math.Abs(cmplx.Abs(y)-1) > 1e-3 {
		t.Fatalf("|y| = %v, want 1", cmplx.Abs(y))
	}
	if d := DBm0(PowerOfDBm0(-14)); math.Abs(d+14) > 1e-9 {
		t.Fatalf("dBm0 round trip %v", d)
	}
}

func BenchmarkDemodulatorPerSecond(b *testing.B) {
	m := NewModulator(8000, 2400, 1700, 0.25, 8, 8000, []complex128{1})
	line := make([]float64, 8000)
	for i := range line {
		line[i] = m.Sample(func() int { return 0 })
	}
	d := NewDemodulator(8000, 2400, 1700, 0.25, 8)
	pumptest.ReportCPU(b, 1, "cpu-µs/s", func() {
		for _, x := range line {
			d.Process(x)
		}
	})
}

func TestGardnerLocksOnSymbolCentres(t *testing.T) {
	for _, start := range []int{0, 1, 2, 3, 4} {
		m := NewModulator(8000, 1600, 1800, 0.5, 8, 8000, []complex128{1, -1})
		sign := 0
		var line []float64
		for range start { // shift the symbol phase by whole samples
			line = append(line, 0)
		}
		for len(line) < 8000 {
			line = append(line, m.Sample(func() int { sign ^= 1; return sign }))
		}
		d := NewDemodulator(8000, 1600, 1800, 0.5, 8)
		d.SetTimingGains(0.2, 0.002)
		var on, mid float64
		n := 0
		for i, x := range line {
			z, isOn, ok := d.Process(x)
			if !ok || i < 4000 {
				continue
			}
			if isOn {
				on += cmplx.Abs(z)
				n++
			} else {
				mid += cmplx.Abs(z)
			}
		}
		if on < 10*mid {
			t.Errorf("start %d: on-time magnitude %.1f, midpoints %.1f: not locked on the centres", start, on/float64(n), mid/float64(n))
		}
	}
}

func BenchmarkModulatorPerSecond(b *testing.B) {
	pts := make([]complex128, 16)
	for i := range pts {
		pts[i] = complex(float64(i%4)-1.5, float64(i/4)-1.5)
	}
	m := NewModulator(8000, 2400, 1700, 0.25, 10, 8000, pts)
	i := 0
	next := func() int { i = (i*5 + 3) & 15; return i }
	pumptest.ReportCPU(b, 1, "cpu-µs/s", func() {
		for range 8000 {
			m.Sample(next)
		}
	})
}

func BenchmarkNewModulator(b *testing.B) {
	pts := make([]complex128, 16)
	pumptest.ReportCPU(b, 1, "cpu-µs/op", func() { NewModulator(8000, 2400, 1700, 0.25, 10, 8000, pts) })
}

// TestSlicers: Octant and Quadrant agree with the nearest point by angle
// all round the circle.
func TestSlicers(t *testing.T) {
	for i := range 3600 {
		a := float64(i) * math.Pi / 1800
		z := complex(math.Cos(a)*2, math.Sin(a)*2)
		if want := int(math.Round(a/(math.Pi/4))) & 7; Octant(z) != want && math.Abs(math.Mod(a, math.Pi/4)-math.Pi/8) > 1e-9 {
			t.Fatalf("octant at %.2f degrees = %d, want %d", a*180/math.Pi, Octant(z), want)
		}
		if want := 2 * (int(math.Round(a/(math.Pi/2))) & 3); Quadrant(z) != want && math.Abs(math.Mod(a, math.Pi/2)-math.Pi/4) > 1e-9 {
			t.Fatalf("quadrant at %.2f degrees = %d, want %d", a*180/math.Pi, Quadrant(z), want)
		}
	}
}

func TestClip16(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want int16
	}{
		{0, 0}, {0.49, 0}, {0.5, 1}, {-0.5, 0}, {-0.51, -1}, {-1.5, -1}, {1.5, 2},
		{32766.6, 32767}, {40000, 32767}, {-32768.4, -32768}, {-1e9, -32768}, {1e9, 32767},
	} {
		if got := Clip16(tc.in); got != tc.want {
			t.Errorf("Clip16(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestModulatorMatchesDirectSum: the tabulated waveforms add up to the
// textbook sum over the pulse span, Re{sum_k p_k g(t - kT) e^{j w t}},
// for random points, silences, several baud rates and carriers.
func TestModulatorMatchesDirectSum(t *testing.T) {
	for _, tc := range []struct {
		baud, span int
		fc, beta   float64
	}{{1600, 8, 1800, 0.5}, {1200, 8, 1800, 0.5}, {2400, 10, 1700, 0.25}, {2400, 9, 1800, 0.12}} {
		rng := rand.New(rand.NewPCG(uint64(tc.baud), 5))
		pts := []complex128{complex(3, 0), complex(1, 1), complex(-3, 3), complex(0, -5)}
		const gain = 1000
		m := NewModulator(8000, tc.baud, tc.fc, tc.beta, tc.span, gain, pts)
		var syms []complex128
		var starts []int
		n := 0
		next := func() int {
			k := rng.IntN(len(pts)+1) - 1
			starts = append(starts, n)
			if k < 0 {
				syms = append(syms, 0)
			} else {
				syms = append(syms, pts[k])
			}
			return k
		}
		var got []float64
		for n = range 2000 {
			got = append(got, m.Sample(next))
		}
		T := 8000.0 / float64(tc.baud)
		half := float64(tc.span)/2 - 0.5
		for n := range got {
			var want complex128
			for k, p := range syms {
				// Symbol k starts at k*T samples (its first sample is
				// starts[k]); the pulse is centred half symbols later.
				d := (float64(n) - float64(k)*T) / T
				if d < 0 || float64(n) < float64(starts[k]) || d >= float64(tc.span) {
					continue
				}
				if k+tc.span < len(starts) && n >= starts[k+tc.span] {
					continue
				}
				want += p * complex(gain*RootRaisedCosine(d-half, tc.beta), 0)
			}
			s, c := math.Sincos(2 * math.Pi * tc.fc * float64(n) / 8000)
			w := real(want * complex(c, s))
			if math.Abs(got[n]-w) > 0.01 {
				t.Fatalf("baud %d sample %d: %.4f, want %.4f", tc.baud, n, got[n], w)
			}
		}
	}
}

// TestDemodulatorMixesDown: a carrier at exactly the demodulator's
// frequency comes out as a constant point whose phase is the carrier's
// (the folded mixing keeps absolute phase), at half the amplitude.
func TestDemodulatorMixesDown(t *testing.T) {
	for _, ph := range []float64{0, 1, -2.5} {
		d := NewDemodulator(8000, 2400, 1700, 0.25, 8)
		d.FreezeTiming(true)
		var z complex128
		for n := range 4000 {
			if y, _, ok := d.Process(1000 * math.Cos(2*math.Pi*1700*float64(n)/8000+ph)); ok {
				z = y
			}
		}
		want := cmplx.Rect(500, ph)
		if cmplx.Abs(z-want) > 5 {
			t.Errorf("phase %v: %v, want %v", ph, z, want)
		}
	}
}

// TestPhaseLoopKeepsUnitPhasor: a million small and large turns keep the
// phasor's magnitude at 1 and its phase where the turns add up to.
func TestPhaseLoopKeepsUnitPhasor(t *testing.T) {
	pl := NewPhaseLoop(0, 0)
	pl.Set(0.5, 0)
	want := 0.5
	rng := rand.New(rand.NewPCG(9, 9))
	for range 1000000 {
		d := rng.Float64()*0.04 - 0.02
		if rng.IntN(100) == 0 {
			d = rng.Float64()*2 - 1
		}
		pl.turn(d)
		want += d
	}
	if m := cmplx.Abs(pl.rot); math.Abs(m-1) > 1e-9 {
		t.Fatalf("|rot| = %v", m)
	}
	diff := math.Remainder(pl.Phase()-want, 2*math.Pi)
	if math.Abs(diff) > 1e-6 {
		t.Fatalf("phase %v, want %v (mod 2 pi): off by %g", pl.Phase(), math.Remainder(want, 2*math.Pi), diff)
	}
}

// refEqualizer is the textbook NLMS equaliser the fused one must match.
type refEqualizer struct {
	c, hist []complex128
	mu      float64
}

func (r *refEqualizer) push(z complex128) { r.hist = append(r.hist[1:], z) }
func (r *refEqualizer) output() (y complex128) {
	for i, c := range r.c {
		y += c * r.hist[i]
	}
	return y
}
func (r *refEqualizer) update(err complex128) {
	var pw float64
	for _, x := range r.hist {
		pw += real(x)*real(x) + imag(x)*imag(x)
	}
	for i, x := range r.hist {
		r.c[i] += complex(r.mu/pw, 0) * err * cmplx.Conj(x)
	}
}

// TestEqualizerMatchesReference: random pushes (two, sometimes one or
// three, between symbols), outputs, updates, step changes and scalings
// give the same points and taps as the two-pass textbook form.
func TestEqualizerMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 13
	e := NewEqualizer(n, 0.05)
	r := &refEqualizer{c: make([]complex128, n), hist: make([]complex128, n), mu: 0.05}
	r.c[n/2] = 1
	rnd := func() complex128 { return complex(rng.NormFloat64(), rng.NormFloat64()) }
	for k := range 5000 {
		pushes := 2
		if rng.IntN(10) == 0 {
			pushes = 1 + 2*rng.IntN(2)
		}
		for range pushes {
			z := rnd()
			e.Push(z)
			r.push(z)
		}
		if k%500 == 499 {
			g := rnd()
			e.Scale(g)
			for i := range r.c {
				r.c[i] *= g
			}
		}
		got, want := e.Output(), r.output()
		if cmplx.Abs(got-want) > 1e-9*(1+cmplx.Abs(want)) {
			t.Fatalf("symbol %d: output %v, want %v", k, got, want)
		}
		if k%700 == 0 {
			mu := 0.01 + rng.Float64()*0.1
			e.SetStep(mu)
			r.mu = mu
		}
		err := rnd()*0.1 - want*0.01
		e.Update(err)
		r.update(err)
	}
	for i, c := range e.Taps() {
		if cmplx.Abs(c-r.c[i]) > 1e-9 {
			t.Fatalf("tap %d: %v, want %v", i, c, r.c[i])
		}
	}
}
