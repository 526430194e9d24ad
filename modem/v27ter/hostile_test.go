package v27ter

import (
	"testing"

	"github.com/faxagent/faxagent/modem/v29"

	"github.com/faxagent/faxagent/modem/internal/pumptest"
	"github.com/faxagent/faxagent/modem/pump"
)

func TestHostileInputGivesNoBits(t *testing.T) {
	good4800 := modulate(t, 4800, pumptest.RandomBits(4000, 9), 0)
	good2400 := modulate(t, 2400, pumptest.RandomBits(4000, 9), 0)
	ufd := []pump.Event{pump.CarrierUp, pump.TrainingFailed, pump.CarrierDown}
	for _, tc := range []struct {
		name  string
		rate  int
		line  []int16
		allow []pump.Event // events that may appear
	}{
		{"silence", 4800, make([]int16, 40000), nil},
		{"noise -20dBm0", 4800, pumptest.Noise(80000, -20, 1), ufd},
		{"noise -50dBm0", 2400, pumptest.Noise(40000, -50, 2), nil},
		{"V.21", 4800, pumptest.FSK(40000, 3), ufd},
		{"V.21 at 2400", 2400, pumptest.FSK(40000, 4), ufd},
		{"2400 signal to 4800 receiver", 4800, good2400, ufd},
		{"V.29 9600 signal", 4800, otherModem(t, 9600), ufd},
		{"V.29 7200 signal at 2400", 2400, otherModem(t, 7200), ufd},
		{"4800 signal to 2400 receiver", 2400, good4800, ufd},
		{"short training (not accepted)", 4800, shortTraining(t), []pump.Event{pump.CarrierUp, pump.CarrierDown}},
		{"truncated in segment 4", 4800, good4800[:(seg2Len+seg3Len+300)*5], ufd},
		{"truncated in segment 3", 2400, good2400[:(seg2Len+30)*20/3], ufd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pumptest.NoBits(t, newRx(tc.rate), tc.line, tc.allow...)
		})
	}
}

// TestShortTrainingTransmitter: the short sequence is 14 + 58 symbols of
// segments 3 and 4 instead of 50 + 1074.
func TestShortTrainingTransmitter(t *testing.T) {
	tx, _ := NewTransmitter(4800, func() int { return pump.EndOfData })
	tx.SetShortTraining(true)
	buf := make([]int16, 100000)
	n := tx.Generate(buf)
	want := (seg2Len + seg3LenShort + seg4LenShort + seg5Len + turnOffLen + txSpan/2 + 1) * 5
	if n < want-5 || n > want+5 {
		t.Fatalf("%d samples, want about %d", n, want)
	}
}

func TestBadRate(t *testing.T) {
	if _, err := NewTransmitter(9600, nil); err != ErrRate {
		t.Fatalf("tx 9600: %v", err)
	}
	if _, err := NewReceiver(7200, pumptest.Null{}); err != ErrRate {
		t.Fatalf("rx 7200: %v", err)
	}
}

func FuzzReceiver(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2}, uint8(0))
	line := modulate(f, 4800, pumptest.RandomBits(300, 1), 0)
	seed := pumptest.Bytes(line)
	f.Add(seed, uint8(1))
	f.Add(seed[:len(seed)/2], uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		rate := 2400
		if which&1 == 1 {
			rate = 4800
		}
		pumptest.FuzzReceive(t, newRx(rate), data)
	})
}

func BenchmarkReceiver4800(b *testing.B) { benchRx(b, 4800) }
func BenchmarkReceiver2400(b *testing.B) { benchRx(b, 2400) }

func benchRx(b *testing.B, rate int) {
	pumptest.BenchReceive(b, newRx(rate), modulate(b, rate, pumptest.RandomBits(rate*10, 3), 0))
}

func BenchmarkTransmitter4800(b *testing.B) {
	pumptest.BenchTransmit(b, func(src pump.BitSource) (pump.Transmitter, error) { return NewTransmitter(4800, src) })
}

// newRx builds receivers at rate for pumptest.
func newRx(rate int) func(pump.BitSink) (pump.Receiver, error) {
	return func(s pump.BitSink) (pump.Receiver, error) { return NewReceiver(rate, s) }
}

// otherModem is a V.29 signal at rate carrying random bits.
func otherModem(t *testing.T, rate int) []int16 {
	tx, err := v29.NewTransmitter(rate, pumptest.Source(pumptest.RandomBits(20000, 5)))
	if err != nil {
		t.Fatal(err)
	}
	return pumptest.Transmit(t, tx, 0, 10*pump.SampleRate)
}

// shortTraining is a 4800 bit/s signal with the short training.
func shortTraining(t *testing.T) []int16 {
	tx, err := NewTransmitter(4800, pumptest.Source(pumptest.RandomBits(4000, 8)))
	if err != nil {
		t.Fatal(err)
	}
	tx.SetShortTraining(true)
	return pumptest.Transmit(t, tx, 0, 10*pump.SampleRate)
}
