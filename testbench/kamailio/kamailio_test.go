package kamailio

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/foip"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

const password = Password

func hostPort(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

// trunk opens a driver in trunk mode registering number with the proxy
// and waits until it is registered.
func trunk(t *testing.T, p *Proxy, number, pw string) *foip.Driver {
	t.Helper()
	d, err := foip.New(foip.Config{Mode: foip.Trunk, Registrar: p.Addr, Username: number, Password: pw,
		Number: number, Listen: hostPort(0), RegisterExpiry: 60 * time.Second, RegisterRetry: 500 * time.Millisecond,
		ReinviteOut: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func waitRegistered(t *testing.T, p *Proxy, d *foip.Driver) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for d.Stats().Registered == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not registered with kamailio: %+v\n%s", d.Stats(), p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// TestKamailioFax registers trunks with digest authentication through
// Kamailio and sends a one-page fax from one to another through the proxy,
// ECM on and off (in parallel, each between its own two trunks): the INVITE
// is challenged (407), routed by the registrar's location lookup, the T.38
// re-INVITE and BYE follow the record-routed path, and the page arrives
// pixel-equal.
func TestKamailioFax(t *testing.T) {
	t.Parallel()
	p := Start(t)
	t.Run("calls", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			from, to string
			ecm      drivers.ECMMode
		}{
			{"ECM", "1001", "2002", drivers.ECMOn},
			{"noECM", "3003", "4004", drivers.ECMOff},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				faxVia(t, p, tc.from, tc.to, tc.ecm)
			})
		}
	})
	// Every step of the calls went through the proxy: the challenged
	// INVITEs, and the record-routed in-dialog requests.
	log := p.Log()
	for _, want := range []string{"challenge REGISTER 1001 (401)", "challenge INVITE 3003 (407)", "registered 1001", "registered 4004", "INVITE 1001 -> 2002", "INVITE 3003 -> 4004",
		"in-dialog INVITE", "in-dialog ACK", "in-dialog BYE"} {
		if !strings.Contains(log, want) {
			t.Errorf("kamailio log lacks %q", want)
		}
	}
}

// faxVia registers trunks from and to with the proxy and sends a one-page
// fax from one to the other.
func faxVia(t *testing.T, p *Proxy, from, to string, ecm drivers.ECMMode) {
	a := trunk(t, p, from, password)
	b := trunk(t, p, to, password)
	waitRegistered(t, p, a)
	waitRegistered(t, p, b)
	doc := drivertest.Doc(1, imaging.WidthA4, 200, imaging.Fine, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sink := &pageSink{}
	type out struct {
		r   drivers.Result
		err error
	}
	got := make(chan out, 1)
	go func() {
		select {
		case c := <-b.Incoming():
			r, err := c.Receive(ctx, drivers.ReceiveParams{CSID: "RECEIVER"}, sink, nil)
			got <- out{r, err}
		case <-ctx.Done():
			got <- out{err: ctx.Err()}
		}
	}()
	c, err := a.Dial(ctx, a.Ports()[0].ID, to, drivers.DialOptions{RingTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial %s through kamailio: %v", to, err)
	}
	sr, serr := c.Send(ctx, doc, drivers.SendParams{CSID: "SENDER", ECM: ecm}, nil)
	o := <-got
	if serr != nil || sr.Code != t30.OK {
		t.Fatalf("send: %v (code %v, cause %q)", serr, sr.Code, sr.Cause)
	}
	if o.err != nil || o.r.Code != t30.OK {
		t.Fatalf("receive: %v (code %v, cause %q)", o.err, o.r.Code, o.r.Cause)
	}
	if sr.PagesConfirmed != 1 || o.r.PagesReceived != 1 || o.r.ECM != (ecm == drivers.ECMOn) {
		t.Fatalf("sent: %d confirmed; received %d pages, ECM %v", sr.PagesConfirmed, o.r.PagesReceived, o.r.ECM)
	}
	if in := o.r.Info; in.Direction != drivers.Inbound || in.CalledNumber != to || in.CallingNumber != from {
		t.Errorf("receiver call info %+v", in)
	}
	if len(sink.pages) != 1 {
		t.Fatalf("%d pages in the sink", len(sink.pages))
	}
	rp := sink.pages[0]
	page, _, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
	if err != nil {
		t.Fatalf("decode received page: %v", err)
	}
	if !drivertest.Equal(page, doc[0]) {
		t.Fatal("received page differs from the page sent")
	}
}

// TestKamailioRefusals: a wrong password never registers (the port stays
// down), and a call to a number nobody registered gets the proxy's 404,
// which is a bad number that is never retried.
func TestKamailioRefusals(t *testing.T) {
	t.Parallel()
	p := Start(t)
	bad := trunk(t, p, "3003", "wrong")
	a := trunk(t, p, "1001", password)
	waitRegistered(t, p, a)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := a.Dial(ctx, a.Ports()[0].ID, "9999", drivers.DialOptions{RingTimeout: 5 * time.Second})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeBadNumber || de.CauseCode != 404 || de.Code.Retry() != t30.RetryNever {
		t.Fatalf("dial an unregistered number: %v; want bad number (404, never retry)", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for bad.Stats().RegisterFail == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := bad.Stats(); st.RegisterFail == 0 || st.Registered != 0 {
		t.Fatalf("wrong password: stats %+v, want only failed registrations", st)
	}
	if st := bad.Ports()[0].State; st != drivers.StateDown {
		t.Errorf("port of an unregistered trunk is %v, want down", st)
	}
	if log := p.Log(); strings.Contains(log, "registered 3003") || !strings.Contains(log, "challenge REGISTER 3003") {
		t.Errorf("kamailio log: want 3003 challenged and never registered")
	}
}
