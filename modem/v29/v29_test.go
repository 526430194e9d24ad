package v29

import (
	"math"
	"testing"

	"github.com/faxagent/faxagent/modem/internal/pumptest"
	"github.com/faxagent/faxagent/modem/pump"
)

// modulate sends bits with a fresh transmitter at rate.
func modulate(t testing.TB, rate int, bits []int, lead int) []int16 {
	t.Helper()
	tx, err := NewTransmitter(rate, pumptest.Source(bits))
	if err != nil {
		t.Fatal(err)
	}
	return pumptest.Transmit(t, tx, lead, 10*pump.SampleRate+len(bits)*pump.SampleRate/rate)
}

func TestOursToOurs(t *testing.T) {
	for _, rate := range []int{7200, 9600} {
		for _, tc := range []struct {
			name string
			gain float64
			ppm  float64
		}{
			{"clean", 1, 0},
			{"+6dB +100ppm", math.Pow(10, 0.3), 100},
			{"-10dB -100ppm", math.Pow(10, -0.5), -100},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := pumptest.RandomBits(20000, uint64(rate))
				line := pumptest.Impair(modulate(t, rate, want, 400), tc.gain, tc.ppm)
				s := &pumptest.Recorder{}
				rx, err := NewReceiver(rate, s)
				if err != nil {
					t.Fatal(err)
				}
				pumptest.Feed(rx, line)
				pumptest.CheckBits(t, s, want)
			})
		}
	}
}

// TestTrainingGenerator: the segment-3 generator 1 + x^-6 + x^-7 from
// 0x2A repeats every 127 bits (a maximal-length sequence) and starts with
// the C the receiver's hop detection relies on.
func TestTrainingGenerator(t *testing.T) {
	g := trainGen{reg: trainInit}
	var seq []int
	for range 254 {
		seq = append(seq, g.next())
	}
	if seq[0] != 0 {
		t.Fatal("segment 3 does not start with C")
	}
	for i := range 127 {
		if seq[i] != seq[i+127] {
			t.Fatalf("not periodic in 127 at %d", i)
		}
	}
	for p := 1; p < 127; p++ {
		same := true
		for i := range 127 {
			if seq[i] != seq[i+p] {
				same = false
				break
			}
		}
		if same {
			t.Fatalf("period %d, want 127", p)
		}
	}
}
