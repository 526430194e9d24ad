package t30

import (
	"bytes"
	"errors"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

// TestCodePageTranscodes: a page given coded (and as rows) is transcoded
// to the agreed coding with the minimum scan line fill, to the same
// output the rows give; a coded page with a damaged row is refused.
func TestCodePageTranscodes(t *testing.T) {
	p := imaging.NewPage(imaging.WidthA4, 300, imaging.Fine)
	for y := 20; y < 280; y += 3 {
		for x := y; x < y+400; x++ {
			p.Set(x, y, true)
		}
	}
	mmr, err := imaging.EncodePage(p, imaging.EncodeOptions{Compression: imaging.MMR, Width: p.Width})
	if err != nil {
		t.Fatal(err)
	}
	coded := PageSource{Width: p.Width, Resolution: p.Resolution, Rows: p.Rows(), Coded: mmr,
		CodedOptions: imaging.DecodeOptions{Compression: imaging.MMR, Width: p.Width, Rows: p.Height}}
	for _, comp := range []imaging.Compression{imaging.MH, imaging.MR} {
		o := imaging.EncodeOptions{Compression: comp, Width: p.Width, K: 4, BitOrder: imaging.LSBFirst, MinRowBits: 400}
		fromRows, n1, err := codePage(PageSource{Width: p.Width, Resolution: p.Resolution, Rows: p.Rows()}, o, p.Resolution)
		if err != nil {
			t.Fatal(err)
		}
		fromCoded, n2, err := codePage(coded, o, p.Resolution)
		if err != nil {
			t.Fatal(err)
		}
		if n1 != p.Height || n2 != p.Height || !bytes.Equal(fromRows, fromCoded) {
			t.Fatalf("%v: rows give %d rows/%d bytes, coded %d rows/%d bytes", comp, n1, len(fromRows), n2, len(fromCoded))
		}
		got, _, err := imaging.DecodePage(fromCoded, imaging.DecodeOptions{Compression: comp, Width: p.Width, BitOrder: imaging.LSBFirst}, p.Resolution)
		if err != nil || !bytes.Equal(got.Pix, p.Pix) {
			t.Fatalf("%v: transcoded page differs (%v)", comp, err)
		}
	}
	// A header band in place of the top rows: the transcoded page equals
	// the rows with the band put in.
	band := imaging.NewPage(p.Width, 40, p.Resolution)
	for y := 5; y < 35; y++ {
		for x := 100; x < 900; x += 7 {
			band.Set(x, y, true)
		}
	}
	stamped := imaging.NewPage(p.Width, p.Height, p.Resolution)
	copy(stamped.Pix, p.Pix)
	copy(stamped.Pix, band.Pix)
	over := coded
	over.Rows, over.Overlay = stamped.Rows(), band
	o := imaging.EncodeOptions{Compression: imaging.MR, Width: p.Width, K: 4, MinRowBits: 400}
	want, _, err := codePage(PageSource{Width: p.Width, Resolution: p.Resolution, Rows: stamped.Rows()}, o, p.Resolution)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := codePage(over, o, p.Resolution); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("with an overlay: %v, %d bytes, want %d", err, len(got), len(want))
	}
	bad := coded
	bad.Coded = append([]byte(nil), mmr...)
	for i := len(bad.Coded) / 3; i < len(bad.Coded)/2; i++ {
		bad.Coded[i] = 0
	}
	if _, _, err := codePage(bad, imaging.EncodeOptions{Compression: imaging.MH, Width: p.Width}, p.Resolution); !errors.Is(err, ErrDocument) {
		t.Fatalf("damaged coded page: err = %v", err)
	}
}
