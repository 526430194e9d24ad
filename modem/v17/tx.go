package v17

import (
	"github.com/faxagent/faxagent/modem/internal/dsp"
	"github.com/faxagent/faxagent/modem/pump"
)

// TxLevel is the transmit power of the training, in dBm0 (SpanDSP's and
// most fax modems' level; the data constellations come within 0.3 dB).
const TxLevel = -14.0

// trainingPower is the mean power of the training points A, B, C and D.
const trainingPower = 40

// Transmitter is a V.17 modulator: training, data from a pump.BitSource,
// turn-off. It implements pump.Transmitter.
type Transmitter struct {
	m     mode
	short bool
	src   pump.BitSource
	scr   scrambler
	enc   trellisEncoder
	mod   *modulator

	stage   txStage
	count   int   // symbols sent in the current stage
	abcd    uint8 // current training point (segments 2 and 3)
	ended   bool  // the source returned EndOfData
	silence bool  // the carrier has ended: Generate returns 0
}

type txStage int

const (
	txSeg1 txStage = iota // ABAB
	txSeg2                // CDBA
	txSeg3                // bridge
	txSeg4                // trellis-coded scrambled ones
	txData
	txTurnOff // scrambled ones after the data
	txQuiet   // zero points while the pulse tail dies out
)

// NewTransmitter makes a V.17 transmitter at rate bit/s (14400, 12000,
// 9600 or 7200) sending the long training, or the short one if short is
// set (only valid after a long training to the same receiver in the same
// call, V.17 §7), then the bits of src, then the turn-off sequence.
func NewTransmitter(rate int, short bool, src pump.BitSource) (*Transmitter, error) {
	m, err := modeFor(rate)
	if err != nil {
		return nil, err
	}
	t := &Transmitter{
		m: m, short: short, src: src,
		scr: scrambler{reg: scramblerSeed},
		mod: newModulator(TxLevel, trainingPower), // the training points' power
	}
	if !short {
		// The differential encoder's start state; only the first data
		// symbol of segment 4 depends on it, and those are ones.
		t.enc.diff = 1
	}
	return t, nil
}

// SetLevel sets the transmit power of the training in dBm0 (default
// TxLevel). Call it before the first Generate.
func (t *Transmitter) SetLevel(dBm0 float64) { t.mod.setLevel(dBm0, trainingPower) }

// Generate implements pump.Transmitter.
func (t *Transmitter) Generate(out []int16) int {
	for i := range out {
		if t.silence {
			return i
		}
		if t.mod.due() {
			t.mod.push(t.nextPoint())
		}
		out[i] = dsp.Clip16(t.mod.sample())
	}
	return len(out)
}

// nextPoint returns the next symbol's point and advances the sequence.
func (t *Transmitter) nextPoint() complex128 {
	t.count++
	switch t.stage {
	case txSeg1:
		p := pointsABCD[(t.count-1)&1] // A first
		if t.count == seg1Len {
			t.next(txSeg2)
		}
		return p.complex()
	case txSeg2:
		b := t.scr.scramble(1) << 1
		b |= t.scr.scramble(1)
		t.abcd = cdbaPoint[b]
		n := seg2LongLen
		if t.short {
			n = seg2ShortLen
		}
		if t.count == n {
			if t.short {
				t.next(txSeg4)
			} else {
				t.next(txSeg3)
			}
		}
		return pointsABCD[t.abcd].complex()
	case txSeg3:
		shift := ((t.count - 1) & 7) << 1
		b := t.scr.scramble(bridgeWord>>shift&1) << 1
		b |= t.scr.scramble(bridgeWord >> (shift + 1) & 1)
		t.abcd = (t.abcd + bridgeStep[b]) & 3
		if t.count == seg3Len {
			t.next(txSeg4)
		}
		return pointsABCD[t.abcd].complex()
	case txSeg4:
		if t.count == seg4Len {
			t.next(txData)
		}
		return t.dataPoint(ones)
	case txData:
		p := t.dataPoint(t.src)
		if t.ended {
			t.next(txTurnOff)
		}
		return p
	case txTurnOff:
		if t.count == turnOffOnes {
			t.next(txQuiet)
		}
		return t.dataPoint(ones)
	default: // txQuiet
		if t.count >= turnOffQuiet {
			t.silence = true
		}
		return 0
	}
}

func (t *Transmitter) next(s txStage) { t.stage, t.count = s, 0 }

func ones() int { return 1 }

// dataPoint takes one symbol's bits from src (ones once it has ended),
// scrambles and codes them.
func (t *Transmitter) dataPoint(src pump.BitSource) complex128 {
	q := 0
	for i := 0; i < t.m.bits; i++ {
		b := 1
		if !t.ended {
			if b = src(); b == pump.EndOfData {
				t.ended, b = true, 1
			}
		}
		q |= (b & 1) << i
	}
	q = t.scr.scrambleWord(q, t.m.bits)
	return t.m.points[t.enc.encode(q)].complex()
}
