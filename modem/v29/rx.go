package v29

import (
	"math"
	"math/cmplx"

	"github.com/faxagent/faxagent/modem/internal/dsp"
	"github.com/faxagent/faxagent/modem/pump"
)

// Carrier detection thresholds, dBm0.
const (
	carrierOnDBm0  = -43.0
	carrierOffDBm0 = -48.0
)

// Receiver stages, once a carrier is up.
type stage int

const (
	stAcquire stage = iota // timing on ABAB, waiting for the first C
	stTrain                // CDCD: training on known symbols
	stTest                 // segment 4: scrambled ones
	stData                 // trained: bits flow
)

const (
	eqTaps     = 25 // T/2 taps: the centre is a symbol centre 6 symbols back
	minAlts    = 16 // ABAB symbols that must precede the first C
	settleSyms = 24
	histLen    = 16
)

// Receiver is a V.29 demodulator.
type Receiver struct {
	rate  int
	front *dsp.Front
	demod *dsp.Demodulator
	eq    *dsp.Equalizer
	pl    *dsp.PhaseLoop

	st     stage
	count  int
	alts   int
	hist   [histLen]complex128 // recent equaliser outputs, newest at hist[count%histLen]
	gen    trainGen
	scr    scrambler
	phase  int
	mse    float64
	bad    int
	errAvg float64
	points []cand
}

// cand is a constellation point and what it stands for.
type cand struct {
	z     complex128
	phase int
	q1    int
}

// NewReceiver makes a receiver for rate (7200 or 9600) that delivers to
// sink.
func NewReceiver(rate int, sink pump.BitSink) (*Receiver, error) {
	if rate != 7200 && rate != 9600 {
		return nil, ErrRate
	}
	f := dsp.NewFront(dsp.FrontConfig{
		Baud: baud, CarrierHz: carrierHz, Beta: txBeta, Span: 8, EqTaps: eqTaps,
		OnDBm0: carrierOnDBm0, OffDBm0: carrierOffDBm0,
	}, sink)
	r := &Receiver{rate: rate, front: f, demod: f.Demod, eq: f.Eq, pl: f.PL}
	// points[2p+q1] is the point at phase p with amplitude bit q1 (7200
	// bit/s uses only q1 = 0).
	for p := range 8 {
		r.points = append(r.points, cand{z: point(p, 0), phase: p}, cand{z: point(p, 1), phase: p, q1: 1})
	}
	return r, nil
}

// Reset implements pump.Receiver: it forgets any carrier (without
// reporting CarrierDown) and waits for a new one.
func (r *Receiver) Reset() { r.front.Reset() }

// Receive implements pump.Receiver.
func (r *Receiver) Receive(in []int16) { r.front.Receive(in, (*handler)(r)) }

// handler is the Receiver as the Front's dsp.Handler.
type handler Receiver

func (h *handler) Start() {
	r := (*Receiver)(h)
	r.st = stAcquire
	r.count, r.alts = 0, 0
	clear(r.hist[:])
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

func (r *Receiver) past(j int) complex128 { return r.hist[(r.count-j)&(histLen-1)] }

// cosBetween is the cosine of the angle between a and b (0 if either is 0).
func cosBetween(a, b complex128) float64 {
	m := math.Hypot(real(a), imag(a)) * math.Hypot(real(b), imag(b))
	if m == 0 {
		return 0
	}
	return (real(a)*real(b) + imag(a)*imag(b)) / m
}

// acquire follows the ABAB alternation (each symbol equal to the one two
// before, and the step between symbols changing sign every symbol) and
// spots the end of it: a symbol that differs from the one two before by
// half the alternation's own step or more. Through a channel that takes
// much of the band edges, where ABAB's energy lies, the steps shrink but
// the pattern holds.
func (r *Receiver) acquire() {
	y := r.eq.Output()
	r.hist[r.count&(histLen-1)] = y
	if r.count == settleSyms {
		r.demod.SetTimingGains(0.08, 0)
	}
	if r.count <= settleSyms {
		return
	}
	y1, y2 := r.past(1), r.past(2)
	step := y1 - y2
	dev := cmplx.Abs(y-y2) / cmplx.Abs(step)
	switch {
	case dev < 0.5 && cosBetween(y-y1, step) < -0.5:
		r.alts++
	case r.alts >= minAlts:
		if !r.hop() {
			r.alts++ // noise on the alternation, not its end
		}
	default:
		r.alts = 0
	}
}

// hop tries to start training at the start of segment 3. The last
// symbols were ... B A B A and then none, one, two or three of segment 3's
// C D C (the channel's smearing can hide the first of them); each is a
// known sequence, and the one that fits the recent symbols best with a
// single complex gain says which, and gives the channel's gain and phase
// at once. It reports false when the alternation alone fits best.
func (r *Receiver) hop() bool {
	var seg3 [3]complex128
	g := trainGen{reg: trainInit}
	for i := range seg3 {
		seg3[i] = trainC(r.rate)
		if g.next() == 1 {
			seg3[i] = trainD(r.rate)
		}
	}
	var best complex128
	bestRes, bestH := math.Inf(1), -1
	for h := -1; h < len(seg3); h++ {
		// ref is the symbol j back under this hypothesis.
		ref := func(j int) complex128 {
			switch {
			case j <= h:
				return seg3[h-j]
			case (j-h)&1 == 1:
				return trainA(r.rate)
			}
			return trainB(r.rate)
		}
		var num complex128
		var den float64
		for j := range histLen - 2 {
			c := ref(j)
			num += r.past(j) * complex(real(c), -imag(c))
			den += sq(c)
		}
		gain := num / complex(den, 0)
		var res float64
		for j := range histLen - 2 {
			res += sq(r.past(j) - gain*ref(j))
		}
		if res < bestRes {
			best, bestRes, bestH = gain, res, h
		}
	}
	if bestH < 0 || best == 0 {
		return false
	}
	r.front.AGC.Freeze(true)
	r.eq.Scale(1 / best)
	r.eq.SetStep(0.2)
	r.pl.Set(0, 0)
	r.demod.SetTimingGains(0.03, 0.0001)
	r.gen = trainGen{reg: trainInit}
	for range bestH + 1 { // the segment-3 symbols already seen
		r.gen.next()
	}
	r.st = stTrain
	r.count = bestH + 1
	r.mse = 0
	return true
}

func sq(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }

func (r *Receiver) train() {
	ref := trainC(r.rate)
	if r.gen.next() == 1 {
		ref = trainD(r.rate)
	}
	y := r.pl.Derotate(r.eq.Output())
	e := ref - y
	r.eq.Update(r.pl.Rotate(e))
	r.pl.Update(dsp.PhaseError(y, ref))
	if r.count == 100 {
		r.eq.SetStep(0.1)
	}
	if r.count == 200 {
		r.eq.SetStep(0.03)
		r.pl.SetGains(0.05, 0.002)
	}
	if r.count > seg3Len-100 {
		r.mse += real(e)*real(e) + imag(e)*imag(e)
	}
	if r.count < seg3Len {
		return
	}
	if r.mse/100 > 0.1*meanPower(r.rate) {
		r.front.Fail()
		return
	}
	r.st = stTest
	r.count = 0
	r.bad = 0
	r.phase = 0
	r.scr = scrambler{}
	r.errAvg = r.mse / 100
	r.eq.SetStep(0.03)
	r.demod.SetTimingGains(0.01, 0.00003)
}

var bitsOf = func() (inv [8]int) {
	for v, p := range phaseStep {
		inv[p] = v
	}
	return inv
}()

// data decides a data-rate symbol, adapts to it and descrambles its bits:
// the segment-4 ones (checked) or data (delivered).
func (r *Receiver) data() {
	y := r.pl.Derotate(r.eq.Output())
	best, bd := r.slice(y)
	c := r.points[best]
	v := bitsOf[(c.phase-r.phase)&7]
	r.phase = c.phase
	e := c.z - y
	r.eq.Update(r.pl.Rotate(e))
	r.pl.Update(dsp.PhaseError(y, c.z))
	r.errAvg += (bd - r.errAvg) / 32
	if r.rate == 9600 {
		r.put(r.scr.descramble(c.q1))
	}
	r.put(r.scr.descramble(v >> 2 & 1))
	r.put(r.scr.descramble(v >> 1 & 1))
	r.put(r.scr.descramble(v & 1))
	if r.st == stTest && r.count == seg4Len {
		if r.bad > 2 {
			r.front.Fail()
			return
		}
		r.st = stData
		r.front.Trained()
		return
	}
	if r.st == stData && r.errAvg > 0.25*meanPower(r.rate) {
		// The signal no longer looks like V.29: the carrier is lost.
		r.front.Lost()
	}
}

func (r *Receiver) put(bit int) {
	if r.st == stData {
		r.front.Sink.PutBit(bit)
	} else if bit != 1 && r.count > 8 {
		r.bad++
	}
}

// slice returns the index in points of the point nearest y and its squared
// distance. It looks only at the phases next to y's own octant: every
// point's decision region lies within them.
func (r *Receiver) slice(y complex128) (int, float64) {
	o := dsp.Octant(y)
	best, bd := 0, math.Inf(1)
	amps := 2
	if r.rate == 7200 {
		amps = 1
	}
	for _, p := range [3]int{(o + 7) & 7, o, (o + 1) & 7} {
		for q := range amps {
			i := 2*p + q
			c := r.points[i].z
			dr, di := real(y)-real(c), imag(y)-imag(c)
			if d := dr*dr + di*di; d < bd {
				best, bd = i, d
			}
		}
	}
	return best, bd
}
