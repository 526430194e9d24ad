package dsp

import "math"

// Modulator is a transmit pulse shaper and carrier modulator: it takes
// constellation points at the baud rate (asking for them through a callback
// exactly when the next one is due) and produces passband samples
// Re{b(t) e^{j w t}} at the line sample rate, where b is the points shaped
// by a root-raised-cosine pulse. The baud rate and the carrier (whole
// hertz) must each repeat after a whole number of samples (1200, 1600,
// 2400 baud and 1700 or 1800 Hz at 8 kHz do): the pulse and the carrier
// are then tabulated together for every sample of their common period, so
// a sample costs two multiply-adds per pulse tap and no oscillator, and the
// output is exact and deterministic.
type Modulator struct {
	rate, baud int
	acc        int          // symbol clock: a new point is due when acc reaches rate
	span       int          // pulse length, symbols
	tab        []complex128 // period rows of span weights (g cos, -g sin), oldest point first
	period, n  int          // table rows; current row
	hist       []complex128
	pos        int // hist[pos : pos+span] is the window, oldest first
}

// NewModulator makes a modulator for baud symbols per second on a carrier
// of carrierHz, at sampleRate, with root-raised-cosine roll-off beta and a
// pulse spanning span symbols. gain scales the output: the pulse has unit
// energy, so points of mean power P come out with power gain*gain*P/2.
func NewModulator(sampleRate, baud int, carrierHz, beta float64, span int, gain float64) *Modulator {
	fc := int(math.Round(carrierHz))
	symPeriod := sampleRate / gcd(baud, sampleRate)
	carPeriod := sampleRate / gcd(fc, sampleRate)
	period := symPeriod / gcd(symPeriod, carPeriod) * carPeriod
	m := &Modulator{
		rate: sampleRate, baud: baud, span: span,
		tab:    make([]complex128, period*span),
		period: period,
		hist:   make([]complex128, 2*span),
	}
	// The pulse is centred span/2 - 1/2 symbols back from the newest point.
	half := float64(span)/2 - 0.5
	for n := range period {
		frac := float64((n*baud)%sampleRate) / float64(sampleRate) // of a symbol since the newest point
		s, c := math.Sincos(2 * math.Pi * carrierHz * float64(n) / float64(sampleRate))
		row := m.tab[n*span : (n+1)*span]
		for j := range row {
			back := span - 1 - j // symbols back from the newest
			g := gain * RootRaisedCosine(frac+float64(back)-half, beta)
			row[j] = complex(g*c, -g*s)
		}
	}
	m.Reset()
	return m
}

// Delay is how many symbols the pulse's centre lags the newest point.
func (m *Modulator) Delay() float64 { return float64(m.span)/2 - 0.5 }

// Sample returns the next passband sample, calling next for a new point
// whenever one is due.
func (m *Modulator) Sample(next func() complex128) float64 {
	var y [1]float64
	done := false
	m.render(y[:], nil, next, &done)
	return y[0]
}

// Fill writes samples into out until done reports the carrier over (next
// sets it while making the point after the last one); it returns how many
// it wrote. This is the body of every pump transmitter's Generate.
func (m *Modulator) Fill(out []int16, next func() complex128, done *bool) int {
	return m.render(nil, out, next, done)
}

// render makes samples into f (as they are) or into s (rounded and
// saturated), whichever is not nil, stopping early when *done is set;
// the sample during which it was set is not written.
func (m *Modulator) render(f []float64, s []int16, next func() complex128, done *bool) int {
	if *done {
		return 0
	}
	n := len(f) + len(s)
	acc, row, pos, span := m.acc, m.n, m.pos, m.span
	for i := range n {
		if acc >= m.rate {
			acc -= m.rate
			p := next()
			if *done {
				m.acc, m.n, m.pos = acc, row, pos
				return i
			}
			m.hist[pos] = p
			m.hist[pos+span] = p
			if pos++; pos == span {
				pos = 0
			}
		}
		acc += m.baud
		w := m.tab[row*span : (row+1)*span]
		if row++; row == m.period {
			row = 0
		}
		win := m.hist[pos : pos+len(w)]
		// Four independent sums, so the additions do not wait on each other.
		var y0, y1, y2, y3 float64
		j := 0
		for ; j+1 < len(w); j += 2 {
			p, c, q, d := win[j], w[j], win[j+1], w[j+1]
			y0 += real(p) * real(c)
			y1 += imag(p) * imag(c)
			y2 += real(q) * real(d)
			y3 += imag(q) * imag(d)
		}
		if j < len(w) {
			y0 += real(win[j])*real(w[j]) + imag(win[j])*imag(w[j])
		}
		y := (y0 + y1) + (y2 + y3)
		if s != nil {
			s[i] = Clip16(y)
		} else {
			f[i] = y
		}
	}
	m.acc, m.n, m.pos = acc, row, pos
	return n
}

// Reset clears the pulse history and the carrier phase.
func (m *Modulator) Reset() {
	clear(m.hist)
	m.pos, m.n = 0, 0
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
