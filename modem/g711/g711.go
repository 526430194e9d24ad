// Package g711 converts between 16-bit linear PCM and ITU-T G.711 µ-law
// and A-law octets (the companding laws of G.711 Tables 1 and 2, with the
// even-bit inversion of A-law and the all-bits inversion of µ-law that go
// on the wire).
//
// Linear samples use the full int16 range: µ-law codes decode to G.711's
// 14-bit values times 4, A-law codes to its 13-bit values times 8.
//
// g711 imports only the standard library.
package g711

// Law is a G.711 companding law.
type Law int

// The two laws. RTP payload types 0 (PCMU) and 8 (PCMA).
const (
	ULaw Law = iota // µ-law (North America, Japan)
	ALaw            // A-law (Europe, most of the world)
)

func (l Law) String() string {
	if l == ALaw {
		return "A-law"
	}
	return "µ-law"
}

const (
	uBias = 0x84  // 33 in the 14-bit scale: shifts µ-law's segments onto powers of two
	uClip = 32635 // largest magnitude that does not overflow with the bias
)

// segment returns the position of the highest set bit of v above bit 7
// (0 for v < 256, 7 for v >= 32768), the segment number of both laws.
func segment(v int) int {
	s := 0
	for v >>= 8; v > 0 && s < 7; v >>= 1 {
		s++
	}
	return s
}

// EncodeULaw returns the µ-law octet of a linear sample.
func EncodeULaw(x int16) byte {
	v := int(x)
	sign := byte(0)
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > uClip {
		v = uClip
	}
	v += uBias
	seg := segment(v) // v >= 132, so the segment is that of v's top bit
	mant := byte(v>>(seg+3)) & 0x0F
	return ^(sign | byte(seg)<<4 | mant)
}

// DecodeULaw returns the linear sample of a µ-law octet.
func DecodeULaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0F)<<3 + uBias) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(uBias - t)
	}
	return int16(t - uBias)
}

// EncodeALaw returns the A-law octet of a linear sample.
func EncodeALaw(x int16) byte {
	v := int(x)
	sign := byte(0x80) // A-law marks positive values
	if v < 0 {
		v = -v - 1 // one's complement keeps -1 in the smallest interval
		sign = 0
	}
	seg := segment(v)
	var mant byte
	if seg == 0 {
		mant = byte(v>>4) & 0x0F
	} else {
		mant = byte(v>>(seg+3)) & 0x0F
	}
	return (sign | byte(seg)<<4 | mant) ^ 0x55
}

// DecodeALaw returns the linear sample of an A-law octet.
func DecodeALaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// Encode writes the octets of src under law into dst (which must be at
// least as long) and returns dst[:len(src)].
func Encode(law Law, dst []byte, src []int16) []byte {
	dst = dst[:len(src)]
	if law == ALaw {
		for i, x := range src {
			dst[i] = EncodeALaw(x)
		}
		return dst
	}
	for i, x := range src {
		dst[i] = EncodeULaw(x)
	}
	return dst
}

// Decode writes the samples of src under law into dst (which must be at
// least as long) and returns dst[:len(src)].
func Decode(law Law, dst []int16, src []byte) []int16 {
	dst = dst[:len(src)]
	if law == ALaw {
		for i, c := range src {
			dst[i] = DecodeALaw(c)
		}
		return dst
	}
	for i, c := range src {
		dst[i] = DecodeULaw(c)
	}
	return dst
}
