package dsp

import "math"

// tan22 is tan(22.5 degrees): the border between an axis and a diagonal.
const tan22 = 0.41421356237309504880

// Octant is the phase, in 45 degree units, of the 8-PSK point nearest z
// (the multiple of 45 degrees nearest its angle).
func Octant(z complex128) int {
	x, y := real(z), imag(z)
	ax, ay := math.Abs(x), math.Abs(y)
	switch {
	case ay <= tan22*ax:
		if x >= 0 {
			return 0
		}
		return 4
	case ax <= tan22*ay:
		if y >= 0 {
			return 2
		}
		return 6
	case x >= 0 && y >= 0:
		return 1
	case x < 0 && y >= 0:
		return 3
	case x < 0:
		return 5
	}
	return 7
}

// Quadrant is the phase, in 45 degree units (so 0, 2, 4 or 6), of the
// point at 0, 90, 180 or 270 degrees nearest z.
func Quadrant(z complex128) int {
	x, y := real(z), imag(z)
	if math.Abs(x) >= math.Abs(y) {
		if x >= 0 {
			return 0
		}
		return 4
	}
	if y >= 0 {
		return 2
	}
	return 6
}
