package dsp

import "math"

// PowerMeter is a one-pole average of a signal's power.
type PowerMeter struct {
	alpha float64
	p     float64
}

// NewPowerMeter averages over about n updates.
func NewPowerMeter(n float64) PowerMeter { return PowerMeter{alpha: 1 / n} }

// Update adds the square of x and returns the new average power.
func (m *PowerMeter) Update(x float64) float64 {
	m.p += m.alpha * (x*x - m.p)
	return m.p
}

// Power is the current average power.
func (m *PowerMeter) Power() float64 { return m.p }

// Reset clears the average.
func (m *PowerMeter) Reset() { m.p = 0 }

// DBm0 converts the power of 16-bit linear samples to dBm0 (a full-scale
// sine, 3.14 dBm0 in G.711, has power 32768^2/2).
func DBm0(power float64) float64 {
	if power <= 0 {
		return -200
	}
	return 10*math.Log10(power/(32768.0*32768.0/2)) + 3.14
}

// PowerOfDBm0 is the inverse of DBm0.
func PowerOfDBm0(dbm0 float64) float64 {
	return math.Pow(10, (dbm0-3.14)/10) * 32768.0 * 32768.0 / 2
}

// AGC scales complex points to a target RMS magnitude. It measures the
// power of what it is given until frozen (typically once the receiver has
// trained; the equaliser then takes over the fine gain).
type AGC struct {
	target float64
	m      PowerMeter
	gain   float64
	frozen bool
}

// NewAGC makes an AGC that brings points to an RMS magnitude of target,
// averaging over about n points.
func NewAGC(target, n float64) *AGC {
	return &AGC{target: target, m: NewPowerMeter(n), gain: 1}
}

// Set starts the average at power p (for example measured over the first
// symbols of a carrier) so the gain is right at once.
func (a *AGC) Set(p float64) {
	a.m.p = p
	a.gain = a.target / math.Sqrt(math.Max(p, 1e-12))
}

// Apply updates the measurement with z (unless frozen) and returns z scaled.
func (a *AGC) Apply(z complex128) complex128 {
	if !a.frozen {
		p := a.m.Update(math.Sqrt(real(z)*real(z) + imag(z)*imag(z)))
		a.gain = a.target / math.Sqrt(math.Max(p, 1e-12))
	}
	return z * complex(a.gain, 0)
}

// Gain is the current scale factor.
func (a *AGC) Gain() float64 { return a.gain }

// Freeze stops (true) or restarts (false) the measurement.
func (a *AGC) Freeze(f bool) { a.frozen = f }
