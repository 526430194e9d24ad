package sip

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/foip"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
)

// sippRequest is a request sipp received, from its message log.
type sippRequest struct {
	method, transport, sentBy string
}

// receivedRequests reads sipp's -trace_msg log: every message it received
// that is a request, with its top Via's transport and sent-by.
func receivedRequests(log string) []sippRequest {
	var out []sippRequest
	for _, block := range strings.Split(log, "\n-----------------------------------------------") {
		head, msg, ok := strings.Cut(block, "\n\n")
		if !ok || !strings.Contains(head, "message received") {
			continue
		}
		lines := strings.Split(strings.TrimLeft(msg, "\r\n"), "\n")
		if len(lines) == 0 || strings.HasPrefix(lines[0], "SIP/2.0") {
			continue
		}
		r := sippRequest{method: strings.Fields(lines[0] + " ?")[0]}
		for _, l := range lines[1:] {
			l = strings.TrimSpace(l)
			name, v, ok := strings.Cut(l, ":")
			if !ok || (!strings.EqualFold(name, "via") && !strings.EqualFold(name, "v")) {
				continue
			}
			// SIP/2.0/UDP 127.0.0.1:5060;branch=...
			f := strings.Fields(v)
			if len(f) >= 2 {
				r.transport = strings.TrimPrefix(strings.ToUpper(f[0]), "SIP/2.0/")
				r.sentBy, _, _ = strings.Cut(strings.Join(f[1:], ""), ";")
				r.sentBy, _, _ = strings.Cut(r.sentBy, ",")
			}
			break
		}
		out = append(out, r)
	}
	return out
}

// checkSource asserts the trunk's fixed source: every request sipp got
// from d names d's listening address in its top Via, and every answer sipp
// sent (sipp answers to where a request came from) reached d on its
// listening socket (Stats.OffListener 0). Scenarios where sipp calls us
// and hangs up itself see no request of ours: only the second part holds.
func (s *sipp) checkSource(t *testing.T, d *foip.Driver) {
	t.Helper()
	msgs, _ := filepath.Glob(filepath.Join(s.cmd.Dir, "*_messages.log"))
	if len(msgs) == 0 {
		t.Fatal("sipp wrote no message log (-trace_msg)")
	}
	b, err := os.ReadFile(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	reqs := receivedRequests(string(b))
	var methods []string
	for _, r := range reqs {
		methods = append(methods, r.method)
		if r.sentBy != d.Addr() {
			t.Errorf("%s reached sipp with Via %s %s; want the trunk's listening address %s", r.method, r.transport, r.sentBy, d.Addr())
		}
	}
	if n := d.Stats().OffListener; n != 0 {
		t.Errorf("%d SIP messages reached the driver on another socket than its listener %s", n, d.Addr())
	}
	t.Logf("requests checked (Via = %s): %s", d.Addr(), strings.Join(methods, " "))
}

// TestReceivedRequests reads a sipp message log excerpt.
func TestReceivedRequests(t *testing.T) {
	log := `----------------------------------------------- 2026-12-07 14:15:03.087261
UDP message received [551] bytes :

INVITE sip:5552002@127.0.0.1:39938 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:52523;branch=z9hG4bK.NPKF
CSeq: 22970 INVITE

----------------------------------------------- 2026-12-07 14:15:03.087415
UDP message sent (258 bytes):

SIP/2.0 100 Trying
Via: SIP/2.0/UDP 127.0.0.1:52523;branch=z9hG4bK.NPKF

----------------------------------------------- 2026-12-07 14:15:04.095361
UDP message received [337] bytes :

SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1:9999;branch=z9hG4bK.x

----------------------------------------------- 2026-12-07 14:15:04.095361
TCP message received [337] bytes :

BYE sip:5552002@127.0.0.1:39938 SIP/2.0
Max-Forwards: 70
v: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK.y
`
	got := receivedRequests(log)
	want := []sippRequest{{"INVITE", "UDP", "127.0.0.1:52523"}, {"BYE", "TCP", "127.0.0.1:5060"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestSippSourceTCP: over TCP too, the INVITE, ACK, CANCEL of a trunk go
// out on a connection from its listening address and port (Via and the
// connection's source, which sipp answers on).
func TestSippSourceTCP(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	for _, tc := range []struct {
		scenario string
		ring     time.Duration
		want     t30.Code
	}{
		{"uas_486.xml", 0, t30.CodeBusy},
		{"uas_cancel.xml", time.Second, t30.CodeNoAnswer},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			sp := freeUDP(t)
			s := startSipp(t, tc.scenario, sp, "-t", "t1")
			d := openDriver(t, foip.Config{Number: "1001", Transport: "tcp", Listen: hostPort(0), Peer: hostPort(sp)})
			_, err := d.Dial(context.Background(), d.Ports()[0].ID, "5552002", drivers.DialOptions{RingTimeout: tc.ring})
			var de *drivers.DialError
			if !errors.As(err, &de) || de.Code != tc.want {
				t.Fatalf("dial: %v; want %v\n%s", err, tc.want, s.trace())
			}
			s.wait(t, d)
		})
	}
}
