package v17

// viterbiDepth is the decoder's traceback depth in symbols. An 8-state
// code's free distance is reached within about five constraint lengths;
// 24 symbols keeps the loss against an infinite depth negligible.
const viterbiDepth = 24

// branch is a survivor: the state it came from and the label of the
// point it decided on.
type branch struct {
	prev  uint8
	label uint8
}

// viterbi decodes the trellis code, one received point at a time.
type viterbi struct {
	points []point
	pm     [8]float64
	hist   [viterbiDepth + 1][8]branch
	n      int // symbols entered since reset
	pos    int // newest column in hist
	// pred[s'] lists the (state, Y2Y1) pairs leading into s'.
	pred [8][4]struct{ s, y uint8 }
}

func newViterbi(points []point) *viterbi {
	v := &viterbi{points: points}
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
	v.n, v.pos = 0, 0
}

// subsetNearest returns, for each subset Y2Y1Y0, the squared distance
// from z to its nearest point and that point's label.
func subsetNearest(points []point, z complex128) (dist [8]float64, label [8]uint8) {
	for i := range dist {
		dist[i] = 1e30
	}
	zr, zi := real(z), imag(z)
	for l, p := range points {
		dr, di := zr-float64(p[0]), zi-float64(p[1])
		d := dr*dr + di*di
		if s := l & 7; d < dist[s] {
			dist[s], label[s] = d, uint8(l)
		}
	}
	return dist, label
}

// add enters received point z. Once the decoder holds more than its depth
// it returns the label decided for the symbol that many points back.
func (v *viterbi) add(z complex128) (label int, ok bool) {
	dist, lab := subsetNearest(v.points, z)
	if v.pos++; v.pos > viterbiDepth {
		v.pos = 0
	}
	col := &v.hist[v.pos]
	var pm [8]float64
	for n := range 8 {
		y0 := uint8(n>>2) & 1
		best := 1e300
		for _, p := range v.pred[n] {
			sub := p.y<<1 | y0
			if m := v.pm[p.s] + dist[sub]; m < best {
				best = m
				col[n] = branch{prev: p.s, label: lab[sub]}
			}
		}
		pm[n] = best
	}
	low := pm[0]
	for _, m := range pm[1:] {
		low = min(low, m)
	}
	for i := range pm {
		pm[i] -= low
	}
	v.pm = pm
	v.n++
	if v.n <= viterbiDepth {
		return 0, false
	}
	// Trace back from the best state to the oldest column.
	s := v.bestState()
	c := v.pos
	for range viterbiDepth {
		s = int(v.hist[c][s].prev)
		if c--; c < 0 {
			c = viterbiDepth
		}
	}
	return int(v.hist[c][s].label), true
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

// flush returns, oldest first, the labels still held (up to the depth).
func (v *viterbi) flush() []int {
	n := min(v.n, viterbiDepth)
	out := make([]int, n)
	s := v.bestState()
	c := v.pos
	for i := n - 1; i >= 0; i-- {
		out[i] = int(v.hist[c][s].label)
		s = int(v.hist[c][s].prev)
		if c--; c < 0 {
			c = viterbiDepth
		}
	}
	v.reset()
	return out
}
