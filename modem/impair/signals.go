package impair

import (
	"math"
	"math/rand/v2"
)

// Signals that are not fax, for the hostile-input tests of the modems:
// none of them may ever make a receiver report a frame or a carrier of
// its kind.

// Noise returns n samples of white Gaussian noise of the given RMS.
func Noise(rng *rand.Rand, n int, rms float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = clip(rng.NormFloat64() * rms)
	}
	return out
}

// Tones returns n samples of the sum of sines at freqs (Hz), each of peak
// amp: a DTMF digit is two of them, a modem's answer tone one.
func Tones(n int, amp float64, freqs ...float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		var v float64
		for _, f := range freqs {
			v += amp * math.Sin(2*math.Pi*f*float64(i)/8000)
		}
		out[i] = clip(v)
	}
	return out
}

// Speech returns n samples of speech-like audio of peak around amp: three
// formants that glide (350-650, 1000-2000 and 2000-2600 Hz: across CNG,
// V.21 and CED) under a syllable-rate envelope, with a little breath noise.
func Speech(rng *rand.Rand, n int, amp float64) []int16 {
	out := make([]int16, n)
	var ph [3]float64
	for i := range out {
		t := float64(i) / 8000
		f := [3]float64{500 + 150*math.Sin(2*math.Pi*1.1*t), 1500 + 500*math.Sin(2*math.Pi*0.7*t), 2300 + 300*math.Sin(2*math.Pi*0.5*t)}
		var v float64
		for k := range f {
			ph[k] += 2 * math.Pi * f[k] / 8000
			v += math.Sin(ph[k]) / float64(k+1)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3.5*t)
		out[i] = clip(amp*env*v/1.8 + rng.NormFloat64()*amp/40)
	}
	return out
}
