package t38

// fillStripper removes T.4 fill from a non-ECM bit stream (T.38 fill-bit
// removal, negotiated with T38FaxFillBitRemoval). Fill is zero bits
// inserted before an EOL (000000000001) to meet the receiver's minimum scan
// line time. Valid MH/MR data never has eleven zeros in a row outside an
// EOL (T.4 4.1.2), but the zeros that end the last code word of a row (at
// most three: white 3 "1000", black 18 "0000001000", ...) run into the fill
// and cannot be told apart from it. So every run of more than keepZeros
// zeros followed by a one is cut to keepZeros = 11 + 3: the EOL and any
// code-word tail stay intact, at most three fill bits remain per row.
// Bits are in line order, the first in the least significant bit of each
// octet (the t30 convention). The stripper keeps state across calls; Flush
// ends the stream.
type fillStripper struct {
	zeros int    // zero bits seen and not yet written (at most keepZeros are kept)
	acc   uint32 // output bits not yet forming an octet, LSB first
	nacc  int
}

const keepZeros = 14

func (f *fillStripper) put(bit uint32, dst []byte) []byte {
	f.acc |= bit << f.nacc
	f.nacc++
	if f.nacc == 8 {
		dst = append(dst, byte(f.acc))
		f.acc, f.nacc = 0, 0
	}
	return dst
}

// Strip appends the stripped form of p to dst.
func (f *fillStripper) Strip(dst, p []byte) []byte {
	for _, b := range p {
		if b == 0 && f.zeros >= keepZeros {
			continue // a whole octet of fill
		}
		for i := 0; i < 8; i++ {
			if b>>i&1 == 0 {
				f.zeros++
				continue
			}
			for z := min(f.zeros, keepZeros); z > 0; z-- {
				dst = f.put(0, dst)
			}
			f.zeros = 0
			dst = f.put(1, dst)
		}
	}
	return dst
}

// Flush writes the zeros still held (at most keepZeros) and pads the last
// octet with zeros.
func (f *fillStripper) Flush(dst []byte) []byte {
	for z := min(f.zeros, keepZeros); z > 0; z-- {
		dst = f.put(0, dst)
	}
	f.zeros = 0
	for f.nacc != 0 {
		dst = f.put(0, dst)
	}
	return dst
}
