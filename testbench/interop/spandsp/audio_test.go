package spandsp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/modem"
	"github.com/faxagent/faxagent/modem/g711"
	"github.com/faxagent/faxagent/modem/impair"
	"github.com/faxagent/faxagent/t30"
)

// TestG711MatchesSpanDSP: our G.711 encoders agree with SpanDSP's g711.h
// on every 16-bit input, and the decoders on every code.
func TestG711MatchesSpanDSP(t *testing.T) {
	bin := audioBinary(t)
	ulaw, alaw, ulawDec, alawDec, err := G711Tables(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 65536 {
		x := int16(i - 32768)
		if got := g711.EncodeULaw(x); got != ulaw[i] {
			t.Fatalf("µ-law of %d: ours %#02x, SpanDSP %#02x", x, got, ulaw[i])
		}
		if got := g711.EncodeALaw(x); got != alaw[i] {
			t.Fatalf("A-law of %d: ours %#02x, SpanDSP %#02x", x, got, alaw[i])
		}
	}
	for c := range 256 {
		if got := g711.DecodeULaw(byte(c)); got != ulawDec[c] {
			t.Fatalf("µ-law %#02x: ours %d, SpanDSP %d", c, got, ulawDec[c])
		}
		if got := g711.DecodeALaw(byte(c)); got != alawDec[c] {
			t.Fatalf("A-law %#02x: ours %d, SpanDSP %d", c, got, alawDec[c])
		}
	}
}

// audioCase is one audio fax call between our modem terminal (with t30)
// and SpanDSP's fax_state.
type audioCase struct {
	weSend  bool
	modems  t30.ModemSet
	spMask  int
	maxRate int
	comp    imaging.Compression
	ecm     bool
	pages   int
	fine    bool // fine resolution (else standard)
	// line impairments, each direction (Seed is varied per direction)
	line *impair.Config
	// echo of each end's own signal, dB (0: none)
	echoDB float64
}

type audioOutcome struct {
	ours   t30.Result
	theirs *PeerResult
	stats  modem.Stats
	file   string
	doc    t30.PagesDocument
	sink   *t30.PageCollector
	dur    time.Duration
}

func compMask(c imaging.Compression) int {
	return map[imaging.Compression]int{imaging.MH: 2, imaging.MR: 2 | 4, imaging.MMR: 2 | 4 | 8}[c]
}

// runAudio runs one call in lockstep virtual time (20 ms ticks): SpanDSP
// makes its block from what reached it, ours does the same, each block
// reaches the other through the line's impairments on the next tick.
func runAudio(t *testing.T, bin string, c audioCase, limit time.Duration) audioOutcome {
	t.Helper()
	dir := t.TempDir()
	var doc t30.PagesDocument
	for i := range c.pages {
		if c.fine {
			doc = append(doc, testPage(2200, imaging.Fine, i+1))
		} else {
			doc = append(doc, testPage(1100, imaging.Standard, i+1))
		}
	}
	file := filepath.Join(dir, "fax.tif")
	if !c.weSend {
		writeTIFF(t, file, doc, c.comp)
	}
	ecm := 0
	if c.ecm {
		ecm = 1
	}
	opts := []string{fmt.Sprintf("modems=%d", c.spMask), fmt.Sprintf("comp=%d", compMask(c.comp)), fmt.Sprintf("ecm=%d", ecm)}
	if os.Getenv("MODEMDEBUG") != "" {
		opts = append(opts, "debug=1")
	}
	peer, err := StartAudio(context.Background(), bin, !c.weSend, file, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	clock := t30.NewVirtualClock()
	term := modem.NewTerminal(modem.Config{}, clock)
	sink := &t30.PageCollector{}
	cfg := t30.Config{Calling: c.weSend, Transmit: c.weSend, Modems: c.modems, MaxRate: c.maxRate,
		Compressions: []imaging.Compression{c.comp}, Ident: "FAXAGENT", ECM: c.ecm}
	if c.weSend {
		cfg.Document = doc
	} else {
		cfg.Sink = sink
	}
	if os.Getenv("MODEMDEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sess, err := t30.NewSession(cfg, term, clock)
	if err != nil {
		t.Fatal(err)
	}
	toPeer, toUs := lineChannels(c.line, modem.DefaultLevel, spandspLevel)
	var echoUs, echoPeer *impair.Echo
	if c.echoDB != 0 {
		echoUs, echoPeer = impair.NewEcho(c.echoDB, 80), impair.NewEcho(c.echoDB, 80)
	}
	sess.Start()
	const tick = 20 * time.Millisecond
	ours := make([]int16, modem.BlockSamples)
	var rxPeer, rxUs []int16
	for clock.Elapsed() < limit {
		theirs, err := peer.Tick(rxPeer, modem.BlockSamples)
		if err != nil {
			t.Fatal(err)
		}
		term.Process(rxUs, ours)
		advance(clock, tick)
		rxUs = append(rxUs[:0], through(toUs, theirs)...)
		rxPeer = append(rxPeer[:0], through(toPeer, ours)...)
		if echoUs != nil {
			echoUs.Add(rxUs, ours)
			echoPeer.Add(rxPeer, theirs)
		}
		if sess.Done() && peer.Result() != nil {
			break
		}
	}
	return audioOutcome{ours: sess.Result(), theirs: peer.Result(), stats: term.Stats(), file: file, doc: doc, sink: sink, dur: clock.Elapsed()}
}

// spandspLevel is the level SpanDSP's fax modems send at (measured on
// faxpeer's output: -14 dBm0; its tones -11 dBm0).
const spandspLevel = -14.0

// lineChannels returns the two directions of a line: from a sender at
// levelA and from one at levelB (an SNR refers to the sender's level),
// with different noise seeds.
func lineChannels(line *impair.Config, levelA, levelB float64) (fromA, fromB *impair.Channel) {
	if line == nil {
		return nil, nil
	}
	a, b := *line, *line
	a.Seed, b.Seed = line.Seed*2+1, line.Seed*2+2
	a.SignalDBm0, b.SignalDBm0 = levelA, levelB
	return impair.New(a), impair.New(b)
}

func through(ch *impair.Channel, in []int16) []int16 {
	if ch == nil {
		return in
	}
	return ch.Process(in)
}

// speeds of the matrix: what both sides offer and the rate that must be
// chosen.
var audioSpeeds = []struct {
	name    string
	modems  t30.ModemSet
	spMask  int
	maxRate int
	want    t30.Speed
	top     bool // the modulation's fastest rate (the one a sender picks from DIS)
}{
	{"V.27ter 2400", t30.SetV27ter, 1, 2400, t30.Speed{Modem: t30.V27ter, Rate: 2400}, false},
	{"V.27ter 4800", t30.SetV27ter, 1, 4800, t30.Speed{Modem: t30.V27ter, Rate: 4800}, true},
	{"V.29 7200", t30.SetV29 | t30.SetV27ter, 3, 7200, t30.Speed{Modem: t30.V29, Rate: 7200}, false},
	{"V.29 9600", t30.SetV29 | t30.SetV27ter, 3, 9600, t30.Speed{Modem: t30.V29, Rate: 9600}, true},
	{"V.17 7200", t30.SetV17 | t30.SetV29 | t30.SetV27ter, 7, 7200, t30.Speed{Modem: t30.V17, Rate: 7200}, false},
	{"V.17 9600", t30.SetV17 | t30.SetV29 | t30.SetV27ter, 7, 9600, t30.Speed{Modem: t30.V17, Rate: 9600}, false},
	{"V.17 12000", t30.SetV17 | t30.SetV29 | t30.SetV27ter, 7, 12000, t30.Speed{Modem: t30.V17, Rate: 12000}, false},
	{"V.17 14400", t30.SetV17 | t30.SetV29 | t30.SetV27ter, 7, 14400, t30.Speed{Modem: t30.V17, Rate: 14400}, true},
}

// TestAudioV21WithSpanDSP: phase A and B over audio against SpanDSP's own
// modems, both directions, as far as V.21 and the tones go: SpanDSP's
// CED/CNG are detected, its DIS (we send) or TSI and DCS (it sends) arrive
// with good FCS, and our DIS/DCS reach it: its DCS picks the modulation
// and rate we offered, or it reports the rate of the DCS we sent. The
// high-speed part follows only where our pump exists (the call then runs
// to the end in TestAudioCallWithSpanDSP).
func TestAudioV21WithSpanDSP(t *testing.T) {
	bin := audioBinary(t)
	pumps := modem.DefaultPumps()
	for _, weSend := range []bool{true, false} {
		for _, sp := range audioSpeeds {
			if !sp.top {
				continue // one rate per modulation is enough here
			}
			dir := map[bool]string{true: "we send", false: "SpanDSP sends"}[weSend]
			t.Run(dir+"/"+sp.name, func(t *testing.T) {
				t.Parallel()
				c := audioCase{weSend: weSend, modems: sp.modems, spMask: sp.spMask, maxRate: sp.maxRate, comp: imaging.MR, pages: 1}
				if !weSend {
					// SpanDSP picks the fastest we offer; our DIS caps it.
					c.maxRate = 0
				}
				o := runAudio(t, bin, c, 90*time.Second)
				t.Logf("ours %v (%v) remote %q caps speed %v; SpanDSP %+v; terminal %+v; %v virtual",
					o.ours.Code, o.ours.Err, o.ours.RemoteIdent, o.ours.RemoteCaps.Speed, o.theirs, o.stats, o.dur)
				if o.stats.V21BadFCS != 0 {
					t.Errorf("%d V.21 frames with a bad FCS", o.stats.V21BadFCS)
				}
				// SpanDSP's CED must be detected; its CNG mostly overlaps
				// our own CED (we answer at once), so it is only counted.
				if weSend && o.stats.Tones == 0 {
					t.Errorf("SpanDSP's CED not detected")
				}
				if weSend {
					if o.ours.RemoteIdent != "SPANDSP RECEIVER" {
						t.Errorf("CSI %q, want SPANDSP RECEIVER", o.ours.RemoteIdent)
					}
					if o.theirs == nil || o.theirs.BitRate != sp.want.Rate {
						t.Errorf("SpanDSP saw rate %v, want %d (our DCS)", o.theirs, sp.want.Rate)
					}
				} else {
					if o.ours.RemoteIdent != "SPANDSP SENDER" {
						t.Errorf("TSI %q, want SPANDSP SENDER", o.ours.RemoteIdent)
					}
					want := sp.want
					if o.ours.RemoteCaps.Speed != want {
						t.Errorf("SpanDSP's DCS chose %v, want %v (from our DIS)", o.ours.RemoteCaps.Speed, want)
					}
				}
				if _, ok := pumps[sp.want.Modem]; !ok {
					t.Logf("no %v pump yet: the call stops at the training (%v)", sp.want.Modem, o.ours.Code)
				}
			})
		}
	}
}

// TestAudioCallWithSpanDSP: whole audio fax calls against SpanDSP, both
// directions, ECM off (MH, MR) and on (MR, MMR): both result codes OK, the
// rate as asked, pages pixel-equal. We send at every rate whose pump we
// have (our MaxRate picks it); SpanDSP sends at each modulation's fastest
// rate (a sender picks it from our DIS; T.30 gives the receiver no way to
// ask for less short of failing the training).
func TestAudioCallWithSpanDSP(t *testing.T) {
	bin := audioBinary(t)
	pumps := modem.DefaultPumps()
	for _, weSend := range []bool{true, false} {
		for _, sp := range audioSpeeds {
			if !weSend && !sp.top {
				continue
			}
			for _, mode := range []struct {
				ecm  bool
				comp imaging.Compression
			}{{false, imaging.MH}, {false, imaging.MR}, {true, imaging.MR}, {true, imaging.MMR}} {
				dir := map[bool]string{true: "we send", false: "SpanDSP sends"}[weSend]
				name := fmt.Sprintf("%s/%s/ECM %v/%v", dir, sp.name, mode.ecm, mode.comp)
				c := audioCase{weSend: weSend, modems: sp.modems, spMask: sp.spMask, maxRate: sp.maxRate,
					comp: mode.comp, ecm: mode.ecm, pages: 1}
				t.Run(name, func(t *testing.T) {
					if _, ok := pumps[sp.want.Modem]; !ok {
						t.Skipf("no %v pump in modem.DefaultPumps yet", sp.want.Modem)
					}
					t.Parallel()
					checkAudioCall(t, runAudio(t, bin, c, 10*time.Minute), c, sp.want)
				})
			}
		}
	}
}

// TestAudioMultiPageWithSpanDSP: 10 pages at fine resolution, V.17 14400,
// with and without ECM, both directions.
func TestAudioMultiPageWithSpanDSP(t *testing.T) {
	bin := audioBinary(t)
	want := t30.Speed{Modem: t30.V17, Rate: 14400}
	for _, weSend := range []bool{true, false} {
		for _, ecm := range []bool{false, true} {
			c := audioCase{weSend: weSend, modems: t30.SetV17 | t30.SetV29 | t30.SetV27ter, spMask: 7, maxRate: 14400,
				comp: imaging.MR, ecm: ecm, pages: 10, fine: true}
			t.Run(fmt.Sprintf("we send %v/ECM %v", weSend, ecm), func(t *testing.T) {
				t.Parallel()
				checkAudioCall(t, runAudio(t, bin, c, 30*time.Minute), c, want)
			})
		}
	}
}

// checkAudioCall asserts a completed call: codes, rate, mode, pages.
func checkAudioCall(t *testing.T, o audioOutcome, c audioCase, want t30.Speed) {
	t.Helper()
	ours, theirs := o.ours, o.theirs
	if theirs == nil {
		t.Fatalf("SpanDSP did not finish: ours %v (%v)", ours.Code, ours.Err)
	}
	t.Logf("ours: %v %v; SpanDSP: %d %q tx %d rx %d rate %d; virtual %v; terminal %+v",
		ours.Code, ours.Speed, theirs.Code, theirs.Text, theirs.PagesTx, theirs.PagesRx, theirs.BitRate, o.dur, o.stats)
	if ours.Code != t30.OK || !theirs.OK() {
		t.Fatalf("call failed: ours %v (%v), SpanDSP %d %s", ours.Code, ours.Err, theirs.Code, theirs.Text)
	}
	if ours.Speed != want || theirs.BitRate != want.Rate {
		t.Fatalf("rate: ours %v, SpanDSP %d, want %v", ours.Speed, theirs.BitRate, want)
	}
	if ours.ECM != c.ecm || theirs.ECM != c.ecm || ours.Compression != c.comp {
		t.Fatalf("mode: ours ECM %v %v, SpanDSP ECM %v", ours.ECM, ours.Compression, theirs.ECM)
	}
	var got []*imaging.Page
	if c.weSend {
		if theirs.PagesRx != c.pages || theirs.BadRows != 0 {
			t.Fatalf("SpanDSP received %d pages, %d bad rows", theirs.PagesRx, theirs.BadRows)
		}
		got = readTIFF(t, o.file)
	} else {
		for i, rp := range o.sink.Pages {
			p, st, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
			if err != nil || st.BadRows != 0 {
				rows := []int{}
				if p != nil && i < len(o.doc) {
					for y := 0; y < min(p.Height, o.doc[i].Height); y++ {
						if !bytes.Equal(p.Row(y), o.doc[i].Row(y)) {
							rows = append(rows, y)
						}
					}
				}
				t.Fatalf("page %d: %v, %d bad rows (%+v); rows differing from the original: %d of %d (first %v); %d octets, starting %x", i+1, err, st.BadRows, st, len(rows), o.doc[i].Height, rows[:min(len(rows), 3)], len(rp.Data), rp.Data[:min(len(rp.Data), 24)])
			}
			got = append(got, p)
		}
	}
	if len(got) != len(o.doc) {
		t.Fatalf("%d pages arrived, want %d", len(got), len(o.doc))
	}
	for i := range o.doc {
		if got[i].Height != o.doc[i].Height || !bytes.Equal(got[i].Pix, o.doc[i].Pix) {
			t.Fatalf("page %d differs", i+1)
		}
	}
}
