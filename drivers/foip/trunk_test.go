package foip

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
)

// registrar is a minimal SIP registrar and proxy stand-in for tests: it
// demands digest credentials for REGISTER and INVITE, grants a short
// expiry, and answers authenticated INVITEs with 486.
type registrar struct {
	addr    string
	guard   *guard
	regs    atomic.Int64 // successful REGISTERs
	unregs  atomic.Int64
	invites atomic.Int64 // authenticated INVITEs
	expiry  string
}

func startRegistrar(t *testing.T, user, password string, expiry string) *registrar {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-registrar"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &registrar{addr: pc.LocalAddr().String(), guard: newGuard(nil, user, password, "trunk.test"), expiry: expiry}
	check := func(req *sip.Request, tx sip.ServerTransaction) bool {
		auth := ""
		if h := req.GetHeader("Authorization"); h != nil {
			auth = h.Value()
		}
		switch r.guard.check(req.Source(), req.Method.String(), auth) {
		case authOK:
			return true
		case authChallenge:
			respond(tx, req, 401, "Unauthorized", nil, sip.NewHeader("WWW-Authenticate", r.guard.challenge()))
		default:
			respond(tx, req, 403, "Forbidden", nil)
		}
		return false
	}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		if !check(req, tx) {
			return
		}
		if h := req.GetHeader("Expires"); h != nil && h.Value() == "0" {
			r.unregs.Add(1)
		} else {
			r.regs.Add(1)
		}
		respond(tx, req, 200, "OK", nil, sip.NewHeader("Expires", r.expiry))
	})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if !check(req, tx) {
			return
		}
		r.invites.Add(1)
		respond(tx, req, 486, "Busy Here", nil)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {})
	go func() { _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() { _ = pc.Close(); _ = ua.Close() })
	return r
}

// TestTrunkRegistration registers with digest credentials, re-registers
// before the granted expiry, sends INVITEs through the registrar with
// credentials, and unregisters on Close.
func TestTrunkRegistration(t *testing.T) {
	reg := startRegistrar(t, "fax", "pw1", "2")
	d, err := New(Config{Mode: Trunk, Registrar: reg.addr, Username: "fax", Password: "pw1", Number: "1001",
		Listen: "127.0.0.1:0", Channels: 2, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Registration, then a re-registration at 3/4 of the 2 s expiry.
	deadline := time.Now().Add(10 * time.Second)
	for reg.regs.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := reg.regs.Load(); n < 2 {
		t.Fatalf("%d registrations, want a registration and a refresh", n)
	}
	for _, p := range d.Ports() {
		if p.State != drivers.StateIdle {
			t.Fatalf("port %s %v after registration", p.ID, p.State)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = d.Dial(ctx, "M0,1", "5552002", drivers.DialOptions{})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeBusy || de.CauseCode != 486 {
		t.Fatalf("dial through the trunk: %v", err)
	}
	if reg.invites.Load() != 1 {
		t.Fatalf("authenticated INVITEs %d", reg.invites.Load())
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if reg.unregs.Load() != 1 {
		t.Errorf("unregistrations %d, want 1", reg.unregs.Load())
	}
	if st := d.Stats(); st.Registered < 2 || st.RegisterFail != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestTrunkBadCredentials: a refused registration keeps the ports down
// and is counted.
func TestTrunkBadCredentials(t *testing.T) {
	reg := startRegistrar(t, "fax", "right", "60")
	d := openDriver(t, Config{Mode: Trunk, Registrar: reg.addr, Username: "fax", Password: "wrong",
		Listen: "127.0.0.1:0", RegisterRetry: time.Hour})
	deadline := time.Now().Add(10 * time.Second)
	for d.Stats().RegisterFail == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := d.Stats(); st.RegisterFail != 1 || st.Registered != 0 {
		t.Fatalf("stats %+v", st)
	}
	if p := d.Ports()[0]; p.State != drivers.StateDown {
		t.Fatalf("port %v with a failed registration", p.State)
	}
	if _, err := d.Dial(context.Background(), "M0,0", "1", drivers.DialOptions{}); err == nil {
		t.Fatal("dial on a down port succeeded")
	}
}

// TestFlood sends a flood of malformed, oversized and unauthenticated
// requests: every one is counted and dropped or refused, nothing panics,
// the driver still answers afterwards, and after Close every goroutine and
// socket it started is gone. The datagrams go in bursts of 20 (30 kB), the
// next once the driver has counted the one before, so a slow reader on a
// loaded machine cannot overflow the socket buffer: the counts are exact.
func TestFlood(t *testing.T) {
	before := testutil.Snapshot()
	d, err := New(Config{Number: "2002", Listen: "127.0.0.1:0", Peer: "192.0.2.1:5060", AllowFrom: []string{"10.1.2.3"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp4", d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 200
	invite := func(i int) string {
		return "INVITE sip:2002@" + d.Addr() + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bK-flood-" + strconv.Itoa(i) + "\r\n" +
			"From: <sip:evil@example.com>;tag=f" + strconv.Itoa(i) + "\r\n" +
			"To: <sip:2002@example.com>\r\n" +
			"Call-ID: flood-" + strconv.Itoa(i) + "\r\n" +
			"CSeq: 1 INVITE\r\n" +
			"Contact: <sip:evil@" + conn.LocalAddr().String() + ">\r\n" +
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	}
	garbage := []string{
		"\x01\x02\x03 not sip at all",
		"INVITE\r\n\r\n",
		"SIP/2.0 200\r\n",
		"INVITE sip:x SIP/2.0\r\nVia: broken\r\nContent-Length: 99999\r\n\r\n",
		strings.Repeat("A", 9000),
	}
	const burst = 10 // a garbage datagram and an INVITE each
	counted := func(i int) bool {
		st := d.Stats()
		return st.Forbidden == uint64(i) && st.Malformed+st.Oversized == uint64(i)
	}
	for i := 0; i < n; i++ {
		if _, err := conn.Write([]byte(garbage[i%len(garbage)])); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(invite(i))); err != nil {
			t.Fatal(err)
		}
		if (i+1)%burst == 0 {
			for deadline := time.Now().Add(30 * time.Second); !counted(i + 1); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("after %d INVITEs and %d garbage datagrams: stats %+v", i+1, i+1, d.Stats())
				}
			}
		}
	}
	st := d.Stats()
	if st.Forbidden != n || st.InvitesIn != n || st.Oversized != uint64(n/len(garbage)) || st.Malformed+st.Oversized != n {
		t.Fatalf("stats %+v; want %d forbidden INVITEs, %d oversized, %d dropped in all", st, n, n/len(garbage), n)
	}
	// The refusals really went out.
	buf := make([]byte, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		m, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reading responses: %v", err)
		}
		if strings.HasPrefix(string(buf[:m]), "SIP/2.0 403") {
			break
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	before.WaitReleased(t, 30*time.Second, driverCode...)
}
