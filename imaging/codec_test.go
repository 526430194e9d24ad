package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// Test pages, generated in code so every width and resolution is covered.

// rowsFor is the page height used in tests for a resolution: a quarter of
// an A4 page (about 1100/2200/4400 rows) keeps the suite fast while every
// K and run mix still occurs many times.
func rowsFor(res Resolution) int {
	switch res {
	case Standard:
		return 1100 / 4
	case Fine:
		return 2200 / 4
	default:
		return 4400 / 4
	}
}

type pageGen struct {
	name string
	gen  func(w, h int, res Resolution) *Page
}

var pageGens = []pageGen{
	{"text", textPage},
	{"white", func(w, h int, res Resolution) *Page { return NewPage(w, h, res) }},
	{"black", func(w, h int, res Resolution) *Page {
		p := NewPage(w, h, res)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p.Set(x, y, true)
			}
		}
		return p
	}},
	{"mostlywhite", mostlyWhitePage},
	{"bayer", bayerPage},
	{"diffusion", diffusionPage},
	{"lineart", lineArtPage},
	{"noise", noisePage},
	{"onerow", func(w, _ int, res Resolution) *Page { return noisePage(w, 1, res) }},
}

// textPage draws lines of random glyph-like blocks: strokes, gaps and
// serifs at sizes that follow the vertical resolution.
func textPage(w, h int, res Resolution) *Page {
	p := NewPage(w, h, res)
	rng := rand.New(rand.NewPCG(1, uint64(w*7+h)))
	_, dy := res.DPI()
	scale := max(1, int(dy/98))
	gh := 7 * scale  // glyph height in rows
	lh := 12 * scale // line pitch
	margin := w / 12
	for top := 4 * scale; top+gh < h; top += lh {
		x := margin
		for x+10 < w-margin {
			if rng.IntN(7) == 0 { // word gap
				x += 12
				continue
			}
			gw := 6 + rng.IntN(5)
			bitsPat := rng.Uint64()
			for gy := 0; gy < gh; gy++ {
				for gx := 0; gx < gw; gx++ {
					if bitsPat>>uint((gy/scale)*8+gx%8)&1 == 1 {
						p.Set(x+gx, top+gy, true)
					}
				}
			}
			x += gw + 2
		}
	}
	return p
}

func mostlyWhitePage(w, h int, res Resolution) *Page {
	p := NewPage(w, h, res)
	for y := h / 10; y < h; y += h/7 + 1 {
		for x := w / 10; x < w-w/10; x++ {
			p.Set(x, y, true)
		}
	}
	for x := 0; x < w; x++ { // a signature-like curve
		y := h/2 + int(float64(h)/8*math.Sin(float64(x)/37))
		if y >= 0 && y < h {
			p.Set(x, y, true)
		}
	}
	return p
}

// gray is a diagonal gradient with a bright disc, 0 white .. 1 black.
func gray(x, y, w, h int) float64 {
	g := (float64(x)/float64(w) + float64(y)/float64(max(h, 1))) / 2
	dx, dy := float64(x-w/2), float64(y-h/2)
	if dx*dx+dy*dy < float64(w*w)/36 {
		g = 1 - g
	}
	return g
}

func bayerPage(w, h int, res Resolution) *Page {
	var m [8][8]int
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			v, xc := 0, x^y
			for bit := 2; bit >= 0; bit-- {
				v = v<<2 | (xc>>uint(bit)&1)<<1 | (y>>uint(bit))&1
			}
			m[y][x] = v
		}
	}
	p := NewPage(w, h, res)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if gray(x, y, w, h)*64 > float64(m[y&7][x&7])+0.5 {
				p.Set(x, y, true)
			}
		}
	}
	return p
}

func diffusionPage(w, h int, res Resolution) *Page {
	p := NewPage(w, h, res)
	errCur, errNext := make([]float64, w+2), make([]float64, w+2)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := gray(x, y, w, h) + errCur[x+1]
			out := 0.0
			if v > 0.5 {
				out = 1
				p.Set(x, y, true)
			}
			e := v - out
			errCur[x+2] += e * 7 / 16
			errNext[x] += e * 3 / 16
			errNext[x+1] += e * 5 / 16
			errNext[x+2] += e * 1 / 16
		}
		errCur, errNext = errNext, errCur
		clear(errNext)
	}
	return p
}

func lineArtPage(w, h int, res Resolution) *Page {
	p := NewPage(w, h, res)
	set := func(x, y int) {
		if x >= 0 && x < w && y >= 0 && y < h {
			p.Set(x, y, true)
		}
	}
	for i := 0; i < 20; i++ { // diagonals of several slopes
		for t := 0; t < w; t++ {
			set(t, t*(i+1)/7+i*h/20)
			set(w-1-t, t*(i+1)/5)
		}
	}
	for r := 10; r < min(w, h)/2; r += 37 { // circles
		for a := 0.0; a < 2*math.Pi; a += 0.5 / float64(r) {
			set(w/2+int(float64(r)*math.Cos(a)), h/2+int(float64(r)*math.Sin(a)))
		}
	}
	for y := h / 3; y < h/3+h/8 && y < h; y++ { // a filled box with a hole
		for x := w / 5; x < w/2; x++ {
			if !(y > h/3+4 && y < h/3+h/8-4 && x > w/5+4 && x < w/2-4) {
				set(x, y)
			}
		}
	}
	return p
}

func noisePage(w, h int, res Resolution) *Page {
	p := NewPage(w, h, res)
	rng := rand.New(rand.NewPCG(7, uint64(w+h)))
	for i := range p.Pix {
		p.Pix[i] = byte(rng.Uint32())
	}
	clearPadding(p)
	return p
}

// clearPadding whitens the bits past Width that decoders leave white.
func clearPadding(p *Page) {
	if p.Width&7 == 0 {
		return
	}
	mask := byte(0xff << uint(8-p.Width&7))
	for y := 0; y < p.Height; y++ {
		r := p.Row(y)
		r[len(r)-1] &= mask
	}
}

// firstDiff describes the first pixel where two pages differ.
func firstDiff(a, b *Page) string {
	if a.Width != b.Width || a.Height != b.Height {
		return fmt.Sprintf("size %dx%d, want %dx%d", a.Width, a.Height, b.Width, b.Height)
	}
	for y := 0; y < a.Height; y++ {
		if !bytes.Equal(a.Row(y), b.Row(y)) {
			for x := 0; x < a.Width; x++ {
				if a.Black(x, y) != b.Black(x, y) {
					return fmt.Sprintf("row %d differs first at x=%d", y, x)
				}
			}
			return fmt.Sprintf("row %d differs in padding bits", y)
		}
	}
	return ""
}

func decodeOpts(o EncodeOptions) DecodeOptions {
	return DecodeOptions{Compression: o.Compression, Width: o.Width, BitOrder: o.BitOrder, NoEOL: o.NoEOL}
}

// roundTrip encodes p with o, decodes it with and without Rows and checks
// the pixels and that no row was bad.
func roundTrip(t *testing.T, p *Page, o EncodeOptions) []byte {
	t.Helper()
	return roundTripRows(t, p, o, []int{0, p.Height})
}

func roundTripRows(t *testing.T, p *Page, o EncodeOptions, rowsList []int) []byte {
	t.Helper()
	data, err := EncodePage(p, o)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	for _, rows := range rowsList {
		do := decodeOpts(o)
		do.Rows = rows
		got, st, err := DecodePage(data, do, p.Resolution)
		if err != nil {
			t.Fatalf("decode (Rows=%d): %v", rows, err)
		}
		if d := firstDiff(got, p); d != "" {
			t.Fatalf("decode (Rows=%d) of %d bytes: %s", rows, len(data), d)
		}
		if st != (RowStats{Rows: p.Height}) {
			t.Fatalf("decode (Rows=%d): stats %+v, want %d good rows", rows, st, p.Height)
		}
	}
	return data
}

func TestRoundTrip(t *testing.T) {
	type variant struct {
		name string
		o    EncodeOptions
	}
	variants := []variant{
		{"MH", EncodeOptions{Compression: MH}},
		{"MH-lsb", EncodeOptions{Compression: MH, BitOrder: LSBFirst}},
		{"MH-align", EncodeOptions{Compression: MH, AlignEOL: true}},
		{"MH-minbits", EncodeOptions{Compression: MH, MinRowBits: 960, BitOrder: LSBFirst}},
		{"MH-nortc", EncodeOptions{Compression: MH, NoRTC: true, AlignEOL: true}},
		{"MH-noeol", EncodeOptions{Compression: MH, NoEOL: true}},
		{"MH-noeol-lsb", EncodeOptions{Compression: MH, NoEOL: true, BitOrder: LSBFirst}},
		{"MR-k0", EncodeOptions{Compression: MR}},
		{"MR-k4-lsb", EncodeOptions{Compression: MR, K: 4, BitOrder: LSBFirst}},
		{"MR-k1", EncodeOptions{Compression: MR, K: 1}},
		{"MR-k7-align-minbits", EncodeOptions{Compression: MR, K: 7, AlignEOL: true, MinRowBits: 500}},
		{"MR-kinf-nortc", EncodeOptions{Compression: MR, K: MaxRows, NoRTC: true}},
		{"MMR", EncodeOptions{Compression: MMR}},
		{"MMR-lsb", EncodeOptions{Compression: MMR, BitOrder: LSBFirst}},
		{"MMR-noeofb", EncodeOptions{Compression: MMR, NoRTC: true}},
	}
	widths := []int{WidthA4, WidthB4, WidthA3, 1000, 1}
	for _, w := range widths {
		for res := Standard; res <= Ultrafine; res++ {
			h := rowsFor(res)
			if w != WidthA4 {
				h /= 4 // other widths: fewer rows, same coverage of codes
			}
			for _, g := range pageGens {
				gh := h
				if g.name == "noise" || g.name == "bayer" || g.name == "diffusion" {
					gh = max(h/4, 1) // a run every pixel or two: costly, and uniform
				}
				p := g.gen(w, gh, res)
				vs := variants
				if res != Fine || w != WidthA4 {
					// Every option once (A4, fine); elsewhere the three
					// codecs with the resolution's own K.
					vs = []variant{variants[0], {"MR-res", EncodeOptions{Compression: MR, K: res.K()}}, variants[12]}
				}
				for _, v := range vs {
					t.Run(fmt.Sprintf("%d/%v/%s/%s", w, res, g.name, v.name), func(t *testing.T) {
						o := v.o
						o.Width = w
						rows := []int{0}
						if res == Fine {
							rows = append(rows, p.Height) // decoding with Rows set, once per width
						}
						roundTripRows(t, p, o, rows)
					})
				}
			}
		}
	}
}

// TestRoundTripWideRuns covers runs longer than the 2560 make-up code.
func TestRoundTripWideRuns(t *testing.T) {
	for _, w := range []int{2561, 5120, 5200, 16384} {
		for _, c := range []Compression{MH, MR, MMR} {
			p := NewPage(w, 6, Fine)
			for x := 0; x < w; x++ {
				p.Set(x, 1, true)
				p.Set(x, 2, x >= 2600)
				p.Set(x, 3, x < 2560 || x == w-1)
				p.Set(x, 4, x%5000 == 7)
			}
			t.Run(fmt.Sprintf("%d/%v", w, c), func(t *testing.T) {
				roundTrip(t, p, EncodeOptions{Compression: c, Width: w})
			})
		}
	}
}

// TestEncodeKnownBits checks coded bits against codes worked out by hand
// from the T.4 tables.
func TestEncodeKnownBits(t *testing.T) {
	row := func(w int, black ...[2]int) *Page {
		p := NewPage(w, 1, Standard)
		for _, r := range black {
			for x := r[0]; x < r[1]; x++ {
				p.Set(x, 0, true)
			}
		}
		return p
	}
	tests := []struct {
		name string
		p    *Page
		o    EncodeOptions
		want string // bits, spaces ignored, padded with zeros to a byte
	}{
		// white 8: 10011, then white pad... width 8 all white: one run.
		{"mh-white8", row(8), EncodeOptions{Compression: MH, NoEOL: true}, "10011"},
		// width 8, pixels 2..4 black: W2 0111, B3 10, W3 1000.
		{"mh-w2b3w3", row(8, [2]int{2, 5}), EncodeOptions{Compression: MH, NoEOL: true}, "0111 10 1000"},
		// starts black: W0 00110101, B8 000101.
		{"mh-black8", row(8, [2]int{0, 8}), EncodeOptions{Compression: MH, NoEOL: true}, "00110101 000101"},
		// 1728 white: make-up 1728 010011011 + W0 00110101.
		{"mh-white1728", row(1728), EncodeOptions{Compression: MH, NoEOL: true}, "010011011 00110101"},
		// EOL, row, RTC.
		{"mh-eol-rtc", row(8), EncodeOptions{Compression: MH},
			"000000000001 10011" + " 000000000001 000000000001 000000000001 000000000001 000000000001 000000000001"},
		// Aligned: each EOL ends on a byte boundary.
		{"mh-align", row(8), EncodeOptions{Compression: MH, AlignEOL: true, NoRTC: true},
			"0000 000000000001 10011"},
		// MMR all white against the white reference: V0.
		{"mmr-white", row(8), EncodeOptions{Compression: MMR, NoRTC: true}, "1"},
		// MMR pixels 2..4: b1=8, a1=2: H 001, W2 0111, B3 10, then a0=5, V0 (a1=b1=8).
		{"mmr-h", row(8, [2]int{2, 5}), EncodeOptions{Compression: MMR}, "001 0111 10 1 000000000001 000000000001"},
		// MR K=2 one row: EOL+1 then 1D.
		{"mr-1d", row(8), EncodeOptions{Compression: MR, NoRTC: true}, "0000000000011 10011"},
		// MinRowBits 40: EOL, 5 data bits, 23 fill, EOL (12) = 40 counted.
		{"mh-minbits", row(8), EncodeOptions{Compression: MH, MinRowBits: 40},
			"000000000001 10011 00000000000000000000000" + " 000000000001 000000000001 000000000001 000000000001 000000000001 000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Width = tt.p.Width
			got, err := EncodePage(tt.p, o)
			if err != nil {
				t.Fatal(err)
			}
			want := bitString(tt.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %08b\nwant %08b", got, want)
			}
			roundTrip(t, tt.p, o)
		})
	}
}

// bitString packs a string of 0/1 (spaces ignored) MSB first, zero padded.
func bitString(s string) []byte {
	var out []byte
	n := 0
	for _, c := range s {
		if c != '0' && c != '1' {
			continue
		}
		if n%8 == 0 {
			out = append(out, 0)
		}
		if c == '1' {
			out[n/8] |= 0x80 >> uint(n%8)
		}
		n++
	}
	return out
}

func TestCodeTablesPrefixFree(t *testing.T) {
	for name, codes := range map[string]map[int]code{"white": whiteCodes, "black": blackCodes} {
		if len(codes) != 64+27+13 {
			t.Errorf("%s: %d codes", name, len(codes))
		}
		for r1, c1 := range codes {
			for r2, c2 := range codes {
				if r1 == r2 || c1.len > c2.len {
					continue
				}
				if c2.bits>>(c2.len-c1.len) == c1.bits {
					t.Errorf("%s: code of %d is a prefix of the code of %d", name, r1, r2)
				}
			}
			if c1.bits>>max(0, int(c1.len)-11) == 0 && c1.len >= 11 {
				t.Errorf("%s: code of %d starts with 11 zeros like EOL", name, r1)
			}
		}
	}
}

// TestStreamingDecoder reads through a one-byte-at-a-time reader and
// reuses the decoder and encoder across pages.
func TestStreamingDecoder(t *testing.T) {
	for _, c := range []Compression{MH, MR, MMR} {
		t.Run(c.String(), func(t *testing.T) {
			o := EncodeOptions{Compression: c, Width: WidthA4, K: 4}
			var buf bytes.Buffer
			e, err := NewEncoder(&buf, o)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDecoder(nil, decodeOpts(o))
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range pageGens[:4] {
				p := g.gen(WidthA4, 100+i, Fine)
				buf.Reset()
				e.Reset(&buf)
				for y := 0; y < p.Height; y++ {
					if err := e.WriteRow(p.Row(y)); err != nil {
						t.Fatal(err)
					}
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if e.Rows() != p.Height {
					t.Fatalf("Rows() = %d, want %d", e.Rows(), p.Height)
				}
				d.Reset(oneByteReader{bytes.NewReader(buf.Bytes())})
				got, err := ReadPage(d, WidthA4, Fine, 0)
				if err != nil {
					t.Fatal(err)
				}
				if diff := firstDiff(got, p); diff != "" {
					t.Fatalf("page %s: %s", g.name, diff)
				}
				if st := d.Stats(); st != (RowStats{Rows: p.Height}) {
					t.Fatalf("stats %+v", st)
				}
			}
		})
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

type failingReader struct{ data []byte }

var errBroken = errors.New("broken reader")

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errBroken
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestDecoderReadError(t *testing.T) {
	p := textPage(WidthA4, 200, Fine)
	o := EncodeOptions{Compression: MMR, Width: WidthA4}
	data, err := EncodePage(p, o)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(&failingReader{data: data[:len(data)/2]}, decodeOpts(o))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadPage(d, WidthA4, Fine, 0)
	if !errors.Is(err, errBroken) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

func TestTranscode(t *testing.T) {
	opts := []EncodeOptions{
		{Compression: MH}, {Compression: MH, NoEOL: true, BitOrder: LSBFirst}, {Compression: MR, K: 4},
		{Compression: MR, AlignEOL: true, BitOrder: LSBFirst}, {Compression: MMR},
	}
	for _, g := range []pageGen{pageGens[0], pageGens[4], pageGens[7]} {
		p := g.gen(WidthB4, 120, Fine)
		for _, from := range opts {
			for _, to := range opts {
				from.Width, to.Width = WidthB4, WidthB4
				t.Run(fmt.Sprintf("%s/%+v/%+v", g.name, from, to), func(t *testing.T) {
					src, err := EncodePage(p, from)
					if err != nil {
						t.Fatal(err)
					}
					want, err := EncodePage(p, to)
					if err != nil {
						t.Fatal(err)
					}
					var dst bytes.Buffer
					st, err := Transcode(&dst, bytes.NewReader(src), decodeOpts(from), to)
					if err != nil {
						t.Fatal(err)
					}
					if st != (RowStats{Rows: p.Height}) {
						t.Fatalf("stats %+v", st)
					}
					if !bytes.Equal(dst.Bytes(), want) {
						t.Fatalf("transcoded %d bytes differ from direct encoding (%d bytes)", dst.Len(), len(want))
					}
				})
			}
		}
	}
}

func TestOptionErrors(t *testing.T) {
	bad := []EncodeOptions{
		{Compression: 0, Width: 1728},
		{Compression: MH, Width: 0},
		{Compression: MH, Width: 20000},
		{Compression: MR, Width: 1728, NoEOL: true},
		{Compression: MR, Width: 1728, K: -1},
		{Compression: MH, Width: 1728, MinRowBits: -5},
		{Compression: MH, Width: 1728, BitOrder: 7},
	}
	for _, o := range bad {
		if _, err := NewEncoder(io.Discard, o); err == nil {
			t.Errorf("NewEncoder(%+v) accepted", o)
		}
	}
	badD := []DecodeOptions{
		{Compression: 9, Width: 1728},
		{Compression: MMR, Width: -1},
		{Compression: MMR, Width: 1728, NoEOL: true},
		{Compression: MH, Width: 1728, Rows: MaxRows + 1},
	}
	for _, o := range badD {
		if _, err := NewDecoder(bytes.NewReader(nil), o); err == nil {
			t.Errorf("NewDecoder(%+v) accepted", o)
		}
	}
	e, _ := NewEncoder(io.Discard, EncodeOptions{Compression: MH, Width: 1728})
	if err := e.WriteRow(make([]byte, 10)); err == nil {
		t.Error("short row accepted")
	}
	e.Close()
	if err := e.WriteRow(make([]byte, 216)); !errors.Is(err, ErrEncoderClosed) {
		t.Errorf("WriteRow after Close: %v", err)
	}
	if _, err := EncodePage(NewPage(100, 1, Fine), EncodeOptions{Compression: MH, Width: 200}); err == nil {
		t.Error("width mismatch accepted")
	}
}

// TestEmptyPages: no data, or only an EOL/RTC, is a page of no rows.
func TestEmptyPages(t *testing.T) {
	for _, c := range []Compression{MH, MR, MMR} {
		data, err := EncodePage(NewPage(WidthA4, 0, Fine), EncodeOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{nil, data, {0, 0, 0}} {
			p, st, err := DecodePage(in, DecodeOptions{Compression: c, Width: WidthA4}, Fine)
			if err != nil || p.Height != 0 || st != (RowStats{}) {
				t.Errorf("%v % x: height %d stats %+v err %v", c, in, p.Height, st, err)
			}
		}
	}
}

// TestSteadyStateAllocs: a reused Encoder or Decoder allocates nothing
// per page.
func TestSteadyStateAllocs(t *testing.T) {
	p := textPage(WidthA4, 300, Fine)
	for _, c := range []Compression{MH, MR, MMR} {
		o := EncodeOptions{Compression: c, Width: WidthA4, K: 4}
		e, err := NewEncoder(io.Discard, o)
		if err != nil {
			t.Fatal(err)
		}
		encode := func() {
			e.Reset(io.Discard)
			for y := 0; y < p.Height; y++ {
				if err := e.WriteRow(p.Row(y)); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
		}
		encode() // first page sizes the buffers
		if n := testing.AllocsPerRun(5, encode); n != 0 {
			t.Errorf("%v: %v allocations per encoded page", c, n)
		}
		data, err := EncodePage(p, o)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDecoder(nil, decodeOpts(o))
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(data)
		row := make([]byte, p.Stride())
		decode := func() {
			r.Reset(data)
			d.Reset(r)
			for d.ReadRow(row) == nil {
			}
			if d.Stats().Rows != p.Height {
				t.Fatalf("%+v", d.Stats())
			}
		}
		decode()
		if n := testing.AllocsPerRun(5, decode); n != 0 {
			t.Errorf("%v: %v allocations per decoded page", c, n)
		}
	}
}
