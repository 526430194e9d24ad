package modem

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/modem/impair"
	"github.com/faxagent/faxagent/t30"
)

// recorder keeps a terminal's events with their virtual time.
type recorder struct {
	clock  *t30.VirtualClock
	evs    []string
	frames [][]byte
}

func (r *recorder) h(ev t30.Event) {
	s := ev.Kind.String()
	switch ev.Kind {
	case t30.EventFrame:
		s = fmt.Sprintf("frame %v ok=%v %x", ev.Speed.Modem, ev.FCSOK, ev.Frame)
		r.frames = append(r.frames, bytes.Clone(ev.Frame))
	case t30.EventCarrierUp, t30.EventCarrierDown, t30.EventTxDone:
		s += " " + ev.Speed.Modem.String()
	case t30.EventTone:
		s += " " + ev.Tone.String()
	case t30.EventData:
		s = fmt.Sprintf("data %d", len(ev.Data))
	}
	r.evs = append(r.evs, s)
}

func pair(t *testing.T, cfg LinkConfig) (*t30.VirtualClock, *Terminal, *Terminal, *recorder, *recorder, *Link) {
	t.Helper()
	clock := t30.NewVirtualClock()
	a := NewTerminal(Config{Pumps: testPumps()}, clock)
	b := NewTerminal(Config{Pumps: testPumps()}, clock)
	ra, rb := &recorder{clock: clock}, &recorder{clock: clock}
	a.SetHandler(ra.h)
	b.SetHandler(rb.h)
	l := NewLink(clock, a, b, cfg)
	l.Start()
	return clock, a, b, ra, rb, l
}

func runFor(clock *t30.VirtualClock, d time.Duration) {
	reached := false
	clock.AfterFunc(d, func() { reached = true })
	for !reached && clock.Step() {
	}
}

// TestV21Burst: a burst of two frames crosses the link: carrier up, both
// frames with a good FCS, carrier down at the far end; EventTxDone at the
// near end after the 1 s preamble and the frames.
func TestV21Burst(t *testing.T) {
	clock, a, _, ra, rb, _ := pair(t, LinkConfig{})
	csi := []byte{0xFF, 0x03, 0x40, 0x31, 0x32, 0x33}
	dis := []byte{0xFF, 0x13, 0x80, 0x00, 0xEE, 0xF8}
	if err := a.StartTx(t30.Speed{Modem: t30.V21}, false); err != nil {
		t.Fatal(err)
	}
	buf := append([]byte(nil), csi...)
	a.SendFrame(buf)
	buf[3] = 0 // the terminal must have copied the frame
	a.SendFrame(dis)
	a.StopTx()
	start := clock.Now()
	var doneAt time.Duration
	for i := 0; i < 200 && doneAt == 0; i++ {
		runFor(clock, 20*time.Millisecond)
		if len(ra.evs) > 0 {
			doneAt = clock.Now().Sub(start)
		}
	}
	runFor(clock, 200*time.Millisecond)
	want := []string{"carrier-up V.21", fmt.Sprintf("frame V.21 ok=true %x", csi), fmt.Sprintf("frame V.21 ok=true %x", dis), "carrier-down V.21"}
	if fmt.Sprint(rb.evs) != fmt.Sprint(want) {
		t.Fatalf("far end got %q, want %q", rb.evs, want)
	}
	if fmt.Sprint(ra.evs) != "[tx-done V.21]" {
		t.Fatalf("near end got %q", ra.evs)
	}
	bits := 38*8 + t30.HDLCBits(csi) + t30.HDLCBits(dis) + 16
	min := t30.BitsDuration(bits, 300)
	if doneAt < min || doneAt > min+60*time.Millisecond {
		t.Fatalf("tx done after %v, want %v", doneAt, min)
	}
}

// TestTones: CNG and CED reach the far end as EventTone; our own tone is
// not reported to us.
func TestTones(t *testing.T) {
	clock, a, b, ra, rb, _ := pair(t, LinkConfig{EchoA: impair.NewEcho(-6, 40).Add})
	a.SendTone(t30.ToneCNG, 500*time.Millisecond)
	b.SendTone(t30.ToneNone, time.Second)
	b.SendTone(t30.ToneCED, 3*time.Second)
	runFor(clock, 5*time.Second)
	if fmt.Sprint(rb.evs) != "[tone CNG tx-done none tx-done none]" {
		t.Fatalf("B: %q", rb.evs)
	}
	if fmt.Sprint(ra.evs) != "[tx-done none tone CED]" {
		t.Fatalf("A: %q", ra.evs)
	}
}

func testPage(height int, seed int) *imaging.Page {
	p := imaging.NewPage(imaging.WidthA4, height, imaging.Standard)
	for y := 20; y < height-20; y++ {
		for x := 40; x < imaging.WidthA4-40; x++ {
			if ((x/12+y/9+seed)%5 == 0 && (y/6)%4 != 3) || (x-y*2+seed*31)%677 == 0 {
				p.Set(x, y, true)
			}
		}
	}
	return p
}

type callCase struct {
	ecm   bool
	comp  imaging.Compression
	pages int
	link  LinkConfig
	pumps Pumps        // nil: the test pump
	want  t30.Speed    // if set, the speed the call must use
	set   t30.ModemSet // modems offered (0: all)
}

// runCall runs a whole fax call between two t30 sessions over two
// terminals in virtual time and checks the pages.
func runCall(t *testing.T, c callCase) (t30.Result, t30.Result, time.Duration) {
	t.Helper()
	clock := t30.NewVirtualClock()
	pumps := c.pumps
	if pumps == nil {
		pumps = testPumps()
	}
	a := NewTerminal(Config{Pumps: pumps}, clock)
	b := NewTerminal(Config{Pumps: pumps}, clock)
	var doc t30.PagesDocument
	for i := range c.pages {
		doc = append(doc, testPage(400, i+1))
	}
	sink := &t30.PageCollector{}
	base := t30.Config{Compressions: []imaging.Compression{c.comp}, ECM: c.ecm, Modems: c.set}
	if os.Getenv("MODEMDEBUG") != "" {
		base.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ca, cb := base, base
	ca.Calling, ca.Transmit, ca.Ident, ca.Document = true, true, "SENDER", doc
	cb.Ident, cb.Sink = "RECEIVER", sink
	sa, err := t30.NewSession(ca, a, clock)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := t30.NewSession(cb, b, clock)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLink(clock, a, b, c.link)
	l.Start()
	sa.Start()
	sb.Start()
	for !(sa.Done() && sb.Done()) && clock.Elapsed() < 20*time.Minute {
		clock.Step()
	}
	l.Stop()
	ra, rb := sa.Result(), sb.Result()
	if ra.Code != t30.OK || rb.Code != t30.OK {
		t.Fatalf("call failed: sender %v (%v), receiver %v (%v); sender %+v receiver %+v", ra.Code, ra.Err, rb.Code, rb.Err, a.Stats(), b.Stats())
	}
	if len(sink.Pages) != c.pages {
		t.Fatalf("%d pages arrived, want %d", len(sink.Pages), c.pages)
	}
	for i, rp := range sink.Pages {
		p, st, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
		if err != nil || st.BadRows != 0 {
			t.Fatalf("page %d: %v, %d bad rows", i+1, err, st.BadRows)
		}
		if p.Height != doc[i].Height || !bytes.Equal(p.Pix, doc[i].Pix) {
			t.Fatalf("page %d differs", i+1)
		}
	}
	if c.want.Modem != t30.ModemNone && ra.Speed != c.want {
		t.Fatalf("speed %v, want %v", ra.Speed, c.want)
	}
	if ra.ECM != c.ecm || rb.Compression != c.comp {
		t.Fatalf("mode: ECM %v, %v", ra.ECM, rb.Compression)
	}
	return ra, rb, clock.Elapsed()
}

// TestCallOverTestPump: whole T.30 calls over audio between two of our
// terminals (V.21 control, CNG/CED, the trivial test pump for phase C),
// with and without ECM, on a clean line, through G.711 with a -20 dB echo
// of each end's own signal.
func TestCallOverTestPump(t *testing.T) {
	echo := func() func(rx, own []int16) { return impair.NewEcho(-20, 100).Add }
	for _, c := range []struct {
		name string
		c    callCase
	}{
		{"non-ECM MH", callCase{comp: imaging.MH, pages: 2}},
		{"non-ECM MR", callCase{comp: imaging.MR, pages: 1}},
		{"ECM MMR", callCase{ecm: true, comp: imaging.MMR, pages: 2}},
		{"µ-law, echo -20 dB, non-ECM", callCase{comp: imaging.MR, pages: 1, link: LinkConfig{
			AtoB: impair.New(impair.Config{G711: true}).Process, BtoA: impair.New(impair.Config{G711: true}).Process,
			EchoA: echo(), EchoB: echo()}}},
		{"A-law, echo -20 dB, ECM", callCase{ecm: true, comp: imaging.MR, pages: 1, link: LinkConfig{
			AtoB: impair.New(impair.Config{G711: true, Law: 1}).Process, BtoA: impair.New(impair.Config{G711: true, Law: 1}).Process,
			EchoA: echo(), EchoB: echo()}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ra, _, d := runCall(t, c.c)
			t.Logf("%v, %d pages in %v virtual", ra.Speed, ra.PagesSent, d)
		})
	}
}

// TestCallOverRealPumps: whole calls between two of our terminals with the
// real V.27 ter, V.29 and V.17 pumps, with and without ECM, on a clean
// line and on one with G.711, a -20 dB echo and +100 ppm.
func TestCallOverRealPumps(t *testing.T) {
	bad := func() LinkConfig {
		return LinkConfig{
			AtoB:  impair.New(impair.Config{G711: true, ClockPPM: 100}).Process,
			BtoA:  impair.New(impair.Config{G711: true, Law: 1, ClockPPM: -100}).Process,
			EchoA: impair.NewEcho(-20, 100).Add, EchoB: impair.NewEcho(-20, 100).Add,
		}
	}
	for _, sp := range []struct {
		set  t30.ModemSet
		want t30.Speed
	}{
		{t30.SetV27ter, t30.Speed{Modem: t30.V27ter, Rate: 4800}},
		{t30.SetV29 | t30.SetV27ter, t30.Speed{Modem: t30.V29, Rate: 9600}},
		{t30.SetV17 | t30.SetV29 | t30.SetV27ter, t30.Speed{Modem: t30.V17, Rate: 14400}},
	} {
		for _, ecm := range []bool{false, true} {
			for _, line := range []string{"clean", "G.711+echo+ppm"} {
				c := callCase{ecm: ecm, comp: imaging.MR, pages: 1, pumps: DefaultPumps(), want: sp.want, set: sp.set}
				if line != "clean" {
					c.link = bad()
				}
				t.Run(fmt.Sprintf("%v/ECM %v/%s", sp.want, ecm, line), func(t *testing.T) {
					_, _, d := runCall(t, c)
					t.Logf("%v virtual", d)
				})
			}
		}
	}
}

// TestGapInSamples: the engine's 75 ms silence between two carriers,
// queued from EventTxDone as t30 does, is 600 samples on the line exactly,
// wherever in a block the first carrier ends.
func TestGapInSamples(t *testing.T) {
	for _, frameLen := range []int{3, 4, 7, 20} {
		clock := t30.NewVirtualClock()
		a := NewTerminal(Config{}, clock)
		b := NewTerminal(Config{}, clock)
		var line []int16
		l := NewLink(clock, a, b, LinkConfig{Tap: func(end int, tx []int16) {
			if end == 0 {
				line = append(line, tx...)
			}
		}})
		burst := func() {
			a.StartTx(t30.Speed{Modem: t30.V21}, false)
			a.SendFrame(bytes.Repeat([]byte{0xFF}, frameLen))
			a.StopTx()
		}
		step := 0
		a.SetHandler(func(ev t30.Event) {
			if ev.Kind != t30.EventTxDone {
				return
			}
			step++
			switch step {
			case 1:
				a.SendTone(t30.ToneNone, t30.GapBetweenCarriers)
			case 2:
				burst()
			}
		})
		b.SetHandler(func(t30.Event) {})
		burst()
		l.Start()
		runFor(clock, 4*time.Second)
		// The longest run of zero samples inside the signal is the gap.
		first, last := -1, -1
		for i, s := range line {
			if s != 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		gap, run := 0, 0
		for _, s := range line[first : last+1] {
			if s == 0 {
				run++
				gap = max(gap, run)
			} else {
				run = 0
			}
		}
		// A sine may touch zero at the edges: allow a sample either side.
		if gap < 600 || gap > 602 {
			t.Errorf("frame of %d octets: gap of %d samples, want 600", frameLen, gap)
		}
	}
}

// A high-speed receiver outlives V.21 and a change of training for the
// same speed: V.17's short training uses the equaliser the long one
// trained (T.30: TCF long, CFR on V.21, then the page short).
func TestHighSpeedReceiverKeptForShortTraining(t *testing.T) {
	term := NewTerminal(Config{}, nil)
	v17 := t30.Speed{Modem: t30.V17, Rate: 14400}
	term.SetRx(v17, false)
	first := term.rx.hs
	if first == nil {
		t.Fatal("no V.17 receiver")
	}
	term.SetRx(t30.Speed{Modem: t30.V21, Rate: 300}, false)
	term.SetRx(v17, true)
	if term.rx.hs != first {
		t.Error("the short training got a new receiver")
	}
	term.SetRx(t30.Speed{Modem: t30.V17, Rate: 9600}, true)
	if term.rx.hs == first {
		t.Error("another rate kept the 14400 receiver")
	}
}
