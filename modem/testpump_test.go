package modem

import (
	"github.com/faxagent/faxagent/modem/pump"
	"github.com/faxagent/faxagent/t30"
)

// testPump is a deliberately trivial data pump for the terminal's tests
// (not a modem): after 160 samples of alternating +-A and a sync of four
// +A, every sample carries two bits on four levels; the carrier ends with
// silence. It survives G.711 and echo, not noise or clock offset.
const tpA = 8000

type testTx struct {
	src   pump.BitSource
	n     int // samples sent
	ended bool
}

func (t *testTx) Generate(out []int16) int {
	for i := range out {
		switch {
		case t.n < 160:
			out[i] = tpA
			if t.n%2 == 1 {
				out[i] = -tpA
			}
		case t.n < 164:
			out[i] = tpA
		case !t.ended:
			b0 := t.src()
			if b0 == pump.EndOfData {
				t.ended = true
				return i
			}
			b1 := t.src()
			if b1 == pump.EndOfData {
				b1, t.ended = 0, true
			}
			out[i] = []int16{-tpA, -tpA / 3, tpA / 3, tpA}[b0|b1<<1]
		default:
			return i
		}
		t.n++
	}
	return len(out)
}

type testRx struct {
	sink    pump.BitSink
	alt     int // alternations seen
	last    int16
	pos     int // consecutive +A after the alternation
	up      bool
	trained bool
	quiet   int
}

func (r *testRx) Reset() { *r = testRx{sink: r.sink} }

func (r *testRx) Receive(in []int16) {
	for _, x := range in {
		if r.trained {
			if x > -tpA/6 && x < tpA/6 {
				if r.quiet++; r.quiet >= 8 {
					r.sink.Event(pump.CarrierDown)
					r.Reset()
				}
				continue
			}
			r.quiet = 0
			var lvl int
			switch {
			case x < -2*tpA/3:
				lvl = 0
			case x < 0:
				lvl = 1
			case x < 2*tpA/3:
				lvl = 2
			default:
				lvl = 3
			}
			r.sink.PutBit(lvl & 1)
			r.sink.PutBit(lvl >> 1)
			continue
		}
		big := x > tpA/2 || x < -tpA/2
		switch {
		case !big:
			if r.up {
				r.sink.Event(pump.CarrierDown)
			}
			r.alt, r.pos, r.up = 0, 0, false
		case r.alt >= 32 && x > 0 && r.last > 0 || r.pos > 0 && x > 0:
			r.pos++
			if r.pos == 3 { // with the one before: four +A
				r.trained = true
				r.sink.Event(pump.TrainingSucceeded)
			}
		case (x > 0) != (r.last > 0):
			r.pos = 0
			if r.alt++; r.alt == 32 {
				r.up = true
				r.sink.Event(pump.CarrierUp)
			}
		default:
			r.alt, r.pos = 0, 0
		}
		r.last = x
	}
}

// testPumps offers the test pump for every high-speed modulation.
func testPumps() Pumps {
	f := PumpFactory{
		NewTx: func(rate int, short bool, level float64, src pump.BitSource) (pump.Transmitter, error) {
			return &testTx{src: src}, nil
		},
		NewRx: func(rate int, short bool, sink pump.BitSink) (pump.Receiver, error) {
			return &testRx{sink: sink}, nil
		},
	}
	return Pumps{t30.V27ter: f, t30.V29: f, t30.V17: f}
}
