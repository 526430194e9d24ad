package v27ter

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

func demodulate(t testing.TB, rate int, line []int16, sink pump.BitSink) {
	t.Helper()
	rx, err := NewReceiver(rate, sink)
	if err != nil {
		t.Fatal(err)
	}
	pumptest.Feed(rx, line)
}

func TestOursToOurs(t *testing.T) {
	for _, rate := range []int{2400, 4800} {
		for _, tc := range []struct {
			name string
			gain float64
			ppm  float64
		}{
			{"clean", 1, 0},
			{"+10dB +100ppm", math.Pow(10, 0.5), 100},
			{"-10dB -100ppm", math.Pow(10, -0.5), -100},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := pumptest.RandomBits(20000, uint64(rate))
				line := pumptest.Impair(modulate(t, rate, want, 400), tc.gain, tc.ppm)
				s := &pumptest.Recorder{}
				demodulate(t, rate, line, s)
				pumptest.CheckBits(t, s, want)
			})
		}
	}
}

// TestScramblerRoundTrip: descrambling undoes scrambling, and a
// descrambler started in another state falls in step (register after 12
// bits, guard counter at the next common reset). Zeros into a zero
// register would put zeros on the line for ever without the guard; with
// it the line must change at least every 34 bits.
func TestScramblerRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		bits []int
		init uint32
	}{
		{"random", pumptest.RandomBits(5000, 3), scrInit},
		{"zeros", make([]int, 5000), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := scrambler{reg: tc.init}
			rx := scrambler{reg: 0x55}
			run, last := 0, -1
			for i, b := range tc.bits {
				line := tx.scramble(b)
				if line == last {
					if run++; run > 34 {
						t.Fatalf("bit %d: the line has repeated %d for %d bits", i, line, run)
					}
				} else {
					run, last = 1, line
				}
				if got := rx.descramble(line); i >= 64 && got != b {
					t.Fatalf("bit %d: %d, want %d", i, got, b)
				}
			}
		})
	}
}

// TestSetLevel: the signal's power is the level asked for.
func TestSetLevel(t *testing.T) {
	for _, level := range []float64{-14, -10, -20} {
		tx, err := NewTransmitter(4800, pumptest.Source(pumptest.RandomBits(20000, 1)))
		if err != nil {
			t.Fatal(err)
		}
		tx.SetLevel(level)
		s := pumptest.Transmit(t, tx, 0, 20*pump.SampleRate)
		var p float64
		mid := s[len(s)/3 : 2*len(s)/3]
		for _, v := range mid {
			p += float64(v) * float64(v)
		}
		got := 10*math.Log10(p/float64(len(mid))/(32768.0*32768/2)) + 3.14
		if math.Abs(got-level) > 0.2 {
			t.Errorf("level %v: measured %.2f dBm0", level, got)
		}
	}
}
