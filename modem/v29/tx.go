package v29

import (
	"math"

	"github.com/faxagent/faxagent/modem/internal/dsp"
	"github.com/faxagent/faxagent/modem/pump"
)

// Transmitter is a V.29 modulator. It sends the training sequence, then
// the source's bits, then (once the source returns pump.EndOfData) the
// turn-off, and stops.
type Transmitter struct {
	rate int
	data dsp.DataBits
	mod  *dsp.Modulator
	scr  scrambler
	gen  trainGen

	sym   int
	phase int // absolute phase, 45 degree units
	off   dsp.Turnoff
	done  bool
	next  func() int
	// indexes in the constellation of the training points A, B, C, D
	ia, ib, ic, id int
}

// NewTransmitter makes a transmitter at rate (7200 or 9600) that takes its
// data from src.
func NewTransmitter(rate int, src pump.BitSource) (*Transmitter, error) {
	if rate != 7200 && rate != 9600 {
		return nil, ErrRate
	}
	t := &Transmitter{rate: rate, data: dsp.DataBits{Src: src}}
	t.SetLevel(TxLevel)
	t.ia, t.ib = indexOf(trainA(rate)), indexOf(trainB(rate))
	t.ic, t.id = indexOf(trainC(rate)), indexOf(trainD(rate))
	t.next = t.symbol
	t.sym, t.phase = 0, 0
	t.gen = trainGen{reg: trainInit}
	t.off = dsp.NewTurnoff(turnOffLen, txSpan/2+1)
	return t, nil
}

// SetLevel sets the transmit power in dBm0 (default TxLevel). Call it
// before the first Generate.
func (t *Transmitter) SetLevel(dBm0 float64) {
	gain := math.Sqrt(2 * dsp.PowerOfDBm0(dBm0) / meanPower(t.rate))
	t.mod = dsp.NewModulator(pump.SampleRate, baud, carrierHz, txBeta, txSpan, gain, constellation())
}

// Generate implements pump.Transmitter.
func (t *Transmitter) Generate(out []int16) int { return t.mod.Fill(out, t.next, &t.done) }

const (
	seg2End = seg1Len + seg2Len
	seg3End = seg2End + seg3Len
	seg4End = seg3End + seg4Len
)

// symbol returns the next symbol to send as its index in constellation(),
// or -1 for silence.
func (t *Transmitter) symbol() int {
	t.sym++
	switch {
	case t.sym <= seg1Len:
		return -1
	case t.sym <= seg2End:
		// B first, then A, alternating.
		if (t.sym-seg1Len)&1 == 1 {
			return t.ib
		}
		return t.ia
	case t.sym <= seg3End:
		if t.gen.next() == 0 {
			return t.ic
		}
		return t.id
	case t.sym <= seg4End:
		return t.dataSymbol(dsp.Ones)
	}
	if t.data.Ended {
		return t.off.Symbol(t.onesSymbol, &t.done)
	}
	return t.dataSymbol(t.data.Next)
}

func (t *Transmitter) dataSymbol(bit func() int) int {
	q1 := 0
	if t.rate == 9600 {
		q1 = t.scr.scramble(bit())
	}
	v := t.scr.scramble(bit())<<2 | t.scr.scramble(bit())<<1 | t.scr.scramble(bit())
	t.phase = (t.phase + phaseStep[v]) & 7
	return index(t.phase, q1)
}

func (t *Transmitter) onesSymbol() int { return t.dataSymbol(dsp.Ones) }
