package t30

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

// hostile is a remote that answers whatever it hears with arbitrary legal
// and illegal frames, carriers, tones and hang-ups.
type hostile struct {
	rng     *rand.Rand
	end     *PairEnd
	clock   *VirtualClock
	actions int
	busy    bool
}

func (h *hostile) handle(ev Event) {
	switch ev.Kind {
	case EventTxDone:
		h.busy = false
	case EventLineLost:
		return
	}
	if h.actions <= 0 || h.busy {
		return
	}
	if ev.Kind == EventData || ev.Kind == EventFrame && ev.Speed.Modem != V21 {
		if h.rng.IntN(50) != 0 { // page data: react rarely
			return
		}
	}
	if h.rng.IntN(3) == 0 {
		return
	}
	h.actions--
	h.busy = true
	h.clock.AfterFunc(time.Duration(h.rng.IntN(4000))*time.Millisecond, h.act)
}

func (h *hostile) randomFrame() []byte {
	r := h.rng
	var fcf FCF
	if r.IntN(5) == 0 {
		fcf = FCF(r.Uint32())
	} else {
		fcf = fcfNames[r.IntN(len(fcfNames))].f | FCF(r.IntN(2))
	}
	f := Frame{FCF: fcf, Final: r.IntN(4) != 0}
	switch r.IntN(4) {
	case 0:
		// A plausible DIS/DCS FIF with random bits.
		c := Caps{ReceiveFax: r.IntN(4) != 0, Modems: ModemSet(r.IntN(8)), Fine: r.IntN(2) == 0, MR: r.IntN(2) == 0,
			ECM: r.IntN(2) == 0, MMR: r.IntN(2) == 0, Superfine: r.IntN(3) == 0, Width: PaperWidth(r.IntN(3)),
			MinScanMS: []int{0, 5, 10, 20, 40}[r.IntN(5)], Frame64: r.IntN(2) == 0}
		sp := (SetV27ter | SetV29 | SetV17).Speeds()
		c.Speed = sp[r.IntN(len(sp))]
		f.Info, _ = c.AppendFIF(nil, f.Kind() == FCFDCS || f.Kind() == FCFCTC)
	case 1:
		f.Info = make([]byte, r.IntN(40))
		for i := range f.Info {
			f.Info[i] = byte(r.Uint32())
		}
	case 2:
		f.Info = []byte{byte(FCFMPS), byte(r.IntN(3)), byte(r.IntN(3)), byte(r.Uint32())}
	}
	b := f.Marshal()
	if r.IntN(10) == 0 {
		b[0] ^= 0x10 // bad address
	}
	return b
}

func (h *hostile) act() {
	if h.end.Pair().Down() {
		return
	}
	r := h.rng
	switch n := r.IntN(20); {
	case n < 12:
		_ = h.end.StartTx(Speed{V21, 300}, false)
		for k := 1 + r.IntN(3); k > 0; k-- {
			_ = h.end.SendFrame(h.randomFrame())
		}
		_ = h.end.StopTx()
	case n < 16:
		sp := (SetV27ter | SetV29 | SetV17).Speeds()
		_ = h.end.StartTx(sp[r.IntN(len(sp))], r.IntN(2) == 0)
		if r.IntN(2) == 0 {
			d := make([]byte, r.IntN(5000))
			if r.IntN(2) == 0 {
				for i := range d {
					d[i] = byte(r.Uint32())
				}
			}
			_ = h.end.SendData(d)
		} else {
			for k := r.IntN(20); k > 0; k-- {
				fr := []byte{0xFF, 0x03, byte(FCFFCD), byte(r.IntN(256))}
				fr = append(fr, make([]byte, r.IntN(300))...)
				_ = h.end.SendFrame(fr)
			}
		}
		_ = h.end.StopTx()
	case n < 18:
		_ = h.end.SendTone(Tone(r.IntN(3)), time.Duration(r.IntN(3000))*time.Millisecond)
	case n < 19:
		h.end.Pair().Cut()
	default:
		_ = h.end.Hangup()
	}
}

func TestHostileRemote(t *testing.T) {
	doc := textDoc(3, 1728, 100, imaging.Fine)
	seeds := 250
	if testing.Short() {
		seeds = 40
	}
	codes := map[Code]int{}
	for seed := range seeds {
		for role := range 4 {
			transmit, calling := role&1 == 0, role&2 == 0
			clock := NewVirtualClock()
			a, b := NewLinePair(clock, LineModel{FrameErrorRate: 0.01 * float64(seed%3), Seed: uint64(seed)})
			h := &hostile{rng: rand.New(rand.NewPCG(uint64(seed), 99)), end: b, clock: clock, actions: 10 + seed%60}
			b.SetHandler(h.handle)
			cfg := Config{ECM: seed%2 == 0, Document: doc, Calling: calling, Transmit: transmit, Sink: &PageCollector{}}
			s, err := NewSession(cfg, a, clock)
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			// The hostile remote speaks first half of the time.
			if seed%2 == 1 {
				h.actions--
				h.busy = true
				clock.AfterFunc(time.Second, h.act)
			}
			limit := 2 * time.Hour
			err = clock.Run(context.Background(), func() bool { return s.Done() || clock.Elapsed() > limit })
			if err != nil || !s.Done() {
				t.Fatalf("seed %d transmit %v calling %v: engine did not end (clock %v, %v, state %v)", seed, transmit, calling, clock.Elapsed(), err, s.st)
			}
			res := s.Result()
			if res.Code < 0 || int(res.Code) >= len(codeTable) {
				t.Fatalf("seed %d: invalid code %d", seed, res.Code)
			}
			if res.Code == OK && transmit && res.PagesConfirmed != len(doc) {
				t.Fatalf("seed %d: OK with %d pages confirmed", seed, res.PagesConfirmed)
			}
			codes[res.Code]++
		}
	}
	t.Logf("codes: %v", codes)
}

// TestRandomisedProtocol runs real sessions against each other while the
// line rewrites, drops and corrupts frames at random, garbles carriers and
// sometimes cuts the call: every call ends with a code, both sides agree
// on what was delivered, and pages delivered are exact.
func TestRandomisedProtocol(t *testing.T) {
	doc := textDoc(3, 1728, 120, imaging.Fine)
	seeds := 300
	if testing.Short() {
		seeds = 40
	}
	codes := map[Code]int{}
	clean := 0
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		h := &hostile{rng: rng}
		rewrites := 0
		clock := NewVirtualClock()
		var pair *LinePair
		m := LineModel{
			Seed:           uint64(seed),
			FrameErrorRate: float64(seed%4) * 0.03,
			Frame: func(from, n int, b []byte) Fate {
				switch rng.IntN(30) {
				case 0:
					return Drop
				case 1:
					return Corrupt
				}
				return Deliver
			},
			Rewrite: func(from, n int, b []byte) []byte {
				if len(b) > 2 && FCF(b[2]) == FCFFCD || rng.IntN(25) != 0 {
					return nil
				}
				rewrites++
				return h.randomFrame()
			},
			TrainFails: func(int, Speed) bool { return rng.IntN(8) == 0 },
			OnStartTx: func(int, Speed) {
				if rng.IntN(150) == 0 {
					clock.AfterFunc(time.Duration(rng.IntN(3000))*time.Millisecond, pair.Cut)
				}
			},
		}
		a, b := NewLinePair(clock, m)
		pair = a.Pair()
		pages := &PageCollector{}
		ecm := seed%2 == 0
		// A third of the calls are polls: the answering side sends.
		poll := seed%3 == 2
		st, _ := NewSession(Config{Calling: !poll, Transmit: true, Document: doc, ECM: ecm}, a, clock)
		sr, _ := NewSession(Config{Calling: poll, Sink: pages, ECM: ecm}, b, clock)
		st.Start()
		sr.Start()
		err := clock.Run(context.Background(), func() bool {
			return st.Done() && sr.Done() || clock.Elapsed() > 3*time.Hour
		})
		if err != nil || !st.Done() || !sr.Done() {
			t.Fatalf("seed %d: not ended after %v (%v): tx %v rx %v", seed, clock.Elapsed(), err, st.st, sr.st)
		}
		tx, rx := st.Result(), sr.Result()
		codes[tx.Code]++
		if tx.Code == OK && (tx.PagesConfirmed != len(doc)) {
			t.Fatalf("seed %d: tx OK with %d confirmed", seed, tx.PagesConfirmed)
		}
		if rx.PagesReceived != len(pages.Pages) {
			t.Fatalf("seed %d: rx counted %d, sink has %d", seed, rx.PagesReceived, len(pages.Pages))
		}
		if rewrites > 0 {
			// A frame rewritten into another valid frame (which a real
			// FCS would have caught) can make the two sides disagree.
			continue
		}
		clean++
		if tx.PagesConfirmed > rx.PagesReceived || rx.PagesReceived > len(doc) {
			t.Fatalf("seed %d: %d pages confirmed, %d received", seed, tx.PagesConfirmed, rx.PagesReceived)
		}
		if tx.Code == OK {
			if rx.Code != OK {
				t.Fatalf("seed %d: tx OK, rx %v", seed, rx.Code)
			}
			checkPages(t, doc, 0, pages.Pages, imaging.Fine)
		}
	}
	t.Logf("%d calls without rewrites", clean)
	t.Logf("sender codes: %v", codes)
}
