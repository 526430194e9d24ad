package foip

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// TestInviteFloodLimited: a source whose calls keep failing (malformed
// offers answered 488, or answered calls that bring no fax, each a call
// record in the store) gets 503 with Retry-After once it has
// FailedCallsPerSource failures in the window, before a port is taken or a
// call offered; another source is not affected. (Before, every INVITE of a
// flood was offered and every failed call recorded.)
func TestInviteFloodLimited(t *testing.T) {
	d := openDriver(t, Config{Number: "2002", Listen: "127.0.0.1:0", Peer: "127.0.0.1:9",
		AllowFrom: []string{"127.0.0.0/8"}, FailedCallsPerSource: 3, Channels: 2})
	dial := func(ip string) net.Conn {
		conn, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(d.Addr())))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	pcmu := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	invite := func(conn net.Conn, id, body string) {
		t.Helper()
		if _, err := conn.Write([]byte(rawInvite(conn, d.Addr(), id, body))); err != nil {
			t.Fatal(err)
		}
	}
	noneOffered := func() {
		t.Helper()
		select {
		case c := <-d.Incoming():
			t.Fatalf("call %s offered from a flooding source", c.Info().ID)
		default:
		}
	}

	// Malformed offers from one address.
	a := dial("127.0.0.1")
	for i := range 3 {
		id := "bad-" + strconv.Itoa(i)
		invite(a, id, "v=1\r\nnonsense\r\n")
		if code := finalStatus(t, a, id); code != 488 {
			t.Fatalf("%s: %d, want 488", id, code)
		}
	}
	invite(a, "good-after-flood", pcmu)
	if code := finalStatus(t, a, "good-after-flood"); code != 503 {
		t.Fatalf("fourth INVITE: %d, want 503", code)
	}
	noneOffered()

	// Answered calls that bring no fax, from another address: each is
	// offered until the third has failed.
	b := dial("127.0.0.2")
	for i := range 3 {
		id := "nofax-" + strconv.Itoa(i)
		invite(b, id, pcmu)
		var c drivers.Call
		select {
		case c = <-d.Incoming():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s from a fresh source not offered", id)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the reception ends at once without a page
		res, _ := c.Receive(ctx, drivers.ReceiveParams{}, nil, nil)
		if res.Code == t30.OK {
			t.Fatalf("%s: received?", id)
		}
	}
	invite(b, "nofax-3", pcmu)
	if code := finalStatus(t, b, "nofax-3"); code != 503 {
		t.Fatalf("INVITE after three failed calls: %d, want 503", code)
	}
	noneOffered()
	if st := d.Stats(); st.FloodRefused != 2 {
		t.Errorf("FloodRefused %d, want 2", st.FloodRefused)
	}
}

// TestFailLimitWindow: failures leave the window and the source may call
// again; Retry-After is the time until the oldest leaves; the sources
// remembered are bounded.
func TestFailLimitWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newFailLimit(2, time.Minute)
	l.now = func() time.Time { return now }
	src := netip.MustParseAddr("192.0.2.1")
	l.failed(src)
	now = now.Add(20 * time.Second)
	l.failed(src)
	if ok, wait := l.allow(src); ok || wait != 40*time.Second {
		t.Fatalf("allow = %v, %v; want refused for 40s", ok, wait)
	}
	now = now.Add(41 * time.Second)
	if ok, _ := l.allow(src); !ok {
		t.Fatal("refused after the oldest failure left the window")
	}
	for i := range 3 * maxFloodSources {
		l.failed(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if n := len(l.bySrc); n > maxFloodSources {
		t.Fatalf("%d sources remembered", n)
	}
	if ok, _ := newFailLimit(-1, time.Minute).allow(src); !ok {
		t.Fatal("a negative limit refused")
	}
}
