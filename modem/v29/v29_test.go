package v29

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/faxagent/faxagent/modem/pump"
)

type sink struct {
	bits   []int
	events []pump.Event
}

func (s *sink) PutBit(b int)       { s.bits = append(s.bits, b) }
func (s *sink) Event(e pump.Event) { s.events = append(s.events, e) }

func randomBits(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]int, n)
	for i := range b {
		b[i] = rng.IntN(2)
	}
	return b
}

func modulate(t testing.TB, rate int, bits []int, lead int) []int16 {
	t.Helper()
	i := 0
	tx, err := NewTransmitter(rate, func() int {
		if i == len(bits) {
			return pump.EndOfData
		}
		i++
		return bits[i-1]
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, lead)
	buf := make([]int16, 160)
	for {
		n := tx.Generate(buf)
		out = append(out, buf[:n]...)
		if n < len(buf) {
			break
		}
	}
	if tx.Generate(buf) != 0 {
		t.Fatal("Generate after the end returned samples")
	}
	return append(out, make([]int16, 800)...)
}

func demodulate(t testing.TB, rate int, line []int16) (*sink, *Receiver) {
	t.Helper()
	s := &sink{}
	rx, err := NewReceiver(rate, s)
	if err != nil {
		t.Fatal(err)
	}
	for len(line) > 0 {
		n := min(len(line), 160)
		rx.Receive(line[:n])
		line = line[n:]
	}
	return s, rx
}

func checkBits(t *testing.T, s *sink, want []int) {
	t.Helper()
	if !slices.Equal(s.events, []pump.Event{pump.CarrierUp, pump.TrainingSucceeded, pump.CarrierDown}) {
		t.Fatalf("events %v", s.events)
	}
	if len(s.bits) < len(want) {
		t.Fatalf("got %d bits, want at least %d", len(s.bits), len(want))
	}
	var errs []int
	for i := range want {
		if s.bits[i] != want[i] {
			errs = append(errs, i)
		}
	}
	if len(errs) > 0 {
		t.Fatalf("%d bit errors in %d, first at %v", len(errs), len(want), errs[:min(len(errs), 20)])
	}
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
			t.Run(itoa(rate)+" "+tc.name, func(t *testing.T) {
				want := randomBits(20000, uint64(rate))
				line := modulate(t, rate, want, 400)
				line = impair(line, tc.gain, tc.ppm)
				s, rx := demodulate(t, rate, line)
				t.Logf("mse after training %.4f", rx.mse/100)
				checkBits(t, s, want)
			})
		}
	}
}

func itoa(n int) string {
	if n == 7200 {
		return "7200"
	}
	return "9600"
}

// impair scales and resamples a line (cubic interpolation).
func impair(x []int16, gain, ppm float64) []int16 {
	ratio := 1 + ppm*1e-6
	var out []int16
	for t := 1.0; t < float64(len(x)-3); t += ratio {
		i := int(t)
		f := t - float64(i)
		p0, p1, p2, p3 := float64(x[i-1]), float64(x[i]), float64(x[i+1]), float64(x[i+2])
		v := gain * (p1 + 0.5*f*(p2-p0+f*(2*p0-5*p1+4*p2-p3+f*(3*(p1-p2)+p3-p0))))
		out = append(out, int16(max(-32768, min(32767, math.Round(v)))))
	}
	return out
}
