package foip

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// rawInvite is an INVITE from conn to the driver at to with body as SDP.
func rawInvite(conn net.Conn, to, callID, body string) string {
	return "INVITE sip:2002@" + to + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bK-" + callID + "\r\n" +
		"From: <sip:1001@127.0.0.1>;tag=t" + callID + "\r\n" +
		"To: <sip:2002@" + to + ">\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:1001@" + conn.LocalAddr().String() + ">\r\n" +
		"Max-Forwards: 70\r\nContent-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// finalStatus reads responses on conn until a final one for callID.
func finalStatus(t *testing.T, conn net.Conn, callID string) int {
	t.Helper()
	buf := make([]byte, 8192)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no final response for %s: %v", callID, err)
		}
		msg := string(buf[:n])
		if !strings.Contains(msg, "Call-ID: "+callID+"\r\n") || len(msg) < 12 {
			continue
		}
		code, err := strconv.Atoi(msg[8:11])
		if err == nil && code >= 200 {
			return code
		}
	}
}

// TestInboundRefusals: an offer without G.711 or T.38 gets 488, a malformed
// SDP 488, and an INVITE while every channel rings gets 486; all counted.
func TestInboundRefusals(t *testing.T) {
	d := openDriver(t, Config{Number: "2002", Listen: "127.0.0.1:0", Peer: "127.0.0.1:9", AllowFrom: []string{"127.0.0.1"}})
	conn, err := net.Dial("udp4", d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	g729 := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n"
	for i, body := range []string{g729, "v=1\r\nnonsense\r\n", ""} {
		id := "nomedia-" + strconv.Itoa(i)
		if _, err := conn.Write([]byte(rawInvite(conn, d.Addr(), id, body))); err != nil {
			t.Fatal(err)
		}
		if code := finalStatus(t, conn, id); code != 488 {
			t.Fatalf("offer %q: %d, want 488", body, code)
		}
	}
	if st := d.Stats(); st.NoMedia != 3 {
		t.Fatalf("no-media count %d", st.NoMedia)
	}
	// The one channel rings (nobody takes the call yet): the next
	// INVITE is busy.
	pcmu := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	if _, err := conn.Write([]byte(rawInvite(conn, d.Addr(), "first", pcmu))); err != nil {
		t.Fatal(err)
	}
	var first drivers.Call
	select {
	case first = <-d.Incoming():
	case <-time.After(5 * time.Second):
		t.Fatal("first call not offered")
	}
	if _, err := conn.Write([]byte(rawInvite(conn, d.Addr(), "second", pcmu))); err != nil {
		t.Fatal(err)
	}
	if code := finalStatus(t, conn, "second"); code != 486 {
		t.Fatalf("second call: %d, want 486", code)
	}
	if st := d.Ports()[0].State; st != drivers.StateReceiving {
		t.Fatalf("port %v while ringing", st)
	}
	// Rejecting the first call answers 603 and frees the port.
	if err := first.Hangup(drivers.CauseRejected); err != nil {
		t.Fatal(err)
	}
	if code := finalStatus(t, conn, "first"); code != 603 {
		t.Fatalf("rejected call: %d, want 603", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.Ports()[0].State != drivers.StateIdle && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := d.Ports()[0].State; st != drivers.StateIdle {
		t.Fatalf("port %v after rejecting", st)
	}
	if d.Stats().Busy != 1 {
		t.Errorf("busy count %d", d.Stats().Busy)
	}
}

// TestRingTimeoutWithoutResponse dials a peer that never answers at all:
// at the ring timeout the attempt ends as no answer without waiting for the
// transaction timer (no CANCEL without a provisional response).
func TestRingTimeoutWithoutResponse(t *testing.T) {
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	d := openDriver(t, Config{Number: "1001", Listen: "127.0.0.1:0", Peer: silent.LocalAddr().String()})
	_, err = d.Dial(context.Background(), "M0,0", "2002", drivers.DialOptions{RingTimeout: 300 * time.Millisecond})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeNoAnswer || de.CauseCode != 408 {
		t.Fatalf("dial: %v; want no answer (408)", err)
	}
	buf := make([]byte, 4096)
	_ = silent.SetReadDeadline(time.Now().Add(time.Second))
	n, _, err := silent.ReadFrom(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "INVITE ") {
		t.Fatalf("the peer got no INVITE: %v %q", err, buf[:n])
	}
}

// TestInboundCallIDInUse: a second INVITE (new From tag and branch) with
// the Call-ID of a call still ringing gets 482 and is not offered, and the
// first call is unaffected; once it is over, the Call-ID may come again.
func TestInboundCallIDInUse(t *testing.T) {
	d := openDriver(t, Config{Number: "2002", Listen: "127.0.0.1:0", Peer: "127.0.0.1:9", AllowFrom: []string{"127.0.0.1"}, Channels: 2})
	conn, err := net.Dial("udp4", d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pcmu := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	invite := func(n int) {
		t.Helper()
		msg := rawInvite(conn, d.Addr(), "same-call-id", pcmu)
		msg = strings.Replace(msg, "branch=z9hG4bK-same-call-id", "branch=z9hG4bK-"+strconv.Itoa(n), 1)
		msg = strings.Replace(msg, "tag=tsame-call-id", "tag=from-"+strconv.Itoa(n), 1)
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	offered := func() drivers.Call {
		t.Helper()
		select {
		case c := <-d.Incoming():
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("call not offered")
		}
		return nil
	}
	invite(1)
	first := offered()
	invite(2)
	if code := finalStatus(t, conn, "same-call-id"); code != 482 {
		t.Fatalf("second INVITE with the Call-ID in use: %d, want 482", code)
	}
	select {
	case c := <-d.Incoming():
		t.Fatalf("second call offered: %+v", c.Info())
	default:
	}
	if err := first.Hangup(drivers.CauseRejected); err != nil {
		t.Fatal(err)
	}
	if code := finalStatus(t, conn, "same-call-id"); code != 603 {
		t.Fatalf("first call rejected: %d, want 603", code)
	}
	for deadline := time.Now().Add(5 * time.Second); d.lookup("same-call-id") != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("first call not released")
		}
	}
	invite(3)
	if c := offered(); c.Info().ID != "same-call-id" {
		t.Fatalf("third call %+v", c.Info())
	}
}

// TestInboundRoutingRule: the called number and routing digits of INVITEs
// whose Request-URI user is a number, and of those where it is not (the
// documented rule of inboundInfo).
func TestInboundRoutingRule(t *testing.T) {
	for _, tc := range []struct {
		user, to      string
		digits        int
		called, route string
	}{
		{"+15550102002", "", 4, "+15550102002", "2002"},
		{"fax-2002", "", 0, "fax-2002", "2002"},
		{"ext2002a", "", 3, "ext2002a", "002"},
		{"sales", "", 0, "sales", ""},
		{"", "5550103", 0, "5550103", "5550103"},
		{"", "fax-77", 0, "fax-77", "77"},
	} {
		d := &Driver{cfg: Config{RoutingDigits: tc.digits}}
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: tc.user, Host: "127.0.0.1"})
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: tc.to, Host: "127.0.0.1"}})
		in := d.inboundInfo(req, "M1,0", "call")
		if in.CalledNumber != tc.called || in.DID != tc.called || in.RoutingDigits != tc.route {
			t.Errorf("user %q to %q: called %q DID %q routing %q; want %q, %q", tc.user, tc.to, in.CalledNumber, in.DID, in.RoutingDigits, tc.called, tc.route)
		}
	}
}
