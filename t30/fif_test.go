package t30

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestParseCapsTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		dcs  bool
		want Caps
	}{
		{
			// DCS: bit 10, V.17 14400 (bit 14), fine (15), MR (16),
			// unlimited length (20), 0 ms (21-23 = 111).
			name: "DCS V.17 14400 fine MR",
			hex:  "00e278", dcs: true,
			want: Caps{ReceiveFax: true, Speed: Speed{V17, 14400}, Fine: true, MR: true, Length: LengthUnlimited, MinScanMS: 0},
		},
		{
			// DCS: V.29 7200 (bits 11, 12), standard, MH, A4, 20 ms, ECM
			// (bit 27), 64-octet frames (bit 28), T.6 (bit 31) in octet 4.
			name: "DCS V.29 7200 ECM 64 MMR",
			hex:  "000e804c", dcs: true,
			want: Caps{ReceiveFax: true, Speed: Speed{V29, 7200}, MinScanMS: 20, ECM: true, Frame64: true, MMR: true},
		},
		{
			// DIS: V.27ter+V.29+V.17 (11,12,14), fine, MR, B4 and A4
			// width (17), unlimited, 10 ms with half at fine (22, 23),
			// ECM, MMR, superfine (41) and extend bits up to octet 6.
			name: "DIS full",
			hex:  "00eee9c480010000",
			want: Caps{ReceiveFax: true, Modems: SetV27ter | SetV29 | SetV17, Fine: true, MR: true, Width: WidthB4,
				Length: LengthUnlimited, MinScanMS: 10, HalfAtFine: true, ECM: true, MMR: true, Superfine: true},
		},
		{
			name: "DIS V.27ter fall-back only, two octets",
			hex:  "0000",
			want: Caps{MinScanMS: 20},
		},
		{
			// The extend bit of octet 3 is clear: octet 4 must be ignored.
			name: "DIS ignores octets after a clear extend bit",
			hex:  "00020044",
			want: Caps{ReceiveFax: true, MinScanMS: 20},
		},
		{
			name: "DCS V.27ter 4800 B4 width B4 length 40 ms",
			hex:  "000a45", dcs: true,
			want: Caps{ReceiveFax: true, Speed: Speed{V27ter, 4800}, Width: WidthB4, Length: LengthB4, MinScanMS: 40},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hex)
			got, err := ParseCaps(b, tc.dcs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			enc, err := got.AppendFIF(nil, tc.dcs)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseCaps(enc, tc.dcs)
			if err != nil || back != got {
				t.Fatalf("re-encode %x -> %+v (%v)", enc, back, err)
			}
		})
	}
}

func TestCapsEncodeExact(t *testing.T) {
	c := Caps{ReceiveFax: true, Speed: Speed{V17, 14400}, Fine: true, MR: true, Length: LengthUnlimited}
	b, err := c.AppendFIF(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(b) != "00e278" {
		t.Fatalf("DCS = %x, want 00e278", b)
	}
	// Each speed encodes to its T.30 Table 2 code and back.
	for _, sp := range (SetV27ter | SetV29 | SetV17).Speeds() {
		c := Caps{Speed: sp}
		b, err := c.AppendFIF(nil, true)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCaps(b, true)
		if err != nil || back.Speed != sp {
			t.Fatalf("%v -> %x -> %v (%v)", sp, b, back.Speed, err)
		}
	}
	if _, err := (&Caps{Speed: Speed{V17, 4800}}).AppendFIF(nil, true); !errors.Is(err, ErrBadFIF) {
		t.Fatalf("V.17 4800 encoded: %v", err)
	}
	// A reserved DCS rate code is an error.
	if _, err := ParseCaps([]byte{0x00, 0x10, 0x00}, true); !errors.Is(err, ErrBadFIF) {
		t.Fatalf("reserved rate code: %v", err)
	}
	if _, err := ParseCaps([]byte{0x00}, false); !errors.Is(err, ErrBadFIF) {
		t.Fatalf("1-octet FIF: %v", err)
	}
}

func TestFallbackChains(t *testing.T) {
	all := SetV27ter | SetV29 | SetV17
	chain := func(sp Speed, set ModemSet) []int {
		out := []int{sp.Rate}
		for {
			n, ok := sp.Fallback(set)
			if !ok {
				return out
			}
			sp = n
			out = append(out, sp.Rate)
		}
	}
	for _, tc := range []struct {
		start Speed
		set   ModemSet
		want  []int
	}{
		{Speed{V17, 14400}, all, []int{14400, 12000, 9600, 7200, 4800, 2400}},
		{Speed{V29, 9600}, SetV27ter | SetV29, []int{9600, 7200, 4800, 2400}},
		{Speed{V27ter, 4800}, SetV27ter, []int{4800, 2400}},
		{Speed{V29, 9600}, SetV29, []int{9600, 7200, 2400}},
	} {
		got := chain(tc.start, tc.set)
		if len(got) != len(tc.want) {
			t.Fatalf("%v: %v, want %v", tc.start, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%v: %v, want %v", tc.start, got, tc.want)
			}
		}
	}
}

func TestIdent(t *testing.T) {
	enc := EncodeIdent(nil, "+1 555 0100")
	if len(enc) != 20 || string(enc) != "0010 555 1+         " {
		t.Fatalf("EncodeIdent = %q", enc)
	}
	if got := DecodeIdent(enc); got != "+1 555 0100" {
		t.Fatalf("DecodeIdent = %q", got)
	}
	if got := DecodeIdent([]byte("\x01\xff21")); got != "12??" {
		t.Fatalf("DecodeIdent(control chars) = %q", got)
	}
	if got := DecodeIdent(EncodeIdent(nil, "123456789012345678901234")); got != "12345678901234567890" {
		t.Fatalf("long ident = %q", got)
	}
}

func FuzzCaps(f *testing.F) {
	for _, s := range []string{"00e278", "000e804c", "00eee9c480010000", "0000", "00020044", "ffffffffffffffffffffff"} {
		b, _ := hex.DecodeString(s)
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, dcs bool) {
		c, err := ParseCaps(data, dcs)
		if err != nil {
			return
		}
		_ = c.String()
		enc, err := c.AppendFIF(nil, dcs)
		if err != nil {
			t.Fatalf("parsed caps do not encode: %+v: %v", c, err)
		}
		back, err := ParseCaps(enc, dcs)
		if err != nil || back != c {
			t.Fatalf("%x -> %+v -> %x -> %+v (%v)", data, c, enc, back, err)
		}
	})
}

func FuzzIdent(f *testing.F) {
	f.Add([]byte("0010 555 1+         "))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		id := DecodeIdent(data)
		if len(id) > 20 {
			t.Fatalf("ident %q longer than 20", id)
		}
		if DecodeIdent(EncodeIdent(nil, id)) != id {
			t.Fatalf("ident %q does not round-trip", id)
		}
	})
}
