package v29

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/modem/pump"
)

// strictSink fails the test on bits outside TrainingSucceeded..CarrierDown.
type strictSink struct {
	t       testing.TB
	trained bool
	bits    int
	events  []pump.Event
}

func (s *strictSink) PutBit(b int) {
	if !s.trained {
		s.t.Fatalf("bit %d outside a trained carrier (events %v)", b, s.events)
	}
	if b != 0 && b != 1 {
		s.t.Fatalf("bit value %d", b)
	}
	s.bits++
}

func (s *strictSink) Event(e pump.Event) {
	s.events = append(s.events, e)
	switch e {
	case pump.TrainingSucceeded:
		s.trained = true
	case pump.CarrierDown, pump.TrainingFailed, pump.CarrierUp:
		s.trained = false
	}
}

func noise(n int, dBm0 float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	sigma := math.Sqrt(2*math.Pow(10, (dBm0-3.14)/10)) * 32768 / 2
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(max(-32768, min(32767, math.Round(rng.NormFloat64()*sigma))))
	}
	return out
}

// v21 is V.21 channel 2 FSK (1650 Hz mark, 1850 Hz space, 300 bit/s) of
// random bits, at about -14 dBm0.
func v21(n int, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]int16, n)
	var ph float64
	f := 1650.0
	for i := range out {
		if i%80 == 0 {
			f = []float64{1650, 1850}[rng.IntN(2)]
		}
		ph += 2 * math.Pi * f / 8000
		out[i] = int16(6500 * math.Sin(ph))
	}
	return out
}

func TestHostileInputGivesNoBits(t *testing.T) {
	good9600 := modulate(t, 9600, randomBits(4000, 9), 0)
	good7200 := modulate(t, 7200, randomBits(4000, 9), 0)
	v27 := v27terLike(40000)
	for _, tc := range []struct {
		name  string
		rate  int
		line  []int16
		allow string // events that may appear, as letters
	}{
		{"silence", 9600, make([]int16, 40000), ""},
		{"noise -20dBm0", 9600, noise(80000, -20, 1), "UFD"},
		{"noise -20dBm0 at 7200", 7200, noise(80000, -20, 5), "UFD"},
		{"noise -50dBm0", 7200, noise(40000, -50, 2), ""},
		{"V.21", 9600, v21(40000, 3), "UFD"},
		{"V.21 at 7200", 7200, v21(40000, 4), "UFD"},
		{"7200 signal to 9600 receiver", 9600, good7200, "UFD"},
		{"V.27ter-like reversals at 1600 baud", 9600, v27, "UFD"},
		{"truncated in segment 3", 9600, good9600[:(seg1Len+seg2Len+200)*10/3], "UFD"},
		{"truncated in segment 2", 7200, good7200[:(seg1Len+100)*10/3], "UFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &strictSink{t: t}
			rx, err := NewReceiver(tc.rate, s)
			if err != nil {
				t.Fatal(err)
			}
			line := append(tc.line, make([]int16, 2000)...)
			for len(line) > 0 {
				n := min(len(line), 160)
				rx.Receive(line[:n])
				line = line[n:]
			}
			for _, e := range s.events {
				if e == pump.TrainingSucceeded || !strings.Contains(tc.allow, letter(e)) {
					t.Fatalf("events %v", s.events)
				}
			}
			if s.bits != 0 {
				t.Fatalf("%d bits", s.bits)
			}
		})
	}
}

// v27terLike is 1800 Hz carrier with 180 degree reversals at 1600 baud,
// then random phases: the start of a V.27 ter training, roughly.
func v27terLike(n int) []int16 {
	rng := rand.New(rand.NewPCG(8, 8))
	out := make([]int16, n)
	sign := 1.0
	var ph float64
	for i := range out {
		if i%5 == 0 {
			if i < 800 {
				sign = -sign
			} else {
				ph = float64(rng.IntN(8)) * math.Pi / 4
			}
		}
		out[i] = int16(6000 * sign * math.Cos(2*math.Pi*1800*float64(i)/8000+ph))
	}
	return out
}

func letter(e pump.Event) string {
	return map[pump.Event]string{pump.CarrierUp: "U", pump.TrainingSucceeded: "T", pump.TrainingFailed: "F", pump.CarrierDown: "D"}[e]
}

func TestBadRate(t *testing.T) {
	if _, err := NewTransmitter(4800, nil); err != ErrRate {
		t.Fatalf("tx 4800: %v", err)
	}
	if _, err := NewReceiver(2400, &sink{}); err != ErrRate {
		t.Fatalf("rx 2400: %v", err)
	}
}

func FuzzReceiver(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2}, uint8(0))
	line := modulate(f, 9600, randomBits(600, 1), 0)
	seed := make([]byte, 2*len(line))
	for i, s := range line {
		seed[2*i], seed[2*i+1] = byte(s), byte(s>>8)
	}
	f.Add(seed, uint8(1))
	f.Add(seed[:len(seed)/2], uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		rate := 7200
		if which&1 == 1 {
			rate = 9600
		}
		s := &strictSink{t: t}
		rx, err := NewReceiver(rate, s)
		if err != nil {
			t.Fatal(err)
		}
		samples := make([]int16, len(data)/2)
		for i := range samples {
			samples[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
		}
		rx.Receive(samples)
		rx.Reset()
		rx.Receive(samples)
	})
}

func BenchmarkReceiver9600(b *testing.B) { benchRx(b, 9600) }
func BenchmarkReceiver7200(b *testing.B) { benchRx(b, 7200) }

// benchRx: CPU per second of received signal (training plus data).
func benchRx(b *testing.B, rate int) {
	line := modulate(b, rate, randomBits(rate*10, 3), 0)
	b.ResetTimer()
	for range b.N {
		rx, _ := NewReceiver(rate, &sink{})
		rx.Receive(line)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(len(line))/8000)/1000, "µs/s-of-signal")
}

func BenchmarkTransmitter9600(b *testing.B) {
	buf := make([]int16, 8000)
	for range b.N {
		tx, _ := NewTransmitter(9600, func() int { return 1 })
		tx.Generate(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/s-of-signal")
}
