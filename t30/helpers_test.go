package t30

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

// textPage draws a deterministic page that codes like text: lines of
// glyph-sized blobs with strokes, margins and white space.
func textPage(width, height int, res imaging.Resolution, seed uint64) *imaging.Page {
	p := imaging.NewPage(width, height, res)
	rng := rand.New(rand.NewPCG(seed, seed+1))
	lineH := 24
	if res != imaging.Standard {
		lineH = 48
	}
	for y0 := 40; y0+lineH < height-40; y0 += lineH + lineH/2 {
		x := 60 + rng.IntN(40)
		for x < width-80 {
			w := 8 + rng.IntN(14)
			if rng.IntN(7) == 0 {
				x += w // a space
				continue
			}
			// A glyph: a few vertical and horizontal strokes.
			for k := 0; k < 3; k++ {
				if rng.IntN(2) == 0 {
					sx := x + rng.IntN(w)
					for y := y0 + rng.IntN(lineH/3); y < y0+lineH-rng.IntN(lineH/3); y++ {
						p.Set(sx, y, true)
						p.Set(min(sx+1, width-1), y, true)
					}
				} else {
					sy := y0 + rng.IntN(lineH)
					for xx := x; xx < x+w-2; xx++ {
						p.Set(xx, sy, true)
					}
				}
			}
			x += w + 2
		}
	}
	return p
}

func textDoc(n, width, height int, res imaging.Resolution) PagesDocument {
	d := make(PagesDocument, n)
	for i := range d {
		d[i] = textPage(width, height, res, uint64(i+1))
	}
	return d
}

type call struct {
	tx, rx   Result
	pages    *PageCollector
	clock    *VirtualClock
	a, b     *PairEnd
	progress []PageEvent
	runErr   error
	frames   []FCF
}

// runCall runs a sender against a receiver over a LinePair in virtual time.
func runCall(t testing.TB, tx, rx Config, model LineModel) *call {
	t.Helper()
	c := &call{clock: NewVirtualClock(), pages: &PageCollector{}}
	c.a, c.b = NewLinePair(c.clock, model)
	tx.Calling, tx.Transmit = true, true
	rx.Calling, rx.Transmit = false, false
	if rx.Sink == nil {
		rx.Sink = c.pages
	}
	if tx.Progress == nil {
		tx.Progress = func(ev PageEvent) { c.progress = append(c.progress, ev) }
	}
	st, err := NewSession(tx, c.a, c.clock)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := NewSession(rx, c.b, c.clock)
	if err != nil {
		t.Fatal(err)
	}
	st.Start()
	sr.Start()
	c.runErr = c.clock.Run(context.Background(), func() bool { return st.Done() && sr.Done() })
	if c.runErr != nil {
		t.Fatalf("clock: %v (tx done %v, rx done %v)", c.runErr, st.Done(), sr.Done())
	}
	c.tx, c.rx = st.Result(), sr.Result()
	return c
}

// checkPages asserts the received pages decode pixel-equal to doc (from
// page start on), after the vertical rescaling to res.
func checkPages(t testing.TB, doc PagesDocument, start int, got []*ReceivedPage, res imaging.Resolution) {
	t.Helper()
	if len(got) != len(doc)-start {
		t.Fatalf("received %d pages, want %d", len(got), len(doc)-start)
	}
	for i, rp := range got {
		want := doc[start+i]
		if rp.Resolution != res {
			t.Fatalf("page %d resolution %v, want %v", i+1, rp.Resolution, res)
		}
		wp := want
		if want.Resolution != res {
			var err error
			wp, err = imaging.ReadPage(imaging.RescaleRows(want.Rows(), want.Width, want.Resolution, res), want.Width, res, 0)
			if err != nil {
				t.Fatal(err)
			}
		}
		p, st, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
		if err != nil {
			t.Fatalf("page %d: decode: %v", i+1, err)
		}
		if st.BadRows != 0 {
			t.Fatalf("page %d: %d bad rows", i+1, st.BadRows)
		}
		if p.Width != wp.Width || p.Height != wp.Height {
			t.Fatalf("page %d: %dx%d, want %dx%d", i+1, p.Width, p.Height, wp.Width, wp.Height)
		}
		if !bytes.Equal(p.Pix, wp.Pix) {
			t.Fatalf("page %d: pixels differ", i+1)
		}
	}
}
