package imaging

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"golang.org/x/image/ccitt"
)

// fastPathPages exercise the decoder's fast paths at their limits: rows
// equal to the one before (runs of V0 codes longer than one refill, and
// reaching the right edge), vertical modes near the edges, horizontal
// modes and 1D run pairs ending exactly at the width.
func fastPathPages(w int) []*Page {
	h := 24
	stripes := func(period, phase int) *Page {
		p := NewPage(w, h, Fine)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if (x+phase)%period < period/2 {
					p.Set(x, y, true)
				}
			}
		}
		return p
	}
	// Stripes that shift by one pixel every other row: VR1/VL1 chains.
	zigzag := NewPage(w, h, Fine)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (x+(y/2)%2)%4 < 2 {
				zigzag.Set(x, y, true)
			}
		}
	}
	// Short runs against long ones ending at the edge: horizontal modes
	// and make-up codes next to terminating ones.
	steps := NewPage(w, h, Fine)
	for y := 0; y < h; y++ {
		for x := w - 1 - (y*37)%w; x < w; x++ {
			steps.Set(x, y, y%3 != 0 || x%5 == 0)
		}
	}
	return []*Page{stripes(2, 0), stripes(2, 1), stripes(3, 0), stripes(6, 2), zigzag, steps}
}

func TestDecodeFastPaths(t *testing.T) {
	for _, w := range []int{1, 7, 64, 65, 127, WidthA4, 2600} {
		for pi, p := range fastPathPages(w) {
			for _, c := range []Compression{MH, MR, MMR} {
				for _, order := range []BitOrder{MSBFirst, LSBFirst} {
					t.Run(fmt.Sprintf("%d/%d/%v/%d", w, pi, c, order), func(t *testing.T) {
						o := EncodeOptions{Compression: c, Width: w, K: 4, BitOrder: order}
						data, err := EncodePage(p, o)
						if err != nil {
							t.Fatal(err)
						}
						got, st, err := DecodePage(data, decodeOpts(o), Fine)
						if err != nil || st.BadRows != 0 {
							t.Fatalf("DecodePage: %v %+v", err, st)
						}
						if d := firstDiff(got, p); d != "" {
							t.Fatalf("DecodePage: %s", d)
						}
						// A reader giving one byte at a time makes every
						// refill take the slow path.
						d, err := NewDecoder(iotest.OneByteReader(bytes.NewReader(data)), decodeOpts(o))
						if err != nil {
							t.Fatal(err)
						}
						sp, err := ReadPage(d, w, Fine, 0)
						if err != nil || d.Stats().BadRows != 0 {
							t.Fatalf("streaming: %v %+v", err, d.Stats())
						}
						if d := firstDiff(sp, p); d != "" {
							t.Fatalf("streaming: %s", d)
						}
						if c == MR {
							return // x/image/ccitt has no MR decoder
						}
						sf, co := ccitt.Group3, ccitt.MSB
						if c == MMR {
							sf = ccitt.Group4
						}
						if order == LSBFirst {
							co = ccitt.LSB
						}
						pix, err := io.ReadAll(ccitt.NewReader(bytes.NewReader(data), co, sf, w, p.Height, &ccitt.Options{Invert: true}))
						if err != nil {
							t.Fatalf("ccitt: %v", err)
						}
						ref := &Page{Width: w, Height: p.Height, Pix: pix}
						clearPadding(ref)
						if d := firstDiff(ref, got); d != "" {
							t.Fatalf("x/image/ccitt disagrees: %s", d)
						}
					})
				}
			}
		}
	}
}

// TestEncodeMHFromPixels: MH rows coded straight from their pixels
// (encodeRowMH, WriteRow's path) give the same bytes as coding their
// changing elements (rowChanges and encode1D, Transcode's path), at widths
// around word edges and past the 2560 make-up code, with every option
// that changes the row layout, in both bit orders. The libtiff and netpbm
// reference tests check the bytes against outside coders as well.
func TestEncodeMHFromPixels(t *testing.T) {
	opts := []EncodeOptions{
		{}, {NoEOL: true}, {AlignEOL: true}, {MinRowBits: 1728}, {MinRowBits: 70000}, {NoRTC: true},
	}
	for _, w := range []int{1, 7, 63, 64, 65, 127, WidthA4, 2600, 5200} {
		pages := append(fastPathPages(w), letterPage(w, 40, Fine), NewPage(w, 3, Fine))
		for pi, p := range pages {
			for oi, o := range opts {
				for _, order := range []BitOrder{MSBFirst, LSBFirst} {
					o.Compression, o.Width, o.BitOrder = MH, w, order
					got, err := EncodePage(p, o)
					if err != nil {
						t.Fatal(err)
					}
					var want bytes.Buffer
					e, err := NewEncoder(&want, o)
					if err != nil {
						t.Fatal(err)
					}
					for y := 0; y < p.Height; y++ {
						e.cur = rowChanges(p.Row(y), w, e.cur)
						if err := e.writeChanges(); err != nil {
							t.Fatal(err)
						}
					}
					if err := e.Close(); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want.Bytes()) {
						t.Errorf("width %d page %d options %d order %d: %d bytes from pixels, %d from changes, differ", w, pi, oi, order, len(got), want.Len())
					}
				}
			}
		}
	}
}
