// Package pumptest holds what the data pumps' tests share: sinks that
// record or police what a receiver reports, random bits, hostile signals
// (noise, V.21-like FSK), and helpers that run a transmitter to its end or
// feed a receiver in blocks.
//
// Only tests import it. It imports modem/pump and the standard library.
package pumptest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/faxagent/faxagent/modem/pump"
)

// Recorder is a pump.BitSink that keeps everything.
type Recorder struct {
	Bits   []int
	Events []pump.Event
}

// PutBit implements pump.BitSink.
func (s *Recorder) PutBit(b int) { s.Bits = append(s.Bits, b) }

// Event implements pump.BitSink.
func (s *Recorder) Event(e pump.Event) { s.Events = append(s.Events, e) }

// Strict is a pump.BitSink that fails the test on a bit outside
// TrainingSucceeded..CarrierDown or a bit that is not 0 or 1.
type Strict struct {
	T       testing.TB
	trained bool
	Bits    int
	Events  []pump.Event
}

// PutBit implements pump.BitSink.
func (s *Strict) PutBit(b int) {
	if !s.trained {
		s.T.Fatalf("bit %d outside a trained carrier (events %v)", b, s.Events)
	}
	if b != 0 && b != 1 {
		s.T.Fatalf("bit value %d", b)
	}
	s.Bits++
}

// Event implements pump.BitSink.
func (s *Strict) Event(e pump.Event) {
	s.Events = append(s.Events, e)
	s.trained = e == pump.TrainingSucceeded
}

// Null is a pump.BitSink that drops everything (for benchmarks).
type Null struct{}

// PutBit implements pump.BitSink.
func (Null) PutBit(int) {}

// Event implements pump.BitSink.
func (Null) Event(pump.Event) {}

// RandomBits returns n random bits from seed.
func RandomBits(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]int, n)
	for i := range b {
		b[i] = rng.IntN(2)
	}
	return b
}

// Source returns a pump.BitSource that gives bits and then EndOfData.
func Source(bits []int) pump.BitSource {
	i := 0
	return func() int {
		if i == len(bits) {
			return pump.EndOfData
		}
		i++
		return bits[i-1]
	}
}

// Transmit runs tx until its carrier ends, 160 samples a call, and returns
// lead samples of silence, the signal and 800 samples of silence. It fails
// the test if the carrier does not end within max samples or Generate
// returns samples after the end.
func Transmit(t testing.TB, tx pump.Transmitter, lead, max int) []int16 {
	t.Helper()
	out := make([]int16, lead)
	buf := make([]int16, 160)
	for {
		n := tx.Generate(buf)
		out = append(out, buf[:n]...)
		if n < len(buf) {
			break
		}
		if len(out) > max {
			t.Fatal("transmitter never ended")
		}
	}
	if tx.Generate(buf) != 0 {
		t.Fatal("Generate after the end returned samples")
	}
	return append(out, make([]int16, 800)...)
}

// Feed gives rx the samples 160 at a time.
func Feed(rx pump.Receiver, samples []int16) {
	for len(samples) > 0 {
		n := min(len(samples), 160)
		rx.Receive(samples[:n])
		samples = samples[n:]
	}
}

// CheckBits fails the test unless the events are exactly carrier up,
// training succeeded, carrier down and the bits begin with want.
func CheckBits(t testing.TB, s *Recorder, want []int) {
	t.Helper()
	if !slices.Equal(s.Events, []pump.Event{pump.CarrierUp, pump.TrainingSucceeded, pump.CarrierDown}) {
		t.Fatalf("events %v", s.Events)
	}
	if len(s.Bits) < len(want) {
		t.Fatalf("got %d bits, want at least %d", len(s.Bits), len(want))
	}
	var errs []int
	for i := range want {
		if s.Bits[i] != want[i] {
			errs = append(errs, i)
		}
	}
	if len(errs) > 0 {
		t.Fatalf("%d bit errors in %d, first at %v", len(errs), len(want), errs[:min(len(errs), 20)])
	}
}

// Noise is n samples of white Gaussian noise at dBm0.
func Noise(n int, dBm0 float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	sigma := math.Sqrt(2*math.Pow(10, (dBm0-3.14)/10)) * 32768 / 2
	out := make([]int16, n)
	for i := range out {
		out[i] = clip(rng.NormFloat64() * sigma)
	}
	return out
}

// FSK is n samples of V.21 channel 2 FSK (1650 Hz mark, 1850 Hz space,
// 300 bit/s) of random bits at about -14 dBm0.
func FSK(n int, seed uint64) []int16 {
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

// Impair scales x by gain and resamples it for a clock offset of ppm
// (cubic interpolation).
func Impair(x []int16, gain, ppm float64) []int16 {
	ratio := 1 + ppm*1e-6
	var out []int16
	for t := 1.0; t < float64(len(x)-3); t += ratio {
		i := int(t)
		f := t - float64(i)
		p0, p1, p2, p3 := float64(x[i-1]), float64(x[i]), float64(x[i+1]), float64(x[i+2])
		out = append(out, clip(gain*(p1+0.5*f*(p2-p0+f*(2*p0-5*p1+4*p2-p3+f*(3*(p1-p2)+p3-p0))))))
	}
	return out
}

// Samples turns little-endian bytes into samples (for fuzz targets).
func Samples(data []byte) []int16 {
	s := make([]int16, len(data)/2)
	for i := range s {
		s[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
	}
	return s
}

// Bytes turns samples into little-endian bytes (for fuzz seeds).
func Bytes(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		b[2*i], b[2*i+1] = byte(v), byte(v>>8)
	}
	return b
}

// HasOnly reports whether every event is one of allowed.
func HasOnly(events []pump.Event, allowed ...pump.Event) bool {
	for _, e := range events {
		if !slices.Contains(allowed, e) {
			return false
		}
	}
	return true
}

func clip(v float64) int16 {
	return int16(max(-32768, min(32767, math.Round(v))))
}

// NoBits feeds line (and 2000 samples of silence) to the receiver newRx
// builds and fails the test on any bit, on TrainingSucceeded, or on an
// event not in allow.
func NoBits(t *testing.T, newRx func(pump.BitSink) (pump.Receiver, error), line []int16, allow ...pump.Event) {
	t.Helper()
	s := &Strict{T: t}
	rx, err := newRx(s)
	if err != nil {
		t.Fatal(err)
	}
	Feed(rx, append(line, make([]int16, 2000)...))
	if !HasOnly(s.Events, allow...) || slices.Contains(s.Events, pump.TrainingSucceeded) {
		t.Fatalf("events %v", s.Events)
	}
	if s.Bits != 0 {
		t.Fatalf("%d bits", s.Bits)
	}
}

// FuzzReceive is the body of a receiver's fuzz target: data as samples,
// twice with a Reset between, under a Strict sink.
func FuzzReceive(t *testing.T, newRx func(pump.BitSink) (pump.Receiver, error), data []byte) {
	s := &Strict{T: t}
	rx, err := newRx(s)
	if err != nil {
		t.Fatal(err)
	}
	samples := Samples(data)
	rx.Receive(samples)
	rx.Reset()
	s.Event(pump.CarrierDown) // no bits until the next TrainingSucceeded
	rx.Receive(samples)
}

// BenchReceive reports the CPU a receiver needs per second of line:
// b.N receivers from newRx each take line.
func BenchReceive(b *testing.B, newRx func(pump.BitSink) (pump.Receiver, error), line []int16) {
	ReportCPU(b, float64(len(line))/pump.SampleRate, "cpu-µs/s-of-signal", func() {
		rx, err := newRx(Null{})
		if err != nil {
			b.Fatal(err)
		}
		rx.Receive(line)
	})
}

// BenchTransmit reports what a transmitter from newTx needs to make one
// second of signal (construction included).
func BenchTransmit(b *testing.B, newTx func(pump.BitSource) (pump.Transmitter, error)) {
	buf := make([]int16, pump.SampleRate)
	ReportCPU(b, 1, "cpu-µs/s-of-signal", func() {
		tx, err := newTx(func() int { return 1 })
		if err != nil {
			b.Fatal(err)
		}
		tx.Generate(buf)
	})
}

// Shift moves every frequency in x up by hz (down if negative), as a
// carrier offset on an analogue channel would: the analytic signal from a
// Hilbert transformer (windowed, 63 taps) is turned by e^{j 2 pi hz t}.
func Shift(x []int16, hz float64) []int16 {
	const taps = 63
	var h [taps]float64
	for i := range h {
		k := i - taps/2
		if k%2 != 0 {
			w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/(taps-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/(taps-1))
			h[i] = 2 / (math.Pi * float64(k)) * w
		}
	}
	out := make([]int16, len(x))
	for n := range x {
		var q float64
		for i, c := range h {
			if j := n - i; j >= 0 && j < len(x) && c != 0 {
				q += c * float64(x[j])
			}
		}
		var re float64
		if j := n - taps/2; j >= 0 {
			re = float64(x[j])
		}
		s, c := math.Sincos(2 * math.Pi * hz * float64(n) / 8000)
		out[n] = clip(re*c - q*s)
	}
	return out
}
