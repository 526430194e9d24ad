package modem

import (
	"github.com/faxagent/faxagent/modem/hdlc"
	"github.com/faxagent/faxagent/modem/pump"
	"github.com/faxagent/faxagent/modem/tone"
	"github.com/faxagent/faxagent/modem/v21"
	"github.com/faxagent/faxagent/t30"
)

type segKind int

const (
	segSilence segKind = iota
	segTone
	segCarrier
)

// segment is one queued transmission: silence or a tone for n samples, or
// a carrier with its bits.
type segment struct {
	kind  segKind
	n     int
	tone  tone.Kind
	sp    t30.Speed
	short bool

	gen    *tone.Gen
	mod    pump.Transmitter
	framer hdlc.Framer
	frames bool     // frames were queued (HDLC carrier)
	data   [][]byte // non-ECM data still to send
	oct    byte
	nbits  int
	stop   bool // StopTx was called: end when everything is out
}

// bit is the carrier's BitSource.
func (s *segment) bit() int {
	if b := s.framer.Bit(); b != hdlc.NoBit {
		return b
	}
	if s.nbits == 0 && len(s.data) > 0 {
		d := s.data[0]
		s.oct = d[0]
		s.nbits = 8
		if len(d) == 1 {
			s.data[0] = nil
			s.data = s.data[1:]
		} else {
			s.data[0] = d[1:]
		}
	}
	if s.nbits > 0 {
		b := int(s.oct & 1)
		s.oct >>= 1
		s.nbits--
		return b
	}
	if s.stop {
		return pump.EndOfData
	}
	// Underrun: idle flags on an HDLC carrier, fill zeros otherwise.
	if s.frames || s.sp.Modem == t30.V21 {
		s.framer.Flags(1)
		return s.framer.Bit()
	}
	return 0
}

type transmitter struct {
	t    *Terminal
	q    []*segment
	last *segment // the carrier StartTx opened, until StopTx
}

func (x *transmitter) init(t *Terminal) { x.t = t }

func (x *transmitter) reset() { x.q, x.last = nil, nil }

func (x *transmitter) startCarrier(sp t30.Speed, short bool) {
	s := &segment{kind: segCarrier, sp: sp, short: short}
	if sp.Modem == t30.V21 {
		s.framer.Flags(v21Preamble)
	}
	x.q = append(x.q, s)
	x.last = s
}

func (x *transmitter) frame(f []byte) error {
	s := x.last
	if s == nil {
		return t30.ErrNoCarrier
	}
	if !s.frames && s.sp.Modem != t30.V21 {
		// ECM: flags between the training and the first frame (200 ms).
		s.framer.Flags(max(2, s.sp.Rate/8/5))
	}
	s.frames = true
	s.framer.Frame(append([]byte(nil), f...))
	return nil
}

func (x *transmitter) data(p []byte) error {
	s := x.last
	if s == nil || s.sp.Modem == t30.V21 {
		return t30.ErrNoCarrier
	}
	if len(p) > 0 {
		s.data = append(s.data, append([]byte(nil), p...))
	}
	return nil
}

func (x *transmitter) stop() error {
	s := x.last
	if s == nil {
		return t30.ErrNoCarrier
	}
	if s.frames {
		s.framer.Flags(2) // a little idle after the closing flag
	}
	s.stop = true
	x.last = nil
	return nil
}

func (x *transmitter) tone(k t30.Tone, n int) {
	s := &segment{kind: segSilence, n: n}
	if tk := toneKind(k); tk != tone.None {
		s.kind, s.tone = segTone, tk
		s.gen = tone.NewGen(tk, x.t.cfg.Level, false)
	}
	x.q = append(x.q, s)
}

// What a block carried, for the receivers' muting.
const (
	sentNothing = iota
	sentTone
	sentCarrier
)

// generate fills out up to the end of the first transmission that
// finishes in it (reported with EventTxDone, so that the engine can queue
// what follows at the exact sample), or all of it; it returns how many
// samples it wrote and what they carried.
func (x *transmitter) generate(out []int16) (int, int) {
	sent := sentNothing
	i := 0
	for i < len(out) {
		if len(x.q) == 0 {
			clear(out[i:])
			return len(out), sent
		}
		s := x.q[0]
		switch s.kind {
		case segSilence, segTone:
			n := min(s.n, len(out)-i)
			if s.kind == segTone {
				s.gen.Generate(out[i : i+n])
				sent = max(sent, sentTone)
			} else {
				clear(out[i : i+n])
			}
			i += n
			s.n -= n
			if s.n > 0 {
				continue
			}
			x.done(t30.Speed{})
			return i, sent
		case segCarrier:
			if s.mod == nil && !x.startMod(s) {
				x.done(s.sp)
				return i, sent
			}
			sent = sentCarrier
			n := s.mod.Generate(out[i:])
			i += n
			if i == len(out) {
				continue
			}
			x.done(s.sp)
			return i, sent
		}
	}
	return i, sent
}

func (x *transmitter) startMod(s *segment) bool {
	if s.sp.Modem == t30.V21 {
		s.mod = v21.NewTx(x.t.cfg.Level, s.bit)
		return true
	}
	m, err := x.t.cfg.Pumps.tx(s.sp, s.short, x.t.cfg.Level, s.bit)
	if err != nil {
		x.t.log.Warn("modem tx: no pump", "speed", s.sp.String(), "err", err)
		return false
	}
	s.mod = m
	return true
}

// done ends the head segment.
func (x *transmitter) done(sp t30.Speed) {
	if x.last == x.q[0] {
		x.last = nil // the carrier ended by itself
	}
	x.q[0] = nil
	x.q = x.q[1:]
	x.t.emit(t30.Event{Kind: t30.EventTxDone, Speed: sp})
}
