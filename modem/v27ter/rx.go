package v27ter

import (
	"math/cmplx"

	"github.com/faxagent/faxagent/modem/internal/dsp"
	"github.com/faxagent/faxagent/modem/pump"
)

// Carrier detection thresholds (V.27 ter section 7: on above -43 dBm,
// off below -48 dBm).
const (
	carrierOnDBm0  = -43.0
	carrierOffDBm0 = -48.0
)

// Receiver stages, once a carrier is up.
type stage int

const (
	stAcquire stage = iota // timing on the reversals, waiting for the hop into segment 4
	stTrain                // segment 4: training on known symbols
	stTest                 // segment 5: scrambled ones at the data rate
	stData                 // trained: bits flow
)

const (
	eqTaps     = 17 // T/2 taps; the centre is a symbol centre 4 symbols back
	minRevs    = 12 // reversals that must precede the hop
	settleSyms = 16 // symbols for timing to settle before reversals count
)

// Receiver is a V.27 ter demodulator.
type Receiver struct {
	rate  int
	front *dsp.Front
	demod *dsp.Demodulator
	eq    *dsp.Equalizer
	pl    *dsp.PhaseLoop

	st       stage
	count    int // symbols in the current stage
	revs     int // consecutive reversals seen
	amp      float64
	prev     complex128 // previous symbol (acquisition)
	scr      scrambler
	phase    int // reference / last decided phase, 45 degree units
	mse      float64
	bad      int // ones test failures
	errTrack float64
}

// NewReceiver makes a receiver for rate (2400 or 4800) that delivers to
// sink.
func NewReceiver(rate int, sink pump.BitSink) (*Receiver, error) {
	if rate != 2400 && rate != 4800 {
		return nil, ErrRate
	}
	f := dsp.NewFront(dsp.FrontConfig{
		Baud: baudOf(rate), CarrierHz: carrierHz, Beta: txBeta, Span: 6, EqTaps: eqTaps,
		OnDBm0: carrierOnDBm0, OffDBm0: carrierOffDBm0,
	}, sink)
	r := &Receiver{rate: rate, front: f, demod: f.Demod, eq: f.Eq, pl: f.PL}
	return r, nil
}

// Reset implements pump.Receiver: it forgets any carrier (without
// reporting CarrierDown) and waits for a new one.
func (r *Receiver) Reset() { r.front.Reset() }

// Receive implements pump.Receiver.
func (r *Receiver) Receive(in []int16) { r.front.Receive(in, (*handler)(r)) }

// handler is the Receiver as the Front's dsp.Handler (kept off the
// Receiver's own method set).
type handler Receiver

func (h *handler) Start() {
	r := (*Receiver)(h)
	r.st = stAcquire
	r.count, r.revs, r.amp, r.prev = 0, 0, 0, 0
}

func (h *handler) Symbol() { (*Receiver)(h).symbol() }

func (r *Receiver) symbol() {
	r.count++
	switch r.st {
	case stAcquire:
		r.acquire()
	case stTrain:
		r.train()
	case stTest, stData:
		r.data()
	}
}

// acquire follows the segment-3 reversals and spots the hop into
// segment 4: the first symbol with no phase change.
func (r *Receiver) acquire() {
	y := r.eq.Output()
	prev := r.prev
	r.prev = y
	if r.count == settleSyms {
		r.demod.SetTimingGains(0.08, 0)
	}
	if r.count <= settleSyms {
		return
	}
	d := y * cmplx.Conj(prev)
	m := cmplx.Abs(y) * cmplx.Abs(prev)
	ay := cmplx.Abs(y)
	steady := r.revs == 0 || (ay > 0.5*r.amp && ay < 2*r.amp)
	switch {
	case steady && m > 0 && real(d) < -0.7*m:
		if r.revs == 0 {
			r.amp = ay
		} else {
			r.amp += (ay - r.amp) / 8
		}
		r.revs++
	case steady && r.revs >= minRevs && m > 0 && real(d) > 0.7*m:
		r.hop(y)
	default:
		r.revs = 0
	}
}

// hop starts training: y is the first symbol of segment 4, whose phase is
// the reference 0.
func (r *Receiver) hop(y complex128) {
	r.front.AGC.Freeze(true)
	r.eq.Scale(complex(1/r.amp, 0))
	r.pl.Set(cmplx.Phase(y), 0)
	r.demod.SetTimingGains(0.03, 0.0001)
	r.scr = scrambler{reg: scrInit}
	b := r.scr.scramble(1)
	r.scr.scramble(1)
	r.scr.scramble(1)
	r.phase = 4 * b
	r.st = stTrain
	r.count = 1
	r.mse = 0
}

func (r *Receiver) train() {
	b := r.scr.scramble(1)
	r.scr.scramble(1)
	r.scr.scramble(1)
	r.phase = (r.phase + 4*b) & 7
	ref := point(r.phase)
	y := r.pl.Derotate(r.eq.Output())
	e := ref - y
	r.eq.Update(r.pl.Rotate(e))
	r.pl.Update(dsp.PhaseError(y, ref))
	if r.count == 300 {
		r.eq.SetStep(0.03)
		r.pl.SetGains(0.05, 0.002)
	}
	if r.count > seg4Len-100 {
		r.mse += real(e)*real(e) + imag(e)*imag(e)
	}
	if r.count < seg4Len {
		return
	}
	if r.mse/100 > 0.1 {
		r.front.Fail()
		return
	}
	r.st = stTest
	r.count = 0
	r.bad = 0
	r.errTrack = r.mse / 100
	r.eq.SetStep(0.01)
	r.demod.SetTimingGains(0.01, 0.00003)
}

var bits4800 = invert8(phaseStep4800)

func invert8(t [8]int) (inv [8]int) {
	for v, p := range t {
		inv[p] = v
	}
	return inv
}

// data decides a data-rate symbol, adapts to it and descrambles its bits:
// the segment-5 ones (checked) or data (delivered).
func (r *Receiver) data() {
	y := r.pl.Derotate(r.eq.Output())
	var ph, nb, v int
	if r.rate == 4800 {
		ph = dsp.Octant(y)
		v = bits4800[(ph-r.phase)&7]
		nb = 3
	} else {
		ph = dsp.Quadrant(y)
		v = [4]int{0, 1, 3, 2}[((ph-r.phase)&7)/2]
		nb = 2
	}
	r.phase = ph
	dec := point(ph)
	e := dec - y
	r.eq.Update(r.pl.Rotate(e))
	r.pl.Update(dsp.PhaseError(y, dec))
	r.errTrack += (real(e)*real(e) + imag(e)*imag(e) - r.errTrack) / 32
	for i := nb - 1; i >= 0; i-- {
		bit := r.scr.descramble(v >> i & 1)
		if r.st == stData {
			r.front.Sink.PutBit(bit)
		} else if bit != 1 {
			r.bad++
		}
	}
	if r.st == stTest && r.count == seg5Len {
		if r.bad > 1 {
			r.front.Fail()
			return
		}
		r.st = stData
		r.front.Trained()
		return
	}
	if r.st == stData && r.errTrack > 0.5 {
		// The signal no longer looks like V.27 ter: the carrier is lost.
		r.front.Lost()
	}
}
