package t30

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCRC16CheckValue(t *testing.T) {
	// CRC-16/X.25 (the HDLC FCS) check value from the CRC catalogue.
	if got := ^CRC16(0xFFFF, []byte("123456789")); got != 0x906E {
		t.Fatalf("CRC16(123456789) = %04X, want 906E", got)
	}
	f := AppendFCS([]byte{0xFF, 0x13, 0xFA}) // DCN
	if _, err := CheckFCS(f); err != nil {
		t.Fatal(err)
	}
	f[2] ^= 0x01
	if _, err := CheckFCS(f); !errors.Is(err, ErrBadFCS) {
		t.Fatalf("corrupted frame: err %v", err)
	}
	if _, err := CheckFCS([]byte{1}); err == nil {
		t.Fatal("1-byte frame accepted")
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		hex   string
		final bool
		fcf   FCF
		kind  FCF
		info  string
	}{
		{"ff13fa", true, 0xFA, FCFDCN, ""},
		{"ff13fb", true, 0xFB, FCFDCN, ""},
		{"ff1383", true, 0x83, FCFDCS, ""},
		{"ff13800000e278", true, FCFDIS, FCFDIS, "0000e278"},
		{"ff038100", false, FCFDTC, FCFDTC, "00"},
		{"ff13bf4e000207", true, 0xBF, FCFPPS, "4e000207"},
		{"ff0306" + "05" + "aabb", false, FCFFCD, FCFFCD, "05aabb"},
		{"ff0386", false, FCFRCP, FCFRCP, ""},
	} {
		raw := unhex(t, tc.hex)
		var f Frame
		if err := f.Unmarshal(raw); err != nil {
			t.Fatalf("%s: %v", tc.hex, err)
		}
		if f.Final != tc.final || f.FCF != tc.fcf || f.Kind() != tc.kind || hex.EncodeToString(f.Info) != tc.info {
			t.Fatalf("%s: got %+v kind %v", tc.hex, f, f.Kind())
		}
		if got := f.Marshal(); !bytes.Equal(got, raw) {
			t.Fatalf("%s: re-encoded %x", tc.hex, got)
		}
	}
	for _, bad := range []struct {
		hex string
		err error
	}{{"ff13", ErrShortFrame}, {"fe13fa", ErrBadAddress}, {"ff12fa", ErrBadControl}} {
		var f Frame
		if err := f.Unmarshal(unhex(t, bad.hex)); !errors.Is(err, bad.err) {
			t.Fatalf("%s: err %v, want %v", bad.hex, err, bad.err)
		}
	}
	var f Frame
	if err := f.Unmarshal(make([]byte, MaxFrameLen+1)); err == nil {
		t.Fatal("oversized frame accepted")
	}
	if _, err := (&Frame{FCF: FCFDIS, Info: make([]byte, 10)}).MarshalTo(make([]byte, 5)); !errors.Is(err, ErrBufferTooSmall) {
		t.Fatalf("small buffer: %v", err)
	}
}

func TestFCFNames(t *testing.T) {
	for _, tc := range []struct {
		f    FCF
		name string
	}{{0x80, "DIS"}, {0x81, "DTC"}, {0x83, "DCS"}, {0x82, "DCS"}, {0xFB, "DCN"}, {0x4F, "MPS"},
		{0x8D, "MCF"}, {0xBD, "PPR"}, {0x41, "CIG"}, {0x43, "TSI"}, {0x06, "FCD"}, {0x86, "RCP"}, {0x00, "FCF(0x00)"}} {
		if got := tc.f.String(); got != tc.name {
			t.Errorf("%02X: %s, want %s", byte(tc.f), got, tc.name)
		}
	}
}

func TestHDLCBits(t *testing.T) {
	// 3 octets + FCS, no five-ones runs except where the FCS makes them,
	// plus a closing flag: at least 48 bits.
	n := HDLCBits([]byte{0x00, 0x00, 0x00})
	if n != 48 {
		t.Fatalf("HDLCBits(000000) = %d, want 48", n)
	}
	// 0xFF: eight ones -> one stuffed zero per five ones.
	if n := HDLCBits([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF}); n < 7*8+8+8 {
		t.Fatalf("HDLCBits(5 x FF) = %d, want stuffing", n)
	}
}

func FuzzFrame(f *testing.F) {
	for _, s := range []string{"ff13fa", "ff13800000e278", "ff13bf4e000207", "ff03060501020304", "ff13", "00"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if HDLCBits(data) != naiveHDLCBits(data) {
			t.Fatalf("HDLCBits(%x) = %d, bitwise %d", data, HDLCBits(data), naiveHDLCBits(data))
		}
		var fr Frame
		if err := fr.Unmarshal(data); err != nil {
			return
		}
		if !bytes.Equal(fr.Marshal(), data) {
			t.Fatalf("round trip %x -> %x", data, fr.Marshal())
		}
		_ = fr.String()
		if _, err := CheckFCS(AppendFCS(append([]byte(nil), data...))); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHDLCBitsMatchesBitwise(t *testing.T) {
	// Compare the table-driven count with a bit-by-bit stuffing of the
	// frame and its FCS.
	for _, f := range [][]byte{{}, {0xFF}, {0x1F, 0xF8}, {0xFF, 0x13, 0xFA}, {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x7E, 0xFC}} {
		if got, want := HDLCBits(f), naiveHDLCBits(f); got != want {
			t.Fatalf("%x: %d, want %d", f, got, want)
		}
	}
}

// naiveHDLCBits stuffs the frame and its FCS bit by bit.
func naiveHDLCBits(frame []byte) int64 {
	all := AppendFCS(append([]byte(nil), frame...))
	ones, n := 0, int64(0)
	for _, b := range all {
		for i := range 8 {
			n++
			if b&(1<<uint(i)) != 0 {
				ones++
				if ones == 5 {
					n++
					ones = 0
				}
			} else {
				ones = 0
			}
		}
	}
	return n + 8
}
