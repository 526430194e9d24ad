package v17

import (
	"math"

	"github.com/faxagent/faxagent/modem/internal/dsp"
	"github.com/faxagent/faxagent/modem/pump"
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
// symbol (each sample advances it by three), and pulse and carrier repeat
// together every 40 samples (12 symbols): each of those samples has its row
// of weights, pulse times carrier, so a sample costs two multiply-adds per
// point under the pulse.
type modulator struct {
	rows      [carrierPeriod][txSpan]complex128 // (g cos, -g sin) per point, newest first
	hist      [2 * txSpan]complex128            // the points twice over, newest at hist[pos]
	pos       int
	phase     int // tenths of a symbol since the newest point
	n         int // sample within the 40-sample period
	perSample float64
}

// carrierPeriod is how many samples the 1800 Hz carrier and the 2400 baud
// symbol clock take to come back together at 8 kHz.
const carrierPeriod = 40

// newModulator makes a modulator whose output has power level dBm0 for
// points of mean power meanPower (in constellation units).
func newModulator(dBm0, meanPower float64) *modulator {
	m := &modulator{phase: phasesPerT} // the first sample takes a point
	var energy float64
	for r := range phasesPerT {
		for i := range txSpan {
			c := dsp.RootRaisedCosine(float64(r)/phasesPerT+float64(i)-txSpan/2, rollOff)
			energy += c * c
		}
	}
	// Mean power of the shaped baseband per point of unit power.
	m.perSample = energy / phasesPerT
	m.setLevel(dBm0, meanPower)
	return m
}

// setLevel sets the output power to dBm0 for points of mean power
// meanPower (half the baseband power goes on the real passband signal).
func (m *modulator) setLevel(dBm0, meanPower float64) {
	g := math.Sqrt(dsp.PowerOfDBm0(dBm0) / (0.5 * m.perSample * meanPower))
	for n := range carrierPeriod {
		frac := float64(3*n%phasesPerT) / phasesPerT // of a symbol since the newest point
		s, c := math.Sincos(2 * math.Pi * carrierHz * float64(n) / pump.SampleRate)
		for i := range txSpan {
			w := g * dsp.RootRaisedCosine(frac+float64(i)-txSpan/2, rollOff)
			m.rows[n][i] = complex(w*c, -w*s)
		}
	}
}

// due reports whether the next sample takes a new point (push it first).
func (m *modulator) due() bool { return m.phase >= phasesPerT }

// push enters the next point.
func (m *modulator) push(p complex128) {
	m.phase -= phasesPerT
	if m.pos--; m.pos < 0 {
		m.pos = txSpan - 1
	}
	m.hist[m.pos], m.hist[m.pos+txSpan] = p, p
}

// sample returns the next line sample: Re{sum of point times pulse times
// carrier}.
func (m *modulator) sample() float64 {
	m.phase += 3
	row := &m.rows[m.n]
	if m.n++; m.n == carrierPeriod {
		m.n = 0
	}
	win := (*[txSpan]complex128)(m.hist[m.pos : m.pos+txSpan])
	var y0, y1, y2, y3 float64
	for i := 0; i < txSpan; i += 2 {
		p, w, q, v := win[i], row[i], win[i+1], row[i+1]
		y0 += real(p) * real(w)
		y1 += imag(p) * imag(w)
		y2 += real(q) * real(v)
		y3 += imag(q) * imag(v)
	}
	return (y0 + y1) + (y2 + y3)
}
