package modem

import (
	"github.com/faxagent/faxagent/modem/hdlc"
	"github.com/faxagent/faxagent/modem/pump"
	"github.com/faxagent/faxagent/modem/tone"
	"github.com/faxagent/faxagent/modem/v21"
	"github.com/faxagent/faxagent/t30"
)

// maxFrame is the longest HDLC frame taken: an ECM frame of 256 octets of
// data plus address, control, FCF and frame number.
const maxFrame = 260

// v21Flags is how many flags the V.21 deframer wants before it takes
// frames: noise rarely makes two flags in a row.
const v21Flags = 2

type receiver struct {
	t *Terminal

	tones *tone.Detector

	v21    *v21.Rx
	v21d   *hdlc.Deframer
	v21Up  bool // EventCarrierUp(V21) reported
	v21Car bool // the V.21 receiver sees a carrier

	hsSpeed t30.Speed
	hsShort bool
	hs      pump.Receiver
	// The last high-speed receiver, kept while V.21 or another speed is
	// on: V.17's short training needs the equaliser its long training
	// trained, so the same speed gets the same receiver back, Reset.
	idle      pump.Receiver
	idleSpeed t30.Speed
	hsd       *hdlc.Deframer
	hsUp      bool // trained: bits are flowing
	lead      bool // still in the ones that may end a training (not data)
	oct       byte
	nbits     int
	data      []byte // bytes of the current block

	silence []int16
}

var v21Speed = t30.Speed{Modem: t30.V21, Rate: 300}

func (r *receiver) init(t *Terminal) {
	r.t = t
	r.tones = tone.NewDetector(r.onTone)
	r.v21 = v21.NewRx(v21Sink{r})
	r.v21d = hdlc.NewDeframer(maxFrame, v21Flags, r.onV21Frame)
	r.hsd = hdlc.NewDeframer(maxFrame, 1, r.onHSFrame)
}

func (r *receiver) onTone(d tone.Detection) {
	r.t.stats.Tones++
	k := t30.ToneCNG
	if d.Kind == tone.CED {
		k = t30.ToneCED
	}
	r.t.emit(t30.Event{Kind: t30.EventTone, Tone: k})
}

// setHS chooses the high-speed receiver.
func (r *receiver) setHS(sp t30.Speed, short bool) {
	if sp.Modem == t30.V21 || sp.Modem == t30.ModemNone {
		r.dropHS()
		r.hsSpeed = t30.Speed{}
		return
	}
	if sp == r.hsSpeed && short == r.hsShort && r.hs != nil {
		return
	}
	r.dropHS()
	if sp == r.idleSpeed && r.idle != nil {
		r.idle.Reset()
		r.hs, r.hsSpeed, r.hsShort = r.idle, sp, short
		return
	}
	rx, err := r.t.cfg.Pumps.rx(sp, short, hsSink{r})
	if err != nil {
		r.t.log.Warn("modem rx: no pump", "speed", sp.String(), "err", err)
		r.hsSpeed = t30.Speed{}
		return
	}
	r.hs, r.hsSpeed, r.hsShort = rx, sp, short
}

func (r *receiver) dropHS() {
	if r.hsUp {
		r.hsDown()
	}
	if r.hs != nil {
		r.idle, r.idleSpeed = r.hs, r.hsSpeed
	}
	r.hs = nil
}

// receive runs the receivers over in. deaf: our own carrier (or its echo)
// is on the line, so the demodulators hear silence instead (until they
// have dropped any carrier, then nothing); ownTone: our tone is on the
// line, so the tone detector does not listen.
func (r *receiver) receive(in []int16, deaf, ownTone bool) {
	if deaf {
		if !r.v21Car && !r.hsUp {
			r.tones.Reset()
			return // nothing to end: save the demodulators' work
		}
		if cap(r.silence) < len(in) {
			r.silence = make([]int16, len(in))
		}
		in = r.silence[:len(in)]
	}
	switch {
	case ownTone || deaf:
		r.tones.Reset()
	case r.hsUp || r.v21Up:
		// A modem carrier is on the line, not a tone.
	default:
		r.tones.Receive(in)
	}
	// While a high-speed carrier is being received, V.21 is not
	// listened to (its events would be dropped anyway).
	if !r.hsUp {
		r.v21.Receive(in)
	}
	if r.hs != nil {
		r.hs.Receive(in)
	}
}

// flush reports the block's high-speed data.
func (r *receiver) flush() {
	if len(r.data) > 0 {
		r.t.stats.HSBytes += int64(len(r.data))
		r.t.emit(t30.Event{Kind: t30.EventData, Speed: r.hsSpeed, Data: r.data})
		r.data = r.data[:0]
	}
}

// --- V.21 ---

type v21Sink struct{ r *receiver }

func (s v21Sink) PutBit(b int) {
	s.r.v21d.PutBit(b)
	if !s.r.v21Up && s.r.v21d.Synced() {
		s.r.v21CarrierUp()
	}
}

func (s v21Sink) Event(e pump.Event) {
	r := s.r
	switch e {
	case pump.CarrierUp:
		r.v21Car = true
		r.v21d.Reset()
	case pump.CarrierDown:
		r.v21Car = false
		r.v21d.Reset()
		if r.v21Up {
			r.v21Up = false
			r.t.emit(t30.Event{Kind: t30.EventCarrierDown, Speed: v21Speed})
		}
	}
}

func (r *receiver) v21CarrierUp() {
	if r.hsUp {
		return // a high-speed carrier is being received: V.21 is noise
	}
	r.v21Up = true
	r.t.emit(t30.Event{Kind: t30.EventCarrierUp, Speed: v21Speed})
}

func (r *receiver) onV21Frame(f []byte, ok bool) {
	if !r.v21Up {
		r.v21CarrierUp()
		if !r.v21Up {
			return
		}
	}
	if ok {
		r.t.stats.V21Frames++
	} else {
		r.t.stats.V21BadFCS++
	}
	r.t.emit(t30.Event{Kind: t30.EventFrame, Speed: v21Speed, Frame: f, FCSOK: ok})
}

// --- high speed ---

type hsSink struct{ r *receiver }

func (s hsSink) PutBit(b int) {
	r := s.r
	if !r.hsUp {
		return
	}
	r.hsd.PutBit(b)
	if r.lead {
		// Ones between the training and the data (V.17's and V.29's
		// scrambled ones, a sender's idle) are not data: TCF starts with a
		// zero, a T.4 page with EOL's zeros.
		if b != 0 {
			return
		}
		r.lead = false
	}
	r.oct |= byte(b&1) << r.nbits
	if r.nbits++; r.nbits == 8 {
		r.data = append(r.data, r.oct)
		r.oct, r.nbits = 0, 0
	}
}

func (s hsSink) Event(e pump.Event) {
	r := s.r
	switch e {
	case pump.TrainingSucceeded:
		if r.hsUp {
			return
		}
		if r.v21Up { // V.21 lost to the high-speed carrier
			r.v21Up = false
			r.v21d.Reset()
			r.t.emit(t30.Event{Kind: t30.EventCarrierDown, Speed: v21Speed})
		}
		r.hsUp, r.lead = true, true
		r.oct, r.nbits = 0, 0
		r.hsd.Reset()
		r.t.emit(t30.Event{Kind: t30.EventCarrierUp, Speed: r.hsSpeed})
	case pump.TrainingFailed:
		r.t.stats.TrainingFailed++
		r.t.log.Debug("modem rx: training failed", "speed", r.hsSpeed.String())
	case pump.CarrierDown:
		if r.hsUp {
			r.hsDown()
		}
	}
}

func (r *receiver) hsDown() {
	r.flush()
	r.hsUp = false
	r.t.emit(t30.Event{Kind: t30.EventCarrierDown, Speed: r.hsSpeed})
}

func (r *receiver) onHSFrame(f []byte, ok bool) {
	if ok {
		r.t.stats.HSFrames++
	} else {
		r.t.stats.HSBadFCS++
	}
	r.t.emit(t30.Event{Kind: t30.EventFrame, Speed: r.hsSpeed, Frame: f, FCSOK: ok})
}
