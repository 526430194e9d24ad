package loopback

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

const (
	testW = imaging.WidthA4
	testH = 160
)

func open(t *testing.T, net *Network, board int, numbers ...string) *Driver {
	t.Helper()
	d := New(net, DriverOptions{Board: board, Numbers: numbers})
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// answerAll receives every incoming call of d into the returned collector.
type answered struct {
	mu      sync.Mutex
	results []drivers.Result
	pages   [][]*t30.ReceivedPage
	wg      sync.WaitGroup
}

func answerAll(d *Driver) *answered {
	a := &answered{}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for c := range d.Incoming() {
			sink := &t30.PageCollector{}
			r, _ := c.Receive(context.Background(), drivers.ReceiveParams{CSID: "RX " + c.Info().CalledNumber}, sink, nil)
			a.mu.Lock()
			a.results = append(a.results, r)
			a.pages = append(a.pages, sink.Pages)
			a.mu.Unlock()
		}
	}()
	return a
}

func decode(t *testing.T, p *t30.ReceivedPage) *imaging.Page {
	t.Helper()
	dec, err := imaging.NewDecoder(bytes.NewReader(p.Data), p.DecodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	pg, err := imaging.ReadPage(dec, p.Width, p.Resolution, 0)
	if err != nil {
		t.Fatal(err)
	}
	return pg
}

func TestPortToPort(t *testing.T) {
	net := NewNetwork(Options{Seed: 1})
	a := open(t, net, 0, "5550100", "5550101")
	b := open(t, net, 1, "5550200")
	ans := answerAll(b)
	if got := a.Ports()[1].ID; got != "M0,1" {
		t.Fatalf("port ID %q", got)
	}
	doc := drivertest.Doc(3, testW, testH, imaging.Fine, 10)
	c, err := a.Dial(context.Background(), "M0,1", "5550200", drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var events []t30.PageEvent
	r, err := c.Send(context.Background(), doc, drivers.SendParams{CSID: "TX"}, func(ev t30.PageEvent) { events = append(events, ev) })
	if err != nil || r.Code != t30.OK {
		t.Fatalf("send: %v %v", r.Code, err)
	}
	b.Close()
	ans.wg.Wait()
	if len(ans.results) != 1 || ans.results[0].Code != t30.OK {
		t.Fatalf("receiver results %+v", ans.results)
	}
	rx := ans.results[0]
	if rx.Info.CallingNumber != "5550101" || rx.Info.CalledNumber != "5550200" || rx.Info.Port != "M1,0" || rx.Info.Direction != drivers.Inbound || rx.Info.RoutingDigits != "5550200" {
		t.Fatalf("inbound info %+v", rx.Info)
	}
	if r.PagesConfirmed != 3 || r.RemoteIdent != "RX 5550200" || rx.RemoteIdent != "TX" {
		t.Fatalf("result %+v", r.Result)
	}
	if r.Protocol() != "V17" || r.Speed.Rate != 14400 || r.DialDuration != RingTime || r.CallDuration != RingTime+r.TransmitDuration || r.TransmitDuration <= 0 {
		t.Fatalf("protocol %q speed %v dial %v call %v tx %v", r.Protocol(), r.Speed, r.DialDuration, r.CallDuration, r.TransmitDuration)
	}
	confirmed := 0
	for _, ev := range events {
		if ev.Status == t30.PageConfirmed {
			confirmed++
		}
	}
	if confirmed != 3 {
		t.Fatalf("progress %+v", events)
	}
	pages := ans.pages[0]
	if len(pages) != 3 {
		t.Fatalf("%d pages", len(pages))
	}
	for i, p := range pages {
		if got := decode(t, p); !drivertest.Equal(got, doc[i]) {
			t.Fatalf("page %d differs", i+1)
		}
	}
	for _, p := range a.Ports() {
		if p.State != drivers.StateIdle {
			t.Fatalf("port %s state %v after the call", p.ID, p.State)
		}
	}
}

func TestModels(t *testing.T) {
	tests := []struct {
		name      string
		model     Model
		pages     int
		dialCode  t30.Code // non-OK: Dial fails with it
		code      t30.Code
		confirmed int
		check     func(t *testing.T, r drivers.Result)
		badRows   bool // the remote's pages have bad rows
	}{
		{name: "clean", model: Model{}, pages: 2, code: t30.OK, confirmed: 2},
		{name: "busy", model: Model{Kind: Busy}, dialCode: t30.CodeBusy},
		{name: "no answer", model: Model{Kind: NoAnswer}, dialCode: t30.CodeNoAnswer},
		{name: "rings out", model: Model{Kind: RingsOut}, dialCode: t30.CodeNoAnswer},
		{name: "voice", model: Model{Kind: Voice}, pages: 1, code: t30.CodeNoFax},
		{name: "drop after page 2", model: Model{DropAfterPage: 2}, pages: 5, code: t30.CodeCallDropped, confirmed: 2,
			check: func(t *testing.T, r drivers.Result) {
				if r.FailedPage != 3 {
					t.Errorf("failed page %d, want 3", r.FailedPage)
				}
			}},
		{name: "MH only 4800", model: Model{RemoteCompressions: []imaging.Compression{imaging.MH}, RemoteMaxRate: 4800, RemoteNoECM: true}, pages: 1, code: t30.OK, confirmed: 1,
			check: func(t *testing.T, r drivers.Result) {
				if r.Compression != imaging.MH || r.Speed.Rate != 4800 || r.Protocol() != "V27" || r.ECM {
					t.Errorf("negotiated %v %v ECM %v", r.Compression, r.Speed, r.ECM)
				}
			}},
		{name: "training fails above 9600", model: Model{TrainFailAbove: 9600}, pages: 1, code: t30.OK, confirmed: 1,
			check: func(t *testing.T, r drivers.Result) {
				if r.Speed.Rate > 9600 || r.Retrains == 0 {
					t.Errorf("speed %v retrains %d", r.Speed, r.Retrains)
				}
			}},
		{name: "audio (modems over samples)", model: Model{Audio: true}, pages: 2, code: t30.OK, confirmed: 2,
			check: func(t *testing.T, r drivers.Result) {
				if r.Speed != (t30.Speed{Modem: t30.V17, Rate: 14400}) || !r.ECM {
					t.Errorf("negotiated %v ECM %v", r.Speed, r.ECM)
				}
			}},
		{name: "audio, MH only 4800, no ECM", model: Model{Audio: true, RemoteCompressions: []imaging.Compression{imaging.MH}, RemoteMaxRate: 4800, RemoteNoECM: true},
			pages: 1, code: t30.OK, confirmed: 1,
			check: func(t *testing.T, r drivers.Result) {
				if r.Speed != (t30.Speed{Modem: t30.V27ter, Rate: 4800}) || r.ECM {
					t.Errorf("negotiated %v ECM %v", r.Speed, r.ECM)
				}
			}},
		{name: "audio, drop after page 1", model: Model{Audio: true, DropAfterPage: 1}, pages: 3, code: t30.CodeCallDropped, confirmed: 1},
		{name: "bit errors with ECM", model: Model{BitErrorRate: 1e-4, FrameErrorRate: 0.05}, pages: 2, code: t30.OK, confirmed: 2},
		{name: "bit errors without ECM", model: Model{BitErrorRate: 5e-5, RemoteNoECM: true}, pages: 3, code: t30.OK, confirmed: 3,
			check: func(t *testing.T, r drivers.Result) {
				if r.ECM {
					t.Error("ECM used")
				}
			}, badRows: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			net := NewNetwork(Options{Seed: 7})
			a := open(t, net, 0, "100")
			net.SetModel("999", tc.model)
			c, err := a.Dial(context.Background(), "M0,0", "999", drivers.DialOptions{})
			if tc.dialCode != t30.OK {
				var de *drivers.DialError
				if !errors.As(err, &de) || de.Code != tc.dialCode || de.Duration <= 0 {
					t.Fatalf("dial error %v, want code %v", err, tc.dialCode)
				}
				r := drivers.DialResult(err, drivers.CallInfo{}, net.o.Now())
				if r.Code != tc.dialCode || r.DialDuration != de.Duration {
					t.Fatalf("DialResult %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			doc := drivertest.Doc(tc.pages, testW, testH, imaging.Standard, 1)
			r, err := c.Send(context.Background(), doc, drivers.SendParams{}, nil)
			if r.Code != tc.code || r.PagesConfirmed != tc.confirmed {
				t.Fatalf("code %v (%v) confirmed %d, want %v %d", r.Code, err, r.PagesConfirmed, tc.code, tc.confirmed)
			}
			if (err == nil) != (tc.code == t30.OK) {
				t.Fatalf("err %v for code %v", err, r.Code)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			if tc.code == t30.OK {
				pages := net.BuiltinPages("999")
				if len(pages) < tc.pages {
					t.Fatalf("builtin got %d pages", len(pages))
				}
				bad := 0
				for _, p := range pages {
					bad += p.Stats.BadRows
				}
				if (bad > 0) != tc.badRows {
					t.Errorf("%d bad rows received", bad)
				}
			}
		})
	}
}

func TestModelCallsLimit(t *testing.T) {
	net := NewNetwork(Options{})
	a := open(t, net, 0, "100")
	net.SetModel("999", Model{Kind: Busy, Calls: 2})
	for i, want := range []t30.Code{t30.CodeBusy, t30.CodeBusy, t30.OK} {
		c, err := a.Dial(context.Background(), "M0,0", "999", drivers.DialOptions{})
		var de *drivers.DialError
		switch {
		case want == t30.OK && err != nil:
			t.Fatalf("call %d: %v", i, err)
		case want != t30.OK && (!errors.As(err, &de) || de.Code != want):
			t.Fatalf("call %d: %v", i, err)
		case want == t30.OK:
			if r, err := c.Send(context.Background(), drivertest.Doc(1, testW, 40, imaging.Standard, 1), drivers.SendParams{}, nil); err != nil {
				t.Fatalf("call %d: %v %v", i, r.Code, err)
			}
		}
	}
}

func TestHangupAndBusyPort(t *testing.T) {
	net := NewNetwork(Options{})
	a := open(t, net, 0, "100", "101")
	b := open(t, net, 1, "200")
	// Nobody answers b: reject its calls.
	go func() {
		for c := range b.Incoming() {
			_ = c.Hangup(drivers.CauseRejected)
		}
	}()
	_, err := a.Dial(context.Background(), "M0,0", "200", drivers.DialOptions{})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeNoAnswer {
		t.Fatalf("rejected call: %v", err)
	}
	// A call to a port of a that is in a call is busy.
	c, err := a.Dial(context.Background(), "M0,0", "999", drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Dial(context.Background(), "M0,0", "999", drivers.DialOptions{}); !errors.Is(err, drivers.ErrPortBusy) {
		t.Fatalf("second dial on a busy port: %v", err)
	}
	if _, err := a.Dial(context.Background(), "M0,1", "100", drivers.DialOptions{}); !errors.As(err, &de) || de.Code != t30.CodeBusy {
		t.Fatalf("dialling a port in a call: %v", err)
	}
	// Hang up before sending: the call ends as cancelled.
	if err := c.Hangup(drivers.CauseCancelled); err != nil {
		t.Fatal(err)
	}
	r, err := c.Send(context.Background(), drivertest.Doc(1, testW, 40, imaging.Standard, 1), drivers.SendParams{}, nil)
	if r.Code != t30.CodeCancelled || err == nil || r.HangupCause != drivers.CauseCancelled {
		t.Fatalf("send after hangup: %v %v %v", r.Code, err, r.HangupCause)
	}
	// Hang up during the call: the session is cancelled.
	c, err = a.Dial(context.Background(), "M0,0", "999", drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ = c.Send(ctx, drivertest.Doc(2, testW, 40, imaging.Standard, 1), drivers.SendParams{}, nil)
	if r.Code != t30.CodeCancelled {
		t.Fatalf("cancelled send: %v", r.Code)
	}
	if _, _, err := drivers.ParsePortID("M1,x"); !errors.Is(err, drivers.ErrPortID) {
		t.Fatalf("ParsePortID: %v", err)
	}
	if b, ch, err := drivers.ParsePortID("M12,34"); err != nil || b != 12 || ch != 34 {
		t.Fatalf("ParsePortID: %d %d %v", b, ch, err)
	}
}

// Paced mode runs calls on one wall clock; inside a synctest bubble that
// clock is virtual, so the test checks real-time behaviour instantly.
func TestPacedMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := NewNetwork(Options{Mode: Paced})
		defer net.Close()
		a := open(t, net, 0, "100", "101")
		b := open(t, net, 1, "200")
		ans := answerAll(b)
		doc := drivertest.Doc(2, testW, testH, imaging.Fine, 3)
		start := time.Now()
		var wg sync.WaitGroup
		results := make([]drivers.Result, 2)
		for i, num := range []string{"200", "999"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := a.Dial(context.Background(), drivers.PortID(0, i), num, drivers.DialOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				results[i], _ = c.Send(context.Background(), doc, drivers.SendParams{}, nil)
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		for i, r := range results {
			if r.Code != t30.OK || r.PagesConfirmed != 2 {
				t.Fatalf("call %d: %v %d", i, r.Code, r.PagesConfirmed)
			}
			if r.CallDuration <= RingTime || r.CallDuration > elapsed {
				t.Errorf("call %d: duration %v, elapsed %v", i, r.CallDuration, elapsed)
			}
		}
		if s := net.Stats(); s.MaxActive != 2 {
			t.Errorf("calls at once: %d", s.MaxActive)
		}
		b.Close()
		ans.wg.Wait()
		a.Close()
	})
}

// TestRefusedBusyIsBusy: a callee that refuses a call because its port is
// in another call (CauseBusy) gives the caller busy, not no answer.
func TestRefusedBusyIsBusy(t *testing.T) {
	net := NewNetwork(Options{})
	a := open(t, net, 0, "100")
	b := open(t, net, 1, "200")
	go func() {
		for c := range b.Incoming() {
			_ = c.Hangup(drivers.CauseBusy)
		}
	}()
	_, err := a.Dial(context.Background(), "M0,0", "200", drivers.DialOptions{})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeBusy || de.Cause != "the called port is in another call" {
		t.Fatalf("call refused as busy: %v", err)
	}
}

// syncBuf is a Deliveries writer that counts its syncs.
type syncBuf struct {
	mu    sync.Mutex
	b     bytes.Buffer
	syncs int
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	return nil
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDeliveries: the built-in fax machine logs a fax it received whole,
// once, before the sender hears the last page's confirmation; a dropped
// call or a fax to a port logs nothing.
func TestDeliveries(t *testing.T) {
	tests := []struct {
		name   string
		number string
		model  Model
		pages  int
		want   int // lines
	}{
		{name: "clean, 2 pages", number: "999", pages: 2, want: 1},
		{name: "dropped after page 1 of 3", number: "999", model: Model{DropAfterPage: 1}, pages: 3},
		{name: "to a port", number: "200", pages: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &syncBuf{}
			net := NewNetwork(Options{Seed: 7, Deliveries: log})
			a := open(t, net, 0, "100")
			answerAll(open(t, net, 1, "200"))
			net.SetModel(tc.number, tc.model)
			c, err := a.Dial(context.Background(), "M0,0", tc.number, drivers.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var atConfirm []string
			r, _ := c.Send(context.Background(), drivertest.Doc(tc.pages, testW, testH, imaging.Standard, 1),
				drivers.SendParams{CSID: "TX 100"}, func(ev t30.PageEvent) {
					if ev.Status == t30.PageConfirmed {
						atConfirm = append(atConfirm, log.String())
					}
				})
			want := ""
			if tc.want > 0 {
				want = Delivery(tc.number, "TX 100", tc.pages, c.Info().ID)
				if n := len(atConfirm); n != tc.pages || atConfirm[n-1] != want || atConfirm[n-2] != "" {
					t.Errorf("log at each confirmation %q, want %q at the last only", atConfirm, want)
				}
			}
			if got := log.String(); got != want || log.syncs != tc.want {
				t.Errorf("deliveries %q (%d syncs), want %q (code %v, %d confirmed)", got, log.syncs, want, r.Code, r.PagesConfirmed)
			}
		})
	}
}
