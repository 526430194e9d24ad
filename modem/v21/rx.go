package v21

import (
	"math"

	"github.com/faxagent/faxagent/modem/pump"
)

// Receiver thresholds. T.30 and V.21 ask for carrier on above -43 dBm0
// and off below -48 dBm0.
const (
	onLevel  = -43.0
	offLevel = -48.0
	// Share of the window's energy that must lie on one of the two tones
	// for the signal to be taken for V.21 (a pure tone gives 0.5; white
	// noise about 2/window).
	onPurity  = 0.30
	offPurity = 0.18
	// How long the conditions must hold before the carrier is declared
	// up or down, in samples.
	onHold  = 80  // 10 ms
	offHold = 200 // 25 ms
)

// window is the correlation span: one bit (26.67 samples) rounded down.
const window = pump.SampleRate / Baud

// period is the common period of both tones at 8 kHz (1650/8000 = 33/160,
// 1850/8000 = 37/160): the correlators' phasors repeat after it.
const period = 160

// Rx is a V.21 channel 2 receiver.
type Rx struct {
	sink pump.BitSink

	mark, space [period][2]float64 // cos, -sin of wn
	n           int                // position in the phasor tables
	// sliding window of the products with both tones and of the power
	pm, ps   [window][2]float64
	pp       [window]float64
	w        int
	sm, ss   [2]float64
	sp       float64
	onPow    float64 // window power at the on/off levels
	offPow   float64
	carrier  bool
	hold     int // samples the opposite condition has held
	trained  bool
	dec      int     // current tone decision
	clk      float64 // bit clock phase: 0..SampleRate, a bit boundary at 0
	settle   int     // samples since carrier up (decisions are unreliable before a window fills)
	bitsSeen int
}

// NewRx returns a receiver that reports to sink.
func NewRx(sink pump.BitSink) *Rx {
	r := &Rx{sink: sink}
	for i := range period {
		wm, ws := 2*math.Pi*MarkHz*float64(i)/pump.SampleRate, 2*math.Pi*SpaceHz*float64(i)/pump.SampleRate
		r.mark[i] = [2]float64{math.Cos(wm), -math.Sin(wm)}
		r.space[i] = [2]float64{math.Cos(ws), -math.Sin(ws)}
	}
	a := func(dBm0 float64) float64 { v := Amplitude(dBm0); return v * v / 2 * window }
	r.onPow, r.offPow = a(onLevel), a(offLevel)
	return r
}

// Reset implements pump.Receiver: the receiver forgets its state, and a
// carrier it had reported ends silently.
func (r *Rx) Reset() {
	*r = Rx{sink: r.sink, mark: r.mark, space: r.space, onPow: r.onPow, offPow: r.offPow}
}

// Carrier reports whether the receiver sees a V.21 carrier.
func (r *Rx) Carrier() bool { return r.carrier }

// Receive implements pump.Receiver.
func (r *Rx) Receive(in []int16) {
	for _, s := range in {
		x := float64(s)
		// Slide the windows.
		m, sp := &r.mark[r.n], &r.space[r.n]
		pm := [2]float64{x * m[0], x * m[1]}
		ps := [2]float64{x * sp[0], x * sp[1]}
		if r.n++; r.n == period {
			r.n = 0
		}
		om, os := &r.pm[r.w], &r.ps[r.w]
		r.sm[0] += pm[0] - om[0]
		r.sm[1] += pm[1] - om[1]
		r.ss[0] += ps[0] - os[0]
		r.ss[1] += ps[1] - os[1]
		r.sp += x*x - r.pp[r.w]
		*om, *os, r.pp[r.w] = pm, ps, x*x
		if r.w++; r.w == window {
			r.w = 0
			// Recompute the sums now and then so rounding cannot drift.
			r.sm, r.ss, r.sp = [2]float64{}, [2]float64{}, 0
			for i := range window {
				r.sm[0] += r.pm[i][0]
				r.sm[1] += r.pm[i][1]
				r.ss[0] += r.ps[i][0]
				r.ss[1] += r.ps[i][1]
				r.sp += r.pp[i]
			}
		}
		em := r.sm[0]*r.sm[0] + r.sm[1]*r.sm[1]
		es := r.ss[0]*r.ss[0] + r.ss[1]*r.ss[1]
		e := em
		if es > e {
			e = es
		}
		var purity float64
		if r.sp > 0 {
			purity = e / (window * r.sp)
		}
		r.detect(purity)
		if !r.carrier {
			continue
		}
		d := 0
		if em > es {
			d = 1
		}
		r.clock(d)
	}
}

func (r *Rx) detect(purity float64) {
	if !r.carrier {
		if r.sp > r.onPow && purity > onPurity {
			r.hold++
			if r.hold >= onHold {
				r.carrier, r.hold = true, 0
				r.clk, r.settle, r.bitsSeen, r.trained = 0, 0, 0, false
				r.sink.Event(pump.CarrierUp)
			}
		} else {
			r.hold = 0
		}
		return
	}
	if r.sp < r.offPow || purity < offPurity {
		r.hold++
		if r.hold >= offHold {
			r.carrier, r.hold = false, 0
			r.sink.Event(pump.CarrierDown)
		}
	} else {
		r.hold = 0
	}
}

// clock runs the bit clock: transitions of the tone decision pull the
// clock's boundary toward them; a bit is taken in the middle of each.
func (r *Rx) clock(d int) {
	if d != r.dec {
		r.dec = d
		// Phase error: how far past the expected boundary the transition is.
		e := r.clk
		if e > pump.SampleRate/2 {
			e -= pump.SampleRate
		}
		gain := 0.25
		if r.bitsSeen < 8 {
			gain = 0.6 // pull in fast at the start of the carrier
		}
		r.clk -= gain * e
		if r.clk < 0 {
			r.clk += pump.SampleRate
		}
	}
	prev := r.clk
	r.clk += Baud
	if prev < pump.SampleRate/2 && r.clk >= pump.SampleRate/2 {
		r.bitsSeen++
		if !r.trained {
			r.trained = true
			r.sink.Event(pump.TrainingSucceeded)
		}
		r.sink.PutBit(r.dec)
	}
	if r.clk >= pump.SampleRate {
		r.clk -= pump.SampleRate
	}
}
