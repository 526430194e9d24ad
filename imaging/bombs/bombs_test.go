package bombs

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/faxagent/faxagent/imaging/tiff"
)

// TestBombsAreValid: the bombs are well-formed files of the size they
// declare (small ones decode with the standard library and our TIFF
// reader), so a refusal of the large ones is the limits' doing.
func TestBombsAreValid(t *testing.T) {
	for _, sixteen := range []bool{false, true} {
		img, err := png.Decode(bytes.NewReader(PNG(1500, 700, sixteen)))
		if err != nil {
			t.Fatalf("PNG(sixteen %v): %v", sixteen, err)
		}
		if img.Bounds() != image.Rect(0, 0, 1500, 700) {
			t.Errorf("bounds %v", img.Bounds())
		}
		if _, ok := img.(*image.NRGBA64); ok != sixteen {
			t.Errorf("sixteen %v: %T", sixteen, img)
		}
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(PNG(10000, 10000, true)))
	if err != nil || cfg.Width != 10000 || cfg.ColorModel != color.NRGBA64Model {
		t.Errorf("big PNG header: %+v %v", cfg, err)
	}
	b := TIFF(3, 1728, 300)
	r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if r.NumPages() != 3 {
		t.Fatalf("%d pages", r.NumPages())
	}
	for i := range 3 {
		p, err := r.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		row := make([]byte, 216)
		n := 0
		for ; p.ReadRow(row) == nil; n++ {
		}
		if n != 300 || p.Stats().BadRows != 0 {
			t.Errorf("page %d: %d rows, %+v", i, n, p.Stats())
		}
	}
	if n := len(TIFF(5000, 1728, 2292)); n > 700<<10 {
		t.Errorf("5000-page TIFF is %d bytes", n)
	}
}

func TestPNGSize(t *testing.T) {
	if n := len(PNG(10000, 10000, true)); n > 1<<20 {
		t.Errorf("16-bit 10000x10000 PNG is %d bytes", n)
	} else {
		t.Logf("16-bit 10000x10000 PNG: %d bytes", n)
	}
}
