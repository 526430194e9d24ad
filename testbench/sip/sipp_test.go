package sip

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/foip"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
)

func freeUDP(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func hostPort(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

// sipp is one running sipp process.
type sipp struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{} // closed when sipp exited; err is then set
	err  error
}

// startSipp runs a scenario from scenarios/ with extra arguments; it is
// killed at the end of the test if still running.
func startSipp(t *testing.T, scenario string, port int, args ...string) *sipp {
	t.Helper()
	bin := testutil.Tool(t, "sipp")
	sf, err := filepath.Abs(filepath.Join("scenarios", scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	all := append([]string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "1",
		"-mp", strconv.Itoa(freeUDP(t)), "-nostdin", "-timeout", "20s", "-timeout_error", "-trace_err", "-trace_msg",
		"-error_file", filepath.Join(dir, "errors.log")}, args...)
	s := &sipp{cmd: exec.Command(bin, all...), done: make(chan struct{})}
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	// Dial only once sipp listens: its SIP port is bound.
	network := "udp"
	for i, a := range args {
		if a == "-t" && i+1 < len(args) && args[i+1] == "t1" {
			network = "tcp"
		}
	}
	testutil.WaitFor(t, 30*time.Second, "sipp binding "+network+" port "+strconv.Itoa(port), func() bool {
		select {
		case <-s.done:
			t.Fatalf("sipp exited before binding its port: %v\n%s", s.err, s.out.String())
		default:
		}
		ok, err := testutil.Bound(network, port)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	return s
}

// trace is sipp's message trace so far.
func (s *sipp) trace() string {
	msgs, _ := filepath.Glob(filepath.Join(s.cmd.Dir, "*_messages.log"))
	if len(msgs) == 0 {
		return ""
	}
	b, _ := os.ReadFile(msgs[0])
	return string(lastBytes(b, 6000))
}

// wait asserts that sipp ran its scenario to the end (exit status 0) and
// that every request d sent left from d's listening address (checkSource).
func (s *sipp) wait(t *testing.T, d *foip.Driver) {
	t.Helper()
	defer func() {
		if !t.Failed() {
			s.checkSource(t, d)
		}
	}()
	select {
	case <-s.done:
		if err := s.err; err != nil {
			log, _ := os.ReadFile(filepath.Join(s.cmd.Dir, "errors.log"))
			msgs, _ := filepath.Glob(filepath.Join(s.cmd.Dir, "*_messages.log"))
			var trace []byte
			if len(msgs) > 0 {
				trace, _ = os.ReadFile(msgs[0])
			}
			t.Fatalf("sipp %v: %v\n%s\n%s\nmessages:\n%s", s.cmd.Args[2], err, log, lastBytes(s.out.Bytes(), 2000), lastBytes(trace, 6000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("sipp did not finish")
	}
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func openDriver(t *testing.T, cfg foip.Config) *foip.Driver {
	t.Helper()
	d, err := foip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// TestSippUASRefuses dials a sipp UAS that refuses the INVITE with a final
// status and checks the completion code, its retry class and the cause.
func TestSippUASRefuses(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	var wg sync.WaitGroup
	for _, tc := range []struct {
		code   int
		reason string
		want   t30.Code
		retry  t30.RetryClass
	}{
		{486, "Busy Here", t30.CodeBusy, t30.RetryLater},
		{404, "Not Found", t30.CodeBadNumber, t30.RetryNever},
		{503, "Service Unavailable", t30.CodeBusy, t30.RetryLater},
		{480, "Temporarily Unavailable", t30.CodeNoAnswer, t30.RetryLater},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
				sp := freeUDP(t)
				s := startSipp(t, "uas_"+strconv.Itoa(tc.code)+".xml", sp)
				d := openDriver(t, foip.Config{Number: "1001", Listen: hostPort(0), Peer: hostPort(sp)})
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				_, err := d.Dial(ctx, d.Ports()[0].ID, "5552002", drivers.DialOptions{})
				var de *drivers.DialError
				if !errors.As(err, &de) {
					t.Fatalf("dial: %v, want a DialError", err)
				}
				if de.Code != tc.want || de.Code.Retry() != tc.retry || de.CauseCode != tc.code {
					t.Fatalf("dial: code %v (retry %v) cause %d %q; want %v (retry %v) cause %d\nsipp:\n%s",
						de.Code, de.Code.Retry(), de.CauseCode, de.Cause, tc.want, tc.retry, tc.code, s.trace())
				}
				s.wait(t, d)
				if st := d.Ports()[0].State; st != drivers.StateIdle {
					t.Errorf("port state %v after the call, want idle", st)
				}
			})
		}()
	}
	wg.Wait()
}

// TestSippRingTimeout dials a sipp UAS that rings forever: at the ring
// timeout we CANCEL (sipp checks the CANCEL, answers 487 and gets our ACK)
// and the attempt ends as no answer.
func TestSippRingTimeout(t *testing.T) {
	sp := freeUDP(t)
	s := startSipp(t, "uas_cancel.xml", sp)
	d := openDriver(t, foip.Config{Number: "1001", Listen: hostPort(0), Peer: hostPort(sp)})
	_, err := d.Dial(context.Background(), d.Ports()[0].ID, "5552002", drivers.DialOptions{RingTimeout: time.Second})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeNoAnswer || de.CauseCode != 487 {
		t.Fatalf("dial: %v; want no answer after CANCEL\n%s", err, s.trace())
	}
	s.wait(t, d)
}

// TestSippRefusesT38 dials a sipp UAS that answers with audio and refuses
// our T.38 re-INVITE with 488; under policy require the call ends with
// the T.38 refused code, and the destination is remembered as T.38-less.
func TestSippRefusesT38(t *testing.T) {
	sp := freeUDP(t)
	s := startSipp(t, "uas_488_reinvite.xml", sp)
	d := openDriver(t, foip.Config{Number: "1001", Listen: hostPort(0), Peer: hostPort(sp), ReinviteOut: 100 * time.Millisecond,
		T38Policy: foip.T38Require})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, d.Ports()[0].ID, "5552002", drivers.DialOptions{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	doc := drivertest.Doc(1, imaging.WidthA4, 20, imaging.Standard, 1)
	r, err := c.Send(ctx, doc, drivers.SendParams{}, nil)
	if !errors.Is(err, foip.ErrT38Refused) || r.Code != t30.CodeT38Refused || r.CauseCode != 488 || r.Cause != foip.T38RefusedCause {
		t.Fatalf("send: %v, code %v cause %d %q; want T.38 refused (CodeT38Refused, 488)", err, r.Code, r.CauseCode, r.Cause)
	}
	if r.Code.Retry() != t30.RetryLater {
		t.Errorf("retry class %v", r.Code.Retry())
	}
	s.wait(t, d)
	if !d.T38Less("5552002") {
		t.Fatal("destination not remembered as T.38-less")
	}
	_, err = d.Dial(ctx, d.Ports()[0].ID, "5552002", drivers.DialOptions{})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeT38Refused || !errors.Is(err, foip.ErrT38Refused) {
		t.Fatalf("second dial to a T.38-less destination: %v", err)
	}
	if d.Stats().T38Refused != 1 {
		t.Errorf("T38Refused %d", d.Stats().T38Refused)
	}
}

// TestSippReinviteNoAnswer dials a sipp UAS that answers with audio and
// says only 100 Trying to our T.38 re-INVITE (uas_noanswer_reinvite_spandsp.xml,
// its audio at a port nobody sends from). After ReinviteTimeout (200 ms)
// we CANCEL the re-INVITE (sipp checks it, answers 200 and then 487, and
// checks our transaction's ACK); under policy require the call then ends
// with the T.38 refused code, cause 408, and we hang up with BYE. The
// destination is remembered as T.38-less.
func TestSippReinviteNoAnswer(t *testing.T) {
	sp := freeUDP(t)
	s := startSipp(t, "uas_noanswer_reinvite_spandsp.xml", sp, "-key", "bridge_port", strconv.Itoa(freeUDP(t)))
	d := openDriver(t, foip.Config{Number: "1001", Listen: hostPort(0), Peer: hostPort(sp), ReinviteOut: 50 * time.Millisecond,
		ReinviteTimeout: 200 * time.Millisecond, T38Policy: foip.T38Require})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, d.Ports()[0].ID, "5552002", drivers.DialOptions{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	doc := drivertest.Doc(1, imaging.WidthA4, 20, imaging.Standard, 1)
	r, err := c.Send(ctx, doc, drivers.SendParams{}, nil)
	if !errors.Is(err, foip.ErrT38NoAnswer) || r.Code != t30.CodeT38Refused || r.CauseCode != 408 {
		t.Fatalf("send: %v, code %v cause %d %q; want no answer to the T.38 re-INVITE (CodeT38Refused, 408)", err, r.Code, r.CauseCode, r.Cause)
	}
	s.wait(t, d)
	if st := d.Stats(); st.ReinviteTimeouts != 1 || st.ReinviteCancels != 1 || st.LateAnswers != 0 {
		t.Errorf("stats %+v: want 1 re-INVITE timeout and 1 CANCEL", st)
	}
	if !d.T38Less("5552002") {
		t.Fatal("destination not remembered as T.38-less")
	}
}

// TestSippSilentT38 dials a sipp UAS that accepts T.38 and then sends no
// media at all: T.30 gives up when T1 expires (shortened here), the call
// ends as no fax terminal, and we hang up with BYE (sipp expects it).
func TestSippSilentT38(t *testing.T) {
	sp := freeUDP(t)
	s := startSipp(t, "uas_silent_t38.xml", sp)
	d := openDriver(t, foip.Config{Number: "1001", Listen: hostPort(0), Peer: hostPort(sp), ReinviteOut: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, d.Ports()[0].ID, "5552002", drivers.DialOptions{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	doc := drivertest.Doc(1, imaging.WidthA4, 20, imaging.Standard, 1)
	r, _ := c.Send(ctx, doc, drivers.SendParams{Timers: t30.Timers{T1: 3 * time.Second}}, nil)
	if r.Code != t30.CodeNoFax && r.Code != t30.CodeT1Timeout {
		t.Fatalf("send: code %v (%v); want no fax terminal (T1)", r.Code, r.Err)
	}
	s.wait(t, d)
	if d.T38Less("5552002") {
		t.Error("a destination that accepted T.38 was remembered as T.38-less")
	}
}

// TestSippUACSwitchesToT38 has sipp call us and send the T.38 re-INVITE:
// our 200 carries m=image with the T.38 attributes (checked by sipp); its
// session refreshes during the fax (UPDATE, re-INVITE with the same SDP)
// are answered with m=image; the routing information comes from the
// Request-URI and P-Asserted-Identity; sipp's BYE in the middle of the fax
// ends the call as dropped.
func TestSippUACSwitchesToT38(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	d := openDriver(t, foip.Config{Number: "2002", Listen: hostPort(0), Peer: "127.0.0.1:9",
		AllowFrom: []string{"127.0.0.1"}, ReinviteIn: -1, RoutingDigits: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type out struct {
		r   drivers.Result
		err error
	}
	got := make(chan out, 1)
	go func() {
		select {
		case c := <-d.Incoming():
			r, err := c.Receive(ctx, drivers.ReceiveParams{CSID: "US"}, discard{}, nil)
			got <- out{r, err}
		case <-ctx.Done():
			got <- out{err: ctx.Err()}
		}
	}()
	s := startSipp(t, "uac_t38_reinvite.xml", freeUDP(t), "-s", "+1-555-0102002", d.Addr())
	s.wait(t, d)
	o := <-got
	if o.r.Code != t30.CodeCallDropped {
		t.Fatalf("receive: %v, code %v; want call dropped", o.err, o.r.Code)
	}
	if n := d.Stats().Refreshes; n != 2 {
		t.Errorf("session refreshes answered: %d, want 2 (UPDATE and re-INVITE)", n)
	}
	in := o.r.Info
	if in.Direction != drivers.Inbound || in.CalledNumber != "+15550102002" || in.RoutingDigits != "2002" ||
		in.CallerID != "+15550001" || in.CallingNumber != "5550001" || in.CallerName != "Fax Dept" {
		t.Fatalf("call info %+v", in)
	}
}

// TestSippGlare has sipp hold our T.38 re-INVITE while sending its own:
// we answer 491 (RFC 3261 14.1), get 491 for ours, back off and retry, and
// the retry switches the call to T.38 (checked by sipp).
func TestSippGlare(t *testing.T) {
	testutil.NeedTool(t, "sipp")
	d := openDriver(t, foip.Config{Number: "2002", Listen: hostPort(0), Peer: "127.0.0.1:9", AllowFrom: []string{"127.0.0.1"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan t30.Code, 1)
	go func() {
		select {
		case c := <-d.Incoming():
			r, _ := c.Receive(ctx, drivers.ReceiveParams{}, discard{}, nil)
			got <- r.Code
		case <-ctx.Done():
			got <- t30.CodeCancelled
		}
	}()
	s := startSipp(t, "uac_glare.xml", freeUDP(t), d.Addr())
	s.wait(t, d)
	if code := <-got; code != t30.CodeCallDropped {
		t.Fatalf("receive code %v, want call dropped (BYE during the fax)", code)
	}
	if st := d.Stats(); st.Glare != 1 || st.GlareBackoff != 1 {
		t.Fatalf("stats %+v, want one 491 sent and one back-off", st)
	}
}

// TestSippSourceNotAllowed: an INVITE from a source outside AllowFrom gets
// 403 without credentials configured, and is counted.
func TestSippSourceNotAllowed(t *testing.T) {
	d := openDriver(t, foip.Config{Number: "2002", Listen: hostPort(0), Peer: "192.0.2.1:5060", AllowFrom: []string{"10.0.0.0/8"}})
	s := startSipp(t, "uac_403.xml", freeUDP(t), d.Addr())
	s.wait(t, d)
	if st := d.Stats(); st.Forbidden != 1 || st.InvitesIn != 1 {
		t.Fatalf("stats %+v, want 1 INVITE, 1 forbidden", st)
	}
}

// TestSippDigestAuth: an INVITE from a source outside AllowFrom is
// challenged (401); sipp answers the challenge with its own digest code and
// the call is taken.
func TestSippDigestAuth(t *testing.T) {
	d := openDriver(t, foip.Config{Number: "2002", Listen: hostPort(0), Peer: "192.0.2.1:5060", AllowFrom: []string{"10.0.0.0/8"},
		InboundUser: "fax", InboundPassword: "s3cret", ReinviteIn: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan t30.Code, 1)
	go func() {
		select {
		case c := <-d.Incoming():
			r, _ := c.Receive(ctx, drivers.ReceiveParams{}, discard{}, nil)
			got <- r.Code
		case <-ctx.Done():
			got <- t30.CodeCancelled
		}
	}()
	s := startSipp(t, "uac_auth.xml", freeUDP(t), "-au", "fax", "-ap", "s3cret", d.Addr())
	s.wait(t, d)
	if code := <-got; code != t30.CodeCallDropped {
		t.Fatalf("receive code %v, want call dropped (BYE before T.38)", code)
	}
	if st := d.Stats(); st.Challenged != 1 || st.Forbidden != 0 {
		t.Fatalf("stats %+v, want 1 challenged, 0 forbidden", st)
	}
}

// discard is a page sink that drops pages.
type discard struct{}

func (discard) Page(*t30.ReceivedPage) error { return nil }
