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

// TestECMContinueAtLowestSpeed: every frame above 2400 bit/s is lost, and
// at 2400 only the first two frames of each burst arrive (a receiver that
// loses symbol timing a few seconds into a burst): four PPRs at each speed
// down to 2400, then CTC at 2400 again while the PPRs ask for fewer frames,
// until the page is through.
func TestECMContinueAtLowestSpeed(t *testing.T) {
	doc := textDoc(1, 1728, 400, imaging.Fine)
	var cur Speed
	burst := 0
	m := LineModel{
		OnStartTx: func(from int, sp Speed) {
			if from == 0 && sp.Modem != V21 {
				cur, burst = sp, 0
			}
		},
		Frame: func(from, n int, b []byte) Fate {
			if from != 0 || len(b) <= 3 || FCF(b[2]) != FCFFCD {
				return Deliver
			}
			if burst++; cur.Rate > 2400 || burst > 2 {
				return Corrupt
			}
			return Deliver
		},
	}
	c := runCall(t, Config{Document: doc, ECM: true}, Config{ECM: true}, m)
	if c.tx.Code != OK || c.tx.Speed != (Speed{V27ter, 2400}) {
		t.Fatalf("code %v (%v) speed %v", c.tx.Code, c.tx.Err, c.tx.Speed)
	}
	checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
	t.Logf("PPRs %d, retrains %d, virtual %v", c.tx.PPRs, c.tx.Retrains, c.clock.Elapsed())
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

// burstCountPPS makes end 0 (our sender) look like SpanDSP in the PPS
// frame count: each PPS carries the number of FCD frames of the burst
// just sent (so one, after a PPR for one frame), not the block's count.
// It also corrupts the first transmission of chosen FCD frames (counted
// from 1 over the call) so that PPRs happen.
type burstCountPPS struct {
	corrupt   map[int]bool
	fcd       int  // FCD frames sent so far
	burst     int  // FCD frames in the current burst
	afterPPS  bool // a PPS was sent since the last FCD frame
	rewritten int  // PPS frames whose count was changed
	counts    []int
}

func (b *burstCountPPS) model() LineModel {
	return LineModel{
		Frame: func(from, n int, raw []byte) Fate {
			if from != 0 || len(raw) < 3 {
				return Deliver
			}
			switch FCF(raw[2]).Bare() {
			case FCFFCD:
				if b.afterPPS {
					b.burst, b.afterPPS = 0, false
				}
				b.burst++
				b.fcd++
				if b.corrupt[b.fcd] {
					return Corrupt
				}
			case FCFPPS:
				b.afterPPS = true
			}
			return Deliver
		},
		Rewrite: func(from, n int, raw []byte) []byte {
			if from != 0 || len(raw) < 7 || FCF(raw[2]).Bare() != FCFPPS {
				return nil
			}
			c := byte(max(b.burst, 1) - 1)
			if raw[6] != c {
				b.rewritten++
			}
			raw[6] = c
			b.counts = append(b.counts, int(c)+1)
			return raw
		},
	}
}

// TestECMRetransmissionPPSBurstCount: after a PPR the remote's PPS gives
// the number of frames in the retransmission burst (as SpanDSP does); the
// receiver must keep the block's count from the first PPS of the block and
// still deliver the whole page (the interop tests found pages cut to one
// frame).
func TestECMRetransmissionPPSBurstCount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frame64 bool
		corrupt []int
	}{
		{"256/one frame", false, []int{3}},
		{"256/first and last frames", false, []int{1, 2, 73, 74}},
		{"64/several blocks", true, []int{2, 7, 200, 256, 257, 300, 301, 302}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := textDoc(2, 1728, 1100, imaging.Fine)
			b := &burstCountPPS{corrupt: map[int]bool{}}
			for _, n := range tc.corrupt {
				b.corrupt[n] = true
			}
			c := runCall(t, Config{Document: doc, ECM: true, Frame64: tc.frame64}, Config{ECM: true}, b.model())
			if c.tx.Code != OK || c.rx.Code != OK {
				t.Fatalf("codes %v (%v) / %v (%v)", c.tx.Code, c.tx.Err, c.rx.Code, c.rx.Err)
			}
			if c.tx.PPRs == 0 || b.rewritten == 0 {
				t.Fatalf("%d PPRs, %d PPS rewritten: the case tests nothing", c.tx.PPRs, b.rewritten)
			}
			checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
			t.Logf("%d FCD frames, %d PPRs, PPS counts %v", b.fcd, c.tx.PPRs, b.counts)
		})
	}
}

func TestECMBlockFrames(t *testing.T) {
	for _, tc := range []struct {
		name string
		high int   // highest frame number received + 1
		pps  []int // frame counts of successive PPS for one block
		want int   // block size after the last PPS
	}{
		{"first PPS", 10, []int{10}, 10},
		{"retransmission of one frame", 10, []int{10, 1}, 10},
		{"repeat of the block count", 10, []int{10, 10, 10}, 10},
		{"zero-frame burst sent as 256", 10, []int{10, 256}, 10},
		{"last frames lost", 7, []int{10, 3}, 10},
		{"frame beyond the count", 12, []int{10}, 12},
		{"full block", 256, []int{256, 2}, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r ecmRx
			r.high = tc.high
			got := 0
			for _, c := range tc.pps {
				got = r.ecmBlockFrames(c)
			}
			if got != tc.want {
				t.Fatalf("block frames %d, want %d", got, tc.want)
			}
			r.ecmNextBlock()
			if got := r.ecmBlockFrames(3); got != 3 {
				t.Fatalf("next block: %d frames, want 3", got)
			}
		})
	}
}
