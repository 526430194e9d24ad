package brooktrout

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout/btplugin"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/testbench/btsim"
)

// pluginBinary is the faxagent-brooktrout binary, built with CGO_ENABLED=0 as it
// ships, the first time a test asks for it.
var pluginBinary = testutil.NewBinary("github.com/faxagent/faxagent/cmd/faxagent-brooktrout", "CGO_ENABLED=0")

func TestMain(m *testing.M) {
	code := m.Run()
	pluginBinary.Remove()
	os.Exit(code)
}

// bench is a simulator on a unix socket and a driver whose plugin talks
// to it.
type bench struct {
	t     *testing.T
	sock  string
	spool string
	sim   *btsim.Sim
	d     *Driver
	rec   *recorder
}

func startSim(t *testing.T, sock string, cfg btsim.Config) *btsim.Sim {
	t.Helper()
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	sim := btsim.New(cfg)
	go sim.Serve(ln)
	t.Cleanup(func() { sim.Close() })
	return sim
}

func newBench(t *testing.T, cfg btsim.Config) *bench {
	t.Helper()
	dir := t.TempDir()
	b := &bench{t: t, sock: filepath.Join(dir, "bt.sock"), spool: dir}
	b.sim = startSim(t, b.sock, cfg)
	b.d = New(Options{PluginPath: pluginBinary.Path(t), ServiceAddr: "unix:" + b.sock, Spool: dir,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.d.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	b.rec = record(b.d)
	t.Cleanup(func() { b.d.Close() })
	return b
}

// recorder keeps every port event.
type recorder struct {
	mu  sync.Mutex
	evs []drivers.PortEvent
}

func record(d *Driver) *recorder {
	r := &recorder{}
	go func() {
		for ev := range d.Events() {
			r.mu.Lock()
			r.evs = append(r.evs, ev)
			r.mu.Unlock()
		}
	}()
	return r
}

// states lists the states port went through.
func (r *recorder) states(port string) []drivers.PortState {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []drivers.PortState
	for _, ev := range r.evs {
		if ev.Port == port {
			out = append(out, ev.State)
		}
	}
	return out
}

// waitState polls until port is in state s (the bound is generous: the
// test fails only if the state never comes).
func waitState(t *testing.T, d *Driver, port string, s drivers.PortState) {
	t.Helper()
	for i := 0; i < 3000; i++ {
		for _, p := range d.Ports() {
			if p.ID == port && p.State == s {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("port %s never reached %v: %+v", port, s, d.Ports())
}

type rxOutcome struct {
	res   drivers.Result
	err   error
	pages []*t30.ReceivedPage
	evs   []t30.PageEvent
}

// receiveOne answers the next incoming call.
func receiveOne(ctx context.Context, d *Driver, csid string) <-chan rxOutcome {
	out := make(chan rxOutcome, 1)
	go func() {
		select {
		case c := <-d.Incoming():
			var col t30.PageCollector
			var mu sync.Mutex
			var evs []t30.PageEvent
			res, err := c.Receive(ctx, drivers.ReceiveParams{CSID: csid}, &col, func(e t30.PageEvent) {
				mu.Lock()
				evs = append(evs, e)
				mu.Unlock()
			})
			mu.Lock()
			out <- rxOutcome{res: res, err: err, pages: col.Pages, evs: evs}
			mu.Unlock()
		case <-ctx.Done():
			out <- rxOutcome{err: ctx.Err()}
		}
	}()
	return out
}

func checkPages(t *testing.T, want t30.PagesDocument, got []*t30.ReceivedPage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("received %d pages, want %d", len(got), len(want))
	}
	for i, rp := range got {
		pg, _, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
		if err != nil {
			t.Fatalf("page %d: decode: %v", i+1, err)
		}
		if !drivertest.Equal(want[i], pg) {
			t.Errorf("page %d: pixels differ from the page sent", i+1)
		}
	}
}

func TestSendReceive(t *testing.T) {
	b := newBench(t, btsim.Config{})
	if n := len(b.d.Ports()); n != 8 {
		t.Fatalf("%d ports, want 2 boards x 4", n)
	}
	for i, p := range b.d.Ports() {
		// Licences count ports per driver name; IDs are FaxCore's board IDs.
		if p.Driver != Name || p.ID != drivers.PortID(i/4, i%4) || p.Number != btsim.Number(i/4, i%4) ||
			!p.Caps.Send || !p.Caps.Receive || p.State != drivers.StateIdle {
			t.Errorf("port %d: %+v", i, p)
		}
	}
	tests := []struct {
		name     string
		pages    int
		ecm      drivers.ECMMode
		from, to string
		toNumber string
		comp     imaging.Compression
	}{
		{"1 page, no ECM: MR", 1, drivers.ECMOff, "M0,0", "M1,2", btsim.Number(1, 2), imaging.MR},
		{"3 pages ECM", 3, drivers.ECMDefault, "M0,1", "M1,3", btsim.Number(1, 3), imaging.MMR},
		{"10 pages ECM", 10, drivers.ECMOn, "M1,0", "M0,3", btsim.Number(0, 3), imaging.MMR},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			doc := drivertest.Doc(tc.pages, imaging.WidthA4, 300, imaging.Fine, uint64(10*i))
			rx := receiveOne(ctx, b.d, "RX CSID")
			c, err := b.d.Dial(ctx, tc.from, tc.toNumber, drivers.DialOptions{})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			var mu sync.Mutex
			var evs []t30.PageEvent
			res, err := c.Send(ctx, doc, drivers.SendParams{CSID: "TX CSID", ECM: tc.ecm}, func(e t30.PageEvent) {
				mu.Lock()
				evs = append(evs, e)
				mu.Unlock()
			})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := <-rx
			if r.err != nil {
				t.Fatalf("Receive: %v", r.err)
			}
			wantECM := tc.ecm != drivers.ECMOff
			for _, side := range []struct {
				name   string
				res    drivers.Result
				port   string
				remote string
			}{{"sender", res, tc.from, "RX CSID"}, {"receiver", r.res, tc.to, "TX CSID"}} {
				g := side.res
				if g.Code != t30.OK || g.Protocol() != "V17" || g.Speed.Rate != 14400 || g.ECM != wantECM ||
					g.Compression != tc.comp || g.Resolution != imaging.Fine || g.Width != imaging.WidthA4 ||
					g.RemoteIdent != side.remote || g.Info.Port != side.port || g.Ended.IsZero() ||
					g.Cause != "normal completion" || g.CauseCode != 0 {
					t.Errorf("%s result: %+v", side.name, g)
				}
				if g.TransmitDuration <= 0 || g.CallDuration < g.TransmitDuration || g.Info.Started.IsZero() ||
					g.Ended.Before(g.Info.Started) || g.Info.ID == "" {
					t.Errorf("%s durations: transmit %v call %v", side.name, g.TransmitDuration, g.CallDuration)
				}
			}
			if res.PagesConfirmed != tc.pages || res.PagesSent != tc.pages || res.FailedPage != 0 || res.StartPage != 0 {
				t.Errorf("sender pages: sent %d confirmed %d failed %d", res.PagesSent, res.PagesConfirmed, res.FailedPage)
			}
			if r.res.PagesReceived != tc.pages {
				t.Errorf("receiver: %d pages", r.res.PagesReceived)
			}
			if ci := r.res.Info; ci.Direction != drivers.Inbound || ci.CallingNumber != b.d.Ports()[portIndex(b.d, tc.from)].Number ||
				ci.CalledNumber != tc.toNumber || ci.DID != tc.toNumber {
				t.Errorf("receiver call info %+v", ci)
			}
			if ci := r.res.Info; ci.RoutingDigits != tc.toNumber || ci.CallerID != ci.CallingNumber || ci.Connected.IsZero() {
				t.Errorf("receiver routing info %+v", ci)
			}
			if ci := res.Info; ci.Direction != drivers.Outbound || ci.CalledNumber != tc.toNumber || ci.Connected.IsZero() {
				t.Errorf("sender call info %+v", ci)
			}
			checkPages(t, doc, r.pages)
			mu.Lock()
			if len(evs) != tc.pages || evs[len(evs)-1].Page != tc.pages || evs[0].Status != t30.PageConfirmed {
				t.Errorf("sender progress %+v", evs)
			}
			mu.Unlock()
			if len(r.evs) != tc.pages || r.evs[0].Status != t30.PageReceived {
				t.Errorf("receiver progress %+v", r.evs)
			}
			waitState(t, b.d, tc.from, drivers.StateIdle)
			waitState(t, b.d, tc.to, drivers.StateIdle)
		})
	}
	// The spool holds no leftovers.
	left, _ := filepath.Glob(filepath.Join(b.spool, "*.tif"))
	if len(left) != 0 {
		t.Errorf("spool files left: %v", left)
	}
}

func portIndex(d *Driver, id string) int {
	for i, p := range d.Ports() {
		if p.ID == id {
			return i
		}
	}
	return -1
}

func TestLineModels(t *testing.T) {
	b := newBench(t, btsim.Config{})
	doc := drivertest.Doc(3, imaging.WidthA4, 200, imaging.Standard, 7)
	tests := []struct {
		name      string
		number    string
		dialCode  t30.Code // non-OK: Dial fails with it
		code      t30.Code
		confirmed int
		failed    int
		protocol  string
		remote    string
	}{
		{"busy", "9001", t30.CodeBusy, 0, 0, 0, "", ""},
		{"no answer", "9002", t30.CodeNoAnswer, 0, 0, 0, "", ""},
		{"own channel busy", btsim.Number(0, 0), t30.CodeBusy, 0, 0, 0, "", ""},
		{"drop after page 1", "9003", t30.OK, t30.CodeCallDropped, 1, 2, "V17", "BTSIM 9003"},
		{"training failure", "9004", t30.OK, t30.CodeTrainFailed, 0, 1, "V27", "BTSIM 9004"},
		{"no fax", "9006", t30.OK, t30.CodeNoFax, 0, 1, "", "BTSIM 9006"},
		{"V.29 fax machine", "9007", t30.OK, t30.OK, 3, 0, "V29", "V29 REMOTE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := b.d.Dial(ctx, "M0,0", tc.number, drivers.DialOptions{RingTimeout: 50 * time.Millisecond})
			if tc.dialCode != t30.OK {
				var de *drivers.DialError
				if !errors.As(err, &de) || de.Code != tc.dialCode {
					t.Fatalf("Dial: %v, want code %v", err, tc.dialCode)
				}
				res := drivers.DialResult(err, drivers.CallInfo{Port: "M0,0"}, time.Now())
				if res.Code != tc.dialCode || res.Code.Retry() == t30.RetryNever {
					t.Errorf("dial result %v retry %v", res.Code, res.Code.Retry())
				}
				waitState(t, b.d, "M0,0", drivers.StateIdle)
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			res, err := c.Send(ctx, doc, drivers.SendParams{}, nil)
			if res.Code != tc.code || (err == nil) != (tc.code == t30.OK) {
				t.Fatalf("Send: code %v err %v, want %v", res.Code, err, tc.code)
			}
			if tc.code != t30.OK {
				var ce *drivers.CallError
				if !errors.As(err, &ce) || ce.Code != tc.code {
					t.Errorf("error %v is not a CallError with %v", err, tc.code)
				}
			}
			if res.PagesConfirmed != tc.confirmed || res.FailedPage != tc.failed || res.Protocol() != tc.protocol ||
				res.RemoteIdent != tc.remote {
				t.Errorf("result: confirmed %d failed %d protocol %q remote %q", res.PagesConfirmed, res.FailedPage,
					res.Protocol(), res.RemoteIdent)
			}
			waitState(t, b.d, "M0,0", drivers.StateIdle)
		})
	}
	if got := b.d.Restarts(); got != 0 {
		t.Errorf("plugin restarted %d times", got)
	}
}

// TestPluginKilled kills the plugin with SIGKILL in mid-call: the call
// ends as dropped with the pages confirmed so far, the ports go down and
// come back with a new plugin, and the retry from the first unconfirmed
// page completes the document exactly once.
func TestPluginKilled(t *testing.T) {
	b := newBench(t, btsim.Config{PageTime: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	doc := drivertest.Doc(10, imaging.WidthA4, 200, imaging.Fine, 99)
	rx := receiveOne(ctx, b.d, "RX")
	c, err := b.d.Dial(ctx, "M0,0", btsim.Number(1, 0), drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pid := b.d.pid()
	if pid == 0 {
		t.Fatal("no plugin pid")
	}
	var once sync.Once
	res, err := c.Send(ctx, doc, drivers.SendParams{}, func(e t30.PageEvent) {
		if e.Page == 2 {
			once.Do(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
		}
	})
	if res.Code != t30.CodeCallDropped || err == nil || res.Code.Retry() != t30.RetryNow {
		t.Fatalf("Send after kill: %v %v", res.Code, err)
	}
	k := res.PagesConfirmed
	if k < 2 || k >= 10 || res.FailedPage != k+1 {
		t.Fatalf("confirmed %d failed page %d", k, res.FailedPage)
	}
	if r := <-rx; r.res.Code != t30.CodeCallDropped {
		t.Errorf("receiver: %v %v", r.res.Code, r.err)
	}
	for i := 0; i < 3000 && b.d.Restarts() == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range []string{"M0,0", "M1,0", "M1,3"} {
		waitState(t, b.d, p, drivers.StateIdle)
	}
	if b.d.Restarts() != 1 || b.d.pid() == pid {
		t.Fatalf("restarts %d, pid %d (was %d)", b.d.Restarts(), b.d.pid(), pid)
	}
	for _, p := range []string{"M0,0", "M1,3"} {
		st := b.rec.states(p)
		down := -1
		for i, s := range st {
			if s == drivers.StateDown {
				down = i
			}
		}
		if down < 0 || down == len(st)-1 || st[len(st)-1] != drivers.StateIdle {
			t.Errorf("%s went through %v; want down then idle", p, st)
		}
	}
	// Retry from the first unconfirmed page.
	rx = receiveOne(ctx, b.d, "RX")
	c, err = b.d.Dial(ctx, "M0,0", btsim.Number(1, 0), drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.Send(ctx, doc, drivers.SendParams{StartPage: k}, nil)
	if err != nil || res.StartPage != k || res.PagesConfirmed != 10-k {
		t.Fatalf("retry: %v start %d confirmed %d", err, res.StartPage, res.PagesConfirmed)
	}
	r := <-rx
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkPages(t, doc[k:], r.pages)
}

// TestServiceRestart stops the board service: the plugin exits, the ports
// go down, and once the service is back a new plugin brings them up.
func TestServiceRestart(t *testing.T) {
	b := newBench(t, btsim.Config{})
	b.sim.Close()
	waitState(t, b.d, "M0,0", drivers.StateDown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := b.d.Dial(ctx, "M0,0", "9005", drivers.DialOptions{})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeCallDropped {
		t.Fatalf("Dial on a down port: %v", err)
	}
	b.sim = startSim(t, b.sock, btsim.Config{})
	waitState(t, b.d, "M1,3", drivers.StateIdle)
	c, err := b.d.Dial(ctx, "M0,0", "9005", drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Send(ctx, drivertest.Doc(2, imaging.WidthA4, 100, imaging.Standard, 3), drivers.SendParams{}, nil); err != nil || res.PagesConfirmed != 2 {
		t.Fatalf("send after restart: %v %d", err, res.PagesConfirmed)
	}
}

// TestChannelDown: a failed channel is marked down and not used; it comes
// back when the board says so.
func TestChannelDown(t *testing.T) {
	b := newBench(t, btsim.Config{})
	b.sim.SetChannelDown(0, 2, true)
	waitState(t, b.d, "M0,2", drivers.StateDown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := b.d.Dial(ctx, "M0,2", "9005", drivers.DialOptions{})
	var de *drivers.DialError
	if !errors.As(err, &de) || de.Code != t30.CodeCallDropped {
		t.Fatalf("Dial on a down channel: %v", err)
	}
	// Calls to the down channel's number find it busy.
	_, err = b.d.Dial(ctx, "M0,0", btsim.Number(0, 2), drivers.DialOptions{})
	if !errors.As(err, &de) || de.Code != t30.CodeBusy {
		t.Fatalf("Dial to a down channel: %v", err)
	}
	b.sim.SetChannelDown(0, 2, false)
	waitState(t, b.d, "M0,2", drivers.StateIdle)
	if b.d.Restarts() != 0 {
		t.Errorf("plugin restarted")
	}
}

// TestSlowService: a service that takes its time with every response
// still completes calls.
func TestSlowService(t *testing.T) {
	b := newBench(t, btsim.Config{ResponseDelay: 5 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := b.d.Dial(ctx, "M1,1", "9005", drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(ctx, drivertest.Doc(2, imaging.WidthA4, 100, imaging.Standard, 8), drivers.SendParams{}, nil)
	if err != nil || res.PagesConfirmed != 2 {
		t.Fatalf("%v confirmed %d", err, res.PagesConfirmed)
	}
}

func TestCancelAndHangup(t *testing.T) {
	b := newBench(t, btsim.Config{PageTime: 20 * time.Millisecond})
	doc := drivertest.Doc(20, imaging.WidthA4, 100, imaging.Standard, 5)
	for _, viaCtx := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		c, err := b.d.Dial(ctx, "M0,0", "9005", drivers.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Send(ctx, doc, drivers.SendParams{}, func(e t30.PageEvent) {
			if e.Page == 1 {
				if viaCtx {
					cancel()
				} else {
					go c.Hangup(drivers.CauseCancelled)
				}
			}
		})
		cancel()
		if res.Code != t30.CodeCancelled || err == nil || res.PagesConfirmed >= 20 {
			t.Errorf("viaCtx %v: %v %v confirmed %d", viaCtx, res.Code, err, res.PagesConfirmed)
		}
		waitState(t, b.d, "M0,0", drivers.StateIdle)
	}
}

func TestHandshakeRefused(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "bt.sock")
	startSim(t, sock, btsim.Config{})
	tests := []struct {
		name string
		host uint
		env  []string
	}{
		{"host asks for a newer version", 99, nil},
		{"plugin offers another version", 1, []string{btplugin.EnvVersion + "=2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Options{PluginPath: pluginBinary.Path(t), ServiceAddr: "unix:" + sock, Spool: dir, Env: tc.env,
				StartTimeout: 10 * time.Second})
			d.version = tc.host
			defer d.Close()
			err := d.Open(context.Background())
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), "version") {
				t.Fatalf("Open: %v, want a version mismatch", err)
			}
			if len(d.Ports()) != 0 {
				t.Errorf("ports %v after a refused handshake", d.Ports())
			}
		})
	}
}

func TestPluginRefusesDirectRun(t *testing.T) {
	out, err := exec.Command(pluginBinary.Path(t)).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(out), "plugin of faxagent") {
		t.Fatalf("direct run: %v %s", err, out)
	}
}
