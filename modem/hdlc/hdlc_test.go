package hdlc

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// T.30 frames as they go on the line: a DIS-like frame and a frame whose
// octets force zero-bit insertion.
var frames = [][]byte{
	{0xFF, 0x13, 0x80, 0x00, 0xEE, 0xF8, 0x80},
	{0xFF, 0x03, 0xFE, 0xFF, 0x7E, 0x7E, 0x3F, 0x1F},
	{0xFF, 0x13, 0xFB},
}

// TestFCSVector: the FCS of T.30's example (ITU-T V.41 style check) and
// the residue after the FCS.
func TestFCSVector(t *testing.T) {
	// "123456789" under CRC-16/X.25 (reflected, preset ones, inverted) is 0x906E.
	if got := ^CRC(0xFFFF, []byte("123456789")); got != 0x906E {
		t.Fatalf("CRC-16/X.25 check value %#04x, want 0x906e", got)
	}
	f := FCS([]byte("123456789"))
	if f != [2]byte{0x6E, 0x90} {
		t.Fatalf("FCS octets %x", f)
	}
	if got := CRC(0xFFFF, append([]byte("123456789"), f[:]...)); got != crcGood {
		t.Fatalf("residue %#04x", got)
	}
}

func bits(f *Framer) []int {
	var out []int
	for b := f.Bit(); b != NoBit; b = f.Bit() {
		out = append(out, b)
	}
	return out
}

// TestFramerBits: the bit pattern of a known frame, by hand: flag, octets
// LSB first with a zero after every five ones, FCS, flag.
func TestFramerBits(t *testing.T) {
	var f Framer
	f.Flags(1)
	f.Frame([]byte{0xFF})
	got := bits(&f)
	fcs := FCS([]byte{0xFF})
	var want []int
	flag := []int{0, 1, 1, 1, 1, 1, 1, 0}
	want = append(want, flag...)
	ones := 0
	for _, o := range []byte{0xFF, fcs[0], fcs[1]} {
		for i := range 8 {
			b := int(o>>i) & 1
			want = append(want, b)
			if b == 1 {
				ones++
				if ones == 5 {
					want = append(want, 0)
					ones = 0
				}
			} else {
				ones = 0
			}
		}
	}
	want = append(want, flag...)
	if len(got) != len(want) {
		t.Fatalf("%d bits, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("bit %d: %d, want %d\n got %v\nwant %v", i, got[i], want[i], got, want)
		}
	}
	// 0xFF then 0xFF: five ones, zero, three ones... never six ones in a row.
	run := 0
	for _, b := range got[8 : len(got)-8] {
		if b == 1 {
			run++
			if run > 5 {
				t.Fatal("six ones inside a frame")
			}
		} else {
			run = 0
		}
	}
}

type got struct {
	frames [][]byte
	ok     []bool
}

func (g *got) h(f []byte, ok bool) {
	g.frames = append(g.frames, bytes.Clone(f))
	g.ok = append(g.ok, ok)
}

func TestRoundTrip(t *testing.T) {
	for _, minFlags := range []int{1, 3} {
		var f Framer
		f.Flags(5)
		for _, fr := range frames {
			f.Frame(fr)
		}
		var g got
		d := NewDeframer(256, minFlags, g.h)
		for b := f.Bit(); b != NoBit; b = f.Bit() {
			d.PutBit(b)
		}
		if len(g.frames) != len(frames) {
			t.Fatalf("minFlags %d: %d frames, want %d (%+v)", minFlags, len(g.frames), len(frames), d.Stats())
		}
		for i := range frames {
			if !g.ok[i] || !bytes.Equal(g.frames[i], frames[i]) {
				t.Fatalf("frame %d: %x ok %v, want %x", i, g.frames[i], g.ok[i], frames[i])
			}
		}
	}
}

// TestDeframerRejects: a flipped bit gives a bad FCS, an abort drops the
// frame, too few flags keep the deframer hunting, an overlong frame is
// dropped, and any bit offset of the stream still finds the frame.
func TestDeframerRejects(t *testing.T) {
	stream := func(flags int, fr []byte) []int {
		var f Framer
		f.Flags(flags)
		f.Frame(fr)
		return bits(&f)
	}
	run := func(maxLen, minFlags int, in []int) (*got, Stats) {
		var g got
		d := NewDeframer(maxLen, minFlags, g.h)
		for _, b := range in {
			d.PutBit(b)
		}
		return &g, d.Stats()
	}
	fr := frames[0]
	s := stream(2, fr)
	s[30] ^= 1
	if g, st := run(256, 1, s); len(g.frames) != 1 || g.ok[0] || st.BadFCS != 1 {
		t.Errorf("flipped bit: %+v %+v", g, st)
	}
	s = stream(2, fr)
	abort := append(append([]int{}, s[:40]...), 1, 1, 1, 1, 1, 1, 1, 1)
	abort = append(abort, s...)
	if g, st := run(256, 1, abort); len(g.frames) != 1 || !g.ok[0] || st.Aborts != 1 {
		t.Errorf("abort: %+v %+v", g, st)
	}
	if g, _ := run(256, 4, stream(2, fr)); len(g.frames) != 0 {
		t.Errorf("two flags with minFlags 4 gave %d frames", len(g.frames))
	}
	if g, st := run(4, 1, stream(2, fr)); len(g.frames) != 0 || st.TooLong != 1 {
		t.Errorf("overlong: %+v %+v", g, st)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for off := range 16 {
		in := make([]int, off)
		for i := range in {
			in[i] = rng.IntN(2)
		}
		in = append(in, stream(3, fr)...)
		if g, _ := run(256, 2, in); len(g.frames) != 1 || !g.ok[0] || !bytes.Equal(g.frames[0], fr) {
			t.Errorf("offset %d: %+v", off, g)
		}
	}
}

// TestNoiseGivesNoGoodFrame: a million random bits give no frame with a
// good FCS to a deframer that wants three flags.
func TestNoiseGivesNoGoodFrame(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var g got
	d := NewDeframer(256, 3, g.h)
	for range 1 << 20 {
		d.PutBit(rng.IntN(2))
	}
	for i, ok := range g.ok {
		if ok {
			t.Fatalf("noise frame %x with a good FCS", g.frames[i])
		}
	}
	t.Logf("noise: %+v, %d frames reported (all bad FCS)", d.Stats(), len(g.frames))
}

func FuzzDeframer(f *testing.F) {
	var fr Framer
	fr.Flags(3)
	fr.Frame(frames[0])
	var seed []byte
	var acc byte
	n := 0
	for b := fr.Bit(); b != NoBit; b = fr.Bit() {
		acc |= byte(b) << n
		if n++; n == 8 {
			seed, acc, n = append(seed, acc), 0, 0
		}
	}
	f.Add(seed)
	f.Add([]byte{0x7E, 0x7E, 0xFF, 0xFF, 0x7E})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		d := NewDeframer(64, 1, func(frame []byte, ok bool) {
			if len(frame) > 64 || len(frame) < 2 {
				t.Fatalf("frame of %d octets", len(frame))
			}
			_ = ok // the FCS octets are not passed on; the verdict is checked in TestDeframerRejects
		})
		d.PutBits(p)
	})
}

// FuzzRoundTrip: any frame sequence survives framing and deframing.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0xFF, 0x13, 0x80}, []byte{0x7E, 0x7E, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		in := [][]byte{a, b}
		var fr Framer
		fr.Flags(1)
		for _, p := range in {
			fr.Frame(p)
		}
		var g got
		d := NewDeframer(1<<16, 1, g.h)
		for bit := fr.Bit(); bit != NoBit; bit = fr.Bit() {
			d.PutBit(bit)
		}
		var want [][]byte
		for _, p := range in {
			if len(p) >= 2 { // shorter frames are below the minimum
				want = append(want, p)
			}
		}
		if len(g.frames) != len(want) {
			t.Fatalf("%d frames, want %d", len(g.frames), len(want))
		}
		for i := range want {
			if !g.ok[i] || !bytes.Equal(g.frames[i], want[i]) {
				t.Fatalf("frame %d: %x, want %x", i, g.frames[i], want[i])
			}
		}
	})
}
