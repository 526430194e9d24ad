package dsp

import "math"

// Modulator is a transmit pulse shaper and carrier modulator: it takes
// constellation points at the baud rate (asking for them through a callback
// exactly when the next one is due) and produces passband samples
// Re{b(t) e^{j w t}} at the line sample rate, where b is the points shaped
// by a root-raised-cosine pulse. The baud rate must divide evenly into a
// whole number of sample-rate steps (1200, 1600, 2400 baud at 8 kHz do),
// so the polyphase table is exact and the output is deterministic.
type Modulator struct {
	rate  int         // sample rate
	baud  int         // symbol rate
	acc   int         // symbol clock, in units of 1/rate of a symbol... scaled by baud
	rows  [][]float64 // rows[acc/gcd][i]: pulse for the symbol i back
	g     int         // gcd(baud, rate)
	hist  []complex128
	pos   int // newest entry in hist
	nco   *NCO
	scale float64
}

// NewModulator makes a modulator for baud symbols per second on a carrier
// of carrierHz, at sampleRate, with root-raised-cosine roll-off beta and a
// pulse spanning span symbols. gain scales the output: the pulse has unit
// energy, so points of mean power P come out with power gain*gain*P/2.
func NewModulator(sampleRate, baud int, carrierHz, beta float64, span int, gain float64) *Modulator {
	g := gcd(baud, sampleRate)
	nrows := sampleRate / g
	m := &Modulator{
		rate: sampleRate, baud: baud, g: g,
		rows:  make([][]float64, nrows),
		hist:  make([]complex128, span),
		nco:   NewNCO(carrierHz, float64(sampleRate)),
		scale: gain,
	}
	// The pulse is centred span/2 symbols back, so the output lags the
	// points by that much.
	half := float64(span) / 2
	for r := range m.rows {
		frac := float64(r*g) / float64(sampleRate) // fraction of a symbol since the newest point
		row := make([]float64, span)
		for i := range row {
			row[i] = RootRaisedCosine(frac+float64(i)-half+0.5, beta)
		}
		m.rows[r] = row
	}
	m.acc = sampleRate // the first sample asks for a point
	return m
}

// Delay is how many symbols the pulse's centre lags the newest point.
func (m *Modulator) Delay() float64 { return float64(len(m.hist))/2 - 0.5 }

// Sample returns the next passband sample, calling next for a new point
// whenever one is due.
func (m *Modulator) Sample(next func() complex128) float64 {
	if m.acc >= m.rate {
		m.acc -= m.rate
		if m.pos++; m.pos == len(m.hist) {
			m.pos = 0
		}
		m.hist[m.pos] = next()
	}
	row := m.rows[m.acc/m.g]
	m.acc += m.baud
	var re, im float64
	j := m.pos
	for _, c := range row {
		p := m.hist[j]
		re += c * real(p)
		im += c * imag(p)
		if j--; j < 0 {
			j = len(m.hist) - 1
		}
	}
	z := m.nco.Next()
	return m.scale * (re*real(z) - im*imag(z))
}

// Reset clears the pulse history and the carrier phase.
func (m *Modulator) Reset() {
	clear(m.hist)
	m.pos = 0
	m.acc = m.rate
	m.nco.Reset()
}

// Clip16 rounds x to the nearest int16, saturating.
func Clip16(x float64) int16 {
	x = math.Round(x)
	if x > math.MaxInt16 {
		return math.MaxInt16
	}
	if x < math.MinInt16 {
		return math.MinInt16
	}
	return int16(x)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
