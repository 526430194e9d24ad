package v17

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// bruteNearest is the reference: every point of the constellation.
func bruteNearest(points []point, z complex128) (dist [8]float64) {
	for i := range dist {
		dist[i] = 1e300
	}
	for l, p := range points {
		dist[l&7] = min(dist[l&7], sqDist(z, p.complex()))
	}
	return dist
}

// The cell grid gives the same subset distances as a full scan, inside
// the grid and beyond it.
func TestSlicerMatchesFullScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rate := range rates {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			m, _ := modeFor(rate)
			sl := slicers[rate]()
			for range 200000 {
				z := complex(rng.Float64()*30-15, rng.Float64()*30-15)
				var got [8]float64
				var labels [8]uint8
				sl.nearest(z, &got, &labels)
				want := bruteNearest(m.points, z)
				for s := range 8 {
					if got[s] != want[s] {
						t.Fatalf("z %v subset %d: %v (label %d), want %v", z, s, got[s], labels[s], want[s])
					}
					if int(labels[s])&7 != s {
						t.Fatalf("label %d in subset %d", labels[s], s)
					}
				}
			}
		})
	}
}
