package v27ter

// scrambler is V.27 ter's 1 + x^-6 + x^-7 scrambler with its guard: when
// the line bits have not differed from those 8, 9 and 12 bits back at once
// for 33 bits in a row (a repeating pattern of period 1, 2, 3, 4, 6, 8, 9
// or 12 is about to form), the next line bit is inverted.
type scrambler struct {
	reg   uint32 // line bits, newest in bit 0
	count int
}

// scramble turns a data bit into the line bit.
func (s *scrambler) scramble(in int) int {
	out := (in ^ int(s.reg>>5) ^ int(s.reg>>6)) & 1
	s.guard(&out, out)
	s.reg = s.reg<<1 | uint32(out)
	return out
}

// descramble turns a line bit back into the data bit.
func (s *scrambler) descramble(in int) int {
	out := (in ^ int(s.reg>>5) ^ int(s.reg>>6)) & 1
	s.guard(&out, in)
	s.reg = s.reg<<1 | uint32(in&1)
	return out
}

// guard applies the pattern guard: line is the line bit (before any
// inversion when scrambling), and *bit is inverted when the guard fires.
func (s *scrambler) guard(bit *int, line int) {
	if s.count >= 33 {
		*bit ^= 1
		s.count = 0
		return
	}
	r := int(s.reg)
	if (r>>7^line)&(r>>8^line)&(r>>11^line)&1 != 0 {
		s.count = 0
	} else {
		s.count++
	}
}
