package v17

// Differential and trellis coding (V.17 §3.3–3.4, Figure 2 and Table 1).
//
// Of the bits of a symbol, Q1 and Q2 (the first two in line order) are
// differentially encoded into Y1 and Y2: Y2Y1 = (Q2Q1 + Y2Y1 of the
// previous symbol) mod 4, so a 90° rotation of the constellation changes
// only the first symbol after it. The 8-state systematic convolutional
// encoder then adds the redundant bit Y0. The remaining bits Q3..Q6 pass
// uncoded. The constellation label is Q6..Q3 Y2 Y1 Y0 (Y0 in bit 0).

// trellisNext[s][y] is the encoder state after state s takes the
// differentially encoded pair y = Y2Y1 (the delay elements of V.17
// Figure 2 as a three-bit state). Y0 of the symbol is bit 2 of that next
// state.
var trellisNext = [8][4]uint8{
	{0, 2, 3, 1},
	{4, 7, 5, 6},
	{1, 3, 2, 0},
	{7, 4, 6, 5},
	{2, 0, 1, 3},
	{6, 5, 7, 4},
	{3, 1, 0, 2},
	{5, 6, 4, 7},
}

// trellisEncoder is the transmit side: the differential encoder's last
// Y2Y1 and the convolutional encoder's state.
type trellisEncoder struct {
	diff  uint8
	state uint8
}

// encode takes the data bits q of one symbol (Q1 in bit 0) and returns
// the constellation label Q..Q3 Y2 Y1 Y0.
func (e *trellisEncoder) encode(q int) int {
	e.diff = (e.diff + uint8(q&3)) & 3
	e.state = trellisNext[e.state][e.diff]
	return (q>>2)<<3 | int(e.diff)<<1 | int(e.state>>2)&1
}

// diffDecode returns Q2Q1 from this symbol's Y2Y1 and the previous one's.
func diffDecode(y, prev int) int { return (y - prev) & 3 }
