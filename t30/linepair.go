package t30

import (
	"math"
	"math/rand/v2"
	"time"
)

// Fate is what the in-memory line does with one frame.
type Fate int

// Frame fates.
const (
	Deliver Fate = iota
	Drop         // the frame never arrives
	Corrupt      // the frame arrives with a bad FCS
)

// LineModel describes the in-memory line between the two ends of a
// LinePair: the physical layer is ideal (timing from bit counts and rates)
// unless a fault hook says otherwise. Ends are numbered 0 (A) and 1 (B).
type LineModel struct {
	// Frame, if set, decides the fate of the n-th frame (0-based,
	// counted per sending end over the whole call, V.21 and ECM frames
	// alike) that end `from` sends.
	Frame func(from, n int, frame []byte) Fate
	// Rewrite, if set, may replace the n-th frame end `from` sends with
	// other bytes (a remote that says something else); nil keeps it.
	Rewrite func(from, n int, frame []byte) []byte
	// FrameErrorRate is the probability that a high-speed (ECM) frame
	// arrives with a bad FCS.
	FrameErrorRate float64
	// BitErrorRate is the probability that each bit of high-speed
	// non-ECM data (TCF and pages) is inverted.
	BitErrorRate float64
	// TrainFails, if set and true for a carrier, garbles all non-ECM data
	// of that carrier (a failed training: TCF fails, pages are noise).
	TrainFails func(from int, sp Speed) bool
	// OnStartTx, if set, is told about every carrier an end starts
	// (tests use it to cut the line at a chosen moment).
	OnStartTx func(from int, sp Speed)
	// Seed seeds the random source of the error rates.
	Seed uint64
}

// LinePair is a back-to-back pair of Lines in one process, timed by a
// Clock (normally a VirtualClock). Each end transmits sequentially; what it
// sends reaches the other end when its last bit would have arrived.
type LinePair struct {
	clock Clock
	model LineModel
	rng   *rand.Rand
	ends  [2]*PairEnd
	down  bool
	// Stats.
	Collisions int // times both ends had a carrier on at once
}

// PairEnd is one end of a LinePair. It implements Line.
type PairEnd struct {
	p       *LinePair
	id      int
	h       func(Event)
	busy    time.Time // when the current transmission queue ends
	carrier Speed     // carrier being sent, ModemNone if none
	garble  bool
	frames  int // frames sent so far
	hung    bool
	// TxBits counts the bits this end has sent on high-speed carriers.
	TxBits int64
}

// NewLinePair returns the two connected ends.
func NewLinePair(clock Clock, model LineModel) (*PairEnd, *PairEnd) {
	p := &LinePair{clock: clock, model: model, rng: rand.New(rand.NewPCG(model.Seed, model.Seed^0x9E3779B97F4A7C15))}
	p.ends[0] = &PairEnd{p: p, id: 0}
	p.ends[1] = &PairEnd{p: p, id: 1}
	return p.ends[0], p.ends[1]
}

// Pair returns the LinePair an end belongs to.
func (e *PairEnd) Pair() *LinePair { return e.p }

// Cut drops the line: both ends get EventLineLost now, and nothing in
// flight arrives.
func (p *LinePair) Cut() {
	if p.down {
		return
	}
	p.down = true
	for _, e := range p.ends {
		if e.h != nil {
			e.h(Event{Kind: EventLineLost, Err: ErrLineDown})
		}
	}
}

// Down reports whether the line has been cut or hung up.
func (p *LinePair) Down() bool { return p.down }

func (e *PairEnd) other() *PairEnd { return e.p.ends[1-e.id] }

// at delivers ev to the other end at time t (unless the line went down).
func (e *PairEnd) deliver(t time.Time, ev Event) {
	o := e.other()
	At(e.p.clock, t, func() {
		if !e.p.down && o.h != nil {
			o.h(ev)
		}
	})
}

func (e *PairEnd) self(t time.Time, ev Event) {
	At(e.p.clock, t, func() {
		if !e.p.down && e.h != nil {
			e.h(ev)
		}
	})
}

func (e *PairEnd) start() time.Time {
	now := e.p.clock.Now()
	if e.busy.Before(now) {
		e.busy = now
	}
	return e.busy
}

// SetHandler implements Line.
func (e *PairEnd) SetHandler(h func(Event)) { e.h = h }

// SetRx implements Line; the in-memory line delivers whatever comes.
func (e *PairEnd) SetRx(Speed, bool) {}

// StartTx implements Line.
func (e *PairEnd) StartTx(sp Speed, short bool) error {
	if e.p.down || e.hung {
		return ErrLineDown
	}
	t := e.start()
	if o := e.other(); o.carrier.Modem != ModemNone && o.busy.After(t) {
		e.p.Collisions++
	}
	e.carrier = sp
	e.garble = sp.Modem != V21 && e.p.model.TrainFails != nil && e.p.model.TrainFails(e.id, sp)
	if e.p.model.OnStartTx != nil {
		e.p.model.OnStartTx(e.id, sp)
	}
	if sp.Modem == V21 {
		sp.Rate = 300
		e.carrier.Rate = 300
		e.deliver(t, Event{Kind: EventCarrierUp, Speed: sp})
		e.busy = t.Add(V21Preamble)
		return nil
	}
	e.busy = t.Add(TrainingTime(sp, short))
	e.deliver(e.busy, Event{Kind: EventCarrierUp, Speed: sp})
	return nil
}

// SendFrame implements Line.
func (e *PairEnd) SendFrame(frame []byte) error {
	if e.p.down || e.hung {
		return ErrLineDown
	}
	if e.carrier.Modem == ModemNone {
		return ErrNoCarrier
	}
	t := e.start().Add(BitsDuration(HDLCBits(frame), e.carrier.Rate))
	e.busy = t
	if e.carrier.Modem != V21 {
		e.TxBits += HDLCBits(frame)
	}
	n := e.frames
	e.frames++
	fate := Deliver
	if e.p.model.Frame != nil {
		fate = e.p.model.Frame(e.id, n, frame)
	}
	if fate == Deliver && e.carrier.Modem != V21 && e.p.model.FrameErrorRate > 0 && e.p.rng.Float64() < e.p.model.FrameErrorRate {
		fate = Corrupt
	}
	if fate == Drop {
		return nil
	}
	f := append([]byte(nil), frame...)
	if e.p.model.Rewrite != nil {
		if r := e.p.model.Rewrite(e.id, n, f); r != nil {
			f = append(f[:0], r...)
		}
	}
	e.deliver(t, Event{Kind: EventFrame, Speed: e.carrier, Frame: f, FCSOK: fate == Deliver})
	return nil
}

// SendData implements Line.
func (e *PairEnd) SendData(p []byte) error {
	if e.p.down || e.hung {
		return ErrLineDown
	}
	if e.carrier.Modem == ModemNone || e.carrier.Modem == V21 {
		return ErrNoCarrier
	}
	bits := int64(len(p)) * 8
	e.TxBits += bits
	t := e.start().Add(BitsDuration(bits, e.carrier.Rate))
	e.busy = t
	d := append([]byte(nil), p...)
	if e.garble {
		for i := range d {
			d[i] = byte(e.p.rng.Uint32())
		}
	} else if ber := e.p.model.BitErrorRate; ber > 0 {
		// Geometric gaps between errors keep this cheap at low rates.
		pos := int64(0)
		for {
			u := e.p.rng.Float64()
			if u <= 0 {
				continue
			}
			gap := int64(logGap(u, ber))
			pos += gap
			if pos >= bits {
				break
			}
			d[pos/8] ^= 1 << uint(pos%8)
			pos++
		}
	}
	e.deliver(t, Event{Kind: EventData, Speed: e.carrier, Data: d})
	return nil
}

// StopTx implements Line.
func (e *PairEnd) StopTx() error {
	if e.p.down || e.hung {
		return ErrLineDown
	}
	if e.carrier.Modem == ModemNone {
		return ErrNoCarrier
	}
	t := e.start()
	e.deliver(t, Event{Kind: EventCarrierDown, Speed: e.carrier})
	e.self(t, Event{Kind: EventTxDone, Speed: e.carrier})
	e.carrier = Speed{}
	return nil
}

// SendTone implements Line. The other end detects CNG and CED when the
// tone ends.
func (e *PairEnd) SendTone(t Tone, d time.Duration) error {
	if e.p.down || e.hung {
		return ErrLineDown
	}
	end := e.start().Add(d)
	e.busy = end
	if t != ToneNone {
		e.deliver(end, Event{Kind: EventTone, Tone: t})
	}
	e.self(end, Event{Kind: EventTxDone})
	return nil
}

// Hangup implements Line: the other end sees EventLineLost once everything
// already sent has arrived.
func (e *PairEnd) Hangup() error {
	if e.p.down || e.hung {
		return nil
	}
	e.hung = true
	t := e.start()
	p := e.p
	o := e.other()
	e.h = nil
	At(p.clock, t, func() {
		if p.down {
			return
		}
		p.down = true
		if o.h != nil {
			o.h(Event{Kind: EventLineLost, Err: ErrLineDown})
		}
	})
	return nil
}

// logGap draws the number of good bits before the next error for a
// bit error rate ber from a uniform u in (0, 1].
func logGap(u, ber float64) float64 {
	if ber >= 1 {
		return 0
	}
	return math.Floor(math.Log(u) / math.Log1p(-ber))
}
