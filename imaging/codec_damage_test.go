package imaging

import (
	"bytes"
	"errors"
	"testing"
)

// codedRows encodes p and returns the stream with the bit span [start, end)
// of every row's data (after its EOL and tag bit).
func codedRows(t *testing.T, p *Page, o EncodeOptions) ([]byte, [][2]int64) {
	t.Helper()
	var buf bytes.Buffer
	e, err := NewEncoder(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	spans := make([][2]int64, p.Height)
	for y := 0; y < p.Height; y++ {
		before := e.bw.bitPos()
		if err := e.WriteRow(p.Row(y)); err != nil {
			t.Fatal(err)
		}
		start := e.rowStart
		if o.Compression == MMR || o.NoEOL {
			start = before
		}
		spans[y] = [2]int64{start, e.bw.bitPos()}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), spans
}

// flipBit inverts bit number bit of the coded stream.
func flipBit(data []byte, bit int64, order BitOrder) []byte {
	c := bytes.Clone(data)
	if order == LSBFirst {
		c[bit/8] ^= 1 << uint(bit%8)
	} else {
		c[bit/8] ^= 0x80 >> uint(bit%8)
	}
	return c
}

// sameRows reports whether got rows [g0, g0+n) equal want rows [w0, w0+n).
func sameRows(got, want *Page, g0, w0, n int) bool {
	for i := 0; i < n; i++ {
		if !bytes.Equal(got.Row(g0+i), want.Row(w0+i)) {
			return false
		}
	}
	return true
}

// TestDamagedBitFlips flips, one at a time, every bit of the data of one
// row and checks the decoder recovers: rows before are exact, rows after
// the resynchronisation point are exact, bad rows are counted and
// concealed, and most flips are detected.
func TestDamagedBitFlips(t *testing.T) {
	const h, row = 60, 20
	tests := []struct {
		name    string
		o       EncodeOptions
		maxBad  int // bad rows a detected flip may cause
		goodTop int // rows from here on must be exact (counted from the end)
	}{
		{"MH", EncodeOptions{Compression: MH}, 2, row + 1},
		{"MH-lsb-align", EncodeOptions{Compression: MH, BitOrder: LSBFirst, AlignEOL: true}, 2, row + 1},
		// Row 20 is 1D (K=4): a damaged row takes the 2D rows 21..23 with it.
		{"MR-1D", EncodeOptions{Compression: MR, K: 4}, 5, row + 4},
		{"MR-2D", EncodeOptions{Compression: MR, K: 3}, 4, row + 3}, // row 20 2D, 21 1D
	}
	p := textPage(WidthA4, h, Fine)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Width = WidthA4
			data, spans := codedRows(t, p, o)
			span := spans[row]
			detected, flips := 0, 0
			for bit := span[0]; bit < span[1]; bit += 3 {
				flips++
				got, st, err := DecodePage(flipBit(data, bit, o.BitOrder), decodeOpts(o), Fine)
				if err != nil {
					t.Fatalf("bit %d: %v", bit, err)
				}
				if !sameRows(got, p, 0, 0, row) {
					t.Fatalf("bit %d: rows before the damage changed", bit)
				}
				// A flip can make a code swallow part of the next EOL: then
				// the decoder resynchronises one EOL later.
				tail := h - tt.goodTop - 1
				if got.Height < tail || !sameRows(got, p, got.Height-tail, h-tail, tail) {
					t.Fatalf("bit %d: rows after the next EOL differ (height %d, stats %+v)", bit, got.Height, st)
				}
				if st.BadRows > tt.maxBad || st.MaxConsecutive > st.BadRows || st.Rows != got.Height {
					t.Fatalf("bit %d: stats %+v", bit, st)
				}
				if st.BadRows > 0 {
					detected++
					if got.Height == h && st.BadRows == 1 && !bytes.Equal(got.Row(row), p.Row(row-1)) {
						t.Fatalf("bit %d: bad row not concealed with the row above", bit)
					}
				}
			}
			if detected*10 < flips*7 {
				t.Errorf("detected %d of %d flips", detected, flips)
			}
			t.Logf("%d of %d single-bit errors detected", detected, flips)
		})
	}
}

// TestDamagedExact checks exact bad-row counts for damage whose effect is
// certain.
func TestDamagedExact(t *testing.T) {
	const h = 80
	p := textPage(WidthA4, h, Fine)
	type result struct{ height, bad, maxRun int }
	tests := []struct {
		name      string
		o         EncodeOptions
		damage    func(data []byte, spans [][2]int64) []byte
		rows      int // DecodeOptions.Rows
		want      result
		exact     [][3]int // rows [0, 1) of the result equal source rows from [2]
		concealed [][2]int // rows [from, to) equal the row before from
	}{
		{
			name: "MH cut after row 49, Rows set",
			o:    EncodeOptions{Compression: MH},
			damage: func(d []byte, s [][2]int64) []byte {
				return d[:(s[49][1]-1)/8] // ends inside row 49
			},
			rows: h, want: result{h, h - 49, h - 49},
			exact: [][3]int{{0, 49, 0}}, concealed: [][2]int{{49, h}},
		},
		{
			name: "MH cut inside row 49, Rows unknown",
			o:    EncodeOptions{Compression: MH},
			damage: func(d []byte, s [][2]int64) []byte {
				return d[:(s[49][0]+s[49][1])/16]
			},
			want:  result{50, 1, 1},
			exact: [][3]int{{0, 49, 0}}, concealed: [][2]int{{49, 50}},
		},
		{
			name: "MH garbage instead of rows 30-32",
			o:    EncodeOptions{Compression: MH, AlignEOL: true},
			damage: func(d []byte, s [][2]int64) []byte {
				d = bytes.Clone(d)
				for b := s[30][0]/8 + 1; b < s[32][1]/8-1; b++ {
					d[b] = 0xAA // no EOL can appear in 0xAA bytes
				}
				return d
			},
			want:  result{h - 2, 1, 1},
			exact: [][3]int{{0, 30, 0}, {31, h - 2, 33}}, concealed: [][2]int{{30, 31}},
		},
		{
			name: "MH data of row 30 lost: EOL EOL",
			o:    EncodeOptions{Compression: MH, AlignEOL: true},
			damage: func(d []byte, s [][2]int64) []byte {
				// Aligned: row data starts on a byte, and the 2 bytes
				// before the next row's data are its fill and EOL.
				return append(bytes.Clone(d[:s[30][0]/8]), d[s[31][0]/8-2:]...)
			},
			want:  result{h, 1, 1},
			exact: [][3]int{{0, 30, 0}, {31, h, 31}}, concealed: [][2]int{{30, 31}},
		},
		{
			name: "MH three EOLs after row 40 end the page",
			o:    EncodeOptions{Compression: MH, AlignEOL: true},
			damage: func(d []byte, s [][2]int64) []byte {
				out := bytes.Clone(d[:s[41][0]/8]) // up to the EOL of row 41
				out = append(out, 0x00, 0x01, 0x00, 0x01)
				return append(out, d[s[41][0]/8:]...)
			},
			want:  result{41, 0, 0},
			exact: [][3]int{{0, 41, 0}},
		},
		{
			name: "MR garbage in 1D row 40 (K=4)",
			o:    EncodeOptions{Compression: MR, K: 4, AlignEOL: true},
			damage: func(d []byte, s [][2]int64) []byte {
				d = bytes.Clone(d)
				for b := s[40][0]/8 + 1; b < s[40][1]/8; b++ {
					d[b] = 0xAA
				}
				return d
			},
			want:  result{h, 4, 4},
			exact: [][3]int{{0, 40, 0}, {44, h, 44}}, concealed: [][2]int{{40, 44}},
		},
		{
			name: "MMR cut inside row 40, Rows set",
			o:    EncodeOptions{Compression: MMR},
			damage: func(d []byte, s [][2]int64) []byte {
				return d[:(s[40][0]+s[40][1])/16]
			},
			rows: h, want: result{h, h - 40, h - 40},
			exact: [][3]int{{0, 40, 0}}, concealed: [][2]int{{40, h}},
		},
		{
			name: "MMR garbage from row 40, Rows unknown",
			o:    EncodeOptions{Compression: MMR},
			damage: func(d []byte, s [][2]int64) []byte {
				d = bytes.Clone(d)
				for b := s[40][0]/8 + 1; b < int64(len(d)); b++ {
					d[b] = 0 // zeros are no mode code
				}
				return d
			},
			want:  result{41, 1, 1},
			exact: [][3]int{{0, 40, 0}}, concealed: [][2]int{{40, 41}},
		},
		{
			name: "MH NoEOL cut inside row 10, Rows set",
			o:    EncodeOptions{Compression: MH, NoEOL: true},
			damage: func(d []byte, s [][2]int64) []byte {
				return d[:(s[10][0]+s[10][1])/16]
			},
			rows: h, want: result{h, h - 10, h - 10},
			exact: [][3]int{{0, 10, 0}}, concealed: [][2]int{{10, h}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Width = WidthA4
			data, spans := codedRows(t, p, o)
			do := decodeOpts(o)
			do.Rows = tt.rows
			got, st, err := DecodePage(tt.damage(data, spans), do, Fine)
			if err != nil {
				t.Fatal(err)
			}
			if r := (result{got.Height, st.BadRows, st.MaxConsecutive}); r != tt.want || st.Rows != got.Height {
				t.Fatalf("got %+v (stats %+v), want %+v", r, st, tt.want)
			}
			for _, r := range tt.exact {
				if !sameRows(got, p, r[0], r[2], r[1]-r[0]) {
					t.Errorf("rows %v differ from the source", r)
				}
			}
			for _, r := range tt.concealed {
				for y := r[0]; y < r[1]; y++ {
					if !bytes.Equal(got.Row(y), p.Row(r[0]-1)) {
						t.Errorf("row %d not concealed", y)
						break
					}
				}
			}
		})
	}
}

// TestHostileBounds: streams cannot make more than MaxRows rows.
func TestHostileBounds(t *testing.T) {
	// MH, width 1: EOL + white run 1 (000111), repeated.
	var mh []byte
	for i := 0; i < MaxRows+10; i++ {
		mh = append(mh, 0x00, 0x11, 0xc0) // 0000 0000 0001 0001 11 + pad: EOL aligned? see below
	}
	// 0x00 0x11 0xc0 = 00000000 0001 000111 000000: EOL, W1, six fill bits.
	mmr := bytes.Repeat([]byte{0xff}, (MaxRows+100)/8) // V0 rows of width 8
	tests := []struct {
		name string
		data []byte
		o    DecodeOptions
	}{
		{"MH", mh, DecodeOptions{Compression: MH, Width: 1}},
		{"MMR", mmr, DecodeOptions{Compression: MMR, Width: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, st, err := DecodePage(tt.data, tt.o, Fine)
			if !errors.Is(err, ErrPageTooLong) {
				t.Fatalf("err = %v, want ErrPageTooLong", err)
			}
			if st.Rows != MaxRows || st.BadRows != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestLeadingEOL: MH with and without the EOL before the first row, and
// with fill before it.
func TestLeadingEOL(t *testing.T) {
	p := textPage(WidthA4, 40, Standard)
	o := EncodeOptions{Compression: MH, Width: WidthA4, AlignEOL: true}
	data, err := EncodePage(p, o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data[:2], []byte{0x00, 0x01}) {
		t.Fatalf("aligned stream starts % x", data[:2])
	}
	for name, in := range map[string][]byte{
		"with":      data,
		"without":   data[2:],
		"more fill": append([]byte{0, 0, 0}, data...),
		"two EOLs":  append([]byte{0x00, 0x01}, data...),
	} {
		got, st, err := DecodePage(in, decodeOpts(o), Standard)
		if err != nil || firstDiff(got, p) != "" || st.BadRows != 0 {
			t.Errorf("%s leading EOL: %v %+v %s", name, err, st, firstDiff(got, p))
		}
	}
}

// TestDamagedMMR: an MMR error ends the page cleanly; with Rows known the
// rest of the page is concealed, and the bad rows are one run to the end.
func TestDamagedMMR(t *testing.T) {
	const h, row = 60, 20
	p := textPage(WidthA4, h, Fine)
	o := EncodeOptions{Compression: MMR, Width: WidthA4}
	data, spans := codedRows(t, p, o)
	do := decodeOpts(o)
	do.Rows = h
	detected, flips := 0, 0
	for bit := spans[row][0]; bit < spans[row][1]; bit += 3 {
		flips++
		got, st, err := DecodePage(flipBit(data, bit, o.BitOrder), do, Fine)
		if err != nil {
			t.Fatalf("bit %d: %v", bit, err)
		}
		if got.Height != h || st.Rows != h || !sameRows(got, p, 0, 0, row) {
			t.Fatalf("bit %d: height %d stats %+v", bit, got.Height, st)
		}
		if st.BadRows == 0 {
			continue
		}
		detected++
		first := h - st.BadRows
		if st.MaxConsecutive != st.BadRows || first < row {
			t.Fatalf("bit %d: stats %+v", bit, st)
		}
		for y := first; y < h; y++ {
			if !bytes.Equal(got.Row(y), got.Row(first-1)) {
				t.Fatalf("bit %d: row %d not concealed", bit, y)
			}
		}
	}
	if detected*10 < flips*5 {
		t.Errorf("detected %d of %d flips", detected, flips)
	}
	t.Logf("%d of %d single-bit errors detected", detected, flips)
}
