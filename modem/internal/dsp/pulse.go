package dsp

import "math"

// RaisedCosine is the raised-cosine (Nyquist) pulse with roll-off beta at
// time t, in symbol periods; it is 1 at t = 0 and 0 at every other whole t.
func RaisedCosine(t, beta float64) float64 {
	if t == 0 {
		return 1
	}
	x := 2 * beta * t
	if math.Abs(math.Abs(x)-1) < 1e-9 {
		return math.Pi / 4 * sinc(1/(2*beta))
	}
	return sinc(t) * math.Cos(math.Pi*beta*t) / (1 - x*x)
}

// RootRaisedCosine is the square-root raised-cosine pulse with roll-off
// beta at time t, in symbol periods. Two of them in cascade (transmit and
// matched receive filter) make a RaisedCosine; its peak is 1 - beta +
// 4*beta/pi at t = 0.
func RootRaisedCosine(t, beta float64) float64 {
	if t == 0 {
		return 1 - beta + 4*beta/math.Pi
	}
	x := 4 * beta * t
	if math.Abs(math.Abs(x)-1) < 1e-9 {
		s, c := math.Sincos(math.Pi / (4 * beta))
		return beta / math.Sqrt2 * ((1+2/math.Pi)*s + (1-2/math.Pi)*c)
	}
	num := math.Sin(math.Pi*t*(1-beta)) + 4*beta*t*math.Cos(math.Pi*t*(1+beta))
	return num / (math.Pi * t * (1 - x*x))
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}
