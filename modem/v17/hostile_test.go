package v17

import (
	"math"
	"testing"

	"github.com/faxagent/faxagent/modem/internal/pumptest"
	"github.com/faxagent/faxagent/modem/pump"
	"github.com/faxagent/faxagent/modem/tone"
	"github.com/faxagent/faxagent/modem/v21"
	"github.com/faxagent/faxagent/modem/v27ter"
	"github.com/faxagent/faxagent/modem/v29"
)

// generate runs a pump transmitter to the end (or n samples).
func generate(tx pump.Transmitter, n int) []int16 {
	out := make([]int16, n)
	return out[:tx.Generate(out)]
}

func sineWave(n int, hz, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return out
}

// Hostile input: silence, noise, tones, other modems, truncated V.17
// trainings and V.17 at another rate give TrainingFailed or nothing, and
// never a bit.
func TestHostileInputGivesNoBits(t *testing.T) {
	long := ourTx(t, 14400, []burst{{bits: randomBits(5, 14400)}}, 0)
	v29tx, err := v29.NewTransmitter(9600, sliceSource(randomBits(6, 3*9600)))
	if err != nil {
		t.Fatal(err)
	}
	v27tx, err := v27ter.NewTransmitter(4800, sliceSource(randomBits(7, 3*4800)))
	if err != nil {
		t.Fatal(err)
	}
	ced := make([]int16, 24000)
	tone.NewGen(tone.CED, -12, true).Generate(ced)
	for _, tc := range []struct {
		name string
		rate int
		line []int16
	}{
		{"silence", 14400, make([]int16, 40000)},
		{"noise -20dBm0", 14400, pumptest.Noise(80000, -20, 1)},
		{"noise -60dBm0", 9600, pumptest.Noise(40000, -60, 2)},
		{"1800 Hz", 14400, sineWave(24000, 1800, 5000)},
		{"CED with reversals", 9600, ced},
		{"V.21", 14400, generate(v21.NewTx(-12, sliceSource(randomBits(8, 900))), 8000*4)},
		{"V.29 9600", 9600, generate(v29tx, 8000*5)},
		{"V.27ter 4800", 7200, generate(v27tx, 8000*5)},
		{"V.17 14400 to a 7200 receiver", 7200, long},
		{"V.17 14400 to a 12000 receiver", 12000, long},
		{"V.17 cut in segment 1", 14400, long[:600]},
		{"V.17 cut in segment 2", 14400, long[:5000]},
		{"V.17 cut in segment 4", 14400, long[:(seg1Len+seg2LongLen+seg3Len+20)*10/3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &pumptest.Strict{T: t}
			rx, err := NewReceiver(tc.rate, sink)
			if err != nil {
				t.Fatal(err)
			}
			line := append(append([]int16{}, tc.line...), make([]int16, 4000)...)
			for i := 0; i < len(line); i += 160 {
				rx.Receive(line[i:min(i+160, len(line))])
			}
			for _, e := range sink.Events {
				if e == pump.TrainingSucceeded {
					t.Fatalf("trained on it: events %v", sink.Events)
				}
			}
			if sink.Bits != 0 {
				t.Fatalf("%d bits", sink.Bits)
			}
			if n := len(sink.Events); n > 0 && (sink.Events[0] != pump.CarrierUp || sink.Events[n-1] != pump.CarrierDown) {
				t.Errorf("events %v: want carrier-up first and carrier-down last", sink.Events)
			}
			t.Logf("events %v", sink.Events)
		})
	}
}

// FuzzReceiver: any samples, at any rate, never panic and never give a bit
// outside a trained carrier.
func FuzzReceiver(f *testing.F) {
	sig := ourTx(f, 9600, []burst{{bits: randomBits(9, 2000)}}, 200)
	seed := make([]byte, 2*len(sig))
	for i, s := range sig {
		seed[2*i], seed[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	f.Add(seed, uint8(2))
	f.Add(seed[:4000], uint8(0))
	f.Add(make([]byte, 3000), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, r uint8) {
		if len(data) > 1<<17 {
			return
		}
		rate := rates[int(r)%len(rates)]
		sink := &pumptest.Strict{T: t}
		rx, err := NewReceiver(rate, sink)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]int16, len(data)/2)
		for i := range in {
			in[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
		}
		rx.Receive(in)
		rx.Reset()
		rx.Receive(in)
	})
}
