package tone

import (
	"math"
	"math/cmplx"
)

// The detector works on blocks of 20 ms. Both tones complete a whole
// number of cycles in a block (22 and 42), so a tone's DFT bin keeps its
// phase from block to block and a phase reversal shows as a jump of pi.
const block = 160

// Detection thresholds.
const (
	minLevel = -43.0 // dBm0: weaker signals are ignored
	purity   = 0.70  // share of the block's energy in the tone's bin
	// Blocks a tone must last to be reported: CNG 0.5 s +-15 % (>= 375
	// ms), CED >= 500 ms (it lasts 2.6-4 s).
	cngBlocks = 19
	cedBlocks = 25
	// A tone may drop out for this many blocks (a phase reversal, a lost
	// packet) without ending.
	gapBlocks = 2
)

// Detection is a tone the Detector found.
type Detection struct {
	Kind      Kind
	Reversals int // phase reversals seen so far (CED with reversals: ANSam/ANS)
}

// Detector finds CNG and CED in a sample stream. It reports each tone once,
// when it has lasted long enough, and again only after it has ended.
type Detector struct {
	h      func(Detection)
	buf    [block]float64
	n      int
	bins   [2][block]complex128 // e^-jwn for CNG and CED
	minPow float64
	cur    Kind // tone present in the last blocks
	run    int  // blocks it has lasted
	gap    int  // blocks since it was last seen
	last   complex128
	rev    int
	told   bool
}

// NewDetector returns a detector that reports to h.
func NewDetector(h func(Detection)) *Detector {
	d := &Detector{h: h}
	for k, kind := range []Kind{CNG, CED} {
		for i := range block {
			d.bins[k][i] = cmplx.Exp(complex(0, -2*math.Pi*kind.Freq()*float64(i)/8000))
		}
	}
	a := amplitude0dBm0 * math.Pow(10, minLevel/20)
	d.minPow = a * a / 2 * block
	return d
}

// Reset forgets any tone in progress.
func (d *Detector) Reset() {
	d.n, d.cur, d.run, d.gap, d.rev, d.told = 0, None, 0, 0, 0, false
}

// Receive consumes samples.
func (d *Detector) Receive(in []int16) {
	for _, s := range in {
		d.buf[d.n] = float64(s)
		if d.n++; d.n == block {
			d.n = 0
			d.analyse()
		}
	}
}

func (d *Detector) analyse() {
	var e float64
	for _, x := range d.buf {
		e += x * x
	}
	found := None
	var bin complex128
	if e >= d.minPow {
		for k, kind := range []Kind{CNG, CED} {
			var c complex128
			for i, x := range d.buf {
				c += complex(x, 0) * d.bins[k][i]
			}
			// A pure tone of power P gives |c|^2 = (block*A/2)^2 = block*e/2.
			m := real(c)*real(c) + imag(c)*imag(c)
			if m*2/(block*e) >= purity {
				found, bin = kind, c
			}
		}
	}
	switch {
	case found != None && found == d.cur:
		d.run++
		d.gap = 0
		if d.last != 0 {
			if dp := math.Abs(cmplx.Phase(bin / d.last)); dp > 2*math.Pi/3 {
				d.rev++
			}
		}
		d.last = bin
	case found != None:
		d.cur, d.run, d.gap, d.rev, d.told, d.last = found, 1, 0, 0, false, bin
	case d.cur != None:
		d.gap++ // keep last: a reversal inside a block shows across the gap
		if d.gap > gapBlocks {
			d.cur, d.run, d.told = None, 0, false
		}
		return
	default:
		return
	}
	need := cngBlocks
	if d.cur == CED {
		need = cedBlocks
	}
	if !d.told && d.run >= need {
		d.told = true
		if d.h != nil {
			d.h(Detection{Kind: d.cur, Reversals: d.rev})
		}
	}
}
