package t30

import (
	"context"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

// runPoll: the calling terminal polls (receives), the answering terminal
// sends.
func runPoll(t *testing.T, tx, rx Config, model LineModel) *call {
	t.Helper()
	c := &call{clock: NewVirtualClock(), pages: &PageCollector{}}
	c.a, c.b = NewLinePair(c.clock, model)
	tx.Calling, tx.Transmit = false, true
	rx.Calling, rx.Transmit = true, false
	if rx.Sink == nil {
		rx.Sink = c.pages
	}
	var xbits []FCF
	c.b.Pair().model.Frame = func(from, n int, b []byte) Fate {
		xbits = append(xbits, FCF(b[2]))
		if model.Frame != nil {
			return model.Frame(from, n, b)
		}
		return Deliver
	}
	st, err := NewSession(tx, c.b, c.clock)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := NewSession(rx, c.a, c.clock)
	if err != nil {
		t.Fatal(err)
	}
	st.Start()
	sr.Start()
	if err := c.clock.Run(context.Background(), func() bool { return st.Done() && sr.Done() }); err != nil {
		t.Fatal(err)
	}
	c.tx, c.rx = st.Result(), sr.Result()
	c.frames = xbits
	return c
}

func TestPolling(t *testing.T) {
	doc := textDoc(2, 1728, 300, imaging.Fine)
	for _, ecm := range []bool{false, true} {
		c := runPoll(t, Config{Document: doc, Ident: "POLLED", ECM: ecm}, Config{Ident: "POLLER", ECM: ecm}, LineModel{})
		if c.tx.Code != OK || c.rx.Code != OK || c.rx.PagesReceived != 2 || c.tx.PagesConfirmed != 2 {
			t.Fatalf("ECM=%v: codes %v (%v) / %v (%v)", ecm, c.tx.Code, c.tx.Err, c.rx.Code, c.rx.Err)
		}
		if c.tx.RemoteIdent != "POLLER" || c.rx.RemoteIdent != "POLLED" || c.tx.ECM != ecm {
			t.Fatalf("idents %q %q", c.tx.RemoteIdent, c.rx.RemoteIdent)
		}
		checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
		// T.30 5.3.6: the X bit is set by the terminal that received a
		// valid DIS, here the poller; the polled sender's DCS has it clear.
		saw := map[FCF]bool{}
		for _, f := range c.frames {
			saw[f] = true
		}
		if !saw[FCFDTC] || !saw[FCFCIG] || !saw[FCFDCS] || saw[FCFDCS|1] || !saw[FCFCFR|1] || !saw[FCFMCF|1] {
			t.Fatalf("ECM=%v: frames %v", ecm, c.frames)
		}
	}
	// DTC lost twice: repeated; DIS repeated by the polled side.
	c := runPoll(t, Config{Document: doc}, Config{}, LineModel{Frame: countFrames(0, FCFDTC, Drop, 1, 2)})
	if c.tx.Code != OK || c.rx.PagesReceived != 2 {
		t.Fatalf("lost DTC: %v / %v", c.tx.Code, c.rx.Code)
	}
	// Polling a terminal that has nothing to send.
	clock := NewVirtualClock()
	a, b := NewLinePair(clock, LineModel{})
	poller, _ := NewSession(Config{Calling: true, Sink: &PageCollector{}}, a, clock)
	plain, _ := NewSession(Config{Sink: &PageCollector{}}, b, clock)
	poller.Start()
	plain.Start()
	if err := clock.Run(context.Background(), func() bool { return poller.Done() && plain.Done() }); err != nil {
		t.Fatal(err)
	}
	if poller.Result().Code != CodeIncompatible || plain.Result().Code != CodeDCNUnexpected {
		t.Fatalf("poll without document: %v / %v", poller.Result().Code, plain.Result().Code)
	}
	// Nobody answers the poll: T1.
	clock = NewVirtualClock()
	a, _ = NewLinePair(clock, LineModel{})
	poller, _ = NewSession(Config{Calling: true, Sink: &PageCollector{}}, a, clock)
	res, err := poller.Run(context.Background())
	if err != nil || res.Code != CodeNoFax {
		t.Fatalf("unanswered poll: %v %v", res.Code, err)
	}
}
