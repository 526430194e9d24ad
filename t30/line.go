package t30

import (
	"errors"
	"fmt"
	"time"
)

// Tone is a call-establishment tone.
type Tone int

// Tones. ToneNone is silence.
const (
	ToneNone Tone = iota
	ToneCNG       // calling tone, 1100 Hz (0.5 s on, 3 s off)
	ToneCED       // called terminal identification, 2100 Hz
)

func (t Tone) String() string {
	switch t {
	case ToneNone:
		return "silence"
	case ToneCNG:
		return "CNG"
	case ToneCED:
		return "CED"
	}
	return fmt.Sprintf("Tone(%d)", int(t))
}

// EventKind says what happened on a Line.
type EventKind int

// Line events.
const (
	// EventFrame: an HDLC frame was received (V.21, or the high-speed
	// carrier in ECM). Frame holds address, control, FCF and FIF without
	// the FCS; FCSOK says whether the FCS checked (T.38: hdlc-fcs-OK vs
	// hdlc-fcs-BAD).
	EventFrame EventKind = iota + 1
	// EventCarrierUp: a carrier was detected. Speed.Modem is V21 for the
	// control channel (flags of the preamble; T.38 v21-preamble) or the
	// high-speed modulation once its training is complete (T.38
	// v17/v29/v27ter training indicator).
	EventCarrierUp
	// EventCarrierDown: the carrier of Speed ended (T.38: hdlc-sig-end,
	// t4-non-ecm-sig-end, or no-signal).
	EventCarrierDown
	// EventData: bytes of a non-ECM high-speed bit stream (TCF or page
	// data), first bit on the line in the least significant bit.
	EventData
	// EventTxDone: the transmission started by the matching StartTx ...
	// StopTx, or by SendTone, has left the line completely.
	EventTxDone
	// EventTone: a tone (CNG or CED) was detected.
	EventTone
	// EventLineLost: the call is gone (remote hang-up, network loss).
	EventLineLost
)

func (k EventKind) String() string {
	switch k {
	case EventFrame:
		return "frame"
	case EventCarrierUp:
		return "carrier-up"
	case EventCarrierDown:
		return "carrier-down"
	case EventData:
		return "data"
	case EventTxDone:
		return "tx-done"
	case EventTone:
		return "tone"
	case EventLineLost:
		return "line-lost"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing a Line reports to the engine. Frame and Data are only
// valid during the handler call; the engine copies what it keeps.
type Event struct {
	Kind  EventKind
	Speed Speed  // carrier events, frames and data: the carrier they came on
	Frame []byte // EventFrame
	FCSOK bool   // EventFrame
	Data  []byte // EventData
	Tone  Tone   // EventTone
	Err   error  // EventLineLost: why
}

// Errors a Line returns.
var (
	ErrLineDown  = errors.New("t30: line is down")
	ErrNoCarrier = errors.New("t30: no carrier started")
)

// Line is what a modem, a T.38 terminal or a loopback pipe gives T.30. It is
// the contract drivers implement; the engine calls it only from the clock's
// loop and expects every method to return at once (queue, never block).
//
// Transmission. The engine transmits one thing at a time, in order:
//
//   - SendTone(t, d): a tone (CNG, CED) or, for ToneNone, silence of d.
//     EventTxDone follows when it has been sent.
//   - StartTx(sp, short), then SendFrame and/or SendData any number of
//     times, then StopTx: one carrier. For sp.Modem == V21 (300 bit/s)
//     the line sends the preamble (1 s of flags; T.38: v21-preamble
//     indicator) then the frames; for a high-speed modulation it sends
//     the training (short training only for V.17 when short is set;
//     T.38: the training indicator) then non-ECM bytes (TCF zeros or T.4
//     page data; T.38: t4-non-ecm-data) or ECM frames (T.38: hdlc-data).
//     SendFrame takes address, control, FCF and FIF: the line adds flags,
//     bit stuffing and the FCS (a T.38 terminal sends the bytes and
//     hdlc-fcs-OK per frame). StopTx ends the carrier once everything
//     queued is out (T.38: hdlc-sig-end / t4-non-ecm-sig-end); then
//     EventTxDone.
//   - Hangup ends the call; no events follow.
//
// The engine keeps the T.30 silences itself (75 ms between carriers) with
// Clock timers, so a line sends exactly what it is told, back to back.
//
// Reception. SetRx tells a modem which high-speed carrier to expect next
// (and that V.21 may come instead, as T.30 always allows); a T.38 terminal
// may ignore it. Everything received is reported through the handler given
// to SetHandler, on the clock's loop (a line with its own reader goroutine
// hands events over with Clock.AfterFunc(0, ...)). A line never calls the
// handler from inside one of its own methods: even an EventTxDone that is
// due at once is delivered through Clock.AfterFunc. After Hangup, or after
// it reported EventLineLost, a line reports nothing more and its methods
// return ErrLineDown (Hangup itself returns nil).
type Line interface {
	SetHandler(h func(Event))
	SetRx(sp Speed, short bool)
	StartTx(sp Speed, short bool) error
	SendFrame(frame []byte) error
	SendData(p []byte) error
	StopTx() error
	SendTone(t Tone, d time.Duration) error
	Hangup() error
}

// Protocol durations of the physical layer that the in-memory line uses and
// the protocol-minimum computation assumes.
const (
	// V21Preamble is the flag preamble before the first frame of a V.21
	// burst (T.30 5.3.1: 1 s +- 15 %).
	V21Preamble = time.Second
	// GapBetweenCarriers is the silence T.30 requires between the end of
	// one signal and the start of the next (75 ms +- 20 ms).
	GapBetweenCarriers = 75 * time.Millisecond
	// TCFDuration is the length of the training check (T.30 5.3.3).
	TCFDuration = 1500 * time.Millisecond
)

// TrainingTime is how long the training sequence of a modulation lasts
// (V.27ter 2400: 943 ms, 4800: 708 ms; V.29: 253 ms; V.17 long: 1393 ms,
// short: 142 ms). V.21 returns the preamble.
func TrainingTime(sp Speed, short bool) time.Duration {
	switch sp.Modem {
	case V21:
		return V21Preamble
	case V27ter:
		if sp.Rate <= 2400 {
			return 943 * time.Millisecond
		}
		return 708 * time.Millisecond
	case V29:
		return 253 * time.Millisecond
	case V17:
		if short {
			return 142 * time.Millisecond
		}
		return 1393 * time.Millisecond
	}
	return 0
}

// BitsDuration is the time n bits take at rate bit/s.
func BitsDuration(bits int64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(bits * int64(time.Second) / int64(rate))
}

// stuffTable[ones][b] describes sending octet b (least significant bit
// first) after `ones` consecutive one bits: the low byte is the number of
// zero bits HDLC inserts, the high byte the run of ones left at the end.
// Computed once; never written again.
var stuffTable = func() (t [5][256]uint16) {
	for ones := range 5 {
		for b := range 256 {
			run, stuffed := ones, 0
			for i := range 8 {
				if b&(1<<uint(i)) != 0 {
					run++
					if run == 5 {
						stuffed++
						run = 0
					}
				} else {
					run = 0
				}
			}
			t[ones][b] = uint16(stuffed) | uint16(run)<<8
		}
	}
	return t
}()

// HDLCBits is the number of bits an HDLC frame (without FCS) takes on the
// line: frame and FCS with zero-bit insertion, plus one closing flag.
func HDLCBits(frame []byte) int64 {
	c := ^CRC16(0xFFFF, frame)
	ones, stuffed := 0, 0
	step := func(b byte) {
		e := stuffTable[ones][b]
		stuffed += int(e & 0xFF)
		ones = int(e >> 8)
	}
	for _, b := range frame {
		step(b)
	}
	step(byte(c))
	step(byte(c >> 8))
	return int64(len(frame)+2)*8 + int64(stuffed) + 8
}
