package v27ter

import (
	"math"

	"github.com/faxagent/faxagent/modem/internal/dsp"
	"github.com/faxagent/faxagent/modem/pump"
)

// TxLevel is the transmit power, in dBm0 (SpanDSP's and most fax
// modems' default).
const TxLevel = -14.0

// txBeta is the transmit filter's roll-off: V.27 ter shapes with 50 %
// raised cosine split between transmitter and receiver.
const txBeta = 0.5

const txSpan = 8 // pulse length, symbols

// Transmitter is a V.27 ter modulator. It sends the training sequence,
// then the source's bits, then (once the source returns pump.EndOfData)
// the turn-off, and stops.
type Transmitter struct {
	rate  int
	data  dsp.DataBits
	mod   *dsp.Modulator
	scr   scrambler
	short bool

	sym     int // symbols sent since the start
	seg3End int // symbol counts at which each segment ends
	seg4End int
	seg5End int
	phase   int // absolute phase, 45 degree units
	off     dsp.Turnoff
	done    bool
	next    func() int
}

// NewTransmitter makes a transmitter at rate (2400 or 4800) that takes
// its data from src, with the long training.
func NewTransmitter(rate int, src pump.BitSource) (*Transmitter, error) {
	if rate != 2400 && rate != 4800 {
		return nil, ErrRate
	}
	t := &Transmitter{rate: rate, data: dsp.DataBits{Src: src}}
	t.SetLevel(TxLevel)
	t.next = t.symbol
	t.restart()
	return t, nil
}

// SetLevel sets the transmit power in dBm0 (default TxLevel). Call it
// before the first Generate.
func (t *Transmitter) SetLevel(dBm0 float64) {
	// Unit-magnitude points: passband power is gain^2/2.
	gain := math.Sqrt(2 * dsp.PowerOfDBm0(dBm0))
	t.mod = dsp.NewModulator(pump.SampleRate, baudOf(t.rate), carrierHz, txBeta, txSpan, gain, unitPoints[:])
}

// SetShortTraining selects the short training sequence (segments 3 and 4
// of 14 and 58 symbols) for a receiver already trained on this modem.
// Call it before the first Generate.
func (t *Transmitter) SetShortTraining(short bool) {
	t.short = short
	t.restart()
}

func (t *Transmitter) restart() {
	s3, s4 := seg3Len, seg4Len
	if t.short {
		s3, s4 = seg3LenShort, seg4LenShort
	}
	t.seg3End = seg2Len + s3
	t.seg4End = t.seg3End + s4
	t.seg5End = t.seg4End + seg5Len
	t.sym, t.phase = 0, 0
	t.scr = scrambler{reg: scrInit}
	t.data.Ended, t.done = false, false
	t.off = dsp.NewTurnoff(turnOffLen, txSpan/2+1)
	t.mod.Reset()
}

// Generate implements pump.Transmitter.
func (t *Transmitter) Generate(out []int16) int { return t.mod.Fill(out, t.next, &t.done) }

// point is the unit-magnitude constellation point at a phase in 45 degree
// units.
func point(phase int) complex128 { return unitPoints[phase&7] }

const r2 = 0.70710678118654752440 // 1/sqrt(2)

// unitPoints[p] is e^{j p pi/4}.
var unitPoints = [8]complex128{1, complex(r2, r2), 1i, complex(-r2, r2), -1, complex(-r2, -r2), -1i, complex(r2, -r2)}

// symbol returns the next symbol to send: its phase (the index of its
// point in unitPoints), or -1 for silence.
func (t *Transmitter) symbol() int {
	t.sym++
	switch {
	case t.sym <= seg2Len:
		return -1
	case t.sym <= t.seg3End:
		t.phase = (t.phase + 4) & 7
		return t.phase
	case t.sym <= t.seg4End:
		// Every third scrambler bit (scrambling ones) picks 0 or 180.
		b := t.scr.scramble(1)
		t.scr.scramble(1)
		t.scr.scramble(1)
		t.phase = (t.phase + 4*b) & 7
		return t.phase
	case t.sym <= t.seg5End:
		return t.dataSymbol(dsp.Ones)
	}
	if t.data.Ended {
		return t.off.Symbol(t.onesSymbol, &t.done)
	}
	return t.dataSymbol(t.data.Next)
}

func (t *Transmitter) dataSymbol(bit func() int) int {
	if t.rate == 4800 {
		v := t.scr.scramble(bit())<<2 | t.scr.scramble(bit())<<1 | t.scr.scramble(bit())
		t.phase = (t.phase + phaseStep4800[v]) & 7
	} else {
		v := t.scr.scramble(bit())<<1 | t.scr.scramble(bit())
		t.phase = (t.phase + phaseStep2400[v]) & 7
	}
	return t.phase
}

func (t *Transmitter) onesSymbol() int { return t.dataSymbol(dsp.Ones) }
