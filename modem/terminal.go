package modem

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/faxagent/faxagent/modem/pump"
	"github.com/faxagent/faxagent/modem/tone"
	"github.com/faxagent/faxagent/modem/v21"
	"github.com/faxagent/faxagent/t30"
)

// SampleRate is the terminal's sample rate.
const SampleRate = pump.SampleRate

// BlockSamples is the usual block that Process moves each way (20 ms).
const BlockSamples = 160

// DefaultLevel is the transmit level of every signal, in dBm0.
const DefaultLevel = -12.0

// Config configures a Terminal. The zero value works with DefaultPumps.
type Config struct {
	// Level is the transmit level in dBm0 (0: DefaultLevel).
	Level float64
	// Pumps are the high-speed modulations (nil: DefaultPumps()).
	Pumps Pumps
	// EchoGuard is how long the receivers stay deaf after one of our
	// carriers ended, so that its echo is not taken for the far end
	// (0: 40 ms). During our carriers they are always deaf.
	EchoGuard time.Duration
	Logger    *slog.Logger
}

// Terminal is a fax modem terminal: a t30.Line over 8 kHz samples. Its
// methods and Process run on the clock's loop.
type Terminal struct {
	cfg   Config
	clock t30.Clock
	log   *slog.Logger
	h     func(t30.Event)
	down  bool

	tx  transmitter
	rx  receiver
	evs []t30.Event // events of the current Process call
	buf []byte      // their frame and data bytes

	guard     int // samples of echo guard
	deafUntil int // receivers deaf for this many more samples

	stats Stats
}

// Stats counts a terminal's work.
type Stats struct {
	SamplesIn, SamplesOut int64
	V21Frames, V21BadFCS  int
	HSFrames, HSBadFCS    int
	HSBytes               int64
	Tones                 int
	TrainingFailed        int
}

// NewTerminal returns a terminal on clock.
func NewTerminal(cfg Config, clock t30.Clock) *Terminal {
	if cfg.Level == 0 {
		cfg.Level = DefaultLevel
	}
	if cfg.Pumps == nil {
		cfg.Pumps = DefaultPumps()
	}
	if cfg.EchoGuard <= 0 {
		cfg.EchoGuard = 40 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Terminal{cfg: cfg, clock: clock, log: log, guard: samplesOf(cfg.EchoGuard)}
	t.tx.init(t)
	t.rx.init(t)
	return t
}

func samplesOf(d time.Duration) int { return int(d * SampleRate / time.Second) }

// Stats returns the terminal's counters.
func (t *Terminal) Stats() Stats { return t.stats }

// SetHandler implements t30.Line.
func (t *Terminal) SetHandler(h func(t30.Event)) { t.h = h }

// SetRx implements t30.Line: the high-speed receiver for sp runs beside
// the V.21 receiver from now on.
func (t *Terminal) SetRx(sp t30.Speed, short bool) { t.rx.setHS(sp, short) }

// StartTx implements t30.Line.
func (t *Terminal) StartTx(sp t30.Speed, short bool) error {
	if t.down {
		return t30.ErrLineDown
	}
	if sp.Modem == t30.V21 {
		sp.Rate = 300
	} else if _, ok := t.cfg.Pumps[sp.Modem]; !ok {
		return fmt.Errorf("%w: %v", ErrNoPump, sp)
	}
	t.tx.startCarrier(sp, short)
	return nil
}

// SendFrame implements t30.Line: the frame gets its FCS and flags.
func (t *Terminal) SendFrame(frame []byte) error {
	if t.down {
		return t30.ErrLineDown
	}
	return t.tx.frame(frame)
}

// SendData implements t30.Line: non-ECM bytes, first bit in the least
// significant bit.
func (t *Terminal) SendData(p []byte) error {
	if t.down {
		return t30.ErrLineDown
	}
	return t.tx.data(p)
}

// StopTx implements t30.Line.
func (t *Terminal) StopTx() error {
	if t.down {
		return t30.ErrLineDown
	}
	return t.tx.stop()
}

// SendTone implements t30.Line.
func (t *Terminal) SendTone(k t30.Tone, d time.Duration) error {
	if t.down {
		return t30.ErrLineDown
	}
	t.tx.tone(k, samplesOf(d))
	return nil
}

// Hangup implements t30.Line: the terminal goes silent and reports nothing more.
func (t *Terminal) Hangup() error {
	t.down = true
	t.tx.reset()
	return nil
}

// Close reports the call gone (the far end hung up, the media stopped) to
// the engine as EventLineLost. It may be called from any goroutine.
func (t *Terminal) Close(err error) {
	if err == nil {
		err = t30.ErrLineDown
	}
	t.clock.AfterFunc(0, func() {
		if t.down {
			return
		}
		if t.h != nil {
			t.h(t30.Event{Kind: t30.EventLineLost, Err: err})
		}
		t.down = true
	})
}

// Down reports whether the terminal has hung up or lost the line.
func (t *Terminal) Down() bool { return t.down }

// Process moves one block each way: it generates len(tx) samples of what
// the terminal sends, and consumes rx, what reached it (any length: the
// far end's clock may run a little faster or slower). Events go to the
// handler before Process returns. It must run on the clock's loop.
func (t *Terminal) Process(rx, tx []int16) {
	t.stats.SamplesIn += int64(len(rx))
	t.stats.SamplesOut += int64(len(tx))
	if t.down {
		clear(tx)
		return
	}
	sent := sentNothing
	for i := 0; i < len(tx); {
		n, s := t.tx.generate(tx[i:])
		sent = max(sent, s)
		i += n
		// A transmission ended: the engine hears it now and may queue
		// the next one (the 75 ms gap) from this very sample.
		t.deliver()
		if t.down {
			clear(tx[i:])
			return
		}
	}
	if sent == sentCarrier {
		t.deafUntil = len(rx) + t.guard
	}
	deaf := t.deafUntil > 0
	t.deafUntil = max(0, t.deafUntil-len(rx))
	t.rx.receive(rx, deaf, sent == sentTone)
	t.rx.flush()
	t.deliver()
}

// deliver hands the queued events to the handler.
func (t *Terminal) deliver() {
	for i := range t.evs {
		if t.down {
			break
		}
		if t.h != nil {
			t.h(t.evs[i])
		}
	}
	t.evs, t.buf = t.evs[:0], t.buf[:0]
}

// emit queues an event for the end of Process; frame and data bytes are copied.
func (t *Terminal) emit(ev t30.Event) {
	if len(ev.Frame) > 0 {
		off := len(t.buf)
		t.buf = append(t.buf, ev.Frame...)
		ev.Frame = t.buf[off:len(t.buf):len(t.buf)]
	}
	if len(ev.Data) > 0 {
		off := len(t.buf)
		t.buf = append(t.buf, ev.Data...)
		ev.Data = t.buf[off:len(t.buf):len(t.buf)]
	}
	t.evs = append(t.evs, ev)
}

// toneKind maps a t30 tone to the tone package's.
func toneKind(k t30.Tone) tone.Kind {
	switch k {
	case t30.ToneCNG:
		return tone.CNG
	case t30.ToneCED:
		return tone.CED
	}
	return tone.None
}

// v21Preamble is the number of flags in 1 s at 300 bit/s (T.30 5.3.1).
const v21Preamble = (v21.Baud + 7) / 8

var _ t30.Line = (*Terminal)(nil)
