package foip

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
)

// freePort returns a port number free on 127.0.0.1 for network.
func freePort(t testing.TB, network string) int {
	t.Helper()
	if network != "udp" {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func addr(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

// openDriver opens a driver for cfg and closes it at the end of the test.
func openDriver(t testing.TB, cfg Config) *Driver {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// pair opens two drivers in peer mode pointing at each other.
func pair(t testing.TB, transport string, mod func(a, b *Config)) (*Driver, *Driver) {
	pa, pb := freePort(t, transport), freePort(t, transport)
	ca := Config{Logger: testLogger(t), Number: "1001", Transport: transport, Listen: addr(pa), Peer: addr(pb), AllowFrom: []string{"127.0.0.1"}}
	cb := Config{Logger: testLogger(t), Number: "2002", Transport: transport, Listen: addr(pb), Peer: addr(pa), AllowFrom: []string{"127.0.0.1"}}
	if mod != nil {
		mod(&ca, &cb)
	}
	return openDriver(t, ca), openDriver(t, cb)
}

type pageSink struct {
	mu    sync.Mutex
	pages []*t30.ReceivedPage
}

func (s *pageSink) Page(p *t30.ReceivedPage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages = append(s.pages, p)
	return nil
}

// fax sends doc from a to b and returns both results and the pages b got.
func fax(t *testing.T, a, b *Driver, doc t30.PagesDocument, ecm drivers.ECMMode, onPage func(c *call)) (drivers.Result, drivers.Result, *pageSink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sink := &pageSink{}
	var rr drivers.Result
	var rerr error
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		select {
		case c := <-b.Incoming():
			rr, rerr = c.Receive(ctx, drivers.ReceiveParams{CSID: "RECEIVER"}, sink, nil)
		case <-ctx.Done():
			rerr = ctx.Err()
		}
	}()
	c, err := a.Dial(ctx, a.Ports()[0].ID, "+1 (555) 2002", drivers.DialOptions{RingTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	var progress func(t30.PageEvent)
	var hooked sync.WaitGroup
	if onPage != nil {
		var once sync.Once
		progress = func(t30.PageEvent) {
			once.Do(func() {
				hooked.Add(1)
				go func() { defer hooked.Done(); onPage(c.(*call)) }()
			})
		}
	}
	sr, serr := c.Send(ctx, doc, drivers.SendParams{CSID: "SENDER", ECM: ecm}, progress)
	hooked.Wait()
	if st := c.(MediaStats).Stats(); st.UDPTL.Delivered == 0 || st.T38Version == 0 || st.UDPTL.Malformed != 0 {
		t.Errorf("sender media stats %+v", st)
	}
	<-recvDone
	if serr != nil {
		t.Errorf("send: %v (cause %q)", serr, sr.Cause)
	}
	if rerr != nil {
		t.Errorf("receive: %v (cause %q)", rerr, rr.Cause)
	}
	return sr, rr, sink
}

func checkPages(t *testing.T, doc t30.PagesDocument, sink *pageSink) {
	t.Helper()
	if len(sink.pages) != len(doc) {
		t.Fatalf("received %d pages, sent %d", len(sink.pages), len(doc))
	}
	for i, rp := range sink.pages {
		got, _, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if !drivertest.Equal(got, doc[i]) {
			t.Fatalf("page %d differs from the page sent", i)
		}
	}
}

// TestFaxOverSIP sends a fax between two drivers over SIP on 127.0.0.1:
// INVITE with G.711, switch to T.38 by re-INVITE from the answering side,
// T.30 over UDPTL, BYE; over UDP and TCP, with and without ECM.
func TestFaxOverSIP(t *testing.T) {
	type scenario struct {
		name      string
		transport string
		ecm       drivers.ECMMode
		pages     int
		mod       func(a, b *Config)
		glare     bool
		ced       bool // A re-INVITEs on hearing B's CED
		cng       bool // B re-INVITEs on hearing A's CNG
		refresh   bool // A refreshes the session mid-fax
		timer     bool // session timers: A refreshes every second
		nat       bool // B's SDP gives wrong media ports (B behind NAT)
	}
	before := testutil.Snapshot()
	// The calls run in real time and mostly wait, so they all run at
	// once (t.Run from goroutines, not limited by -parallel).
	var wg sync.WaitGroup
	for _, tc := range []scenario{
		{name: "udp-ecm", transport: "udp", ecm: drivers.ECMOn, pages: 2},
		{name: "tcp-noecm", transport: "tcp", ecm: drivers.ECMOff, pages: 1},
		{name: "udp-t38-in-invite", transport: "udp", ecm: drivers.ECMOn, pages: 1,
			mod: func(a, b *Config) { a.T38 = T38InInvite }},
		{name: "udp-caller-reinvites", transport: "udp", ecm: drivers.ECMOn, pages: 1,
			mod: func(a, b *Config) { a.ReinviteOut = 100 * time.Millisecond; b.ReinviteIn = -1 }},
		// Both sides re-INVITE at once, and each holds the one it
		// receives until the other side holds ours, and its answer until
		// the other side has judged ours (glareBarrier): the two cross,
		// so each answers the other's with 491 and backs off (B 0-2 s,
		// A 2.1-4 s as the Call-ID owner); B's retry switches the call
		// and A finds T.38 up.
		{name: "glare", transport: "udp", ecm: drivers.ECMOn, pages: 1, glare: true,
			mod: func(a, b *Config) { a.ReinviteOut = 1; b.ReinviteIn = 1 }},
		// Nobody re-INVITEs on a timer soon: A hears B's CED in the
		// G.711 audio (Goertzel) and re-INVITEs at once.
		{name: "ced-detected", transport: "udp", ecm: drivers.ECMOn, pages: 1, ced: true,
			mod: func(a, b *Config) { a.ReinviteOut = 25 * time.Second; b.ReinviteIn = -1 }},
		// The answerer waits long before its own re-INVITE and the caller
		// never sends one: B hears A's CNG in the audio and re-INVITEs.
		{name: "cng-detected", transport: "udp", ecm: drivers.ECMOn, pages: 1, cng: true,
			mod: func(a, b *Config) { a.ReinviteOut = -1; b.ReinviteIn = 25 * time.Second }},
		// Session-timer refreshes (re-INVITE and UPDATE with the same
		// SDP) in the middle of the fax leave the T.38 stream alone.
		{name: "refresh-mid-fax", transport: "udp", ecm: drivers.ECMOff, pages: 2, refresh: true},
		// RFC 4028 session timers negotiated on the INVITE: A is the
		// refresher and sends an UPDATE every second of the call.
		{name: "session-timer", transport: "tcp", ecm: drivers.ECMOn, pages: 1, timer: true,
			mod: func(a, b *Config) { a.SessionExpires = 2 * time.Second }},
		// B is "behind NAT": its SDP announces media ports nobody
		// listens on. A's first packets go nowhere; A latches to where
		// B's RTP and UDPTL really come from and the fax goes through.
		{name: "nat-latch", transport: "udp", ecm: drivers.ECMOn, pages: 1, nat: true},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(tc.name, func(t *testing.T) {
				a, b := pair(t, tc.transport, tc.mod)
				var crossed func() bool
				if tc.glare {
					crossed = glareBarrier(a, b)
				}
				if tc.nat {
					b.mangleSDP = func(sdp []byte) []byte {
						return mediaPorts.ReplaceAll(sdp, []byte("m=$1 9 "))
					}
				}
				doc := drivertest.Doc(tc.pages, imaging.WidthA4, 40, imaging.Standard, 7)
				var hook func(c *call)
				var refreshErrs [2]error
				if tc.refresh {
					hook = func(c *call) {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						defer cancel()
						refreshErrs[0] = c.refresh(ctx, sip.INVITE)
						refreshErrs[1] = c.refresh(ctx, sip.UPDATE)
					}
				}
				sr, rr, sink := fax(t, a, b, doc, tc.ecm, hook)
				checkPages(t, doc, sink)
				if sr.Code != t30.OK || rr.Code != t30.OK {
					t.Fatalf("codes %v / %v", sr.Code, rr.Code)
				}
				if tc.refresh && (refreshErrs[0] != nil || refreshErrs[1] != nil || b.Stats().Refreshes != 2) {
					t.Errorf("refreshes: %v, %v; B counted %d, want 2", refreshErrs[0], refreshErrs[1], b.Stats().Refreshes)
				}
				if tc.timer && (a.Stats().RefreshSent < 5 || b.Stats().Refreshes != a.Stats().RefreshSent) {
					t.Errorf("session timer: A sent %d refreshes, B answered %d; want at least 5, all answered", a.Stats().RefreshSent, b.Stats().Refreshes)
				}
				if tc.cng && b.Stats().CEDReinvite != 1 {
					t.Errorf("re-INVITEs on CNG: %d, want 1", b.Stats().CEDReinvite)
				}
				if tc.ced && a.Stats().CEDReinvite != 1 {
					t.Errorf("re-INVITEs on CED: %d, want 1", a.Stats().CEDReinvite)
				}
				if rr.Info.CalledNumber != "+15552002" || rr.Info.CallerID != "1001" || rr.Info.RoutingDigits != "15552002" {
					t.Errorf("inbound info %+v", rr.Info)
				}
				if sr.RemoteIdent != "RECEIVER" || rr.RemoteIdent != "SENDER" {
					t.Errorf("remote IDs %q %q", sr.RemoteIdent, rr.RemoteIdent)
				}
				if sr.PagesConfirmed != tc.pages {
					t.Errorf("pages confirmed %d", sr.PagesConfirmed)
				}
				if tc.glare {
					as, bs := a.Stats(), b.Stats()
					if !crossed() {
						t.Errorf("glare: the two re-INVITEs never crossed")
					}
					if as.Glare == 0 || bs.Glare == 0 || as.GlareBackoff == 0 || bs.GlareBackoff == 0 {
						t.Errorf("glare: 491 sent by A %d, B %d; back-offs A %d, B %d; want at least one each",
							as.Glare, bs.Glare, as.GlareBackoff, bs.GlareBackoff)
					}
				}
				t.Logf("%s: send %v transmit %v, call %v", tc.name, sr.Code, sr.TransmitDuration, sr.CallDuration)
			})
		}()
	}
	wg.Wait()
	// Every driver is closed: each goroutine of ours or sipgo's started
	// since, and each socket opened since, is gone.
	before.WaitReleased(t, 30*time.Second, driverCode...)
}

// glareBarrier makes a's and b's T.38 re-INVITEs cross, whatever the
// scheduling. Each driver holds the first re-INVITE it receives until the
// other one holds one too: both re-INVITEs have then been sent (each side
// was reinviting before it sent its own), and neither has its answer. Each
// then judges the one it holds (491: its own is pending) and holds the
// answer until the other side has judged too, so neither side's 491
// reaches the other before that side has judged. crossed reports whether
// both meetings took place (each gives up after 20 s, a safety net
// against a hung test).
func glareBarrier(a, b *Driver) (crossed func() bool) {
	received, judged := newMeeting(2), newMeeting(2)
	a.beforeOffer, b.beforeOffer = received.first(), received.first()
	a.beforeAnswer, b.beforeAnswer = judged.first(), judged.first()
	return func() bool { return received.met.Load() && judged.met.Load() }
}

// meeting holds each arrival until `want` have arrived.
type meeting struct {
	mu   sync.Mutex
	left int
	all  chan struct{}
	met  atomic.Bool
}

func newMeeting(want int) *meeting { return &meeting{left: want, all: make(chan struct{})} }

// first returns a hook that arrives at the meeting the first time it runs
// and does nothing after.
func (m *meeting) first() func() {
	var once sync.Once
	return func() { once.Do(m.arrive) }
}

func (m *meeting) arrive() {
	m.mu.Lock()
	if m.left--; m.left == 0 {
		close(m.all)
	}
	m.mu.Unlock()
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-m.all:
		m.met.Store(true)
	case <-t.C:
	}
}

// driverCode are the import paths whose goroutines belong to a driver.
var driverCode = []string{"github.com/faxagent/faxagent/", "github.com/emiago/sipgo", "github.com/pion/"}

// mediaPorts matches the port of an m= line.
var mediaPorts = regexp.MustCompile(`m=(audio|image) [0-9]+ `)

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Transport: "sctp", Peer: "127.0.0.1:5060"},
		{Peer: "nohostport"},
		{Mode: Trunk, Registrar: "127.0.0.1:5060"},
		{Peer: "127.0.0.1:5060", Codec: "G729"},
		{Peer: "127.0.0.1:5060", AllowFrom: []string{"not-an-ip"}},
		{Peer: "127.0.0.1:5060", RTPPortMin: 20000, RTPPortMax: 10000},
	} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", c, err)
		}
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("FOIP_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (s CallStats) running() bool { return s.T38Version > 0 || s.T38EC != 0 }

// TestCloseMidCall closes the sending driver in the middle of a fax: its
// Send ends as cancelled with the shutdown cause, the receiver sees the
// BYE and ends as call dropped, and the ports are down.
func TestCloseMidCall(t *testing.T) {
	a, b := pair(t, "udp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recv := make(chan drivers.Result, 1)
	go func() {
		select {
		case c := <-b.Incoming():
			r, _ := c.Receive(ctx, drivers.ReceiveParams{}, &pageSink{}, nil)
			recv <- r
		case <-ctx.Done():
		}
	}()
	c, err := a.Dial(ctx, a.Ports()[0].ID, "2002", drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan drivers.Result, 1)
	firstPage := make(chan struct{})
	var once sync.Once
	go func() {
		r, _ := c.Send(ctx, drivertest.Doc(3, imaging.WidthA4, 200, imaging.Fine, 1), drivers.SendParams{}, func(e t30.PageEvent) {
			if e.Status == t30.PageSent {
				once.Do(func() { close(firstPage) })
			}
		})
		sent <- r
	}()
	// Close in the middle of the document: page 1 of 3 has gone out over
	// T.38 and waits for its response.
	select {
	case <-firstPage:
	case r := <-sent:
		t.Fatalf("Send ended before its first page: %v", r.Code)
	case <-ctx.Done():
		t.Fatal("no page sent")
	}
	if !c.(*call).Stats().running() {
		t.Fatal("page sent without a switch to T.38")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	sr, rr := <-sent, <-recv
	if sr.Code != t30.CodeCancelled || sr.HangupCause != drivers.CauseShutdown {
		t.Errorf("sender: %v, hang-up cause %v", sr.Code, sr.HangupCause)
	}
	if rr.Code != t30.CodeCallDropped {
		t.Errorf("receiver: %v, want call dropped", rr.Code)
	}
	for _, p := range a.Ports() {
		if p.State != drivers.StateDown {
			t.Errorf("port %s %v after Close", p.ID, p.State)
		}
	}
}

func TestSessionRefresh(t *testing.T) {
	for _, tc := range []struct {
		v, role string
		every   time.Duration
		us      bool
	}{
		{"1800;refresher=uac", "uac", 900 * time.Second, true},
		{"90 ; Refresher=UAS", "uac", 45 * time.Second, false},
		{"90;refresher=uas", "uas", 45 * time.Second, true},
		{"600", "uas", 300 * time.Second, false},
		{"x;refresher=uac", "uac", 0, false},
		{"-5", "uac", 0, false},
	} {
		every, us := sessionRefresh(tc.v, tc.role)
		if every != tc.every || us != tc.us {
			t.Errorf("%q as %s: %v %v", tc.v, tc.role, every, us)
		}
	}
}

// TestTrunkAddressAllowed: the peer (or registrar) is trusted without
// being listed.
func TestTrunkAddressAllowed(t *testing.T) {
	for _, c := range []Config{{Peer: "192.0.2.7:5060"}, {Mode: Trunk, Registrar: "192.0.2.7:5060", Username: "u"}} {
		_, allow, err := c.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		g := newGuard(allow, "", "", "r")
		if g.check("192.0.2.7:40000", "INVITE", "") != authOK || g.check("192.0.2.8:5060", "INVITE", "") != authForbidden {
			t.Errorf("%+v: allow list %v", c, allow)
		}
	}
}
