package dsp

import "math"

// Modulator is a transmit pulse shaper and carrier modulator for a small
// constellation: it takes the index of a point at the baud rate (asking for
// it through a callback exactly when the next one is due) and produces
// passband samples Re{b(t) e^{j w t}} at the line sample rate, where b is
// the points shaped by a root-raised-cosine pulse.
//
// The baud rate and the carrier (whole hertz) must each repeat after a
// whole number of samples (1200, 1600, 2400 baud and 1700 or 1800 Hz at
// 8 kHz do). Every point's whole shaped and modulated waveform, for every
// sample of the common period a symbol can start on, is then tabulated once,
// and a symbol costs one addition of its waveform into an output ring: no
// multiplication per sample, no oscillator, exact and deterministic output.
// The table holds points × starts × (span × samples per symbol) values, so
// this suits constellations of tens of points, not hundreds.
type Modulator struct {
	rate, baud int
	acc        int // symbol clock: a new point is due when acc reaches rate
	span       int
	period, n  int // the common period of symbol clock and carrier; current sample in it

	// waves[start[n]][k] is point k's waveform for a symbol that starts on
	// sample n of the period (start[n] < 0: no symbol starts there).
	start []int
	waves [][][]float32

	ring []float64 // output being built, indexed by sample & mask
	mask int
	t    int // current sample
}

// NewModulator makes a modulator for baud symbols per second on a carrier
// of carrierHz, at sampleRate, with root-raised-cosine roll-off beta and a
// pulse spanning span symbols, for the constellation points. gain scales
// the output: the pulse has unit energy, so points of mean power P come
// out with power gain*gain*P/2.
func NewModulator(sampleRate, baud int, carrierHz, beta float64, span int, gain float64, points []complex128) *Modulator {
	fc := int(math.Round(carrierHz))
	symPeriod := sampleRate / gcd(baud, sampleRate)
	carPeriod := sampleRate / gcd(fc, sampleRate)
	period := symPeriod / gcd(symPeriod, carPeriod) * carPeriod
	m := &Modulator{rate: sampleRate, baud: baud, span: span, period: period, start: make([]int, period)}

	// Walk the symbol clock over one period (it repeats after it): where a
	// symbol starts, follow it until span more symbols have started, with
	// the pulse weight and carrier of each sample. The pulse is centred
	// span/2 - 1/2 symbols after the symbol starts.
	half := float64(span)/2 - 0.5
	longest := 0
	acc := sampleRate
	for n := range period {
		m.start[n] = -1
		if acc >= sampleRate {
			acc -= sampleRate
			var base []complex128 // g(t) e^{j w t} for each sample of the symbol's life
			a, back := acc, 0
			for k := n; ; k++ {
				if k > n && a >= sampleRate {
					a -= sampleRate
					if back++; back == span {
						break
					}
				}
				frac := float64(a) / float64(sampleRate)
				g := gain * RootRaisedCosine(frac+float64(back)-half, beta)
				s, c := math.Sincos(2 * math.Pi * float64(fc) * float64(k%carPeriod) / float64(sampleRate))
				base = append(base, complex(g*c, g*s))
				a += baud
			}
			w := make([][]float32, len(points))
			for i, p := range points {
				w[i] = make([]float32, len(base))
				for j, b := range base {
					w[i][j] = float32(real(p * b))
				}
			}
			m.start[n] = len(m.waves)
			m.waves = append(m.waves, w)
			longest = max(longest, len(base))
		}
		acc += baud
	}
	size := 1
	for size < longest+1 {
		size *= 2
	}
	m.ring = make([]float64, size)
	m.mask = size - 1
	m.Reset()
	return m
}

// Delay is how many symbols the pulse's centre lags the newest point.
func (m *Modulator) Delay() float64 { return float64(m.span)/2 - 0.5 }

// Sample returns the next passband sample, calling next for a new point
// whenever one is due.
func (m *Modulator) Sample(next func() int) float64 {
	var y [1]float64
	done := false
	m.render(y[:], nil, next, &done)
	return y[0]
}

// Fill writes samples into out until done reports the carrier over (next
// sets it while making the point after the last one); it returns how many
// it wrote. next returns the index of the next point, or -1 for a symbol of
// silence. This is the body of every pump transmitter's Generate.
func (m *Modulator) Fill(out []int16, next func() int, done *bool) int {
	return m.render(nil, out, next, done)
}

// render makes samples into f (as they are) or into s (rounded and
// saturated), whichever is not nil, stopping early when *done is set;
// the sample during which it was set is not written.
func (m *Modulator) render(f []float64, s []int16, next func() int, done *bool) int {
	if *done {
		return 0
	}
	n := len(f) + len(s)
	for i := range n {
		if m.acc >= m.rate {
			m.acc -= m.rate
			k := next()
			if *done {
				return i
			}
			if k >= 0 {
				m.add(m.waves[m.start[m.n]][k])
			}
		}
		m.acc += m.baud
		if m.n++; m.n == m.period {
			m.n = 0
		}
		j := m.t & m.mask
		y := m.ring[j]
		m.ring[j] = 0
		m.t++
		if s != nil {
			s[i] = Clip16(y)
		} else {
			f[i] = y
		}
	}
	return n
}

// add adds a waveform into the ring from the current sample on.
func (m *Modulator) add(w []float32) {
	j := m.t & m.mask
	head := m.ring[j:min(j+len(w), len(m.ring))]
	for i, v := range w[:len(head)] {
		head[i] += float64(v)
	}
	if rest := w[len(head):]; len(rest) > 0 {
		for i, v := range rest {
			m.ring[i] += float64(v)
		}
	}
}

// Reset clears the output and the carrier phase.
func (m *Modulator) Reset() {
	clear(m.ring)
	m.n, m.t = 0, 0
	m.acc = m.rate
}

// Clip16 rounds x to the nearest int16 (halves up), saturating. It
// rounds by truncating x shifted positive, so the sign costs no branch.
func Clip16(x float64) int16 {
	v := x + 32768.5
	if v < 0 {
		v = 0
	} else if v > 65535 {
		v = 65535
	}
	return int16(int32(v) - 32768)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
