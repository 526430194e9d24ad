package v29

import (
	"testing"

	"github.com/faxagent/faxagent/modem/internal/pumptest"
)

// TestCarrierOffset: an analogue channel's carrier offset of up to ±10 Hz
// (V.29 asks for ±7) is tracked by the phase loop.
func TestCarrierOffset(t *testing.T) {
	for _, rate := range []int{7200, 9600} {
		for _, hz := range []float64{-10, -7, 7, 10} {
			want := pumptest.RandomBits(20000, 3)
			line := pumptest.Shift(modulate(t, rate, want, 400), hz)
			s := &pumptest.Recorder{}
			rx, err := NewReceiver(rate, s)
			if err != nil {
				t.Fatal(err)
			}
			pumptest.Feed(rx, line)
			pumptest.CheckBits(t, s, want)
		}
	}
}
