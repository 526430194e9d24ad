package t30

import (
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

func TestECMBasic(t *testing.T) {
	doc := textDoc(3, 1728, 1100, imaging.Fine)
	for _, fs := range []bool{false, true} {
		c := runCall(t, Config{Document: doc, ECM: true, Frame64: fs}, Config{ECM: true}, LineModel{})
		if c.tx.Code != OK || c.rx.Code != OK || !c.tx.ECM || c.tx.Compression != imaging.MMR {
			t.Fatalf("codes %v (%v) / %v (%v) ecm %v %v", c.tx.Code, c.tx.Err, c.rx.Code, c.rx.Err, c.tx.ECM, c.tx.Compression)
		}
		want := 256
		if fs {
			want = 64
		}
		if c.tx.FrameSize != want || c.rx.FrameSize != want {
			t.Fatalf("frame size %d/%d", c.tx.FrameSize, c.rx.FrameSize)
		}
		checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
		t.Logf("virtual %v", c.clock.Elapsed())
	}
}

func TestECMFrameErrors(t *testing.T) {
	doc := textDoc(3, 1728, 1100, imaging.Fine)
	for _, tc := range []struct {
		rate     float64
		frame64  bool
		minPPRs  int
		fallback bool
	}{
		{0.01, false, 1, false},
		{0.05, false, 1, false},
		{0.05, true, 1, false},
		{0.20, false, 3, false},
		{0.20, true, 3, true},
	} {
		c := runCall(t, Config{Document: doc, ECM: true, Frame64: tc.frame64}, Config{ECM: true},
			LineModel{FrameErrorRate: tc.rate, Seed: 42})
		if c.tx.Code != OK || c.rx.Code != OK {
			t.Fatalf("rate %v: codes %v (%v) / %v (%v)", tc.rate, c.tx.Code, c.tx.Err, c.rx.Code, c.rx.Err)
		}
		if c.tx.PPRs < tc.minPPRs {
			t.Fatalf("rate %v: %d PPRs, want >= %d", tc.rate, c.tx.PPRs, tc.minPPRs)
		}
		if tc.fallback && (c.tx.Retrains == 0 || c.tx.Speed.Rate >= 14400) {
			t.Fatalf("rate %v: no CTC fallback (speed %v)", tc.rate, c.tx.Speed)
		}
		// ECM delivers exact pages whatever the frame errors.
		checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
		t.Logf("frame errors %.0f%% (64=%v): PPRs %d, retrains %d, speed %v, virtual %v",
			tc.rate*100, tc.frame64, c.tx.PPRs, c.tx.Retrains, c.tx.Speed, c.clock.Elapsed())
	}
}

func TestECMCTCFallback(t *testing.T) {
	// Every high-speed frame at 14400 and 12000 is lost: four PPRs, CTC,
	// then the page gets through at 9600.
	doc := textDoc(1, 1728, 400, imaging.Fine)
	m := LineModel{Frame: func(from, n int, b []byte) Fate { return Deliver }}
	var speedOf func() Speed
	m.Frame = func(from, n int, b []byte) Fate {
		if from == 0 && len(b) > 3 && FCF(b[2]) == FCFFCD && speedOf().Rate > 9600 {
			return Corrupt
		}
		return Deliver
	}
	var c *call
	cur := Speed{V17, 14400}
	speedOf = func() Speed { return cur }
	m.OnStartTx = func(from int, sp Speed) {
		if from == 0 && sp.Modem != V21 {
			cur = sp
		}
	}
	c = runCall(t, Config{Document: doc, ECM: true}, Config{ECM: true}, m)
	if c.tx.Code != OK || c.tx.Speed != (Speed{V17, 9600}) || c.rx.Speed != (Speed{V17, 9600}) {
		t.Fatalf("code %v (%v) speed %v / %v", c.tx.Code, c.tx.Err, c.tx.Speed, c.rx.Speed)
	}
	if c.tx.PPRs != 2*pprsBeforeCTC || c.tx.Retrains != 2 {
		t.Fatalf("PPRs %d retrains %d", c.tx.PPRs, c.tx.Retrains)
	}
	checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
}

func TestECMEORAtLowestSpeed(t *testing.T) {
	doc := textDoc(2, 1728, 200, imaging.Fine)
	c := runCall(t, Config{Document: doc, ECM: true}, Config{ECM: true}, LineModel{FrameErrorRate: 1})
	if c.tx.Code != CodeECMFailed || c.tx.Speed != (Speed{V27ter, 2400}) || c.tx.FailedPage != 1 || c.tx.PagesConfirmed != 0 {
		t.Fatalf("code %v speed %v failed %d", c.tx.Code, c.tx.Speed, c.tx.FailedPage)
	}
	// The receiver answered ERR and took the damaged page, then saw DCN.
	if c.rx.Code != CodeDCNUnexpected {
		t.Fatalf("rx %v", c.rx.Code)
	}
}

// ecmScript is a remote receiver that answers DIS (ECM), CFR to any DCS,
// and calls post for every PPS/RR.
func ecmScript(post func(sc *script, f Frame)) func(sc *script, f Frame) {
	return func(sc *script, f Frame) {
		switch f.Kind() {
		case FCFDCS:
			sc.clock.AfterFunc(TCFDuration+2*TrainingTime(Speed{V17, 14400}, false), func() { sc.send(Frame{FCF: FCFCFR}) })
		case FCFPPS, FCFRR:
			post(sc, f)
		case FCFDCN:
		}
	}
}

func TestECMReceiverNotReady(t *testing.T) {
	doc := textDoc(1, 1728, 200, imaging.Fine)
	dis := fullDIS()
	dis.ECM = true
	begin := func(sc *script) { sc.send(disFrame(dis)) }
	// RNR twice, then MCF.
	n := 0
	res, sc, _ := runSender(t, Config{Document: doc, ECM: true}, LineModel{}, ecmScript(func(sc *script, f Frame) {
		n++
		if n <= 2 {
			sc.send(Frame{FCF: FCFRNR})
			return
		}
		sc.send(Frame{FCF: FCFMCF})
	}), begin)
	if res.Code != OK || res.PagesConfirmed != 1 {
		t.Fatalf("code %v (%v)", res.Code, res.Err)
	}
	rr := 0
	for _, k := range sc.frames {
		if k == FCFRR {
			rr++
		}
	}
	if rr != 2 {
		t.Fatalf("RR sent %d times, frames %v", rr, sc.frames)
	}
	// RNR forever: T5.
	res, _, clock := runSender(t, Config{Document: doc, ECM: true}, LineModel{}, ecmScript(func(sc *script, f Frame) {
		sc.send(Frame{FCF: FCFRNR})
	}), begin)
	if res.Code != CodeT5Timeout || clock.Elapsed() < DefaultTimers().T5 {
		t.Fatalf("code %v after %v", res.Code, clock.Elapsed())
	}
}

type slowSink struct {
	PageCollector
	busyFor int // Busy answers true this many times
	asked   int
}

func (s *slowSink) Busy() bool {
	s.asked++
	return s.asked <= s.busyFor
}

func TestECMReceiverFlowControl(t *testing.T) {
	doc := textDoc(2, 1728, 300, imaging.Fine)
	sink := &slowSink{busyFor: 3}
	c := runCall(t, Config{Document: doc, ECM: true}, Config{ECM: true, Sink: sink}, LineModel{})
	if c.tx.Code != OK || c.rx.Code != OK || len(sink.Pages) != 2 {
		t.Fatalf("codes %v (%v) / %v (%v), %d pages", c.tx.Code, c.tx.Err, c.rx.Code, c.rx.Err, len(sink.Pages))
	}
	if sink.asked != 3+2 {
		t.Fatalf("Busy asked %d times, want 5 (3 busy + one per block)", sink.asked)
	}
	checkPages(t, doc, 0, sink.Pages, imaging.Fine)
	// Busy for ever: the sender's T5 ends the call.
	forever := &slowSink{busyFor: 1 << 30}
	c = runCall(t, Config{Document: doc, ECM: true}, Config{ECM: true, Sink: forever}, LineModel{})
	if c.tx.Code != CodeT5Timeout || c.tx.PagesConfirmed != 0 || c.rx.Code != CodeDCNUnexpected {
		t.Fatalf("busy forever: %v / %v", c.tx.Code, c.rx.Code)
	}
}
