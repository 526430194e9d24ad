package v17

import "math"

// viterbiDepth is the decoder's traceback depth in symbols. An 8-state
// code's free distance is reached within about five constraint lengths;
// 24 symbols keeps the loss against an infinite depth negligible.
const viterbiDepth = 24

// viterbiBatch is how many symbols one traceback decides: tracing back
// every symbol would cost the depth each time.
const viterbiBatch = 8

const viterbiCols = viterbiDepth + viterbiBatch

// branch is a survivor: the state it came from and the label of the
// point it decided on.
type branch struct {
	prev  uint8
	label uint8
}

// viterbi decodes the trellis code, one received point at a time.
type viterbi struct {
	sl      *slicer
	near    int // label of the point nearest the last received one
	pm      [8]float64
	hist    [viterbiCols][8]branch
	pos     int // newest column in hist
	pending int // columns entered and not yet decided
	out     [viterbiCols]int
	// pred[s'] lists the (state, Y2Y1) pairs leading into s'.
	pred [8][4]struct{ s, y uint8 }
}

func newViterbi(sl *slicer) *viterbi {
	v := &viterbi{sl: sl}
	var k [8]int
	for s := range 8 {
		for y := range 4 {
			n := trellisNext[s][y]
			v.pred[n][k[n]] = struct{ s, y uint8 }{uint8(s), uint8(y)}
			k[n]++
		}
	}
	return v
}

func (v *viterbi) reset() {
	v.pm = [8]float64{}
	v.pos, v.pending = 0, 0
}

// add enters received point z and returns the labels it could decide,
// oldest first: none, or a batch once the decoder holds its depth and a
// batch more. The slice is valid until the next call.
func (v *viterbi) add(z complex128) []int {
	dist, lab := v.sl.nearest(z)
	best := 0
	for i := 1; i < 8; i++ {
		if dist[i] < dist[best] {
			best = i
		}
	}
	v.near = int(lab[best])
	if v.pos++; v.pos == viterbiCols {
		v.pos = 0
	}
	col := &v.hist[v.pos]
	var pm [8]float64
	for n := range 8 {
		y0 := uint8(n>>2) & 1
		bm := math.Inf(1)
		for _, p := range v.pred[n] {
			sub := p.y<<1 | y0
			if m := v.pm[p.s] + dist[sub]; m < bm {
				bm = m
				col[n] = branch{prev: p.s, label: lab[sub]}
			}
		}
		pm[n] = bm
	}
	low := pm[0]
	for _, m := range pm[1:] {
		low = min(low, m)
	}
	for i := range pm {
		pm[i] -= low
	}
	v.pm = pm
	if v.pending++; v.pending < viterbiCols {
		return nil
	}
	out := v.traceback(viterbiBatch)
	v.pending -= viterbiBatch
	return out
}

// traceback follows the best path back through the pending columns and
// returns the labels of the oldest k of them, oldest first.
func (v *viterbi) traceback(k int) []int {
	s := v.bestState()
	c := v.pos
	for i := v.pending - 1; i >= 0; i-- {
		b := v.hist[c][s]
		if i < k {
			v.out[i] = int(b.label)
		}
		s = int(b.prev)
		if c--; c < 0 {
			c = viterbiCols - 1
		}
	}
	return v.out[:k]
}

func (v *viterbi) bestState() int {
	best := 0
	for s := 1; s < 8; s++ {
		if v.pm[s] < v.pm[best] {
			best = s
		}
	}
	return best
}

// flush returns, oldest first, the labels not yet decided, and resets.
func (v *viterbi) flush() []int {
	out := v.traceback(v.pending)
	v.reset()
	return out
}
