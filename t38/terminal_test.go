package t38

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

type evRec struct {
	at time.Duration
	ev t30.Event
}

type termPair struct {
	clock  *t30.VirtualClock
	a, b   *Terminal
	ea, eb *PipeEnd
	evA    []evRec
	evB    []evRec
	sentA  [][]byte // datagrams a sent, as tapped
}

func newTermPair(t *testing.T, cfg TerminalConfig, pc PipeConfig) *termPair {
	t.Helper()
	tp := &termPair{clock: t30.NewVirtualClock()}
	tap := pc.Tap
	pc.Tap = func(from int, d []byte) {
		if from == 0 {
			tp.sentA = append(tp.sentA, bytes.Clone(d))
		}
		if tap != nil {
			tap(from, d)
		}
	}
	tp.ea, tp.eb = NewPipe(tp.clock, pc)
	var err error
	if tp.a, err = NewTerminal(cfg, tp.ea, tp.clock); err != nil {
		t.Fatal(err)
	}
	if tp.b, err = NewTerminal(cfg, tp.eb, tp.clock); err != nil {
		t.Fatal(err)
	}
	tp.ea.Attach(tp.a)
	tp.eb.Attach(tp.b)
	tp.a.SetHandler(func(ev t30.Event) {
		tp.evA = append(tp.evA, evRec{tp.clock.Elapsed(), copyEvent(ev)})
	})
	tp.b.SetHandler(func(ev t30.Event) {
		tp.evB = append(tp.evB, evRec{tp.clock.Elapsed(), copyEvent(ev)})
	})
	return tp
}

func copyEvent(ev t30.Event) t30.Event {
	ev.Frame = bytes.Clone(ev.Frame)
	ev.Data = bytes.Clone(ev.Data)
	return ev
}

func mustFrame(t *testing.T, f t30.FCF, info []byte, final bool) []byte {
	t.Helper()
	fr := t30.Frame{FCF: f, Info: info, Final: final}
	return fr.Marshal()
}

// describe renders B's events compactly, merging consecutive data events.
func describe(evs []evRec) (string, []byte) {
	var b strings.Builder
	var data []byte
	inData := false
	for _, r := range evs {
		ev := r.ev
		if ev.Kind == t30.EventData {
			data = append(data, ev.Data...)
			if !inData {
				fmt.Fprintf(&b, "data(%v) ", ev.Speed)
			}
			inData = true
			continue
		}
		inData = false
		switch ev.Kind {
		case t30.EventFrame:
			fmt.Fprintf(&b, "frame(%v,%x,%v) ", ev.Speed, ev.Frame[2], ev.FCSOK)
		case t30.EventTone:
			fmt.Fprintf(&b, "tone(%v) ", ev.Tone)
		default:
			fmt.Fprintf(&b, "%v(%v) ", ev.Kind, ev.Speed)
		}
	}
	return strings.TrimSpace(b.String()), data
}

// TestTerminalLineMapping drives one terminal through the t30.Line calls of
// a typical phase B/C and checks what the far terminal reports, when, and
// which IFP packets went over the wire.
func TestTerminalLineMapping(t *testing.T) {
	for _, version := range []int{0, 2} {
		t.Run(fmt.Sprintf("version %d", version), func(t *testing.T) {
			tp := newTermPair(t, TerminalConfig{Version: version, EC: ECRedundancy}, PipeConfig{Latency: 20 * time.Millisecond})
			tsi := mustFrame(t, t30.FCFTSI, t30.EncodeIdent(nil, "+1 555 0100"), false)
			dcs := mustFrame(t, t30.FCFDCS, []byte{0x00, 0x46, 0x00}, true)
			page := make([]byte, 2700) // 1.5 s at 14400
			for i := range page {
				page[i] = byte(i * 7)
			}
			a := tp.a
			steps := []error{
				a.SendTone(t30.ToneCNG, 500*time.Millisecond),
				a.StartTx(t30.Speed{Modem: t30.V21, Rate: 300}, false),
				a.SendFrame(tsi), a.SendFrame(dcs), a.StopTx(),
				a.SendTone(t30.ToneNone, 75*time.Millisecond),
				a.StartTx(t30.Speed{Modem: t30.V17, Rate: 14400}, false),
				a.SendData(page[:1000]), a.SendData(page[1000:]), a.StopTx(),
			}
			for i, err := range steps {
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if err := tp.clock.Run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			got, data := describe(tp.evB)
			want := "tone(CNG) carrier-up(V.21 300) frame(V.21 300,c3,true) frame(V.21 300,c1,true) carrier-down(V.21 300) " +
				"carrier-up(V.17 14400) data(V.17 14400) carrier-down(V.17 14400)"
			if version == 0 || true {
				// FCF bytes as marshalled by t30 (TSI 0x43, DCS 0x83 with X bit 0)
				want = strings.ReplaceAll(want, "c3", fmt.Sprintf("%x", tsi[2]))
				want = strings.Replace(want, "c1", fmt.Sprintf("%x", dcs[2]), 1)
			}
			if got != want {
				t.Fatalf("events\n got %s\nwant %s", got, want)
			}
			if !bytes.Equal(data, page) {
				t.Fatalf("page data differs (%d octets received)", len(data))
			}
			if !bytes.Equal(tp.evB[2].ev.Frame, tsi) || !bytes.Equal(tp.evB[3].ev.Frame, dcs) {
				t.Fatal("frames differ")
			}
			// Timing: the DCS ends 0.5 s (CNG) + 1 s preamble + both frames at 300 bit/s, plus 20 ms latency.
			wantDCS := 1500*time.Millisecond + t30.BitsDuration(t30.HDLCBits(tsi)+t30.HDLCBits(dcs), 300) + 20*time.Millisecond
			if d := tp.evB[3].at - wantDCS; d < -time.Millisecond || d > time.Millisecond {
				t.Fatalf("DCS arrived at %v, want %v", tp.evB[3].at, wantDCS)
			}
			hsEnd := wantDCS - 20*time.Millisecond + 75*time.Millisecond + t30.TrainingTime(t30.Speed{Modem: t30.V17, Rate: 14400}, false) +
				t30.BitsDuration(int64(len(page))*8, 14400) + 20*time.Millisecond
			if last := tp.evB[len(tp.evB)-1]; last.at-hsEnd > time.Microsecond || hsEnd-last.at > time.Microsecond {
				t.Fatalf("carrier down at %v, want %v", last.at, hsEnd)
			}
			// A saw its own three transmissions complete.
			var done int
			for _, r := range tp.evA {
				if r.ev.Kind == t30.EventTxDone {
					done++
				}
			}
			if done != 4 {
				t.Fatalf("A got %d tx-done events, want 4", done)
			}
			// The wire: decode what A sent.
			var seqs []uint16
			var kinds []string
			var up UDPTLPacket
			for _, d := range tp.sentA {
				if err := up.Unmarshal(d); err != nil {
					t.Fatal(err)
				}
				if len(seqs) > 0 && seqs[len(seqs)-1] == up.Seq {
					kinds[len(kinds)-1] += "+"
					continue
				}
				seqs = append(seqs, up.Seq)
				p := Packet{Version: version}
				if err := p.Unmarshal(up.Primary); err != nil {
					t.Fatal(err)
				}
				if p.Type == TypeIndicator {
					kinds = append(kinds, p.Indicator.String())
					continue
				}
				if p.DataType == V21 && p.Fields[0].Type == HDLCData && len(kinds) == 3 {
					// first frame on the wire: octets in line order, MSB first
					if want := reversed(nil, tsi); !bytes.Equal(p.Fields[0].Data, want) {
						t.Fatalf("TSI on the wire %x, want bit-reversed %x", p.Fields[0].Data, want)
					}
				}
				k := p.DataType.String() + ":"
				for _, f := range p.Fields {
					k += f.Type.String() + ","
				}
				kinds = append(kinds, k)
			}
			wire := strings.Join(kinds, " ")
			wantWire := "cng++ no-signal++ v21-preamble++ v21:hdlc-data,hdlc-fcs-OK, v21:hdlc-data,hdlc-fcs-OK, v21:hdlc-sig-end,++ " +
				"v17-14400-long-training++ " + strings.Repeat("v17-14400:t4-non-ecm-data, ", 19+32) /* 54-octet (30 ms) packets per SendData: 1000 and 1700 octets */ + "v17-14400:t4-non-ecm-sig-end,++"
			if wire != wantWire {
				t.Fatalf("wire\n got %s\nwant %s", wire, wantWire)
			}
			for i := 1; i < len(seqs); i++ {
				if seqs[i] != seqs[i-1]+1 {
					t.Fatalf("sequence numbers not consecutive: %v", seqs)
				}
			}
		})
	}
}

func TestTerminalRejectsRateAboveNegotiated(t *testing.T) {
	tp := newTermPair(t, TerminalConfig{MaxBitRate: 9600}, PipeConfig{})
	if err := tp.a.StartTx(t30.Speed{Modem: t30.V17, Rate: 14400}, false); err == nil {
		t.Fatal("14400 accepted with T38MaxBitRate 9600")
	}
	if err := tp.a.StartTx(t30.Speed{Modem: t30.V29, Rate: 9600}, false); err != nil {
		t.Fatal(err)
	}
}

func TestTerminalHostileInput(t *testing.T) {
	tp := newTermPair(t, TerminalConfig{Version: 2}, PipeConfig{})
	for _, d := range [][]byte{nil, {0}, {0, 1, 2, 0xff}, {0, 1, 1, 0x3f, 0, 0}, {0, 2, 2, 0xc0, 0x05, 0, 0}} {
		tp.b.Receive(d)
	}
	if err := tp.clock.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	st := tp.b.Stats()
	if st.UDPTL.Malformed != 3 || st.BadIFP != 2 {
		t.Fatalf("stats %+v", st)
	}
	if len(tp.evB) != 0 {
		t.Fatalf("hostile input produced events: %v", tp.evB)
	}
}

// A frame larger than the datagram budget is split over several packets
// and reassembled.
func TestTerminalSplitsLargeFrames(t *testing.T) {
	tp := newTermPair(t, TerminalConfig{Version: 2, MaxDatagram: 64}, PipeConfig{Latency: time.Millisecond})
	frame := bytes.Repeat([]byte{0xff, 0x03, 0x06, 0xaa}, 65) // an ECM-sized frame
	a := tp.a
	for _, err := range []error{a.StartTx(t30.Speed{Modem: t30.V17, Rate: 14400}, true), a.SendFrame(frame), a.SendFrame(frame[:10]), a.StopTx()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.clock.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for _, r := range tp.evB {
		if r.ev.Kind == t30.EventFrame {
			if !r.ev.FCSOK || r.ev.Speed.Rate != 14400 {
				t.Fatalf("frame event %+v", r.ev)
			}
			frames = append(frames, r.ev.Frame)
		}
	}
	if len(frames) != 2 || !bytes.Equal(frames[0], frame) || !bytes.Equal(frames[1], frame[:10]) {
		t.Fatalf("frames %d", len(frames))
	}
	for _, d := range tp.sentA {
		if len(d) > 64 {
			t.Fatalf("datagram of %d octets over the 64 limit", len(d))
		}
	}
}

// A lost packet inside an ECM frame makes that frame arrive with a bad FCS
// (so T.30 asks for it again with PPR) rather than silently shortened.
func TestTerminalLossMarksFrameBad(t *testing.T) {
	n := 0
	tp := newTermPair(t, TerminalConfig{Version: 2, MaxDatagram: 64, EC: ECNone}, PipeConfig{})
	tp.ea.p.cfg.Loss = 0 // the pipe drops by Tap below instead
	// datagrams: 1-3 training indicator (2 repeats), 4-8 the first frame in
	// five parts, 9-13 the second, 14-16 sig-end; lose a part of the first.
	drop := map[int]bool{5: true}
	tp.ea.AttachFunc(tp.a.Receive)
	orig := tp.eb.recv
	tp.eb.AttachFunc(func(d []byte) {
		n++
		if !drop[n] {
			orig(d)
		}
	})
	frame := bytes.Repeat([]byte{0x5a}, 200)
	a := tp.a
	for _, err := range []error{a.StartTx(t30.Speed{Modem: t30.V29, Rate: 9600}, false), a.SendFrame(frame), a.SendFrame(frame), a.StopTx()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.clock.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var oks []bool
	for _, r := range tp.evB {
		if r.ev.Kind == t30.EventFrame {
			oks = append(oks, r.ev.FCSOK)
		}
	}
	if fmt.Sprint(oks) != "[false true]" {
		t.Fatalf("frame FCS results %v, want [false true]", oks)
	}
}

// --- whole calls: t30 sessions over two terminals in virtual time ---

func testPage(width, height int, res imaging.Resolution, seed int) *imaging.Page {
	p := imaging.NewPage(width, height, res)
	for y := 20; y < height-20; y++ {
		for x := 40; x < width-40; x++ {
			// text-like blocks and a diagonal
			if ((x/12+y/9+seed)%5 == 0 && (y/6)%4 != 3) || (x-y*2+seed*31)%677 == 0 {
				p.Set(x, y, true)
			}
		}
	}
	return p
}

type callResult struct {
	tx, rx  t30.Result
	pages   []*t30.ReceivedPage
	statsA  TerminalStats
	statsB  TerminalStats
	pipeA   PipeStats // what A sent into the pipe, and what of it was dropped
	pipeB   PipeStats
	elapsed time.Duration
}

func runT38Call(t *testing.T, doc t30.PagesDocument, txCfg, rxCfg t30.Config, tc TerminalConfig, pc PipeConfig) callResult {
	t.Helper()
	clock := t30.NewVirtualClock()
	ea, eb := NewPipe(clock, pc)
	ta, err := NewTerminal(tc, ea, clock)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := NewTerminal(tc, eb, clock)
	if err != nil {
		t.Fatal(err)
	}
	ea.Attach(ta)
	eb.Attach(tb)
	sink := &t30.PageCollector{}
	txCfg.Calling, txCfg.Transmit, txCfg.Document = true, true, doc
	rxCfg.Calling, rxCfg.Transmit, rxCfg.Sink = false, false, sink
	st, err := t30.NewSession(txCfg, ta, clock)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := t30.NewSession(rxCfg, tb, clock)
	if err != nil {
		t.Fatal(err)
	}
	st.Start()
	sr.Start()
	if err := clock.Run(context.Background(), func() bool { return st.Done() && sr.Done() }); err != nil {
		t.Fatalf("clock: %v (tx %v rx %v)", err, st.Result(), sr.Result())
	}
	return callResult{tx: st.Result(), rx: sr.Result(), pages: sink.Pages, statsA: ta.Stats(), statsB: tb.Stats(),
		pipeA: ea.Stats(), pipeB: eb.Stats(), elapsed: clock.Elapsed()}
}

func checkReceived(t *testing.T, doc t30.PagesDocument, got []*t30.ReceivedPage) (badRows int) {
	t.Helper()
	if len(got) != len(doc) {
		t.Fatalf("received %d pages, want %d", len(got), len(doc))
	}
	for i, rp := range got {
		p, st, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		badRows += st.BadRows
		if st.BadRows == 0 && !bytes.Equal(p.Pix, doc[i].Pix) {
			t.Fatalf("page %d: pixels differ", i+1)
		}
	}
	return badRows
}

func TestT38CallMatrix(t *testing.T) {
	speeds := []struct {
		name    string
		modems  t30.ModemSet
		maxRate int
		want    t30.Speed
	}{
		{"V.17 14400", t30.SetV17 | t30.SetV29 | t30.SetV27ter, 14400, t30.Speed{Modem: t30.V17, Rate: 14400}},
		{"V.29 9600", t30.SetV29 | t30.SetV27ter, 9600, t30.Speed{Modem: t30.V29, Rate: 9600}},
		{"V.27ter 4800", t30.SetV27ter, 4800, t30.Speed{Modem: t30.V27ter, Rate: 4800}},
	}
	for _, version := range []int{0, 2} {
		for _, sp := range speeds {
			for _, mode := range []struct {
				ecm  bool
				comp imaging.Compression
			}{{false, imaging.MH}, {false, imaging.MR}, {true, imaging.MR}, {true, imaging.MMR}} {
				for _, res := range []imaging.Resolution{imaging.Standard, imaging.Fine} {
					comp := mode.comp
					ecm := "non-ECM"
					if mode.ecm {
						ecm = "ECM"
					}
					name := fmt.Sprintf("v%d/%s/%s/%v/%v", version, sp.name, ecm, comp, res)
					t.Run(name, func(t *testing.T) {
						h := 1100
						if res == imaging.Fine {
							h = 2200
						}
						doc := t30.PagesDocument{testPage(imaging.WidthA4, h, res, 1), testPage(imaging.WidthA4, h, res, 2)}
						cfg := t30.Config{Modems: sp.modems, MaxRate: sp.maxRate, Compressions: []imaging.Compression{comp}, ECM: mode.ecm}
						r := runT38Call(t, doc, cfg, cfg, TerminalConfig{Version: version, MaxBitRate: sp.maxRate, EC: ECRedundancy},
							PipeConfig{Latency: 30 * time.Millisecond})
						if r.tx.Code != t30.OK || r.rx.Code != t30.OK {
							t.Fatalf("tx %v / rx %v", r.tx, r.rx)
						}
						if r.tx.Speed != sp.want || r.tx.Compression != comp || r.rx.Resolution != res || r.tx.ECM != mode.ecm {
							t.Fatalf("negotiated %v %v %v ECM %v", r.tx.Speed, r.tx.Compression, r.rx.Resolution, r.tx.ECM)
						}
						if bad := checkReceived(t, doc, r.pages); bad != 0 {
							t.Fatalf("%d bad rows on a clean link", bad)
						}
					})
				}
			}
		}
	}
}

func TestT38CallLocalTCF(t *testing.T) {
	doc := t30.PagesDocument{testPage(imaging.WidthA4, 1100, imaging.Standard, 3)}
	r := runT38Call(t, doc, t30.Config{}, t30.Config{}, TerminalConfig{Version: 2, RateManagement: RateLocalTCF, EC: ECRedundancy},
		PipeConfig{Latency: 10 * time.Millisecond})
	if r.tx.Code != t30.OK || r.rx.Code != t30.OK {
		t.Fatalf("tx %v / rx %v", r.tx, r.rx)
	}
	if r.statsB.TCFLocal == 0 {
		t.Fatalf("receiver never generated TCF locally: %+v", r.statsB)
	}
	checkReceived(t, doc, r.pages)
}

// checkNoEC asserts what a non-ECM call with no UDPTL error correction
// under loss still guarantees, whatever its outcome: the receiver rebuilds
// nothing, gives up on the packets the pipe dropped (not fewer, but for
// drops of repeated copies and its 4-packet window at the end; not more,
// but for late arrivals), the sender's confirmed pages never exceed the
// receiver's accepted pages, and a page with no bad rows is pixel-equal.
func checkNoEC(t *testing.T, doc t30.PagesDocument, r callResult) {
	t.Helper()
	for _, d := range []struct {
		name string
		sent PipeStats
		tx   TerminalStats
		rx   Stats
	}{{"A to B", r.pipeA, r.statsA, r.statsB.UDPTL}, {"B to A", r.pipeB, r.statsB, r.statsA.UDPTL}} {
		repeats := d.tx.TxDatagrams - d.tx.TxPackets
		if d.rx.Recovered != 0 {
			t.Errorf("%s: recovered %d packets with no error correction", d.name, d.rx.Recovered)
		}
		if d.rx.Lost > d.sent.Dropped+d.rx.Late || d.rx.Lost+d.rx.Late+repeats+4 < d.sent.Dropped {
			t.Errorf("%s: gave up on %d packets (%d late); the pipe dropped %d of %d datagrams (%d repeats)",
				d.name, d.rx.Lost, d.rx.Late, d.sent.Dropped, d.sent.Sent, repeats)
		}
	}
	if r.statsB.UDPTL.Lost == 0 {
		t.Error("no page data lost: the loss model is not working")
	}
	if r.tx.PagesConfirmed > len(r.pages) {
		t.Errorf("sender has %d pages confirmed, the receiver accepted %d", r.tx.PagesConfirmed, len(r.pages))
	}
	for i, rp := range r.pages {
		p, st, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		if i < len(doc) && st.BadRows == 0 && !bytes.Equal(p.Pix, doc[i].Pix) {
			t.Fatalf("page %d: no bad rows, yet pixels differ", i+1)
		}
	}
}

// TestT38CallUnderLoss: 10 % random loss with duplicates and reordering.
// ECM pages must arrive complete and pixel-equal (lost frames come back by
// PPR). Non-ECM: with redundancy depth 3 a packet
// is lost only when it and the next three datagrams all are (about 1e-4 per
// packet), so a rare lost packet is allowed; it must show up as bad rows,
// never as wrong pixels, and the calls must succeed. Non-ECM with no error
// correction at all: see checkNoEC.
func TestT38CallUnderLoss(t *testing.T) {
	doc := t30.PagesDocument{testPage(imaging.WidthA4, 1100, imaging.Standard, 4), testPage(imaging.WidthA4, 1100, imaging.Standard, 5)}
	for _, tc := range []struct {
		name string
		ec   ECMode
		ecm  bool
	}{
		{"non-ECM/redundancy 3", ECRedundancy, false}, {"non-ECM/FEC 3x3", ECFEC, false}, {"non-ECM/no EC", ECNone, false},
		{"ECM/redundancy 3", ECRedundancy, true}, {"ECM/no EC", ECNone, true},
	} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed %d", tc.name, seed), func(t *testing.T) {
				cfg := t30.Config{ECM: tc.ecm}
				r := runT38Call(t, doc, cfg, cfg, TerminalConfig{Version: 2, EC: tc.ec},
					PipeConfig{Latency: 40 * time.Millisecond, Jitter: 15 * time.Millisecond, Loss: 0.10, Duplicate: 0.02, Seed: seed})
				st := r.statsB.UDPTL
				t.Logf("tx %v, rx %v, pages %d, PPRs %d, rx %+v", r.tx.Code, r.rx.Code, len(r.pages), r.tx.PPRs, st)
				if tc.ec == ECNone && !tc.ecm {
					checkNoEC(t, doc, r)
					return
				}
				if tc.ecm {
					// ECM: whatever UDPTL could not recover, PPR must.
					if r.tx.Code != t30.OK || r.rx.Code != t30.OK || !r.tx.ECM {
						t.Fatalf("tx %v / rx %v (ECM %v)", r.tx, r.rx, r.tx.ECM)
					}
					if bad := checkReceived(t, doc, r.pages); bad != 0 {
						t.Fatalf("%d bad rows in ECM", bad)
					}
					return
				}
				if r.tx.Code != t30.OK || r.rx.Code != t30.OK {
					t.Fatalf("tx %v / rx %v", r.tx, r.rx)
				}
				if st.Recovered == 0 {
					t.Fatal("nothing needed recovery: the loss model is not working")
				}
				if st.Lost*200 > st.Delivered {
					t.Fatalf("lost %d of %d packets despite %v", st.Lost, st.Delivered, tc.ec)
				}
				bad := checkReceived(t, doc, r.pages)
				if st.Lost == 0 && bad != 0 {
					t.Fatalf("%d bad rows with no packet lost", bad)
				}
			})
		}
	}
}

// TestT38CallFillBitRemoval: the receiver asks for a 20 ms minimum scan
// line time, so the sender's T.30 pads rows with fill; with fill-bit
// removal negotiated the terminal strips it before sending. The pages
// arrive pixel-equal and the page data on the wire shrinks.
func TestT38CallFillBitRemoval(t *testing.T) {
	doc := t30.PagesDocument{testPage(imaging.WidthA4, 1100, imaging.Standard, 6)}
	t4Octets := func(remove bool) (int, callResult) {
		n := 0
		tap := func(from int, d []byte) {
			var u UDPTLPacket
			p := Packet{Version: 2}
			if from != 0 || u.Unmarshal(d) != nil || p.Unmarshal(u.Primary) != nil {
				return
			}
			for _, f := range p.Fields {
				if f.Type == T4NonECMData {
					n += len(f.Data)
				}
			}
		}
		tx := t30.Config{Compressions: []imaging.Compression{imaging.MR}}
		rx := t30.Config{Compressions: []imaging.Compression{imaging.MR}, MinScanMS: 20}
		r := runT38Call(t, doc, tx, rx, TerminalConfig{Version: 2, FillBitRemoval: remove, EC: ECRedundancy, Repeats: -1},
			PipeConfig{Latency: 10 * time.Millisecond, Tap: tap})
		return n, r
	}
	full, r1 := t4Octets(false)
	stripped, r2 := t4Octets(true)
	for _, r := range []callResult{r1, r2} {
		if r.tx.Code != t30.OK || r.rx.Code != t30.OK {
			t.Fatalf("tx %v / rx %v", r.tx, r.rx)
		}
		if bad := checkReceived(t, doc, r.pages); bad != 0 {
			t.Fatalf("%d bad rows", bad)
		}
	}
	t.Logf("non-ECM data on the wire (TCF included): %d octets with fill, %d with fill-bit removal", full, stripped)
	if stripped*10 > full*9 {
		t.Fatalf("fill-bit removal saved too little: %d -> %d", full, stripped)
	}
}

func TestTerminalCloseAndHangup(t *testing.T) {
	tp := newTermPair(t, TerminalConfig{Version: 2}, PipeConfig{})
	tp.b.Close(nil)
	if err := tp.clock.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(tp.evB) != 1 || tp.evB[0].ev.Kind != t30.EventLineLost {
		t.Fatalf("events after Close: %v", tp.evB)
	}
	if err := tp.b.StartTx(t30.Speed{Modem: t30.V21, Rate: 300}, false); err != t30.ErrLineDown {
		t.Fatalf("StartTx after Close: %v", err)
	}
	// after Hangup nothing more is reported or sent
	if err := tp.a.SendTone(t30.ToneCNG, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := tp.a.Hangup(); err != nil {
		t.Fatal(err)
	}
	if err := tp.a.SendTone(t30.ToneCNG, time.Second); err != t30.ErrLineDown {
		t.Fatalf("SendTone after Hangup: %v", err)
	}
	if err := tp.clock.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(tp.evA) != 0 || len(tp.sentA) != 0 {
		t.Fatalf("after Hangup: %d events, %d datagrams", len(tp.evA), len(tp.sentA))
	}
}

// TestTerminalBurstCarriesMoreRedundancy: datagrams that leave together
// (here the last part of a frame and the hdlc-sig-end at the end of the
// carrier, due at the same instant; after a stall, everything overdue)
// repeat one more earlier packet each, so the first of them to arrive
// carries the others.
func TestTerminalBurstCarriesMoreRedundancy(t *testing.T) {
	tp := newTermPair(t, TerminalConfig{Version: 2, EC: ECRedundancy, Redundancy: 3}, PipeConfig{Latency: time.Millisecond})
	frame := bytes.Repeat([]byte{0xff, 0x03, 0x06, 0xaa}, 65)
	a := tp.a
	for _, err := range []error{a.StartTx(t30.Speed{Modem: t30.V17, Rate: 14400}, true), a.SendFrame(frame), a.StopTx()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.clock.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	secondaries := map[uint16]int{}
	var seqs []uint16
	for _, d := range tp.sentA {
		var p UDPTLPacket
		if err := p.Unmarshal(d); err != nil {
			t.Fatal(err)
		}
		if _, ok := secondaries[p.Seq]; !ok {
			seqs = append(seqs, p.Seq)
		}
		secondaries[p.Seq] = len(p.Secondary)
	}
	if len(seqs) < 6 {
		t.Fatalf("%d packets sent, want the indicator, 5 parts and the sig-end", len(seqs))
	}
	last, part := seqs[len(seqs)-1], seqs[len(seqs)-2]
	if secondaries[part] != 3 || secondaries[last] != 4 {
		t.Fatalf("last part carries %d secondaries, sig-end %d; want 3 and 4", secondaries[part], secondaries[last])
	}
	n := 0
	for _, r := range tp.evB {
		if r.ev.Kind == t30.EventFrame && r.ev.FCSOK && bytes.Equal(r.ev.Frame, frame) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d good copies of the frame received, want 1", n)
	}
}
