package t30

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

// script is a hand-driven remote terminal on one end of a LinePair.
type script struct {
	t     testing.TB
	end   *PairEnd
	clock *VirtualClock
	// onFrame is called for every good V.21 frame the remote receives.
	onFrame func(sc *script, f Frame)
	frames  []FCF
}

func newScript(t testing.TB, end *PairEnd, clock *VirtualClock, on func(sc *script, f Frame)) *script {
	sc := &script{t: t, end: end, clock: clock, onFrame: on}
	end.SetHandler(func(ev Event) {
		if ev.Kind != EventFrame || !ev.FCSOK || ev.Speed.Modem != V21 {
			return
		}
		var f Frame
		if err := f.Unmarshal(append([]byte(nil), ev.Frame...)); err != nil {
			return
		}
		sc.frames = append(sc.frames, f.Kind())
		if sc.onFrame != nil {
			sc.onFrame(sc, f)
		}
	})
	return sc
}

// send transmits a V.21 burst after the 75 ms gap.
func (sc *script) send(frames ...Frame) {
	sc.clock.AfterFunc(GapBetweenCarriers, func() {
		_ = sc.end.StartTx(Speed{V21, 300}, false)
		for i := range frames {
			frames[i].Final = i == len(frames)-1
			_ = sc.end.SendFrame(frames[i].Marshal())
		}
		_ = sc.end.StopTx()
	})
}

func disFrame(c Caps) Frame {
	fif, _ := c.AppendFIF(nil, false)
	return Frame{FCF: FCFDIS, Info: fif}
}

func fullDIS() Caps {
	return Caps{ReceiveFax: true, Modems: SetV27ter | SetV29 | SetV17, Fine: true, MR: true, Length: LengthUnlimited}
}

// runSender runs a sender against a scripted remote.
func runSender(t testing.TB, cfg Config, model LineModel, on func(sc *script, f Frame), begin func(sc *script)) (Result, *script, *VirtualClock) {
	t.Helper()
	clock := NewVirtualClock()
	a, b := NewLinePair(clock, model)
	sc := newScript(t, b, clock, on)
	cfg.Calling, cfg.Transmit = true, true
	s, err := NewSession(cfg, a, clock)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if begin != nil {
		begin(sc)
	}
	if err := clock.Run(context.Background(), s.Done); err != nil {
		t.Fatalf("clock: %v", err)
	}
	return s.Result(), sc, clock
}

func TestNoAnswerT1(t *testing.T) {
	doc := textDoc(1, 1728, 200, imaging.Fine)
	res, _, clock := runSender(t, Config{Document: doc}, LineModel{}, nil, nil)
	if res.Code != CodeNoFax || res.PagesSent != 0 || res.FailedPage != 1 {
		t.Fatalf("result %v %+v", res.Code, res)
	}
	if clock.Elapsed() != DefaultTimers().T1 {
		t.Fatalf("gave up after %v, want T1 = %v", clock.Elapsed(), DefaultTimers().T1)
	}
	if res.Code.Retry() != RetryLater {
		t.Fatalf("retry class %v", res.Code.Retry())
	}
}

func TestReceiverNoCallerT1(t *testing.T) {
	clock := NewVirtualClock()
	_, b := NewLinePair(clock, LineModel{})
	s, err := NewSession(Config{Sink: &PageCollector{}}, b, clock)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != CodeNoFax || res.PagesReceived != 0 {
		t.Fatalf("result %v", res.Code)
	}
	// DIS is repeated every T4 (automatic) until T1; DCN goes out after T1.
	if res.Timings.Total < DefaultTimers().T1 || res.Timings.Total > DefaultTimers().T1+3*time.Second {
		t.Fatalf("ended after %v", res.Timings.Total)
	}
}

func TestRemoteDCNAfterDIS(t *testing.T) {
	doc := textDoc(2, 1728, 200, imaging.Fine)
	res, sc, _ := runSender(t, Config{Document: doc}, LineModel{}, nil, func(sc *script) {
		sc.send(Frame{FCF: FCFCSI, Info: EncodeIdent(nil, "REMOTE")}, disFrame(fullDIS()), Frame{FCF: FCFDCN})
	})
	if res.Code != CodeDCNUnexpected || res.PagesSent != 0 || res.FailedPage != 1 || res.RemoteIdent != "REMOTE" {
		t.Fatalf("result %v %+v", res.Code, res)
	}
	_ = sc
}

func TestRemoteOnlyDIS(t *testing.T) {
	// The remote sends DIS and then nothing: DCS+TCF is tried three times.
	doc := textDoc(1, 1728, 200, imaging.Fine)
	res, sc, _ := runSender(t, Config{Document: doc}, LineModel{}, nil, func(sc *script) {
		sc.send(disFrame(fullDIS()))
	})
	if res.Code != CodeNoResponse || res.PagesSent != 0 {
		t.Fatalf("result %v %+v", res.Code, res)
	}
	n := 0
	for _, k := range sc.frames {
		if k == FCFDCS {
			n++
		}
	}
	if n != 3 || sc.frames[len(sc.frames)-1] != FCFDCN {
		t.Fatalf("remote saw %v", sc.frames)
	}
}

func TestRemoteIncompatible(t *testing.T) {
	// B4 page to a remote that only takes A4.
	doc := PagesDocument{textPage(2048, 200, imaging.Fine, 1)}
	c := runCall(t, Config{Document: doc}, Config{}, LineModel{})
	if c.tx.Code != CodeIncompatible || c.rx.Code != CodeDCNUnexpected {
		t.Fatalf("codes %v / %v", c.tx.Code, c.rx.Code)
	}
	if c.tx.Code.Retry() != RetryNever {
		t.Fatal("incompatible should never be retried")
	}
	// The remote refuses what it did not offer: DCS with ECM to a non-ECM receiver.
	res, _, _ := runSender(t, Config{Document: textDoc(1, 1728, 100, imaging.Standard)}, LineModel{}, nil, func(sc *script) {
		c := fullDIS()
		c.Modems = 0 // V.27ter 2400 only
		sc.send(disFrame(c))
		sc.onFrame = func(sc *script, f Frame) {
			if f.Kind() == FCFDCS {
				d, err := ParseCaps(f.Info, true)
				if err != nil || d.Speed != (Speed{V27ter, 2400}) {
					t.Errorf("DCS %+v %v, want 2400", d, err)
				}
				sc.send(Frame{FCF: FCFDCN})
			}
		}
	})
	if res.Code != CodeDCNUnexpected {
		t.Fatalf("code %v", res.Code)
	}
}

// countFrames returns a Frame hook that applies fate to the listed
// occurrences (1-based) of frames of kind k sent by end from.
func countFrames(from int, k FCF, fate Fate, which ...int) func(int, int, []byte) Fate {
	seen := 0
	return func(f, _ int, b []byte) Fate {
		if f != from || len(b) < 3 || FCF(b[2]).Bare() != k {
			return Deliver
		}
		seen++
		for _, w := range which {
			if w == seen || w == -1 {
				return fate
			}
		}
		return Deliver
	}
}

func TestCommandRepeat(t *testing.T) {
	doc := textDoc(3, 1728, 300, imaging.Fine)
	for _, tc := range []struct {
		name  string
		hook  func(int, int, []byte) Fate
		code  Code
		pages int
	}{
		{"DCS lost once", countFrames(0, FCFDCS, Drop, 1), OK, 3},
		{"DCS corrupted twice", countFrames(0, FCFDCS, Corrupt, 1, 2), OK, 3},
		{"DIS lost twice", countFrames(1, FCFDIS, Drop, 1, 2), OK, 3},
		{"CFR lost", countFrames(1, FCFCFR, Drop, 1), OK, 3},
		{"MPS lost", countFrames(0, FCFMPS, Drop, 1), OK, 3},
		{"MPS corrupted (CRP)", countFrames(0, FCFMPS, Corrupt, 2), OK, 3},
		{"MCF lost twice", countFrames(1, FCFMCF, Drop, 1, 2), OK, 3},
		{"EOP lost twice", countFrames(0, FCFEOP, Drop, 1, 2), OK, 3},
		{"MPS lost three times", countFrames(0, FCFMPS, Drop, 1, 2, 3), CodeNoResponse, 0},
		{"MCF lost three times", countFrames(1, FCFMCF, Drop, 2, 3, 4), CodeNoResponse, 1},
		{"DCS lost three times", countFrames(0, FCFDCS, Drop, -1), CodeNoResponse, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := runCall(t, Config{Document: doc}, Config{}, LineModel{Frame: tc.hook})
			if c.tx.Code != tc.code || c.tx.PagesConfirmed != tc.pages {
				t.Fatalf("tx %v (%v) confirmed %d, want %v %d", c.tx.Code, c.tx.Err, c.tx.PagesConfirmed, tc.code, tc.pages)
			}
			if tc.code == OK {
				if c.rx.Code != OK {
					t.Fatalf("rx %v (%v)", c.rx.Code, c.rx.Err)
				}
				checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
			} else if c.tx.FailedPage != tc.pages+1 {
				t.Fatalf("failed page %d", c.tx.FailedPage)
			}
			// A page is never delivered twice.
			if c.rx.PagesReceived != len(c.pages.Pages) || c.rx.PagesReceived > 3 {
				t.Fatalf("rx pages %d / %d", c.rx.PagesReceived, len(c.pages.Pages))
			}
		})
	}
}

func TestTrainingFallback(t *testing.T) {
	doc := textDoc(1, 1728, 200, imaging.Fine)
	for _, tc := range []struct {
		failAbove int
		want      Speed
		retrains  int
	}{
		{12000, Speed{V17, 12000}, 1},
		{9600, Speed{V17, 9600}, 2},
		{7200, Speed{V17, 7200}, 3},
		{4800, Speed{V27ter, 4800}, 4},
		{2400, Speed{V27ter, 2400}, 5},
	} {
		t.Run(tc.want.String(), func(t *testing.T) {
			m := LineModel{TrainFails: func(from int, sp Speed) bool { return sp.Rate > tc.failAbove }}
			c := runCall(t, Config{Document: doc}, Config{}, m)
			if c.tx.Code != OK || c.tx.Speed != tc.want || c.tx.Retrains != tc.retrains || c.rx.Speed != tc.want {
				t.Fatalf("code %v speed %v retrains %d; want %v %d", c.tx.Code, c.tx.Speed, c.tx.Retrains, tc.want, tc.retrains)
			}
			checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
		})
	}
	// V.29 chain.
	m := LineModel{TrainFails: func(from int, sp Speed) bool { return sp.Rate > 7200 }}
	c := runCall(t, Config{Document: doc, Modems: SetV29 | SetV27ter}, Config{}, m)
	if c.tx.Code != OK || c.tx.Speed != (Speed{V29, 7200}) {
		t.Fatalf("V.29: %v %v", c.tx.Code, c.tx.Speed)
	}
}

func TestTrainingFailsAtLowestRate(t *testing.T) {
	doc := textDoc(1, 1728, 200, imaging.Fine)
	m := LineModel{TrainFails: func(int, Speed) bool { return true }}
	c := runCall(t, Config{Document: doc}, Config{}, m)
	if c.tx.Code != CodeTrainFailed || c.tx.Speed != (Speed{V27ter, 2400}) || c.tx.PagesSent != 0 {
		t.Fatalf("code %v speed %v", c.tx.Code, c.tx.Speed)
	}
	if c.rx.Code != CodeDCNUnexpected {
		t.Fatalf("rx code %v", c.rx.Code)
	}
}

func TestRTNRecovery(t *testing.T) {
	doc := textDoc(3, 1728, 300, imaging.Fine)
	var events []string
	n := 0
	m := LineModel{TrainFails: func(from int, sp Speed) bool {
		if from != 0 {
			return false
		}
		n++
		// Carriers: 1 TCF, 2 page 1, 3 page 2 (garbled -> RTN),
		// 4 TCF, 5 page 2 again, 6 page 3.
		return n == 3
	}}
	c := runCall(t, Config{Document: doc, Progress: func(ev PageEvent) {
		events = append(events, ev.Status.String())
	}}, Config{}, m)
	if c.tx.Code != OK || c.tx.PagesConfirmed != 3 || c.tx.Retrains != 1 || c.tx.Speed != (Speed{V17, 12000}) {
		t.Fatalf("code %v confirmed %d retrains %d speed %v", c.tx.Code, c.tx.PagesConfirmed, c.tx.Retrains, c.tx.Speed)
	}
	checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
	want := "sent confirmed sent rejected sent confirmed sent confirmed"
	if got := join(events); got != want {
		t.Fatalf("progress %q, want %q", got, want)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestRTNForever(t *testing.T) {
	doc := textDoc(2, 1728, 300, imaging.Fine)
	n := 0
	m := LineModel{TrainFails: func(from int, sp Speed) bool {
		n++
		return n%2 == 0 // every page carrier (TCF and page alternate)
	}}
	c := runCall(t, Config{Document: doc}, Config{}, m)
	if c.tx.Code != CodePageRejected || c.tx.PagesConfirmed != 0 || c.tx.FailedPage != 1 || c.rx.PagesReceived != 0 {
		t.Fatalf("code %v confirmed %d failed %d", c.tx.Code, c.tx.PagesConfirmed, c.tx.FailedPage)
	}
	if c.rx.Code != CodeReceiveFailed || len(c.pages.Pages) != 0 {
		t.Fatalf("rx %v pages %d", c.rx.Code, len(c.pages.Pages))
	}
}

func TestHangupMidPage(t *testing.T) {
	doc := textDoc(5, 1728, 600, imaging.Fine)
	var pair *LinePair
	var clock *VirtualClock
	hs := 0
	m := LineModel{OnStartTx: func(from int, sp Speed) {
		if from == 0 && sp.Modem != V21 {
			hs++
			if hs == 4 { // TCF, page 1, page 2, page 3
				clock.AfterFunc(time.Second, pair.Cut)
			}
		}
	}}
	// runCall builds its own clock; do it by hand here.
	clock = NewVirtualClock()
	a, b := NewLinePair(clock, m)
	pair = a.Pair()
	pages := &PageCollector{}
	st, _ := NewSession(Config{Calling: true, Transmit: true, Document: doc}, a, clock)
	sr, _ := NewSession(Config{Sink: pages}, b, clock)
	st.Start()
	sr.Start()
	if err := clock.Run(context.Background(), func() bool { return st.Done() && sr.Done() }); err != nil {
		t.Fatal(err)
	}
	tx, rx := st.Result(), sr.Result()
	if tx.Code != CodeCallDropped || tx.PagesConfirmed != 2 || tx.FailedPage != 3 {
		t.Fatalf("tx %v confirmed %d failed %d", tx.Code, tx.PagesConfirmed, tx.FailedPage)
	}
	if rx.Code != CodeCallDropped || rx.PagesReceived != 2 || rx.FailedPage != 3 {
		t.Fatalf("rx %v received %d failed %d", rx.Code, rx.PagesReceived, rx.FailedPage)
	}
	checkPages(t, doc[:2], 0, pages.Pages, imaging.Fine)
}

func TestRemoteLimits(t *testing.T) {
	doc := textDoc(2, 1728, 400, imaging.Superfine)
	for _, tc := range []struct {
		name  string
		rx    Config
		speed Speed
		comp  imaging.Compression
		res   imaging.Resolution
	}{
		{"only MH", Config{Compressions: []imaging.Compression{imaging.MH}}, Speed{V17, 14400}, imaging.MH, imaging.Superfine},
		{"only standard", Config{Resolutions: []imaging.Resolution{imaging.Standard}}, Speed{V17, 14400}, imaging.MR, imaging.Standard},
		{"only fine", Config{Resolutions: []imaging.Resolution{imaging.Fine}}, Speed{V17, 14400}, imaging.MR, imaging.Fine},
		{"only 2400", Config{MaxRate: 2400}, Speed{V27ter, 2400}, imaging.MR, imaging.Superfine},
		{"only V.27ter", Config{Modems: SetV27ter}, Speed{V27ter, 4800}, imaging.MR, imaging.Superfine},
		{"20 ms scan line", Config{MinScanMS: 20}, Speed{V17, 14400}, imaging.MR, imaging.Superfine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := runCall(t, Config{Document: doc}, tc.rx, LineModel{})
			if c.tx.Code != OK || c.rx.Code != OK {
				t.Fatalf("codes %v (%v) / %v (%v)", c.tx.Code, c.tx.Err, c.rx.Code, c.rx.Err)
			}
			if c.tx.Speed != tc.speed || c.tx.Compression != tc.comp || c.tx.Resolution != tc.res {
				t.Fatalf("got %v %v %v", c.tx.Speed, c.tx.Compression, c.tx.Resolution)
			}
			if c.rx.Speed != tc.speed || c.rx.Compression != tc.comp || c.rx.Resolution != tc.res {
				t.Fatalf("receiver saw %v %v %v", c.rx.Speed, c.rx.Compression, c.rx.Resolution)
			}
			checkPages(t, doc, 0, c.pages.Pages, tc.res)
			if tc.rx.MinScanMS > 0 {
				// Every coded row (with its EOL) fills at least the
				// minimum scan line time at the rate.
				minBits := tc.speed.Rate * tc.rx.MinScanMS / 1000
				for i, p := range c.pages.Pages {
					if len(p.Data)*8 < 400*minBits {
						t.Fatalf("page %d: %d bytes for 400 rows, want >= %d bits per row", i+1, len(p.Data), minBits)
					}
				}
				if c.tx.Timings.PhaseC < 2*400*time.Duration(tc.rx.MinScanMS)*time.Millisecond {
					t.Fatalf("phase C %v shorter than 800 rows x %d ms", c.tx.Timings.PhaseC, tc.rx.MinScanMS)
				}
			}
		})
	}
}

func TestResumeFromPage(t *testing.T) {
	doc := textDoc(5, 1728, 200, imaging.Standard)
	var sent []int
	c := runCall(t, Config{Document: doc, StartPage: 2, Progress: func(ev PageEvent) {
		if ev.Status == PageConfirmed {
			sent = append(sent, ev.Page)
		}
	}}, Config{}, LineModel{})
	if c.tx.Code != OK || c.tx.PagesConfirmed != 3 || c.tx.StartPage != 2 {
		t.Fatalf("%v %+v", c.tx.Code, c.tx)
	}
	if len(sent) != 3 || sent[0] != 3 || sent[2] != 5 {
		t.Fatalf("confirmed pages %v", sent)
	}
	checkPages(t, doc, 2, c.pages.Pages, imaging.Standard)
	if _, err := NewSession(Config{Calling: true, Transmit: true, Document: doc, StartPage: 5}, &PairEnd{}, NewVirtualClock()); err == nil {
		t.Fatal("start page past the end accepted")
	}
}

func TestCancel(t *testing.T) {
	doc := textDoc(3, 1728, 1000, imaging.Fine)
	clock := NewVirtualClock()
	a, b := NewLinePair(clock, LineModel{})
	st, _ := NewSession(Config{Calling: true, Transmit: true, Document: doc}, a, clock)
	sr, _ := NewSession(Config{Sink: &PageCollector{}}, b, clock)
	st.Start()
	sr.Start()
	clock.AfterFunc(20*time.Second, st.Cancel)
	_ = clock.Run(context.Background(), func() bool { return st.Done() && sr.Done() })
	if st.Result().Code != CodeCancelled || sr.Result().Code != CodeCallDropped {
		t.Fatalf("codes %v %v", st.Result().Code, sr.Result().Code)
	}
}

type failingRows struct{ n int }

func (f *failingRows) ReadRow(row []byte) error {
	f.n++
	if f.n > 50 {
		return errors.New("tiff: strip 3 is truncated")
	}
	return nil
}

type badDoc struct{ good PagesDocument }

func (d badDoc) NumPages() int { return len(d.good) + 1 }
func (d badDoc) Page(i int) (PageSource, error) {
	if i < len(d.good) {
		return d.good.Page(i)
	}
	return PageSource{Width: 1728, Resolution: imaging.Fine, Rows: &failingRows{}}, nil
}

func TestDocumentError(t *testing.T) {
	doc := badDoc{good: textDoc(1, 1728, 200, imaging.Fine)}
	c := runCall(t, Config{Document: doc}, Config{}, LineModel{})
	if c.tx.Code != CodeDocument || c.tx.PagesConfirmed != 1 || c.tx.FailedPage != 2 || !errors.Is(c.tx.Err, ErrDocument) {
		t.Fatalf("code %v (%v) confirmed %d failed %d", c.tx.Code, c.tx.Err, c.tx.PagesConfirmed, c.tx.FailedPage)
	}
	if c.tx.Code.Retry() != RetryNever || c.rx.Code != CodeDCNUnexpected || c.rx.PagesReceived != 1 {
		t.Fatalf("retry %v rx %v %d", c.tx.Code.Retry(), c.rx.Code, c.rx.PagesReceived)
	}
	if !strings.Contains(c.tx.Err.Error(), "strip 3 is truncated") {
		t.Fatalf("error %q does not name the cause", c.tx.Err)
	}
}

func TestCodesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Codes() {
		if c.String() == "" || seen[c.String()] || c.ID() != int(c) {
			t.Fatalf("code %d: %q", c, c.String())
		}
		seen[c.String()] = true
	}
	if OK.Retry() != RetryNever || CodeCallDropped.Retry() != RetryNow || CodeNoFax.Retry() != RetryLater {
		t.Fatal("retry classes")
	}
	if Code(999).String() != "Code(999)" || Code(999).Retry() != RetryLater {
		t.Fatal("unknown code")
	}
}

func TestEndlessRemoteHitsTimeLimit(t *testing.T) {
	// A "sender" that keeps sending MPS without ever sending a page: the
	// receiver answers RTN each time; MaxDuration ends it.
	clock := NewVirtualClock()
	a, b := NewLinePair(clock, LineModel{})
	sc := newScript(t, a, clock, nil)
	sc.onFrame = func(sc *script, f Frame) {
		switch f.Kind() {
		case FCFDIS:
			fif, _ := (&Caps{ReceiveFax: true, Speed: Speed{V27ter, 2400}}).AppendFIF(nil, true)
			sc.send(Frame{FCF: FCFDCS | 1, Info: fif})
			sc.send(Frame{FCF: FCFMPS | 1})
		case FCFFTT, FCFRTN, FCFCFR:
			sc.send(Frame{FCF: FCFMPS | 1})
		}
	}
	s, _ := NewSession(Config{Sink: &PageCollector{}, MaxDuration: 10 * time.Minute}, b, clock)
	res, err := s.Run(context.Background())
	if err != nil || res.Code != CodeProtocol || res.Timings.Total < 10*time.Minute || res.Timings.Total > 11*time.Minute {
		t.Fatalf("code %v after %v (%v)", res.Code, res.Timings.Total, err)
	}
}
