package render

import (
	"bufio"
	"bytes"
	"image"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/bombs"
)

// fuzzLimits keep each input cheap.
var (
	fuzzPixels int64 = 1 << 16
	fuzzLimits       = Limits{MaxPixels: fuzzPixels, MaxMemory: 1 << 19, MaxBytes: 1 << 20}
)

// FuzzDecodePNM: our netpbm reader never panics, never returns more
// pixels than the budget, and what it decodes survives a re-encoding.
func FuzzDecodePNM(f *testing.F) {
	for _, name := range []string{"hello.pbm", "hello.plain.pbm", "gray.pbm", "ramp.pgm", "ramp.plain.pgm",
		"ramp16.pgm", "rainbow.ppm", "rainbow.plain.ppm"} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{"P1 2 2 0110", "P4\n9 1\n\xff\x80", "P2 # c\n2 1 3 0 3", "P5 1 1 65535\n\x12\x34",
		"P3 1 1 255 1 2 3", "P6 1 1 1000\n\x03\xe8\x00\x00\x01\xf4", "P4 99999 99999\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodePNM(bufio.NewReader(bytes.NewReader(data)), fuzzLimits)
		if err != nil {
			if img != nil {
				t.Fatal("image and error")
			}
			return
		}
		b := img.Bounds()
		if b.Min != (image.Point{}) || b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > fuzzPixels {
			t.Fatalf("bounds %v", b)
		}
		// Touch every pixel: a short Pix would panic here.
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				img.At(x, y)
			}
		}
		// A bitmap goes through EncodePBM and back unchanged.
		if pal, ok := img.(*image.Paletted); ok {
			p := imaging.NewPage(b.Dx(), b.Dy(), imaging.Fine)
			for i, v := range pal.Pix {
				p.Set(i%b.Dx(), i/b.Dx(), v == 1)
			}
			var buf bytes.Buffer
			if err := EncodePBM(&buf, p); err != nil {
				t.Fatal(err)
			}
			again, err := decodePNM(bufio.NewReader(&buf), fuzzLimits)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.(*image.Paletted).Pix, pal.Pix) {
				t.Fatal("PBM round trip changed pixels")
			}
		}
	})
}

// FuzzDecode: the whole Decode path (sniffing, budget, the standard
// decoders) never panics and honours the budget.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"square.png", "square.gif", "square.jpg", "square.tif", "rainbow.png", "hello.pbm"} {
		f.Add(readFixture(f, name))
	}
	f.Add(pngHeader(100000, 100000))
	// Bombs: within the pixel budget, over the memory budget at 16 bits.
	f.Add(bombs.PNG(250, 250, true))
	f.Add(bombs.PNG(2000, 2000, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data), "fuzz", fuzzLimits)
		if err != nil {
			return
		}
		b := img.Bounds()
		px := int64(b.Dx()) * int64(b.Dy())
		if px > fuzzPixels {
			t.Fatalf("bounds %v over budget", b)
		}
		if m := px * int64(BytesPerPixel(img.ColorModel())); m > fuzzLimits.MaxMemory {
			t.Fatalf("%T of %v: %d bytes, over the memory budget", img, b, m)
		}
		// Small pictures also convert without trouble.
		if b.Dx()*b.Dy() <= 4096 {
			if _, err := ToFax(img, Options{Width: 64, Resolution: imaging.Standard}); err != nil && b.Dy() < 1000 {
				t.Fatalf("ToFax: %v", err)
			}
		}
	})
}

// FuzzHeader: template expansion never panics, keeps text without tokens
// as it is, stays bounded, and its result stamps cleanly.
func FuzzHeader(f *testing.F) {
	for _, s := range []string{"%d %t %c %n %p/%s", "%-20c|%03p|%3s|%%", "%", "%-", "%0", "%999999999999999999999p",
		"%d %t FROM: %-20c TO: %-15n PAGE %03p OF %03s", "100%% %x %5q", "Zürich \x00 %c"} {
		f.Add(s, "ACME", "+1 555 0100", 3, 12, int64(1795771507))
	}
	f.Fuzz(func(t *testing.T, tmpl, csid, number string, page, pages int, unix int64) {
		if len(csid) > 64 || len(number) > 64 {
			return
		}
		fields := HeaderFields{Time: time.Unix(unix, 0).UTC(), CSID: csid, Number: number, Page: page, Pages: pages}
		got := Header(tmpl, fields)
		if !strings.Contains(tmpl, "%") && got != tmpl {
			t.Fatalf("no tokens: %q became %q", tmpl, got)
		}
		// Each byte of the template yields at most one field of at most
		// maxHeaderWidth runes or the longest value.
		maxField := maxHeaderWidth*utf8.UTFMax + 64 + 64
		if len(got) > len(tmpl)*maxField {
			t.Fatalf("output of %d bytes from a %d-byte template", len(got), len(tmpl))
		}
		band := HeaderRows(got, 256, imaging.Fine)
		if band == nil || band.Height != HeaderBandRows(imaging.Fine) || len(band.Pix) != band.Height*band.Stride() {
			t.Fatal("bad band")
		}
	})
}
