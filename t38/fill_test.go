package t38

import (
	"bytes"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

// bitsOf renders bytes as line-order bits (LSB first), for readable cases.
func bitsOf(p []byte) string {
	var b []byte
	for _, x := range p {
		for i := 0; i < 8; i++ {
			b = append(b, '0'+x>>i&1)
		}
	}
	return string(b)
}

func fromBits(s string) []byte {
	out := make([]byte, (len(s)+7)/8)
	for i := range s {
		if s[i] == '1' {
			out[i/8] |= 1 << (i % 8)
		}
	}
	return out
}

func TestFillStripperCases(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// EOL without fill is untouched
		{"000000000001" + "1011", "000000000001" + "1011"},
		// 20 zeros of fill and the EOL's 11 become 14 zeros
		{"1" + "0000000000000000000000000000000" + "1" + "11", "1" + "00000000000000" + "1" + "11"},
		// a code word's trailing zeros (white 3: 1000) before fill and EOL survive
		{"1000" + "00000000000000000000" + "000000000001", "1000" + "00000000000" + "1"},
		// runs shorter than 11 pass
		{"10000000101", "10000000101"},
	} {
		var f fillStripper
		got := bitsOf(f.Flush(f.Strip(nil, fromBits(tc.in))))
		// input padding zeros at the end are held back and flushed (up
		// to 14); compare the meaningful prefix, the rest must be zeros
		if !strings.HasPrefix(got, tc.want) || strings.Contains(got[len(tc.want):], "1") {
			t.Errorf("Strip(%s) = %s, want %s then zeros", tc.in, got, tc.want)
		}
	}
}

// Pages coded with fill (minimum scan line bits) decode to the same pixels
// after stripping, at a fraction of the size; chunking does not matter.
func TestFillStripperOnCodedPages(t *testing.T) {
	page := testPage(imaging.WidthA4, 400, imaging.Standard, 3)
	for _, comp := range []imaging.Compression{imaging.MH, imaging.MR} {
		data, err := imaging.EncodePage(page, imaging.EncodeOptions{Compression: comp, Width: page.Width, BitOrder: imaging.LSBFirst, MinRowBits: 2000})
		if err != nil {
			t.Fatal(err)
		}
		var f fillStripper
		var out []byte
		for off := 0; off < len(data); off += 37 {
			out = f.Strip(out, data[off:min(off+37, len(data))])
		}
		out = f.Flush(out)
		if len(out) >= len(data)/2 {
			t.Fatalf("%v: stripped %d -> %d octets only", comp, len(data), len(out))
		}
		got, st, err := imaging.DecodePage(out, imaging.DecodeOptions{Compression: comp, Width: page.Width, BitOrder: imaging.LSBFirst}, imaging.Standard)
		if err != nil || st.BadRows != 0 || !bytes.Equal(got.Pix, page.Pix) {
			t.Fatalf("%v: stripped page does not decode to the original (err %v, bad rows %d)", comp, err, st.BadRows)
		}
		t.Logf("%v: %d -> %d octets", comp, len(data), len(out))
	}
}
