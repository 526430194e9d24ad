package v29

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/faxagent/faxagent/modem/v17"
	"github.com/faxagent/faxagent/modem/v27ter"

	"github.com/faxagent/faxagent/modem/internal/pumptest"
	"github.com/faxagent/faxagent/modem/pump"
)

func TestHostileInputGivesNoBits(t *testing.T) {
	good9600 := modulate(t, 9600, pumptest.RandomBits(4000, 9), 0)
	good7200 := modulate(t, 7200, pumptest.RandomBits(4000, 9), 0)
	v27 := v27terLike(40000)
	ufd := []pump.Event{pump.CarrierUp, pump.TrainingFailed, pump.CarrierDown}
	for _, tc := range []struct {
		name  string
		rate  int
		line  []int16
		allow []pump.Event // events that may appear
	}{
		{"silence", 9600, make([]int16, 40000), nil},
		{"noise -20dBm0", 9600, pumptest.Noise(80000, -20, 1), ufd},
		{"noise -20dBm0 at 7200", 7200, pumptest.Noise(80000, -20, 5), ufd},
		{"noise -50dBm0", 7200, pumptest.Noise(40000, -50, 2), nil},
		{"V.21", 9600, pumptest.FSK(40000, 3), ufd},
		{"V.21 at 7200", 7200, pumptest.FSK(40000, 4), ufd},
		{"7200 signal to 9600 receiver", 9600, good7200, ufd},
		{"V.27 ter 4800 signal", 9600, otherModem(t, 4800), ufd},
		{"V.27 ter 2400 signal at 7200", 7200, otherModem(t, 2400), ufd},
		{"V.17 9600 long training", 9600, v17Signal(t, 9600, false), ufd},
		{"V.17 7200 short training", 7200, v17Signal(t, 7200, true), ufd},
		{"V.17 14400", 9600, v17Signal(t, 14400, false), ufd},
		{"V.27ter-like reversals at 1600 baud", 9600, v27, ufd},
		{"truncated in segment 3", 9600, good9600[:(seg1Len+seg2Len+200)*10/3], ufd},
		{"truncated in segment 2", 7200, good7200[:(seg1Len+100)*10/3], ufd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pumptest.NoBits(t, newRx(tc.rate), tc.line, tc.allow...)
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

func TestBadRate(t *testing.T) {
	if _, err := NewTransmitter(4800, nil); err != ErrRate {
		t.Fatalf("tx 4800: %v", err)
	}
	if _, err := NewReceiver(2400, pumptest.Null{}); err != ErrRate {
		t.Fatalf("rx 2400: %v", err)
	}
}

func FuzzReceiver(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2}, uint8(0))
	line := modulate(f, 9600, pumptest.RandomBits(600, 1), 0)
	seed := pumptest.Bytes(line)
	f.Add(seed, uint8(1))
	f.Add(seed[:len(seed)/2], uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		rate := 7200
		if which&1 == 1 {
			rate = 9600
		}
		pumptest.FuzzReceive(t, newRx(rate), data)
	})
}

func BenchmarkReceiver9600(b *testing.B) { benchRx(b, 9600) }
func BenchmarkReceiver7200(b *testing.B) { benchRx(b, 7200) }

func benchRx(b *testing.B, rate int) {
	pumptest.BenchReceive(b, newRx(rate), modulate(b, rate, pumptest.RandomBits(rate*10, 3), 0))
}

func BenchmarkTransmitter9600(b *testing.B) {
	pumptest.BenchTransmit(b, func(src pump.BitSource) (pump.Transmitter, error) { return NewTransmitter(9600, src) })
}

// newRx builds receivers at rate for pumptest.
func newRx(rate int) func(pump.BitSink) (pump.Receiver, error) {
	return func(s pump.BitSink) (pump.Receiver, error) { return NewReceiver(rate, s) }
}

// otherModem is a V.27 ter signal at rate carrying random bits.
func otherModem(t *testing.T, rate int) []int16 {
	tx, err := v27ter.NewTransmitter(rate, pumptest.Source(pumptest.RandomBits(10000, 5)))
	if err != nil {
		t.Fatal(err)
	}
	return pumptest.Transmit(t, tx, 0, 10*pump.SampleRate)
}

// v17Signal is a V.17 signal (1800 Hz, 2400 baud, like V.29's baud) at
// rate carrying random bits.
func v17Signal(t *testing.T, rate int, short bool) []int16 {
	tx, err := v17.NewTransmitter(rate, short, pumptest.Source(pumptest.RandomBits(20000, 6)))
	if err != nil {
		t.Fatal(err)
	}
	return pumptest.Transmit(t, tx, 0, 10*pump.SampleRate)
}
