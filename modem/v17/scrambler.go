package v17

import "math/bits"

// The V.17 scrambler is self-synchronising with the generating polynomial
// 1 + x^-18 + x^-23 (V.17 §5, the same as V.32bis' call mode polynomial):
// each line bit is the data bit XORed with the line bits sent 18 and 23
// bits before it. The descrambler undoes it from the received line bits
// alone, so it synchronises after 23 bits whatever its start state.

// scramblerSeed is the transmitter's initial register. V.17 leaves it
// open; this one is also SpanDSP's, which makes the first training symbols
// of both transmitters equal and easy to compare.
const scramblerSeed = 0x2ECDD5

// scrambler holds the last 23 line bits, the newest in bit 0.
type scrambler struct{ reg uint32 }

// scramble returns the line bit for data bit b.
func (s *scrambler) scramble(b int) int {
	out := (b ^ int(s.reg>>17) ^ int(s.reg>>22)) & 1
	s.reg = s.reg<<1 | uint32(out)
	return out
}

// descramble returns the data bit for received line bit b.
func (s *scrambler) descramble(b int) int {
	out := (b ^ int(s.reg>>17) ^ int(s.reg>>22)) & 1
	s.reg = s.reg<<1 | uint32(b&1)
	return out
}

// scrambleWord scrambles the k ≤ 8 bits of q (the first in bit 0) at
// once: with taps 18 and 23 bits back, none of them depends on another.
func (s *scrambler) scrambleWord(q, k int) int {
	out := s.taps(q, k)
	s.shiftIn(out, k)
	return out
}

// descrambleWord descrambles the k ≤ 8 line bits of q (the first in bit
// 0) at once.
func (s *scrambler) descrambleWord(q, k int) int {
	out := s.taps(q, k)
	s.shiftIn(q, k)
	return out
}

// taps is q XORed with the bits 18 and 23 bits before each of its k bits:
// bit i of q meets register bits 17-i and 22-i, which bit reversal lines
// up as bits 14+i and 9+i.
func (s *scrambler) taps(q, k int) int {
	rev := bits.Reverse32(s.reg)
	return (q ^ int(rev>>14) ^ int(rev>>9)) & (1<<k - 1)
}

// shiftIn enters the k line bits of w, the first in bit 0, newest last.
func (s *scrambler) shiftIn(w, k int) {
	s.reg = s.reg<<k | uint32(bits.Reverse8(uint8(w))>>(8-k))
}
