package v17

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
	// predState[s'] and predSub[s'] list the states leading into s' and
	// the subsets (Y2 Y1 Y0) of those branches.
	predState, predSub [8][4]uint8
}

func newViterbi(sl *slicer) *viterbi {
	v := &viterbi{sl: sl}
	var k [8]int
	for s := range 8 {
		for y := range 4 {
			n := trellisNext[s][y]
			v.predState[n][k[n]] = uint8(s)
			v.predSub[n][k[n]] = uint8(y<<1) | n>>2&1 // Y0 is bit 2 of the state entered
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
		// The four branches into state n: add, compare, select.
		ps, sb := &v.predState[n], &v.predSub[n]
		m0 := v.pm[ps[0]&7] + dist[sb[0]&7]
		m1 := v.pm[ps[1]&7] + dist[sb[1]&7]
		m2 := v.pm[ps[2]&7] + dist[sb[2]&7]
		m3 := v.pm[ps[3]&7] + dist[sb[3]&7]
		b, k := m0, 0
		if m1 < b {
			b, k = m1, 1
		}
		if m2 < b {
			b, k = m2, 2
		}
		if m3 < b {
			b, k = m3, 3
		}
		pm[n] = b
		col[n] = branch{prev: ps[k], label: lab[sb[k]&7]}
	}
	// Only differences matter: keep the metrics near zero.
	ref := pm[0]
	for i := range pm {
		pm[i] -= ref
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
