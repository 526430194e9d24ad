// Package drivertest has helpers for testing drivers and their users:
// deterministic test pages and documents. It imports drivers, t30 and
// imaging only, and is imported by tests only.
package drivertest

import (
	"math/rand/v2"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// Page draws a deterministic page that codes like text: rows of
// glyph-sized marks with margins and white space between lines. The same
// seed gives the same page.
func Page(width, height int, res imaging.Resolution, seed uint64) *imaging.Page {
	p := imaging.NewPage(width, height, res)
	rng := rand.New(rand.NewPCG(seed, ^seed))
	const lineH = 20
	for y0 := 8; y0+lineH < height-4; y0 += lineH + 10 {
		for x := 40 + rng.IntN(30); x < width-60; {
			w := 6 + rng.IntN(12)
			if rng.IntN(6) != 0 {
				for k := 0; k < 3; k++ {
					if rng.IntN(2) == 0 {
						sx := x + rng.IntN(w)
						for y := y0 + rng.IntN(lineH/3); y < y0+lineH-rng.IntN(lineH/3); y++ {
							p.Set(sx, y, true)
						}
					} else {
						sy := y0 + rng.IntN(lineH)
						for xx := x; xx < x+w-2; xx++ {
							p.Set(xx, sy, true)
						}
					}
				}
			}
			x += w + 3
		}
	}
	// A page number mark in the top left corner, so pages differ visibly.
	for i := 0; i < int(seed%16)+1; i++ {
		for y := 0; y < 4 && y < height; y++ {
			p.Set(4+i*3, y, true)
		}
	}
	return p
}

// Doc returns n pages of width x height at res; page i has seed base+i.
func Doc(n, width, height int, res imaging.Resolution, base uint64) t30.PagesDocument {
	d := make(t30.PagesDocument, n)
	for i := range d {
		d[i] = Page(width, height, res, base+uint64(i))
	}
	return d
}

// Equal reports whether two pages have the same size and pixels.
func Equal(a, b *imaging.Page) bool {
	if a.Width != b.Width || a.Height != b.Height {
		return false
	}
	for y := 0; y < a.Height; y++ {
		ra, rb := a.Row(y), b.Row(y)
		for i := range ra {
			if ra[i] != rb[i] {
				return false
			}
		}
	}
	return true
}
