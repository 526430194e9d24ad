package pumptest

import (
	"math"
	"testing"
)

// TestShift: a 1000 Hz tone shifted by +7 Hz and -10 Hz comes out at 1007
// and 990 Hz (counted by zero crossings over 4 s), at the same level.
func TestShift(t *testing.T) {
	tone := make([]int16, 32000)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	for _, hz := range []float64{7, -10} {
		out := Shift(tone, hz)[100:]
		crossings := 0
		var p float64
		for i := 1; i < len(out); i++ {
			if (out[i-1] < 0) != (out[i] < 0) {
				crossings++
			}
			p += float64(out[i]) * float64(out[i])
		}
		f := float64(crossings) / 2 / (float64(len(out)) / 8000)
		if math.Abs(f-(1000+hz)) > 0.5 {
			t.Errorf("shift %+v: %.2f Hz", hz, f)
		}
		if rms := math.Sqrt(p / float64(len(out))); math.Abs(rms-8000/math.Sqrt2) > 100 {
			t.Errorf("shift %+v: rms %.0f", hz, rms)
		}
	}
}
