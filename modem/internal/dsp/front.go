package dsp

import "github.com/faxagent/faxagent/modem/pump"

// Front is what the high-speed pump receivers share around their own
// training logic: carrier detection by power with hysteresis, the
// Demodulator, AGC, Equalizer and PhaseLoop, and the carrier events to the
// sink. A pump calls Receive with its Handler; Front calls Start when a
// carrier comes (everything already reset to acquisition settings and
// CarrierUp reported) and Symbol at every symbol centre after that, with
// the equaliser fed up to that centre, until the pump calls Fail or Lost
// or the carrier goes (CarrierDown is then reported once).
type Front struct {
	Demod *Demodulator
	AGC   *AGC
	Eq    *Equalizer
	PL    *PhaseLoop
	Sink  pump.BitSink

	pow     PowerMeter
	on, off float64
	active  bool // a carrier is on and the pump is working on it
	parked  bool // a carrier is on but the pump gave up on it
	up      bool // CarrierUp reported and CarrierDown not yet
}

// FrontConfig describes a pump's receive front end.
type FrontConfig struct {
	Baud       int     // symbols per second
	CarrierHz  float64 // whole hertz
	Beta       float64 // matched filter roll-off
	Span       int     // matched filter length, symbols
	EqTaps     int     // equaliser T/2 taps, 4k+1
	OnDBm0     float64 // carrier on above this power
	OffDBm0    float64 // and off below this
	SampleRate int     // 0 means pump.SampleRate
}

// Handler is the pump's side of a Front.
type Handler interface {
	Start()  // a carrier came
	Symbol() // a symbol centre: read Eq.Output
}

// NewFront builds a front end.
func NewFront(cfg FrontConfig, sink pump.BitSink) *Front {
	rate := cfg.SampleRate
	if rate == 0 {
		rate = pump.SampleRate
	}
	return &Front{
		Demod: NewDemodulator(rate, cfg.Baud, cfg.CarrierHz, cfg.Beta, cfg.Span),
		AGC:   NewAGC(1, 64),
		Eq:    NewEqualizer(cfg.EqTaps, 0.1),
		PL:    NewPhaseLoop(0.1, 0.005),
		Sink:  sink,
		pow:   NewPowerMeter(32),
		on:    PowerOfDBm0(cfg.OnDBm0),
		off:   PowerOfDBm0(cfg.OffDBm0),
	}
}

// Reset forgets any carrier (without reporting CarrierDown).
func (f *Front) Reset() {
	f.active, f.parked, f.up = false, false, false
	f.pow.Reset()
}

// Receive runs line samples through, calling h.
func (f *Front) Receive(in []int16, h Handler) {
	for _, s := range in {
		x := float64(s)
		p := f.pow.Update(x)
		if !f.active && !f.parked {
			if p < f.on {
				continue
			}
			f.start()
			h.Start()
		} else if p < f.off {
			f.active, f.parked = false, false
			if f.up {
				f.up = false
				f.Sink.Event(pump.CarrierDown)
			}
			continue
		}
		if f.parked {
			continue
		}
		if !f.Demod.Push(x) {
			continue
		}
		z, onTime := f.Demod.Point()
		f.Eq.Push(f.AGC.Apply(z))
		if onTime {
			h.Symbol()
			if !f.active {
				// The pump gave up on this carrier within Symbol.
				continue
			}
		}
	}
}

// start resets the chain to acquisition settings and reports CarrierUp.
func (f *Front) start() {
	f.Demod.Reset()
	f.Demod.SetTimingGains(0.25, 0)
	f.AGC.Freeze(false)
	f.AGC.Set(0)
	f.Eq.Reset()
	f.Eq.SetStep(0.1)
	f.PL.SetGains(0.1, 0.005)
	f.PL.Set(0, 0)
	f.active, f.parked, f.up = true, false, true
	f.Sink.Event(pump.CarrierUp)
}

// Trained reports TrainingSucceeded.
func (f *Front) Trained() { f.Sink.Event(pump.TrainingSucceeded) }

// Fail reports TrainingFailed and ignores the carrier until it goes.
func (f *Front) Fail() {
	f.active, f.parked = false, true
	f.Sink.Event(pump.TrainingFailed)
}

// Lost reports CarrierDown now (the signal stopped looking like the
// modem's) and ignores the line until the carrier's power goes.
func (f *Front) Lost() {
	f.active, f.parked = false, true
	if f.up {
		f.up = false
		f.Sink.Event(pump.CarrierDown)
	}
}

// DataBits is a transmitter's data: the source's bits, then ones once the
// source has returned pump.EndOfData (the turn-off of V.27 ter, V.29 and
// V.17 is scrambled ones).
type DataBits struct {
	Src   pump.BitSource
	Ended bool
}

// Next is the next bit to send.
func (d *DataBits) Next() int {
	if d.Ended {
		return 1
	}
	b := d.Src()
	if b == pump.EndOfData {
		d.Ended = true
		return 1
	}
	return b & 1
}

// Ones is a bit source of ones (for training segments of scrambled ones).
func Ones() int { return 1 }

// Turnoff counts a transmitter's symbols after its data: ones symbols of
// scrambled ones, then silent symbols of nothing, so the pulse shaper's
// tail goes out, then the end.
type Turnoff struct{ ones, silent int }

// NewTurnoff makes a turn-off of ones symbols then silent symbols.
func NewTurnoff(ones, silent int) Turnoff { return Turnoff{ones, silent} }

// Symbol is the next symbol after the data, as a point index for a
// Modulator: ones() while there are ones symbols to send, then -1
// (silence) for the silent ones, then -1 with *done set.
func (t *Turnoff) Symbol(ones func() int, done *bool) int {
	switch {
	case t.ones > 0:
		t.ones--
		return ones()
	case t.silent > 0:
		t.silent--
		return -1
	}
	*done = true
	return -1
}
