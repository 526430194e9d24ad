package imaging

import (
	"bytes"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// Benchmarks on a realistic text page: A4 width, fine resolution, full
// height (2200 rows). bench/codecs.sh compares them with libtiff.

const benchRows = 2200

func benchPage() *Page { return letterPage(WidthA4, benchRows, Fine) }

// letterPage looks like a typed letter: 20 mm margins, lines of 10 pt
// glyphs built from 2-3 pixel strokes (stems, bars, bowls, diagonals),
// word gaps and short paragraphs. At 1728 x 2200 it codes to about
// 100 KB of MH, like a dense real page.
func letterPage(w, h int, res Resolution) *Page {
	p := NewPage(w, h, res)
	rng := rand.New(rand.NewPCG(3, uint64(w)))
	_, dpiY := res.DPI()
	ys := dpiY / 196 // rows per fine row
	row := func(mm float64) int { return int(mm * dpiY / 25.4) }
	gw, gh := 14, int(19*ys) // glyph box
	stroke := 3
	margin := w * 20 / 210
	fill := func(x0, y0, x1, y1 int) {
		for y := max(y0, 0); y < min(y1, h); y++ {
			for x := max(x0, 0); x < min(x1, w); x++ {
				p.Set(x, y, true)
			}
		}
	}
	for top := row(25); top+gh < h-row(20); top += row(5) {
		if rng.IntN(9) == 0 {
			continue // paragraph break
		}
		end := w - margin - rng.IntN(w/4)
		for x := margin; x+gw < end; x += gw + 3 {
			if rng.IntN(6) == 0 {
				x += gw / 2 // word gap
				continue
			}
			shape := rng.Uint32()
			if shape&1 != 0 { // left stem
				fill(x, top, x+stroke, top+gh)
			}
			if shape&2 != 0 { // right stem
				fill(x+gw-stroke, top+gh/3, x+gw, top+gh)
			}
			if shape&4 != 0 { // top bar
				fill(x, top+gh/3, x+gw, top+gh/3+stroke)
			}
			if shape&8 != 0 { // bottom bar
				fill(x, top+gh-stroke, x+gw, top+gh)
			}
			if shape&16 != 0 { // middle bar
				fill(x+2, top+gh*2/3, x+gw-2, top+gh*2/3+stroke)
			}
			if shape&96 == 32 { // diagonal
				for y := 0; y < gh; y++ {
					fill(x+y*gw/gh, top+y, x+y*gw/gh+stroke, top+y+1)
				}
			}
			if shape&384 == 128 { // bowl
				for y := gh / 3; y < gh; y++ {
					dy := float64(y-gh*2/3) / float64(gh/3)
					dx := int(float64(gw/2) * math.Sqrt(max(0, 1-dy*dy)))
					fill(x+gw/2-dx, top+y, x+gw/2-dx+stroke, top+y+1)
					fill(x+gw/2+dx-stroke, top+y, x+gw/2+dx, top+y+1)
				}
			}
		}
	}
	return p
}

func benchEncode(b *testing.B, o EncodeOptions) {
	p := benchPage()
	o.Width = p.Width
	e, err := NewEncoder(io.Discard, o)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p.Pix)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Reset(io.Discard)
		for y := 0; y < p.Height; y++ {
			if err := e.WriteRow(p.Row(y)); err != nil {
				b.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMH(b *testing.B)  { benchEncode(b, EncodeOptions{Compression: MH}) }
func BenchmarkEncodeMR(b *testing.B)  { benchEncode(b, EncodeOptions{Compression: MR, K: 4}) }
func BenchmarkEncodeMMR(b *testing.B) { benchEncode(b, EncodeOptions{Compression: MMR}) }

// The line's bit order (LSBFirst), as T.30 sends pages and SpanDSP codes
// them; bench/codecs.sh compares these with SpanDSP's t4_tx.
func BenchmarkEncodeMHLine(b *testing.B) {
	benchEncode(b, EncodeOptions{Compression: MH, BitOrder: LSBFirst})
}
func BenchmarkEncodeMRLine(b *testing.B) {
	benchEncode(b, EncodeOptions{Compression: MR, K: 4, BitOrder: LSBFirst})
}
func BenchmarkEncodeMMRLine(b *testing.B) {
	benchEncode(b, EncodeOptions{Compression: MMR, BitOrder: LSBFirst})
}

func benchDecode(b *testing.B, o EncodeOptions) {
	p := benchPage()
	o.Width = p.Width
	data, err := EncodePage(p, o)
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewDecoder(nil, decodeOpts(o))
	if err != nil {
		b.Fatal(err)
	}
	row := make([]byte, p.Stride())
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(p.Pix)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Reset(data)
		d.Reset(r)
		n := 0
		for d.ReadRow(row) == nil {
			n++
		}
		if n != p.Height || d.Stats().BadRows != 0 {
			b.Fatalf("%d rows, %+v", n, d.Stats())
		}
	}
	b.ReportMetric(float64(len(data)), "coded-bytes")
}

func BenchmarkDecodeMH(b *testing.B)  { benchDecode(b, EncodeOptions{Compression: MH}) }
func BenchmarkDecodeMR(b *testing.B)  { benchDecode(b, EncodeOptions{Compression: MR, K: 4}) }
func BenchmarkDecodeMMR(b *testing.B) { benchDecode(b, EncodeOptions{Compression: MMR}) }

// BenchmarkDecodePage is the whole-page convenience (one Page allocated).
func BenchmarkDecodePage(b *testing.B) {
	p := benchPage()
	o := EncodeOptions{Compression: MMR, Width: p.Width}
	data, err := EncodePage(p, o)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p.Pix)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodePage(data, decodeOpts(o), Fine); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTranscodeMHToMMR goes through changing elements only.
func BenchmarkTranscodeMHToMMR(b *testing.B) {
	p := benchPage()
	data, err := EncodePage(p, EncodeOptions{Compression: MH})
	if err != nil {
		b.Fatal(err)
	}
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(p.Pix)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		if _, err := Transcode(io.Discard, r, DecodeOptions{Compression: MH, Width: p.Width}, EncodeOptions{Compression: MMR}); err != nil {
			b.Fatal(err)
		}
	}
}
