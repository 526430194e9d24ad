package v17

import (
	"math/bits"

	"github.com/faxagent/faxagent/modem/pump"
)

// Finding the first data symbol exactly. The receiver knows segment 2 has
// ended when its descrambled training points stop being ones, but the
// first few symbols after it may pass for segment 2 by chance (one in four
// each). So it keeps a few guesses at where segment 2 ended and checks each
// against what the transmitter's scrambler, whose state the receiver holds,
// must have sent next: the bridge's training points (long training) or
// segment 4's trellis-coded scrambled ones (short training, and after the
// bridge). The guess that fits fixes the symbol where the data begins.

const (
	guesses    = 8  // segment 2 ended on the first miss or up to 7 symbols earlier
	checkFrom  = 12 // segment 4 symbols before the check: the Viterbi decoder and the equaliser settle on the new constellation
	checkLen   = 24 // segment 4 symbols checked
	bridgeSeen = 40 // bridge symbols seen before choosing
	maxBadRate = 4  // at most 1 bit in 4 of segment 4 may differ (a wrong guess: 1 in 2)
)

// bridgeGuess says the bridge started at symbol start.
type bridgeGuess struct {
	start int
	sc    scrambler // the transmitter's scrambler at start
	abcd  uint8     // the training point before start
	k     int       // bridge symbols predicted
	bad   int       // decided points that differed
}

// next predicts the next bridge point.
func (g *bridgeGuess) next() uint8 {
	shift := (g.k & 7) << 1
	b := g.sc.scramble(bridgeWord>>shift&1) << 1
	b |= g.sc.scramble(bridgeWord >> (shift + 1) & 1)
	g.abcd = (g.abcd + bridgeStep[b]) & 3
	g.k++
	return g.abcd
}

// check compares the point decided for symbol m with the prediction.
func (g *bridgeGuess) check(m int, got uint8) {
	if m >= g.start && g.k < seg3Len && g.next() != got {
		g.bad++
	}
}

// seg4Guess says segment 4 started at symbol start.
type seg4Guess struct {
	start  int
	sc     scrambler // the transmitter's scrambler at start
	k      int       // segment 4 symbols predicted
	bad, n int       // differing and compared bits
}

// check compares the scrambled bits q decided for symbol m (symbols come
// in order) with the scrambled ones segment 4 carries.
func (g *seg4Guess) check(m, q, nbits int) {
	if m < g.start || g.k >= checkFrom+checkLen {
		return
	}
	p := 0
	for i := range nbits {
		p |= g.sc.scramble(1) << i
	}
	if g.k >= checkFrom {
		g.bad += bits.OnesCount(uint(p ^ q))
		g.n += nbits
	}
	g.k++
}

// seg2Ended sets up the guesses once segment 2 ended at symbol first (or
// up to seven symbols before it).
func (r *Receiver) seg2Ended(first int, long bool) {
	for j := range guesses {
		e := first - j
		sc := scrambler{reg: r.regAt[(e-1)&15]}
		if long {
			g := bridgeGuess{start: e, sc: sc, abcd: r.abcdAt[(e-1)&15]}
			for m := e; m <= r.symbols; m++ {
				g.check(m, r.abcdAt[m&15])
			}
			r.bridges[j] = g
		} else {
			r.seg4[j] = seg4Guess{start: e, sc: sc}
		}
	}
	if long {
		r.decideAt = first + bridgeSeen
		r.seg4At = 1 << 62
		r.to(rxBridge)
		return
	}
	r.nseg4 = guesses
	r.decideAt = first + checkFrom + checkLen
	r.to(rxSeg4)
}

// chooseBridge keeps the bridge guess that fits; segment 4 follows it.
func (r *Receiver) chooseBridge() {
	best := 0
	for j := range r.bridges {
		if r.bridges[j].bad < r.bridges[best].bad {
			best = j
		}
	}
	if r.bridges[best].bad > 2 {
		r.fail()
		return
	}
	g := r.bridges[best]
	for g.k < seg3Len {
		g.next() // the scrambler through the rest of the bridge
	}
	r.seg4At = g.start + seg3Len
	r.seg4[0] = seg4Guess{start: r.seg4At, sc: g.sc}
	r.nseg4 = 1
	r.decideAt = r.seg4At + checkFrom + checkLen
}

// chooseSeg4 keeps the segment 4 guess that carried scrambled ones: the
// training has succeeded and the data starts 48 symbols after it.
func (r *Receiver) chooseSeg4() {
	best := 0
	for j := range r.nseg4 {
		if r.seg4[j].bad < r.seg4[best].bad {
			best = j
		}
	}
	g := r.seg4[best]
	r.nseg4 = 0
	if g.n == 0 || g.bad*maxBadRate > g.n {
		r.fail()
		return
	}
	r.dataStart = g.start + seg4Len
	r.kept = true
	r.level = r.power
	r.kp, r.ki, r.mu = 0.05, 0.001, 0.01
	r.to(rxData)
	r.sink.Event(pump.TrainingSucceeded)
}
