package render

import (
	"bytes"
	"image"
	"io"
	"testing"

	"golang.org/x/image/draw"

	"github.com/faxagent/faxagent/imaging"
)

func BenchmarkToFax(b *testing.B) {
	photo := decodeFixture(b, "photo.jpg")
	bigPhoto := image.NewGray(image.Rect(0, 0, 2480, 3508)) // A4 at 300 dpi
	draw.ApproxBiLinear.Scale(bigPhoto, bigPhoto.Rect, photo, photo.Bounds(), draw.Src, nil)
	for _, bc := range []struct {
		name string
		img  image.Image
		mode Mode
	}{
		{"a4text-1000x1414/auto", decodeFixture(b, "a4text.png"), Auto},
		{"photo-300x200/dither", photo, Dither},
		{"scan-2480x3508/dither", bigPhoto, Dither},
		{"scan-2480x3508/threshold", bigPhoto, Threshold},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			o := opts(imaging.Fine, bc.mode)
			for b.Loop() {
				if _, err := ToFax(bc.img, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScaler measures the two x/image/draw scalers ToFax could use,
// scaling a 1000x1414 grey picture to 1728x2348 (the choice is explained
// in render).
func BenchmarkScaler(b *testing.B) {
	src := decodeFixture(b, "a4text.png")
	g, _ := greyReduce(src, 1, 1)
	for _, bc := range []struct {
		name string
		s    draw.Scaler
	}{{"ApproxBiLinear", draw.ApproxBiLinear}, {"CatmullRom", draw.CatmullRom}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			dst := image.NewRGBA(image.Rect(0, 0, 1728, 2348))
			for b.Loop() {
				bc.s.Scale(dst, dst.Rect, g, g.Rect, draw.Src, nil)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"a4text.png", "photo.jpg", "square.pbm", "hello.plain.pbm"} {
		data := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Decode(bytes.NewReader(data), name, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodePBM(b *testing.B) {
	p, err := ToFax(decodeFixture(b, "a4text.png"), opts(imaging.Fine, Auto))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(p.Pix)))
	for b.Loop() {
		if err := EncodePBM(io.Discard, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeader(b *testing.B) {
	f := HeaderFields{CSID: "ACME Corp", Number: "+1 555 0100", Page: 3, Pages: 12}
	b.Run("expand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Header("%d %t FROM: %-20c TO: %-15n PAGE %03p OF %03s", f)
		}
	})
	text := Header("%d %t FROM: %-20c TO: %-15n PAGE %03p OF %03s", f)
	b.Run("rows-fine", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			HeaderRows(text, 1728, imaging.Fine)
		}
	})
	band := HeaderRows(text, 1728, imaging.Fine)
	row := make([]byte, band.Stride())
	b.Run("overlay-row", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			OverlayRows(row, band, 5)
		}
	})
}
