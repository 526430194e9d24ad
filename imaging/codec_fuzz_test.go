package imaging

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

var fuzzWidths = [...]int{WidthA4, 1, 8, 31, 64, 100, WidthB4, 2600}

// fuzzSeeds adds real coded pages of every width to the corpus.
func fuzzSeeds(f *testing.F, c Compression, extra ...EncodeOptions) {
	for wi, w := range fuzzWidths {
		for gi, g := range []pageGen{pageGens[0], pageGens[4], pageGens[6], pageGens[8]} {
			p := g.gen(w, 12, Fine)
			o := EncodeOptions{Compression: c, Width: w, K: 4, AlignEOL: gi == 1, BitOrder: BitOrder(gi & 1)}
			data, err := EncodePage(p, o)
			if err != nil {
				f.Fatal(err)
			}
			flags := byte(gi & 1)
			f.Add(data, byte(wi), flags, uint16(0))
			f.Add(data, byte(wi), flags, uint16(p.Height))
		}
	}
	for _, o := range extra {
		data, err := EncodePage(textPage(o.Width, 30, Fine), o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, byte(0), byte(0), uint16(0))
	}
}

// fuzzDecode checks invariants of decoding arbitrary data: no panic,
// consistent counts, the streaming decoder agrees with DecodePage, and a
// decoded page survives a round trip.
func fuzzDecode(t *testing.T, c Compression, data []byte, wi, flags byte, rows uint16) {
	if len(data) > 16<<10 { // larger inputs add nothing but time
		return
	}
	w := fuzzWidths[int(wi)%len(fuzzWidths)]
	o := DecodeOptions{Compression: c, Width: w, BitOrder: BitOrder(flags & 1), Rows: int(rows) % 400}
	if c == MH && flags&2 != 0 {
		o.NoEOL = true
	}
	p, st, err := DecodePage(data, o, Fine)
	if err != nil {
		if !errors.Is(err, ErrPageTooLong) {
			t.Fatalf("DecodePage: %v", err)
		}
		return
	}
	if st.Rows != p.Height || st.BadRows > st.Rows || st.MaxConsecutive > st.BadRows || p.Height > MaxRows {
		t.Fatalf("inconsistent: height %d stats %+v", p.Height, st)
	}
	if o.Rows > 0 && p.Height != o.Rows {
		t.Fatalf("height %d, Rows %d", p.Height, o.Rows)
	}
	if len(p.Pix) != p.Height*p.Stride() {
		t.Fatalf("%d bytes for %d rows", len(p.Pix), p.Height)
	}
	// Padding bits stay white.
	if w&7 != 0 {
		for y := 0; y < p.Height; y++ {
			if r := p.Row(y); r[len(r)-1]&(0xff>>uint(w&7)) != 0 {
				t.Fatalf("row %d: padding bits set", y)
			}
		}
	}
	d, err := NewDecoder(bytes.NewReader(data), o)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ReadPage(d, w, Fine, 0)
	if err != nil {
		t.Fatalf("streaming decoder: %v", err)
	}
	if diff := firstDiff(sp, p); diff != "" || d.Stats() != st {
		t.Fatalf("streaming decoder differs: %s, stats %+v vs %+v", diff, d.Stats(), st)
	}
	eo := EncodeOptions{Compression: c, Width: w, K: 3, NoEOL: o.NoEOL}
	coded, err := EncodePage(p, eo)
	if err != nil {
		t.Fatal(err)
	}
	back, st2, err := DecodePage(coded, decodeOpts(eo), Fine)
	if err != nil || st2.BadRows != 0 {
		t.Fatalf("re-decode: %v %+v", err, st2)
	}
	if diff := firstDiff(back, p); diff != "" {
		t.Fatalf("round trip of decoded page: %s", diff)
	}
}

func FuzzDecodeMH(f *testing.F) {
	fuzzSeeds(f, MH, EncodeOptions{Compression: MH, Width: WidthA4, NoEOL: true},
		EncodeOptions{Compression: MH, Width: WidthA4, MinRowBits: 300})
	if g3, err := os.ReadFile(filepath.Join("testdata", "codec", "text-1728x200.pbmtog3.g3")); err == nil {
		f.Add(g3[:4000], byte(0), byte(0), uint16(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, wi, flags byte, rows uint16) {
		fuzzDecode(t, MH, data, wi, flags, rows)
	})
}

func FuzzDecodeMR(f *testing.F) {
	fuzzSeeds(f, MR, EncodeOptions{Compression: MR, Width: WidthA4, K: 1},
		EncodeOptions{Compression: MR, Width: WidthA4, K: 100, AlignEOL: true})
	f.Fuzz(func(t *testing.T, data []byte, wi, flags byte, rows uint16) {
		fuzzDecode(t, MR, data, wi, flags, rows)
	})
}

func FuzzDecodeMMR(f *testing.F) {
	fuzzSeeds(f, MMR, EncodeOptions{Compression: MMR, Width: WidthA4, NoRTC: true})
	f.Fuzz(func(t *testing.T, data []byte, wi, flags byte, rows uint16) {
		fuzzDecode(t, MMR, data, wi, flags, rows)
	})
}

// FuzzEncodeMH: arbitrary pixels coded as MH from the pixels (WriteRow)
// equal the coding of their changing elements, in both bit orders, with
// and without EOLs, and decode back to the same pixels.
func FuzzEncodeMH(f *testing.F) {
	for wi := range fuzzWidths {
		f.Add(bytes.Repeat([]byte{0x0f, 0xff, 0, 0x81}, 200), byte(wi), byte(0))
		f.Add(make([]byte, 700), byte(wi), byte(3))
	}
	f.Fuzz(func(t *testing.T, pix []byte, wi, flags byte) {
		w := fuzzWidths[int(wi)%len(fuzzWidths)]
		stride := RowBytes(w)
		if len(pix) > 64<<10 || len(pix) < stride {
			return
		}
		p := &Page{Width: w, Height: len(pix) / stride, Resolution: Fine, Pix: append([]byte(nil), pix[:len(pix)/stride*stride]...)}
		o := EncodeOptions{Compression: MH, Width: w, BitOrder: BitOrder(flags & 1), NoEOL: flags&2 != 0, MinRowBits: int(flags>>2) * 64}
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
			t.Fatalf("from pixels %d bytes, from changes %d, differ", len(got), want.Len())
		}
		dec, st, err := DecodePage(got, DecodeOptions{Compression: MH, Width: w, BitOrder: o.BitOrder, NoEOL: o.NoEOL, Rows: p.Height}, Fine)
		if err != nil || st.BadRows != 0 {
			t.Fatalf("DecodePage: %v %+v", err, st)
		}
		clearPadding(p)
		if d := firstDiff(dec, p); d != "" {
			t.Fatal(d)
		}
	})
}
