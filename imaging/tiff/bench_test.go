package tiff

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

func BenchmarkWritePage(b *testing.B) {
	p := testPage(imaging.WidthA4, 2200, imaging.Fine, 70)
	for _, comp := range []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR} {
		b.Run(comp.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Pix)))
			f := memFile{b: make([]byte, 0, 4<<20)}
			for b.Loop() {
				f.b, f.pos = f.b[:0], 0
				w := NewWriter(&f, WriterOptions{Compression: comp, DateTime: testTime})
				pw, err := w.NewPage(PageSpec{Width: p.Width, Resolution: p.Resolution})
				if err != nil {
					b.Fatal(err)
				}
				for y := range p.Height {
					pw.WriteRow(p.Row(y))
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReadPage(b *testing.B) {
	p := testPage(imaging.WidthA4, 2200, imaging.Fine, 71)
	for _, comp := range []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR} {
		b.Run(comp.String(), func(b *testing.B) {
			doc := writeDoc(b, WriterOptions{Compression: comp, DateTime: testTime}, []*imaging.Page{p})
			r, err := Open(bytes.NewReader(doc), int64(len(doc)))
			if err != nil {
				b.Fatal(err)
			}
			row := make([]byte, p.Stride())
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Pix)))
			for b.Loop() {
				pr, err := r.Page(0)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for pr.ReadRow(row) == nil {
					n++
				}
				if n != p.Height {
					b.Fatal(fmt.Sprint(n, " rows"))
				}
			}
		})
	}
}
