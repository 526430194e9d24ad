package localsvc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Frames written out by hand from PROTOCOL.md sections 2 to 4.
var frames = []struct {
	name string
	hex  string
	msg  Msg
}{
	{"HELLO", "0000000d 01 01 00000001 1c 0004 00000001 ",
		Msg{Type: TypeHello, ID: 1, Version: 1}},
	{"DIAL channel 3 to 9001", "00000014 01 04 00000007 02 0004 00000003 03 0004 39303031",
		Msg{Type: TypeDial, ID: 7, Channel: 3, Number: "9001"}},
	{"EV_RING", "00000022 01 c0 00000000 01 0004 00000001 02 0004 00000002 04 0004 37303030 05 0004 37313032",
		Msg{Type: TypeEvRing, Board: 1, Channel: 2, Calling: "7000", Called: "7102"}},
	{"COMPLETION", "0000002d 01 82 00000009 09 0004 00003840 0a 0004 00000001 0e 0004 00000003 0f 0003 563137 10 0002 5258 19 0004 00000003",
		Msg{Type: TypeCompletion, ID: 9, Rate: 14400, ECM: true, Pages: 3, Modulation: "V17", RemoteCSID: "RX", Compression: 3}},
	{"OK empty", "00000006 01 80 ffffffff", Msg{Type: TypeOK, ID: 0xFFFFFFFF}},
}

func TestFrames(t *testing.T) {
	for _, tc := range frames {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			got, err := tc.msg.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal\n got %x\nwant %x", got, want)
			}
			body, err := ReadFrame(bytes.NewReader(want), nil)
			if err != nil {
				t.Fatal(err)
			}
			var m Msg
			if err := m.Unmarshal(body); err != nil {
				t.Fatal(err)
			}
			if m != tc.msg {
				t.Errorf("Unmarshal\n got %+v\nwant %+v", m, tc.msg)
			}
		})
	}
}

func TestUnknownTagSkipped(t *testing.T) {
	// Tag 0x7f (a later version's field) between two known fields.
	body := unhex(t, "01 09 00000002 01 0004 00000001 7f 0003 616263 02 0004 00000002")
	var m Msg
	if err := m.Unmarshal(body); err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeStatus || m.Board != 1 || m.Channel != 2 {
		t.Errorf("%+v", m)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name, hex string
	}{
		{"short", "01 01 0000"},
		{"version 2", "02 01 00000001"},
		{"unknown type", "01 55 00000001"},
		{"event with ID", "01 c0 00000001"},
		{"request without ID", "01 04 00000000"},
		{"truncated field header", "01 04 00000001 01 00"},
		{"field overruns", "01 04 00000001 03 0009 3930"},
		{"int of 2 octets", "01 04 00000001 01 0002 0001"},
		{"int out of range", "01 04 00000001 01 0004 80000000"},
		{"flag 2", "01 06 00000001 0a 0004 00000002"},
		{"repeated field", "01 04 00000001 02 0004 00000001 02 0004 00000002"},
		{"bad UTF-8", "01 04 00000001 03 0002 c328"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Msg
			err := m.Unmarshal(unhex(t, tc.hex))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

func TestReadFrameLimits(t *testing.T) {
	for _, h := range []string{"00000005 0101000000", "00010001", "ffffffff"} {
		_, err := ReadFrame(bytes.NewReader(unhex(t, h)), nil)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", h, err)
		}
	}
	_, err := ReadFrame(bytes.NewReader(unhex(t, "00000010 0101")), nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated body: %v", err)
	}
}

func TestMarshalLimits(t *testing.T) {
	for _, m := range []Msg{
		{Type: TypeDial, ID: 1, Number: strings.Repeat("9", MaxString+1)},
		{Type: TypeDial, ID: 1, Board: -1},
	} {
		if _, err := m.Marshal(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v: %v", m.Type, err)
		}
	}
	var short [8]byte
	m := Msg{Type: TypeHello, ID: 1}
	if _, err := m.MarshalTo(short[:]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: %v", err)
	}
}

func TestStatusTable(t *testing.T) {
	seen := map[int]bool{}
	for s := StatusOK; s <= StatusInternal; s++ {
		if StatusText(s) == "unknown status" {
			t.Errorf("status %d has no text", s)
		}
		seen[int(StatusCode(s))] = true
	}
	if StatusCode(99).String() != StatusCode(StatusInternal).String() || StatusCode(-1) != StatusCode(StatusInternal) {
		t.Errorf("unknown statuses must be internal errors")
	}
	if len(seen) < 14 {
		t.Errorf("statuses map to only %d distinct codes", len(seen))
	}
}

func BenchmarkMarshalTo(b *testing.B) {
	b.ReportAllocs()
	m := Msg{Type: TypeCompletion, ID: 9, Rate: 14400, ECM: true, Pages: 3, Modulation: "V17", RemoteCSID: "RX"}
	buf := make([]byte, 256)
	for b.Loop() {
		if _, err := m.MarshalTo(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	b.ReportAllocs()
	m := Msg{Type: TypeCompletion, ID: 9, Rate: 14400, ECM: true, Pages: 3, Modulation: "V17", RemoteCSID: "RX"}
	f, _ := m.Marshal()
	var out Msg
	for b.Loop() {
		if err := out.Unmarshal(f[4:]); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecode feeds arbitrary streams to the frame reader and decoder:
// never a panic, and whatever decodes re-encodes to a frame that decodes
// to the same message.
func FuzzDecode(f *testing.F) {
	for _, tc := range frames {
		f.Add(unhex(f, tc.hex))
	}
	f.Add(unhex(f, "0000000a 01 09 00000002 7f 0000"))
	f.Add(unhex(f, "00000006 01 c4 00000000 00000006 01 80 00000003"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var buf []byte
		for i := 0; i < 16; i++ {
			body, err := ReadFrame(r, buf)
			if err != nil {
				return
			}
			buf = body
			var m Msg
			if err := m.Unmarshal(body); err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				continue
			}
			again, err := m.Marshal()
			if err != nil {
				t.Fatalf("re-marshal %+v: %v", m, err)
			}
			var m2 Msg
			if err := m2.Unmarshal(again[4:]); err != nil || m2 != m {
				t.Fatalf("round trip: %+v != %+v (%v)", m2, m, err)
			}
		}
	})
}
