package render

import (
	"image"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// symbol is a glyph the text font lacks, drawn as strokes in a cell one
// advance wide and the font's cap height tall: points are (across, up)
// in [0,1], from the left end of the baseline.
type symbol struct {
	strokes [][][2]float32
	heavy   bool // twice the stroke width
}

var (
	checkStroke = [][2]float32{{0.08, 0.45}, {0.38, 0.08}, {0.95, 0.95}}
	crossA      = [][2]float32{{0.12, 0.05}, {0.88, 0.9}}
	crossB      = [][2]float32{{0.12, 0.9}, {0.88, 0.05}}
	box         = [][2]float32{{0.05, 0}, {0.95, 0}, {0.95, 0.9}, {0.05, 0.9}, {0.05, 0}}
	boxCheck    = [][2]float32{{0.22, 0.45}, {0.42, 0.2}, {0.8, 0.75}}
	boxCrossA   = [][2]float32{{0.22, 0.18}, {0.78, 0.72}}
	boxCrossB   = [][2]float32{{0.22, 0.72}, {0.78, 0.18}}
)

// symbols are the common marks of forms and notes that Go Mono does not
// have.
var symbols = map[rune]symbol{
	'✓': {strokes: [][][2]float32{checkStroke}},
	'✔': {strokes: [][][2]float32{checkStroke}, heavy: true},
	'✗': {strokes: [][][2]float32{crossA, crossB}},
	'✘': {strokes: [][][2]float32{crossA, crossB}, heavy: true},
	'☐': {strokes: [][][2]float32{box}},
	'☑': {strokes: [][][2]float32{box, boxCheck}},
	'☒': {strokes: [][][2]float32{box, boxCrossA, boxCrossB}},
}

// symbolGlyph draws r at dot when it is one of symbols; it reports whether
// it did.
func symbolGlyph(dst draw.Image, r rune, dot fixed.Point26_6, adv fixed.Int26_6, m font.Metrics) bool {
	s, ok := symbols[r]
	if !ok {
		return false
	}
	w := float32(adv) / 64
	h := float32(m.CapHeight) / 64
	if h <= 0 {
		h = float32(m.Ascent) / 64 * 0.75
	}
	x0, y0 := float32(dot.X)/64, float32(dot.Y)/64
	width := max(1, w*0.1)
	if s.heavy {
		width *= 2
	}
	// Rasterise in a cell with room for the stroke's ends.
	pad := int(math.Ceil(float64(width)))
	cell := image.Rect(int(x0)-pad, int(y0-h)-pad, int(x0+w)+pad+1, int(y0)+pad+1)
	z := vector.NewRasterizer(cell.Dx(), cell.Dy())
	ox, oy := float32(cell.Min.X), float32(cell.Min.Y)
	pt := func(p [2]float32) (float32, float32) { return x0 + p[0]*w - ox, y0 - p[1]*h - oy }
	for _, st := range s.strokes {
		for i := 1; i < len(st); i++ {
			ax, ay := pt(st[i-1])
			bx, by := pt(st[i])
			segment(z, ax, ay, bx, by, width)
		}
	}
	z.Draw(dst, cell, image.Black, image.Point{})
	return true
}

// segment adds a stroke from a to b of the given width with square ends
// half a width past each point (so strokes meet without gaps).
func segment(z *vector.Rasterizer, ax, ay, bx, by, width float32) {
	dx, dy := bx-ax, by-ay
	l := float32(math.Hypot(float64(dx), float64(dy)))
	if l == 0 {
		return
	}
	ux, uy := dx/l*width/2, dy/l*width/2 // along
	nx, ny := -uy, ux                    // across
	ax, ay, bx, by = ax-ux, ay-uy, bx+ux, by+uy
	z.MoveTo(ax+nx, ay+ny)
	z.LineTo(bx+nx, by+ny)
	z.LineTo(bx-nx, by-ny)
	z.LineTo(ax-nx, ay-ny)
	z.ClosePath()
}
