package v17

import (
	"math"
	"math/cmplx"

	"github.com/faxagent/faxagent/modem/pump"
)

// Carrier detection thresholds (V.17 §8.2: on above -43 dBm0, off below
// -48 dBm0), as mean squared sample values.
var (
	carrierOnPower  = dBm0Power(-43)
	carrierOffPower = dBm0Power(-48)
)

func dBm0Power(dBm0 float64) float64 {
	rms := 32768 * math.Pow(10, (dBm0-3.14)/20) / math.Sqrt2
	return rms * rms
}

const (
	abWindow     = 16  // symbols the ABAB detector looks at
	abEarliest   = 40  // symbols of carrier before it looks (timing settles)
	abLatest     = 300 // no ABAB by then: not a V.17 training
	onesToSeg2   = 20  // descrambled ones that prove segment 2
	longSeg2     = 1000
	seg4Deadline = seg4Len + viterbiCols + 24
)

type rxState int

const (
	rxIdle     rxState = iota // no carrier
	rxSeekABAB                // carrier: waiting for the alternations
	rxSeekCDBA                // trained on ABAB: waiting for segment 2
	rxSeg2                    // in segment 2 (descrambled ones)
	rxBridge                  // long training's bridge
	rxSeg4                    // trellis-coded ones
	rxData                    // trained: bits flow
	rxFailed                  // training failed: waiting for the carrier to go
)

// Receiver is a V.17 demodulator. It implements pump.Receiver.
//
// It finds out by itself whether a carrier brings the long or the short
// training, and reports TrainingSucceeded once segment 4's trellis-coded
// scrambled ones have checked; its first bit is then the transmitter's
// first data bit. The equaliser it trains on a long training is kept
// across carriers (and across Reset), so a short training that follows on
// the same call, which is too short to train an equaliser from scratch,
// works: keep one Receiver per call and per rate. A new call needs a new
// Receiver.
type Receiver struct {
	m    mode
	sink pump.BitSink
	fe   *frontEnd
	eq   equalizer
	vit  *viterbi

	power   float64 // running mean squared sample
	fast    float64 // the same over a shorter time
	level   float64 // power when the training succeeded (0 before)
	upPower float64 // lowest power since the carrier came up, until training
	floor   float64 // lowest power since the last carrier went down
	up      bool    // carrier-up reported
	st      rxState
	count   int  // symbols in this state
	symbols int  // symbols since carrier up
	kept    bool // the equaliser holds a successful training

	win [abWindow]complex128 // recent equaliser outputs
	fw  [abWindow]complex128 // recent front end symbols
	wn  int

	// carrier phase loop, applied after the equaliser
	rot  complex128
	freq float64
	kp   float64
	ki   float64
	mu   float64 // equaliser step

	tr     scrambler // descrambles training decisions
	run    int       // descrambled ones in a row (segment 2)
	recent [4]bool   // the last symbols' ones flags (segment 2 end)
	regAt  [16]uint32
	abcdAt [16]uint8 // per recent symbol: scrambler and decided point

	bridges  [guesses]bridgeGuess
	seg4     [guesses]seg4Guess
	nseg4    int
	decideAt int // symbol (bridge) or label (segment 4) at which to choose
	seg4At   int // first symbol of segment 4 once the bridge is known

	vitNext   int // symbol index of the Viterbi decoder's next label
	dataStart int // symbol index of the first data symbol
	ds        scrambler
	prevY     int

	refEnergy float64                          // equaliser input energy during the training
	trace     func(format string, args ...any) // tests: training progress
}

// NewReceiver makes a V.17 receiver for rate bit/s reporting to sink.
func NewReceiver(rate int, sink pump.BitSink) (*Receiver, error) {
	m, err := modeFor(rate)
	if err != nil {
		return nil, err
	}
	r := &Receiver{m: m, sink: sink, fe: newFrontEnd(), vit: newViterbi(slicers[rate]())}
	r.eq.unit()
	r.newCarrier()
	return r, nil
}

// Reset readies the receiver for a new carrier (a carrier in progress is
// dropped without events). It keeps the equaliser trained by the last
// successful training, for a short training next.
func (r *Receiver) Reset() {
	r.power, r.fast, r.floor, r.up, r.st = 0, 0, 0, false, rxIdle
	r.newCarrier()
}

func (r *Receiver) newCarrier() {
	r.upPower = r.fast
	r.fe.reset()
	r.eq.clearInputs()
	if !r.kept {
		r.eq.unit()
		r.fe.integ = 0 // no clock rate learnt from a successful training
	}
	r.vit.reset()
	r.count, r.symbols, r.wn = 0, 0, 0
	r.rot, r.freq = 1, 0
	r.run, r.recent, r.nseg4 = 0, [4]bool{}, 0
}

func (r *Receiver) to(s rxState) {
	if r.trace != nil {
		r.trace("symbol %d: state %d -> %d after %d", r.symbols, r.st, s, r.count)
	}
	r.st, r.count = s, 0
}

// Receive implements pump.Receiver.
func (r *Receiver) Receive(in []int16) {
	for _, s := range in {
		x := float64(s)
		r.power += (x*x - r.power) / 64
		r.fast += (x*x - r.fast) / 32
		if !r.up {
			// A carrier comes up above the threshold, but after one went
			// down only once the line went quiet or the level jumped: the
			// tail of the last carrier is not a new one.
			r.floor = min(r.floor, r.fast)
			if r.fast > carrierOnPower && (r.floor < carrierOnPower || r.fast > 8*r.floor) {
				r.up, r.level = true, 0
				r.newCarrier()
				r.to(rxSeekABAB)
				r.sink.Event(pump.CarrierUp)
			}
			continue
		}
		if r.power < carrierOffPower || r.fast < r.level/32 {
			r.carrierDown()
			continue
		}
		if r.st == rxSeekABAB || r.st == rxFailed {
			r.upPower = min(r.upPower, r.fast)
		}
		if r.fast > 8*r.upPower && (r.st == rxSeekABAB || r.st == rxFailed) {
			// The level jumped by 9 dB: what raised the carrier detector
			// was noise or something else, and a new signal starts.
			if r.st == rxFailed {
				r.sink.Event(pump.CarrierDown)
				r.sink.Event(pump.CarrierUp)
			}
			r.newCarrier()
			r.to(rxSeekABAB)
		}
		if !r.fe.in(x) {
			continue
		}
		y, onTime := r.fe.out()
		r.eq.push(y)
		if onTime {
			r.symbol(y)
		}
	}
}

func (r *Receiver) carrierDown() {
	switch r.st {
	case rxData:
		r.onLabels(r.vit.flush())
	case rxFailed:
	default:
		r.sink.Event(pump.TrainingFailed)
	}
	r.up, r.st, r.floor = false, rxIdle, r.fast
	r.sink.Event(pump.CarrierDown)
}

func (r *Receiver) fail() {
	if r.st != rxSeekABAB {
		// The equaliser adapted to whatever this was.
		r.kept = false
		r.eq.unit()
	}
	r.to(rxFailed)
	r.sink.Event(pump.TrainingFailed)
}

// symbol runs once per symbol centre.
func (r *Receiver) symbol(y complex128) {
	r.symbols++
	r.count++
	switch {
	case r.symbols < 60:
		// Pull in the symbol timing; the clock rate is learnt later, not
		// from the first phase errors.
		r.fe.setGains(0.08, 0)
	case r.st == rxData || r.kept && r.st != rxSeekABAB:
		// In the data, and in a short training once the kept equaliser
		// is in place, the timing follows slowly: the equaliser was
		// trained at the timing it has, and a fast loop on the training
		// symbols pulls it off that (TestTelephoneBand: SpanDSP's short
		// training at 14400 after a 400-3200 Hz sixth-order band).
		r.fe.setGains(0.005, 0.00002)
	default:
		r.fe.setGains(0.02, 0.0001)
	}
	z := r.eq.output()
	switch r.st {
	case rxSeekABAB:
		r.seekABAB(y, z)
	case rxSeekCDBA, rxSeg2, rxBridge:
		r.train(z)
	case rxSeg4, rxData:
		r.trellis(z)
	}
}

// trellis runs on trellis-coded symbols: segment 4 and the data.
func (r *Receiver) trellis(z complex128) {
	zr := z * r.rot
	labels := r.vit.add(zr)
	r.adapt(z, zr, r.m.points[r.vit.near].complex())
	r.onLabels(labels)
	if r.st == rxSeg4 && r.count > seg4Deadline {
		r.fail()
	}
}

// onLabels takes the labels the Viterbi decoder decided, in symbol order.
func (r *Receiver) onLabels(labels []int) {
	for _, l := range labels {
		m := r.vitNext
		r.vitNext++
		q := r.decode(l)
		d := r.ds.descrambleWord(q, r.m.bits) // kept in step all along
		if r.st == rxData && m >= r.dataStart {
			for i := 0; i < r.m.bits; i++ {
				r.sink.PutBit(d >> i & 1)
			}
			continue
		}
		if r.st != rxSeg4 {
			continue
		}
		for j := range r.nseg4 {
			r.seg4[j].check(m, q, r.m.bits)
		}
		if m == r.decideAt {
			r.chooseSeg4()
		}
	}
}

// decode turns a decided label into the symbol's scrambled bits (Q1 in
// bit 0), undoing the differential code.
func (r *Receiver) decode(label int) int {
	y := label >> 1 & 3
	q := label>>3<<2 | diffDecode(y, r.prevY)
	r.prevY = y
	return q
}

// adapt updates the carrier loop and the equaliser from the decision d
// for the equaliser output z (zr after the carrier rotation).
func (r *Receiver) adapt(z, zr, d complex128) {
	// The error at the equaliser's output is the decision's error turned
	// back by the carrier rotation. The alternations of segment 1 excite
	// only three frequencies: training on them would let the other taps
	// wander (and spoil an equaliser kept for a short training).
	//
	// The taps move against the training's input energy, not the present
	// one, and not at all when the signal fades (the end of a carrier,
	// before carrier-off is detected), where normalised steps would blow up.
	energy := r.eq.energy()
	if energy < r.refEnergy/4 {
		return
	}
	if r.st != rxSeekCDBA {
		r.eq.update((d-zr)*cmplx.Conj(r.rot), r.mu, r.refEnergy)
	}
	perr := imag(zr*cmplx.Conj(d)) / (real(d)*real(d) + imag(d)*imag(d) + 1)
	r.freq += r.ki * perr
	turn := r.kp*perr + r.freq
	// A small turn: cos and sin to second order, then back to unit length.
	r.rot *= complex(1-turn*turn/2, -turn)
	r.rot *= complex(1/math.Sqrt(real(r.rot)*real(r.rot)+imag(r.rot)*imag(r.rot)), 0)
}

func sqDist(a, b complex128) float64 {
	d := a - b
	return real(d)*real(d) + imag(d)*imag(d)
}
