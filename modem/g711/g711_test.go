package g711

import "testing"

// G.711 Table 2 (µ-law), positive half, in the recommendation's 14-bit
// scale: the decision value where each segment starts, the step of its 16
// intervals, and the first decoder output value of the segment. Segment 0
// is special: its first interval [0, 1) decodes to 0.
var uSegments = []struct{ start, step, first int }{
	{0, 2, 0}, {31, 4, 33}, {95, 8, 99}, {223, 16, 231},
	{479, 32, 495}, {991, 64, 1023}, {2015, 128, 2079}, {4063, 256, 4191},
}

// G.711 Table 1 (A-law), positive half, in the 13-bit scale (4096 full scale).
var aSegments = []struct{ start, step, first int }{
	{0, 2, 1}, {32, 2, 33}, {64, 4, 66}, {128, 8, 132},
	{256, 16, 264}, {512, 32, 528}, {1024, 64, 1056}, {2048, 128, 2112},
}

// Character signals at the ends of the tables (bit 1 first, as printed).
func TestTableEnds(t *testing.T) {
	for _, c := range []struct {
		name string
		got  int
		want int
	}{
		{"µ-law 0x80 is +8031", int(DecodeULaw(0x80)), 8031 * 4},
		{"µ-law 0x00 is -8031", int(DecodeULaw(0x00)), -8031 * 4},
		{"µ-law 0xFF is +0", int(DecodeULaw(0xFF)), 0},
		{"µ-law 0x7F is -0", int(DecodeULaw(0x7F)), 0},
		{"A-law 0xAA is +4032", int(DecodeALaw(0xAA)), 4032 * 8},
		{"A-law 0x2A is -4032", int(DecodeALaw(0x2A)), -4032 * 8},
		{"A-law 0xD5 is +1", int(DecodeALaw(0xD5)), 8},
		{"A-law 0x55 is -1", int(DecodeALaw(0x55)), -8},
		{"µ-law of 0", int(EncodeULaw(0)), 0xFF},
		{"µ-law of full scale", int(EncodeULaw(32767)), 0x80},
		{"µ-law of negative full scale", int(EncodeULaw(-32768)), 0x00},
		{"A-law of 0", int(EncodeALaw(0)), 0xD5},
		{"A-law of full scale", int(EncodeALaw(32767)), 0xAA},
		{"A-law of negative full scale", int(EncodeALaw(-32768)), 0x2A},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d (%#x), want %d (%#x)", c.name, c.got, c.got, c.want, c.want)
		}
	}
}

// TestDecodeTables checks every code's output value against the tables.
func TestDecodeTables(t *testing.T) {
	for seg, s := range uSegments {
		for m := 0; m < 16; m++ {
			want := (s.first + m*s.step) * 4
			if seg == 0 {
				want = m * 2 * 4
			}
			pos := ^byte(seg<<4 | m)
			neg := pos & 0x7F
			if got := int(DecodeULaw(pos)); got != want {
				t.Errorf("µ-law %#02x: %d, want %d", pos, got, want)
			}
			if got := int(DecodeULaw(neg)); got != -want {
				t.Errorf("µ-law %#02x: %d, want %d", neg, got, -want)
			}
		}
	}
	for seg, s := range aSegments {
		for m := 0; m < 16; m++ {
			want := (s.first + m*s.step) * 8
			pos := byte(0x80|seg<<4|m) ^ 0x55
			neg := byte(seg<<4|m) ^ 0x55
			if got := int(DecodeALaw(pos)); got != want {
				t.Errorf("A-law %#02x: %d, want %d", pos, got, want)
			}
			if got := int(DecodeALaw(neg)); got != -want {
				t.Errorf("A-law %#02x: %d, want %d", neg, got, -want)
			}
		}
	}
}

// TestEncodeDecisions checks every non-negative 16-bit input against the
// decision values of the tables (each interval [d_i, d_i+1) in the
// recommendation's scale), and that negative inputs mirror them.
func TestEncodeDecisions(t *testing.T) {
	uCode := func(x int) byte { // x in 14-bit units times 4
		for seg := 7; seg >= 0; seg-- {
			s := uSegments[seg]
			if x >= s.start*4 || seg == 0 {
				start := s.start
				if seg == 0 {
					start = -1 // segment 0's intervals: [0,1), [1,3), [3,5) ...
				}
				m := min((x-start*4)/(s.step*4), 15)
				if seg == 0 && x < 4 {
					m = 0
				}
				return ^byte(seg<<4 | m)
			}
		}
		return 0
	}
	aCode := func(x int) byte {
		for seg := 7; seg >= 0; seg-- {
			s := aSegments[seg]
			if x >= s.start*8 {
				m := min((x-s.start*8)/(s.step*8), 15)
				return byte(0x80|seg<<4|m) ^ 0x55
			}
		}
		return 0
	}
	for x := 0; x <= 32767; x++ {
		if got, want := EncodeULaw(int16(x)), uCode(x); got != want {
			t.Fatalf("µ-law of %d: %#02x, want %#02x", x, got, want)
		}
		if got, want := EncodeALaw(int16(x)), aCode(x); got != want {
			t.Fatalf("A-law of %d: %#02x, want %#02x", x, got, want)
		}
		if x > 0 {
			if got, want := EncodeULaw(int16(-x)), uCode(x)&0x7F; got != want && !(x < 4 && got == 0xFF) {
				t.Fatalf("µ-law of %d: %#02x, want %#02x", -x, got, want)
			}
			// A-law's negative intervals are closed at the small end.
			if got, want := EncodeALaw(int16(-x)), aCode(x-1)&0x7F; got != want {
				t.Fatalf("A-law of %d: %#02x, want %#02x", -x, got, want)
			}
		}
	}
}

// TestRoundTrip: every code's value encodes back to the code (µ-law's
// negative zero becomes positive zero).
func TestRoundTrip(t *testing.T) {
	for c := 0; c < 256; c++ {
		u := byte(c)
		if got := EncodeULaw(DecodeULaw(u)); got != u && !(u == 0x7F && got == 0xFF) {
			t.Errorf("µ-law %#02x -> %d -> %#02x", u, DecodeULaw(u), got)
		}
		if got := EncodeALaw(DecodeALaw(u)); got != u {
			t.Errorf("A-law %#02x -> %d -> %#02x", u, DecodeALaw(u), got)
		}
	}
	src := []int16{0, 1, -1, 1000, -1000, 32767, -32768}
	for _, law := range []Law{ULaw, ALaw} {
		enc := Encode(law, make([]byte, len(src)), src)
		dec := Decode(law, make([]int16, len(src)), enc)
		for i := range src {
			if d := int(dec[i]) - int(src[i]); d < -1100 || d > 1100 {
				t.Errorf("%v: %d -> %d", law, src[i], dec[i])
			}
		}
	}
}
