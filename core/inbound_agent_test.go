package core

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// inboundRig is a store, a loopback network (calls in virtual time) with a
// sending fax machine on 5550101, and a receiving agent on 5550104 that a
// test restarts: every restart is a new store, agent and loopback driver
// on the same data directory, so the driver's call IDs start again.
type inboundRig struct {
	t      *testing.T
	be     backend
	o      Options
	st     Store
	net    *loopback.Network
	sender *loopback.Driver
	spool  string
	pub    ed25519.PublicKey
	lic    []byte

	a *agent.Agent
	// calls wraps the receiving driver's calls (nil: as they are).
	calls func(drivers.Call) drivers.Call
}

const rigNumber = "5550104"

func newInboundRig(t *testing.T, be backend) *inboundRig {
	t.Helper()
	o := be.options(t)
	o.PasswordCost, o.AdminPassword, o.Logger = 4, testAdminPassword, discardLogger()
	pub, lic := testLicense(t, "A", 1)
	r := &inboundRig{t: t, be: be, o: o, net: loopback.NewNetwork(loopback.Options{Mode: loopback.Virtual, Seed: 1}),
		spool: filepath.Join(o.DataDir, "agent-spool"), pub: pub, lic: lic}
	r.sender = loopback.New(r.net, loopback.DriverOptions{Board: 0, Numbers: []string{"5550101"}})
	if err := r.sender.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.stop()
		r.sender.Close()
		r.net.Close()
	})
	return r
}

// start opens the store and starts the agent with rep as its reporter
// (nil: the store's AgentQueue).
func (r *inboundRig) start(rep func(*AgentQueue) agent.Reporter) {
	r.t.Helper()
	st, _, err := Open(context.Background(), r.o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
	q := NewAgentQueue(st)
	var reporter agent.Reporter = q
	if rep != nil {
		reporter = rep(q)
	}
	var d drivers.Driver = loopback.New(r.net, loopback.DriverOptions{Board: 1, Numbers: []string{rigNumber}})
	if r.calls != nil {
		d = &wrapCalls{Driver: d, wrap: r.calls}
	}
	a, err := agent.New(agent.Config{
		AgentID: "A", Drivers: []drivers.Driver{d}, License: r.lic, LicenseKey: r.pub,
		Queue: q, Reporter: reporter, SpoolDir: r.spool, PollInterval: time.Hour, Logger: discardLogger(),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.a = a
}

// stop shuts the agent down and closes the store.
func (r *inboundRig) stop() {
	if r.a != nil {
		if err := r.a.Shutdown(context.Background()); err != nil {
			r.t.Errorf("shutdown: %v", err)
		}
		r.a = nil
	}
	if r.st != nil {
		r.st.Close()
		r.st = nil
	}
}

// send faxes pages from the sender to the agent and returns the sender's
// completion code.
func (r *inboundRig) send(pages int, seed uint64) t30.Code {
	r.t.Helper()
	res, _ := r.dial().Send(context.Background(), drivertest.Doc(pages, imaging.WidthA4, 80, imaging.Fine, seed),
		drivers.SendParams{CSID: "SENDER"}, nil)
	return res.Code
}

// dial calls the agent from the sender once both ports are free again:
// the agent's, and the driver's (released a moment apart after a call).
func (r *inboundRig) dial() drivers.Call {
	r.t.Helper()
	r.waitFor("the agent's port idle", func() bool {
		ps := r.a.Ports()
		return len(ps) == 1 && ps[0].State == drivers.StateIdle
	})
	var c drivers.Call
	r.waitFor("both ports free", func() bool {
		var err error
		c, err = r.sender.Dial(context.Background(), "M0,0", rigNumber, drivers.DialOptions{})
		if err != nil && !errors.Is(err, drivers.ErrPortBusy) {
			r.t.Fatal(err)
		}
		return err == nil
	})
	return c
}

// waitFor polls the store until cond holds (real time, bounded).
func (r *inboundRig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// inbound lists the inbound messages (all folders).
func (r *inboundRig) inbound() []Message {
	r.t.Helper()
	var out []Message
	for _, f := range []Folder{FolderInbox, FolderUnrouted} {
		ms, _, err := r.st.Messages(context.Background(), MessageQuery{Folder: f, Limit: 1000})
		if err != nil {
			r.t.Fatal(err)
		}
		out = append(out, ms...)
	}
	return out
}

// spoolFiles lists the files left in the agent's spool.
func (r *inboundRig) spoolFiles() []string {
	r.t.Helper()
	es, err := os.ReadDir(r.spool)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out
}

// wrapCalls hands the agent a driver's incoming calls through wrap.
type wrapCalls struct {
	drivers.Driver
	wrap func(drivers.Call) drivers.Call
	once sync.Once
	in   chan drivers.Call
}

func (w *wrapCalls) Incoming() <-chan drivers.Call {
	w.once.Do(func() {
		w.in = make(chan drivers.Call)
		go func() {
			defer close(w.in)
			for c := range w.Driver.Incoming() {
				w.in <- w.wrap(c)
			}
		}()
	})
	return w.in
}

// sipCall is a call that carries a fixed SIP Call-ID, as a peer may send
// on every call.
type sipCall struct{ drivers.Call }

const peerCallID = "a84b4c76e66710@pc33.atlanta.example.com"

func (c sipCall) Info() drivers.CallInfo {
	i := c.Call.Info()
	i.ID = peerCallID
	return i
}

// TestInboundFaxesSurviveRestart: a fax received, a restart (new store,
// agent and loopback driver on the same data directory, so the driver's
// call IDs repeat), another fax: both are stored, each with its own ID
// and the driver's call ID as data, and the spool is empty.
func TestInboundFaxesSurviveRestart(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			r := newInboundRig(t, be)
			for i := range 2 {
				r.start(nil)
				if code := r.send(1+i, uint64(10*i)); code != t30.OK {
					t.Fatalf("fax %d: %v", i+1, code)
				}
				r.waitFor("the fax stored", func() bool { return len(r.inbound()) == i+1 && len(r.spoolFiles()) == 0 })
				r.stop()
			}
			r.start(nil)
			ms := r.inbound()
			if len(ms) != 2 {
				t.Fatalf("%d inbound messages after a restart, want 2", len(ms))
			}
			keys := map[string]bool{}
			for i, m := range ms {
				md, err := r.st.Message(context.Background(), m.ID)
				if err != nil || len(md.Received) != 1 || len(md.Documents) != 1 {
					t.Fatalf("message %d: %+v %v", i, md, err)
				}
				rx := md.Received[0]
				if rx.CallID == "" || keys[rx.Key] || rx.Key == rx.CallID {
					t.Fatalf("call record %+v: the driver's call ID is data, the key the agent's own", rx)
				}
				keys[rx.Key], keys["call:"+rx.CallID] = true, true
			}
			if len(keys) != 3 {
				t.Fatalf("keys %v: want two reception IDs and one repeated driver call ID", keys)
			}
		})
	}
}

// TestInboundSameCallIDTwice: two calls from a peer with one SIP Call-ID
// are two faxes.
func TestInboundSameCallIDTwice(t *testing.T) {
	r := newInboundRig(t, backends()[0])
	r.calls = func(c drivers.Call) drivers.Call { return sipCall{c} }
	r.start(nil)
	for i := range 2 {
		if code := r.send(1, uint64(i)); code != t30.OK {
			t.Fatalf("fax %d: %v", i+1, code)
		}
	}
	r.waitFor("two faxes", func() bool { return len(r.inbound()) == 2 })
	calls, _, err := r.st.Calls(context.Background(), CallQuery{Direction: Inbound})
	if err != nil || len(calls) != 2 || calls[0].CallID != peerCallID || calls[1].CallID != peerCallID || calls[0].Key == calls[1].Key {
		t.Fatalf("calls %+v %v", calls, err)
	}
}

// flakyReporter fails the first n inbound reports, counting every try.
type flakyReporter struct {
	agent.Reporter
	mu    sync.Mutex
	fail  int
	tries int
	seen  func()
}

var errStoreDown = errors.New("store unavailable")

func (f *flakyReporter) Inbound(ctx context.Context, rec agent.InboundRecord) error {
	f.mu.Lock()
	f.tries++
	fail := f.tries <= f.fail
	f.mu.Unlock()
	if f.seen != nil {
		f.seen()
	}
	if fail {
		return errStoreDown
	}
	return f.Reporter.Inbound(ctx, rec)
}

func (f *flakyReporter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries
}

// TestInboundReportFailsThenStores: while the store fails the report the
// fax is not stored, its file and pending report stay in the spool, and
// the agent keeps trying; it is stored exactly once when the store
// recovers, and again exactly once from the spool after a restart when
// the first run never got it in.
func TestInboundReportFailsThenStores(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			r := newInboundRig(t, be)
			fr := &flakyReporter{fail: 3}
			spoolWhileFailing := make(chan []string, 3)
			fr.seen = func() {
				select {
				case spoolWhileFailing <- r.spoolFiles():
				default:
				}
			}
			r.start(func(q *AgentQueue) agent.Reporter { fr.Reporter = q; return fr })
			if code := r.send(2, 1); code != t30.OK {
				t.Fatalf("send: %v", code)
			}
			r.waitFor("the fax stored after three failed reports", func() bool { return len(r.inbound()) == 1 && len(r.spoolFiles()) == 0 })
			if n := fr.count(); n != 4 {
				t.Fatalf("%d tries, want 3 failed and 1 stored", n)
			}
			for range 3 {
				if files := <-spoolWhileFailing; len(files) != 2 {
					t.Fatalf("spool while the store failed: %v, want the fax and its pending report", files)
				}
			}

			// The store is down until the agent stops: the fax stays in the
			// spool and the next start stores it, once.
			fr2 := &flakyReporter{fail: 1 << 30}
			r.stop()
			r.start(func(q *AgentQueue) agent.Reporter { fr2.Reporter = q; return fr2 })
			if code := r.send(3, 2); code != t30.OK {
				t.Fatalf("send: %v", code)
			}
			r.waitFor("a failed report", func() bool { return fr2.count() >= 2 })
			r.stop()
			if files := r.spoolFiles(); len(files) != 2 {
				t.Fatalf("spool after a run that never stored: %v", files)
			}
			r.start(nil)
			r.waitFor("the pending fax stored at start", func() bool { return len(r.inbound()) == 2 && len(r.spoolFiles()) == 0 })
			r.stop()
			r.start(nil)
			if ms := r.inbound(); len(ms) != 2 {
				t.Fatalf("%d messages, want 2", len(ms))
			}
		})
	}
}

// testLicense is a fresh key and a licence for agentID with that many
// loopback ports, valid for an hour.
func testLicense(tb testing.TB, agentID string, ports int) (ed25519.PublicKey, []byte) {
	tb.Helper()
	pub, priv, err := agent.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	lic, err := agent.Sign(agent.License{AgentID: agentID, Ports: map[string]int{"loopback": ports}, Issued: time.Now(),
		Expires: time.Now().Add(time.Hour)}, priv)
	if err != nil {
		tb.Fatal(err)
	}
	return pub, lic
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestInboundRouteOnLoopbackNumber: a route on the whole loopback number
// 5550104 routes a fax to it (the loopback driver reported only its last
// four digits, which never matched), and so does a rule on those last
// four digits; a rule on other digits does not.
func TestInboundRouteOnLoopbackNumber(t *testing.T) {
	for _, c := range []struct {
		rule   string
		routed bool
	}{{rigNumber, true}, {"0104", true}, {"555*", true}, {"5550105", false}, {"0105", false}} {
		t.Run(c.rule, func(t *testing.T) {
			r := newInboundRig(t, backends()[0])
			r.start(nil)
			ctx := context.Background()
			u, err := r.st.CreateUser(ctx, NewUser{Username: "routed", Password: "routed-password"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.st.CreateRoute(ctx, Route{UserID: u.ID, Active: true, Cond1: RouteCondition{RouteRoutingDigits, c.rule}}); err != nil {
				t.Fatal(err)
			}
			if code := r.send(1, 5); code != t30.OK {
				t.Fatalf("send: %v", code)
			}
			r.waitFor("the fax stored", func() bool { return len(r.inbound()) == 1 })
			m := r.inbound()[0]
			md, err := r.st.Message(ctx, m.ID)
			if err != nil || len(md.Received) != 1 || md.Received[0].RoutingInfo != rigNumber {
				t.Fatalf("message %+v %v", md, err)
			}
			if routed := m.Folder == FolderInbox && m.OwnerID == u.ID; routed != c.routed {
				t.Fatalf("rule %q: folder %s owner %d, want routed %v", c.rule, m.Folder, m.OwnerID, c.routed)
			}
		})
	}
}

// TestInboundFailedCallsAreCallRecords: 200 calls that hang up before a
// page (a flood from a peer) make no message and 200 failed call records
// with their reason; a fax cut off after two pages is a message marked
// partial.
func TestInboundFailedCallsAreCallRecords(t *testing.T) {
	r := newInboundRig(t, backends()[0])
	r.start(nil)
	ctx := context.Background()
	const flood = 200
	for range flood {
		if err := r.dial().Hangup(drivers.CauseNormal); err != nil {
			t.Fatal(err)
		}
	}
	calls := func() int {
		_, n, err := r.st.Calls(ctx, CallQuery{Direction: Inbound, Outcome: OutcomeFailed})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	r.waitFor("200 failed call records", func() bool { return calls() == flood })
	r.net.SetModel(rigNumber, loopback.Model{DropAfterPage: 2, Calls: 1})
	if code := r.send(4, 9); code != t30.CodeCallDropped {
		t.Fatalf("the cut-off fax: %v", code)
	}
	r.waitFor("the partial fax", func() bool { return len(r.inbound()) == 1 })
	ms := r.inbound()
	if ms[0].Status != "Partial" {
		t.Fatalf("cut-off fax stored as %q", ms[0].Status)
	}
	md, err := r.st.Message(ctx, ms[0].ID)
	if err != nil || len(md.Received) != 1 || md.Received[0].PageCount != 2 || md.Received[0].ErrorID == 0 ||
		md.Received[0].Outcome != OutcomeFailed {
		t.Fatalf("partial fax %+v %v (its call record must say failed)", md, err)
	}
	failed, _, err := r.st.Calls(ctx, CallQuery{Direction: Inbound, Outcome: OutcomeFailed, Limit: 1000})
	if err != nil || len(failed) != flood+1 || calls() != flood+1 {
		t.Fatalf("%d failed call records %v, want %d and the partial fax", len(failed), err, flood)
	}
	for _, c := range failed {
		if c.MessageID == ms[0].ID {
			continue // the partial fax
		}
		if c.MessageID != 0 || c.ErrorID == 0 || c.ErrorInfo == "" || c.CallID == "" || c.CalledNumber != rigNumber {
			t.Fatalf("failed call record %+v", c)
		}
	}
	t.Logf("a failed call's record: %d %q", failed[0].ErrorID, failed[0].ErrorInfo)
}
