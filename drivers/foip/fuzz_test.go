package foip

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/t38"
)

func TestNumberFromHeader(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"sip:+15551234@carrier.example;user=phone", "+15551234"},
		{`"Fax Dept" <sip:+1 (555) 123-4567@10.0.0.1:5060;transport=udp>;tag=abc`, "+15551234567"},
		{"<tel:+49-30-1234567;phone-context=+49>", "+49301234567"},
		{"sips:2002@host", "2002"},
		{"  5552002  ", "5552002"},
		{"5552002;reason=unconditional", "5552002"},
		{"<sip:*97#@pbx>", "*97#"},
		{"sip:1234:secret@host", "1234"},
	} {
		got, err := NumberFromHeader(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NumberFromHeader(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "<sip:alice@example.com>", "sip:@host", "<sip:123@host", "+", "12a3", strings.Repeat("1", 300)} {
		if got, err := NumberFromHeader(bad); !errors.Is(err, ErrNumber) {
			t.Errorf("NumberFromHeader(%q) = %q, %v; want ErrNumber", bad, got, err)
		}
	}
	if n := DisplayName(`"Fax \"Dept\"" <sip:1@h>`); n != `Fax "Dept"` {
		t.Errorf("display name %q", n)
	}
	if d := routingDigits("+15552002", 4); d != "2002" {
		t.Errorf("routing digits %q", d)
	}
}

func TestCodeForStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   t30.Code
		retry  t30.RetryClass
	}{
		{486, t30.CodeBusy, t30.RetryLater},
		{600, t30.CodeBusy, t30.RetryLater},
		{503, t30.CodeBusy, t30.RetryLater},
		{500, t30.CodeBusy, t30.RetryLater},
		{480, t30.CodeNoAnswer, t30.RetryLater},
		{408, t30.CodeNoAnswer, t30.RetryLater},
		{404, t30.CodeBadNumber, t30.RetryNever},
		{484, t30.CodeBadNumber, t30.RetryNever},
		{604, t30.CodeBadNumber, t30.RetryNever},
		{488, t30.CodeT38Refused, t30.RetryLater},
		{606, t30.CodeT38Refused, t30.RetryLater},
		{407, t30.CodeInternal, t30.RetryLater},
	} {
		got := CodeForStatus(tc.status)
		if got != tc.want || got.Retry() != tc.retry {
			t.Errorf("%d: %v (retry %v), want %v (retry %v)", tc.status, got, got.Retry(), tc.want, tc.retry)
		}
	}
	// The IDs go into attempt records and must never move.
	if t30.CodeT38Refused.ID() != 20 || t30.CodeBadNumber.ID() != 21 ||
		t30.CodeT38Refused.String() != "remote refused T.38 (488)" || t30.CodeBadNumber.String() != "invalid number (404/484)" {
		t.Errorf("code IDs/texts: %d %q, %d %q", t30.CodeT38Refused.ID(), t30.CodeT38Refused, t30.CodeBadNumber.ID(), t30.CodeBadNumber)
	}
}

// TestGuard checks digest verification against credentials computed by
// icholy/digest as a client would, and the allow list.
func TestGuard(t *testing.T) {
	g := newGuard([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "fax", "pw", "realm")
	if g.check("192.0.2.7:5060", "INVITE", "") != authOK {
		t.Fatal("allowed source refused")
	}
	if g.check("198.51.100.1:5060", "INVITE", "") != authChallenge {
		t.Fatal("no challenge")
	}
	chal, err := digest.ParseChallenge(g.challenge())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: "sip:2002@192.0.2.1", Username: "fax", Password: "pw", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v := g.check("198.51.100.1:5060", "INVITE", cred.String()); v != authOK {
		t.Fatalf("good credentials: %v", v)
	}
	if v := g.check("198.51.100.1:5060", "BYE", cred.String()); v != authForbidden {
		t.Fatalf("credentials for another method: %v", v)
	}
	bad, _ := digest.Digest(chal, digest.Options{Method: "INVITE", URI: "sip:2002@192.0.2.1", Username: "fax", Password: "nope", Count: 1})
	if v := g.check("198.51.100.1:5060", "INVITE", bad.String()); v != authForbidden {
		t.Fatalf("bad password: %v", v)
	}
	// A nonce from the past is stale: challenged again.
	g.now = func() time.Time { return time.Now().Add(time.Hour) }
	if v := g.check("198.51.100.1:5060", "INVITE", cred.String()); v != authChallenge {
		t.Fatalf("stale nonce: %v", v)
	}
	forged := strings.Replace(cred.String(), chal.Nonce, "1.deadbeef", 1)
	if v := g.check("198.51.100.1:5060", "INVITE", forged); v != authChallenge {
		t.Fatalf("forged nonce: %v", v)
	}
}

// TestLatch: media latches to the first real source; others are strays.
func TestLatch(t *testing.T) {
	var l latch
	sdp := netip.MustParseAddrPort("192.0.2.1:4000")
	nat := netip.MustParseAddrPort("198.51.100.9:31000")
	l.set(sdp)
	if l.get() != sdp {
		t.Fatal("SDP address not used before latching")
	}
	if !l.accept(nat) || l.get() != nat {
		t.Fatal("did not latch to the real source")
	}
	l.set(sdp) // a later SDP does not undo the latch
	if l.accept(sdp) || l.get() != nat || l.stray.Load() != 1 {
		t.Fatalf("stray accepted: remote %v strays %d", l.get(), l.stray.Load())
	}
}

// TestUDPTLLatchOverUDP sends UDPTL from an unexpected address (NAT) and
// then from a stranger over real sockets.
func TestUDPTLLatchOverUDP(t *testing.T) {
	mk := func() net.PacketConn {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ours, nat, stranger := mk(), mk(), mk()
	link := &udptlLink{conn: ours}
	link.set(netip.MustParseAddrPort("127.0.0.1:9")) // SDP said port 9
	got := make(chan netip.AddrPort, 4)
	go func() {
		buf := make([]byte, 1500)
		var pkt t38.UDPTLPacket
		for {
			n, from, err := ours.ReadFrom(buf)
			if err != nil {
				return
			}
			if pkt.Unmarshal(buf[:n]) != nil {
				link.bad.Add(1)
				continue
			}
			if link.accept(addrPortOf(from)) {
				got <- addrPortOf(from)
			}
		}
	}()
	dg, _ := (&t38.UDPTLPacket{Seq: 0, Primary: []byte{0x00}}).Marshal()
	if _, err := nat.WriteTo(dg, ours.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if a := <-got; a != addrPortOf(nat.LocalAddr()) {
		t.Fatalf("latched to %v", a)
	}
	_, _ = stranger.WriteTo(dg, ours.LocalAddr())
	_, _ = stranger.WriteTo([]byte{0xff}, ours.LocalAddr())
	deadline := time.Now().Add(10 * time.Second)
	for (link.stray.Load() != 1 || link.bad.Load() != 1) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if link.stray.Load() != 1 || link.bad.Load() != 1 {
		t.Fatalf("stray %d bad %d", link.stray.Load(), link.bad.Load())
	}
	// Our packets now go to the latched address.
	if err := link.Send(dg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = nat.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := nat.ReadFrom(buf); err != nil {
		t.Fatalf("latched peer got nothing: %v", err)
	}
}

// TestG711 checks the G.711 coders against the G.711 reference points and
// the tone detector on generated CNG and CED.
func TestG711(t *testing.T) {
	if linearToULaw(0) != 0xff || linearToALaw(0) != 0xd5 {
		t.Fatalf("silence: %#x %#x", linearToULaw(0), linearToALaw(0))
	}
	for _, v := range []int16{-32768, -20000, -1000, -1, 0, 1, 100, 1000, 8000, 32767} {
		for _, law := range []struct {
			enc func(int16) byte
			dec func(byte) int16
		}{{linearToULaw, uLawToLinear}, {linearToALaw, aLawToLinear}} {
			back := law.dec(law.enc(v))
			tol := int(v)/16 + 16
			if tol < 0 {
				tol = -tol
			}
			if d := int(back) - int(v); d > tol+tol || -d > tol+tol {
				t.Errorf("%d -> %d", v, back)
			}
		}
	}
	for _, tc := range []struct {
		tone     tonePattern
		pt       int
		cng, ced bool
	}{{cngPattern, ptPCMU, true, false}, {cedPattern, ptPCMA, false, true}, {tonePattern{}, ptPCMU, false, false}} {
		a := &audio{pt: uint8(tc.pt), tone: tc.tone}
		heard := false
		a.onCED = func() { heard = true }
		p := make([]byte, frameSamples)
		x := make([]float64, frameSamples)
		for i := 0; i < 20; i++ {
			a.fill(p)
			for j, b := range p {
				if tc.pt == ptPCMA {
					x[j] = float64(aLawToLinear(b))
				} else {
					x[j] = float64(uLawToLinear(b))
				}
			}
			a.detect(x)
		}
		if a.heardCNG.Load() != tc.cng || a.heardCED.Load() != tc.ced || heard != tc.ced {
			t.Errorf("%v: CNG %v CED %v", tc.tone, a.heardCNG.Load(), a.heardCED.Load())
		}
	}
}

func FuzzNumberFromHeader(f *testing.F) {
	for _, s := range []string{"sip:+15551234@carrier.example;user=phone", `"A" <sip:+1 (555) 123@h>;tag=x`,
		"<tel:+49-30-1234567;phone-context=+49>", "5552002;reason=x", "<sip:", "sips:1:2@", "<<>>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NumberFromHeader(s)
		if err != nil {
			return
		}
		if n == "" || strings.ContainsAny(n, " -.()@;:<>") {
			t.Fatalf("%q -> %q", s, n)
		}
		_ = DisplayName(s)
		_ = routingDigits(n, 4)
	})
}

// FuzzOffer feeds SDP offers through what an inbound INVITE or re-INVITE
// does with them: the audio and T.38 stream readers and the answer.
func FuzzOffer(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=image 4002 udptl t38\r\nc=IN IP4 10.0.0.1\r\na=T38FaxVersion:0\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 host.example\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\nm=image 70000 udptl t38\r\n"))
	cfg, _, _ := Config{Peer: "127.0.0.1:5060"}.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := t38.ParseSession(b)
		if err != nil {
			return
		}
		if ra, err := audioOf(s); err == nil && (!ra.addr.IsValid() || ra.addr.Port() == 0 || (ra.pt != 0 && ra.pt != 8)) {
			t.Fatalf("audio %+v", ra)
		}
		if a, _, ok, err := t38Of(s); ok && err == nil && !a.IsValid() {
			t.Fatal("T.38 stream without address")
		}
		if ans, _, err := t38.Answer(s, cfg.t38Caps(4000)); err == nil {
			if _, err := t38.ParseSession(ans.Marshal()); err != nil {
				t.Fatalf("our answer does not parse: %v", err)
			}
		}
	})
}

// TestPortRange: RTP on even ports with RTCP next to it, UDPTL anywhere in
// the range, and a clear error once the range is used up. The range is 8
// ports next to a port the kernel just handed out; when another process
// holds one of them the test takes another range, and fails (under CI=true;
// skips elsewhere) only when ten ranges in a row were busy.
func TestPortRange(t *testing.T) {
	for try := 0; try < 10; try++ {
		if portRangeFull(t) {
			return
		}
	}
	testutil.Missing(t, "no free range of 8 UDP ports on 127.0.0.1 in ten tries")
}

// portRangeFull takes RTP/RTCP pairs from a fresh 8-port range until it is
// used up, checking each, and reports whether all four pairs were free
// (then it also checks that a full range refuses UDPTL).
func portRangeFull(t *testing.T) bool {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := c.LocalAddr().(*net.UDPAddr).Port &^ 1
	_ = c.Close()
	r := &portRange{min: base, max: base + 7}
	var open []net.PacketConn
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
	}()
	pairs := 0
	for {
		rtp, rtcp, err := r.listenRTP("127.0.0.1")
		if err != nil {
			if !strings.Contains(err.Error(), "no free RTP/RTCP port pair") {
				t.Fatalf("exhausted range: %v", err)
			}
			break
		}
		open = append(open, rtp, rtcp)
		p := localPort(rtp)
		if p%2 != 0 || p < base || p+1 > base+7 || localPort(rtcp) != p+1 {
			t.Fatalf("RTP %d RTCP %d outside the range %d-%d or not a pair", p, localPort(rtcp), base, base+7)
		}
		pairs++
		if pairs > 4 {
			t.Fatal("more pairs than the range holds")
		}
	}
	if pairs < 4 {
		return false
	}
	if _, err := r.listen("127.0.0.1"); err == nil {
		t.Fatal("UDPTL port from a full range")
	}
	return true
}

// BenchmarkAudioFrame is the per-packet cost of the audio phase: one 20 ms
// G.711 frame generated (CNG) and one analysed for CNG/CED.
func BenchmarkAudioFrame(b *testing.B) {
	b.ReportAllocs()
	a := &audio{pt: ptPCMU, tone: cngPattern}
	p := make([]byte, frameSamples)
	x := make([]float64, frameSamples)
	for b.Loop() {
		a.fill(p)
		for j, v := range p {
			x[j] = float64(uLawToLinear(v))
		}
		a.detect(x)
	}
}

func BenchmarkNumberFromHeader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NumberFromHeader(`"Fax Dept" <sip:+1 (555) 123-4567@10.0.0.1:5060;transport=udp>;tag=abc`); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzSIPFilter feeds datagrams through the filter that stands before
// sipgo: it parses every UDP datagram (sipgo's parser) to count and drop
// what is not SIP, so a datagram must never make it panic.
func FuzzSIPFilter(f *testing.F) {
	f.Add([]byte("INVITE sip:2002@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=b\r\nCSeq: 1 INVITE\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("INVITE sip:x SIP/2.0\r\nVia: broken\r\nContent-Length: 99999\r\n\r\n"))
	f.Add([]byte("\x00\x01"))
	d, err := New(Config{Peer: "127.0.0.1:5060"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = d.filter(sip.TransportReadProps{Transport: "UDP"}, b)
	})
}
