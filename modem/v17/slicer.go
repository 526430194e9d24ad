package v17

import (
	"math"
	"sync"
)

// The Viterbi decoder needs, for every received point, the nearest point
// of each of the eight subsets (Y2 Y1 Y0). Scanning the whole
// constellation costs 128 distances a symbol at 14400 bit/s; instead the
// plane is cut into cells and each cell lists the few points of each
// subset that can be nearest to anything inside it.

const (
	cellSize  = 0.5
	gridHalf  = 12.0 // the grid covers [-12, 12) on both axes
	gridCells = int(2 * gridHalf / cellSize)
	maxExtra  = 24
)

// cell lists, for each subset, the point nearest the cell's centre, and
// then the other points that may be nearer somewhere in the cell.
type cell struct {
	first [8]uint8
	extra [maxExtra]uint8 // labels (the subset is the label's low 3 bits)
	nx    uint8
}

// slicer finds subset-nearest points through the cell grid.
type slicer struct {
	points []point
	xy     [128][2]float64 // the points as floats, by label
	cells  []cell
}

// slicers are built once per constellation; they are read-only tables.
var slicers = map[int]func() *slicer{
	14400: sync.OnceValue(func() *slicer { return newSlicer(points14400[:]) }),
	12000: sync.OnceValue(func() *slicer { return newSlicer(points12000[:]) }),
	9600:  sync.OnceValue(func() *slicer { return newSlicer(points9600[:]) }),
	7200:  sync.OnceValue(func() *slicer { return newSlicer(points7200[:]) }),
}

func newSlicer(points []point) *slicer {
	s := &slicer{points: points, cells: make([]cell, gridCells*gridCells)}
	for i, p := range points {
		s.xy[i] = [2]float64{float64(p[0]), float64(p[1])}
	}
	margin := cellSize * math.Sqrt2 // twice the half diagonal
	for cy := range gridCells {
		for cx := range gridCells {
			c := &s.cells[cy*gridCells+cx]
			centre := complex(-gridHalf+(float64(cx)+0.5)*cellSize, -gridHalf+(float64(cy)+0.5)*cellSize)
			var best [8]float64
			for i := range best {
				best[i] = math.Inf(1)
			}
			for l, p := range points {
				if d := math.Sqrt(sqDist(centre, p.complex())); d < best[l&7] {
					best[l&7], c.first[l&7] = d, uint8(l)
				}
			}
			for l, p := range points {
				d := math.Sqrt(sqDist(centre, p.complex()))
				if uint8(l) != c.first[l&7] && d <= best[l&7]+margin && c.nx < maxExtra {
					c.extra[c.nx] = uint8(l)
					c.nx++
				}
			}
		}
	}
	return s
}

// nearest sets, for each subset, the squared distance from z to its
// nearest point and that point's label. (It fills the caller's arrays:
// arrays returned by value are copied through memory in wider words than
// they were written in, which stalls store forwarding.)
func (s *slicer) nearest(z complex128, dist *[8]float64, label *[8]uint8) {
	zr, zi := real(z), imag(z)
	if !(zr >= -gridHalf && zr < gridHalf && zi >= -gridHalf && zi < gridHalf) {
		s.scan(z, dist, label)
		return
	}
	c := &s.cells[int((zi+gridHalf)/cellSize)*gridCells+int((zr+gridHalf)/cellSize)]
	for sub, l := range c.first {
		p := &s.xy[l&127]
		dr, di := zr-p[0], zi-p[1]
		dist[sub], label[sub] = dr*dr+di*di, l
	}
	for _, l := range c.extra[:c.nx] {
		p := &s.xy[l&127]
		dr, di := zr-p[0], zi-p[1]
		if d := dr*dr + di*di; d < dist[l&7] {
			dist[l&7], label[l&7] = d, l
		}
	}
}

// scan is nearest by a full scan, for points off the grid (and NaN).
func (s *slicer) scan(z complex128, dist *[8]float64, label *[8]uint8) {
	for i := range dist {
		dist[i], label[i] = math.Inf(1), uint8(i) // label i is in subset i
	}
	zr, zi := real(z), imag(z)
	for l, p := range s.points {
		dr, di := zr-float64(p[0]), zi-float64(p[1])
		if d := dr*dr + di*di; d < dist[l&7] {
			dist[l&7], label[l&7] = d, uint8(l)
		}
	}
}
