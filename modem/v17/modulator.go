package v17

import (
	"math"

	"github.com/faxagent/faxagent/modem/internal/dsp"
)

const (
	baud       = 2400
	carrierHz  = 1800
	rollOff    = 0.25 // root raised cosine excess bandwidth
	txSpan     = 12   // symbols under the transmit pulse
	phasesPerT = 10   // 8000/2400 = 10/3: the sample clock advances 3/10 of a symbol
)

// carrierTable is one period (40 samples) of the 1800 Hz carrier at 8 kHz.
type carrierTable [40]complex128

func newCarrierTable() *carrierTable {
	var t carrierTable
	for n := range t {
		s, c := math.Sincos(2 * math.Pi * carrierHz * float64(n) / 8000)
		t[n] = complex(c, s)
	}
	return &t
}

// modulator shapes baud-rate points with the root raised cosine pulse and
// puts them on the carrier at 8 kHz. The symbol clock runs in tenths of a
// symbol: each sample advances it by three.
type modulator struct {
	rows      [phasesPerT][txSpan]float64
	hist      [txSpan]complex128
	pos       int // newest point in hist
	phase     int // tenths of a symbol since the newest point
	carrier   *carrierTable
	n         int // carrier table index
	gain      float64
	perSample float64 // baseband power per sample for unit-power points
}

// newModulator makes a modulator whose output has power level dBm0 for
// points of mean power meanPower (in constellation units).
func newModulator(dBm0, meanPower float64) *modulator {
	m := &modulator{carrier: newCarrierTable()}
	var energy float64
	for r := range m.rows {
		for i := range m.rows[r] {
			c := dsp.RootRaisedCosine(float64(r)/phasesPerT+float64(i)-txSpan/2, rollOff)
			m.rows[r][i] = c
			energy += c * c
		}
	}
	// Mean power of the shaped baseband per point of unit power.
	m.perSample = energy / phasesPerT
	m.setLevel(dBm0, meanPower)
	m.phase = phasesPerT // the first sample takes a point
	return m
}

// setLevel sets the output power to dBm0 for points of mean power
// meanPower (half the baseband power goes on the real passband signal).
func (m *modulator) setLevel(dBm0, meanPower float64) {
	m.gain = math.Sqrt(dsp.PowerOfDBm0(dBm0) / (0.5 * m.perSample * meanPower))
}

// sample returns the next line sample, calling next when a point is due.
func (m *modulator) sample(next func() complex128) float64 {
	if m.phase >= phasesPerT {
		m.phase -= phasesPerT
		if m.pos++; m.pos == txSpan {
			m.pos = 0
		}
		m.hist[m.pos] = next()
	}
	row := &m.rows[m.phase]
	m.phase += 3
	var re, im float64
	j := m.pos
	for _, c := range row {
		p := m.hist[j]
		re += c * real(p)
		im += c * imag(p)
		if j--; j < 0 {
			j = txSpan - 1
		}
	}
	z := m.carrier[m.n]
	if m.n++; m.n == len(m.carrier) {
		m.n = 0
	}
	return m.gain * (re*real(z) - im*imag(z))
}
