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
	near    int        // label of the point nearest the last received one
	pm      [8]int64   // path metrics in metricScale units, the best 0
	dist    [8]float64 // the last point's squared distance to each subset
	lab     [8]uint8   // and the label of that subset's nearest point
	bm      [8]int64   // dist as branch metrics
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
	v.pm = [8]int64{}
	v.pos, v.pending = 0, 0
}

// add enters received point z and returns the labels it could decide,
// oldest first: none, or a batch once the decoder holds its depth and a
// batch more. The slice is valid until the next call.
func (v *viterbi) add(z complex128) []int {
	lab, bm := &v.lab, &v.bm
	v.sl.nearest(z, &v.dist, lab)
	branchMetrics(&v.dist, bm)
	best := bm[0] << 3
	for i := 1; i < 8; i++ {
		best = minBranchless(best, bm[i]<<3|int64(i))
	}
	v.near = int(lab[best&7])
	if v.pos++; v.pos == viterbiCols {
		v.pos = 0
	}
	col := &v.hist[v.pos]
	// Add, compare, select, unrolled on the V.17 trellis (predState and
	// predSub, checked against them by TestViterbiUnrolled): states 0-3
	// are entered from the even states, 4-7 from the odd ones.
	p, b := &v.pm, bm
	e0, e1, e2, e3 := p[0], p[2], p[4], p[6]
	o0, o1, o2, o3 := p[1], p[3], p[5], p[7]
	// (Element by element, and indexed: a composite literal or a range
	// over the array copies it in wider words than it was written in.)
	var keys [8]int64
	keys[0] = acs(e0+b[0], e1+b[6], e2+b[2], e3+b[4])
	keys[1] = acs(e0+b[6], e1+b[0], e2+b[4], e3+b[2])
	keys[2] = acs(e0+b[2], e1+b[4], e2+b[0], e3+b[6])
	keys[3] = acs(e0+b[4], e1+b[2], e2+b[6], e3+b[0])
	keys[4] = acs(o0+b[1], o1+b[3], o2+b[7], o3+b[5])
	keys[5] = acs(o0+b[5], o1+b[7], o2+b[3], o3+b[1])
	keys[6] = acs(o0+b[7], o1+b[5], o2+b[1], o3+b[3])
	keys[7] = acs(o0+b[3], o1+b[1], o2+b[5], o3+b[7])
	low := keys[0]
	for n := 1; n < 8; n++ {
		low = minBranchless(low, keys[n])
	}
	low >>= 2
	for n := range 8 {
		key := keys[n]
		k := key & 3
		v.pm[n] = key>>2 - low // only differences matter: keep them near zero
		col[n] = branch{prev: uint8(2*k) | uint8(n>>2), label: lab[v.predSub[n][k]&7]}
	}
	if v.pending++; v.pending < viterbiCols {
		return nil
	}
	out := v.traceback(viterbiBatch)
	v.pending -= viterbiBatch
	return out
}

// branchMetrics turns squared distances into integers, so that the
// compare-selects run as branch-free arithmetic, not as branches the data
// mispredicts.
func branchMetrics(dist *[8]float64, bm *[8]int64) {
	for i, d := range dist {
		if !(d < maxDist) { // and NaN
			d = maxDist
		}
		bm[i] = int64(d * metricScale)
	}
}

// acs returns the smallest of four path metrics with its index in the
// two low bits.
func acs(m0, m1, m2, m3 int64) int64 {
	return minBranchless(minBranchless(m0<<2, m1<<2|1), minBranchless(m2<<2|2, m3<<2|3))
}

// minBranchless is min(a, b) for |a-b| < 2^63, by arithmetic: the data
// decides which is smaller too often at random for a branch predictor.
func minBranchless(a, b int64) int64 {
	d := a - b
	return b + d&(d>>63)
}

// Branch metrics are squared distances in units of 1/metricScale,
// clipped at maxDist (far beyond any point, where all subsets are equally
// wrong), so path metrics stay far from overflow.
const (
	metricScale = 1 << 16
	maxDist     = 1 << 12
)

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
