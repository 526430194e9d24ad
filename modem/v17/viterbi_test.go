package v17

import (
	"math/rand/v2"
	"testing"
)

// refViterbi is the textbook add-compare-select over the trellis tables
// (predState, predSub), on the same integer branch metrics: the unrolled
// decoder must decide exactly as it does.
type refViterbi struct {
	v    *viterbi
	pm   [8]int64
	hist [][8]branch
}

func (r *refViterbi) add(z complex128) {
	var dist [8]float64
	var lab [8]uint8
	var bm [8]int64
	r.v.sl.nearest(z, &dist, &lab)
	branchMetrics(&dist, &bm)
	var pm [8]int64
	var col [8]branch
	for n := range 8 {
		best := int64(1<<62 - 1)
		for k := range 4 {
			if m := r.pm[r.v.predState[n][k]] + bm[r.v.predSub[n][k]]; m < best {
				best, col[n] = m, branch{prev: r.v.predState[n][k], label: lab[r.v.predSub[n][k]]}
			}
		}
		pm[n] = best
	}
	low := pm[0]
	for _, m := range pm {
		low = min(low, m)
	}
	for n := range pm {
		pm[n] -= low
	}
	r.pm = pm
	r.hist = append(r.hist, col)
}

// TestViterbiUnrolled: the unrolled decoder keeps the same path metrics
// and survivors as the textbook one, on noisy points of every rate (ties
// included: points on the grid's cell edges).
func TestViterbiUnrolled(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for rate, sl := range slicers {
		v := newViterbi(sl())
		ref := &refViterbi{v: newViterbi(sl())}
		for i := range 5000 {
			p := v.sl.points[rng.IntN(len(v.sl.points))].complex()
			noise := complex(rng.NormFloat64(), rng.NormFloat64()) * 0.6
			if i%7 == 0 {
				noise = complex(float64(rng.IntN(5))*0.5, 0) // exact ties
			}
			v.add(p + noise)
			ref.add(p + noise)
			if v.pm != ref.pm || v.hist[v.pos] != ref.hist[i] {
				t.Fatalf("%d bit/s, symbol %d: path metrics %v survivors %v, textbook %v %v", rate, i, v.pm, v.hist[v.pos], ref.pm, ref.hist[i])
			}
		}
	}
}
