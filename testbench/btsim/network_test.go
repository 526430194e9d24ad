package btsim_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/agent/agenttest"
	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
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

// Numbers and ports of the two agents.
const (
	bNumber = "5550100" // agent B's loopback port M5,0
	bPort   = "M5,0"
	aPort   = "M0,1" // the one board channel agent A uses
)

// agents is agent A on simulated Brooktrout boards (the real plugin,
// btsim in this process) and agent B on loopback ports, both on one
// loopback network in virtual time.
type agents struct {
	net     *loopback.Network
	sim     *btsim.Sim
	a, b    *agent.Agent
	qa, qb  *agenttest.MemQueue
	ra, rb  *agenttest.MemReporter
	aNumber string
	aSpool  string
	bSpool  string
	btSpool string
	bt      *brooktrout.Driver
	sock    string
	cfg     btsim.Config
	// holdA, when set and true, keeps agent A from claiming jobs: a test
	// holds a retry until the far side is ready for it.
	holdA atomic.Pointer[func() bool]
}

// heldQueue is agent A's queue: a MemQueue whose Claim hands out nothing
// while the test holds it.
type heldQueue struct {
	*agenttest.MemQueue
	x *agents
}

func (q heldQueue) Claim(ctx context.Context, r agent.ClaimRequest) ([]agent.Job, error) {
	if h := q.x.holdA.Load(); h != nil && (*h)() {
		return nil, nil
	}
	return q.MemQueue.Claim(ctx, r)
}

// holdRetry keeps agent A from retrying job after its first attempt until
// B has finished the call that attempt made (its inbound record in, its
// port idle): a retry that reaches B's one port first is refused as busy,
// as a real fax line in a call would, and A can hear of a dropped call
// before B does.
func (x *agents) holdRetry(job string) {
	before := len(x.rb.InboundRecords())
	hold := func() bool {
		if len(x.qa.Attempts(job)) != 1 {
			return false
		}
		if len(x.rb.InboundRecords()) == before {
			return true
		}
		for _, p := range x.b.Ports() {
			if p.ID == bPort && p.State != drivers.StateIdle {
				return true
			}
		}
		return false
	}
	x.holdA.Store(&hold)
}

func license(t *testing.T, priv ed25519.PrivateKey, id, driver string, ports int) []byte {
	t.Helper()
	b, err := agent.Sign(agent.License{AgentID: id, Ports: map[string]int{driver: ports},
		Issued: time.Now(), Expires: time.Now().Add(24 * time.Hour)}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startAgents(t *testing.T, cfg btsim.Config) *agents {
	t.Helper()
	dir := t.TempDir()
	x := &agents{
		net: loopback.NewNetwork(loopback.Options{Mode: loopback.Virtual, Seed: 9}),
		qa:  agenttest.NewMemQueue(nil), qb: agenttest.NewMemQueue(nil),
		ra: agenttest.NewMemReporter(), rb: agenttest.NewMemReporter(),
		aNumber: btsim.Number(0, 1),
		aSpool:  filepath.Join(dir, "a"), bSpool: filepath.Join(dir, "b"), btSpool: filepath.Join(dir, "bt"),
	}
	for _, d := range []string{x.aSpool, x.bSpool, x.btSpool} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "bt.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Network = x.net
	x.sim = btsim.New(cfg)
	x.sock, x.cfg = sock, cfg
	go x.sim.Serve(ln)

	pub, priv, err := agent.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	x.bt = brooktrout.New(brooktrout.Options{PluginPath: pluginBinary.Path(t), ServiceAddr: "unix:" + sock, Spool: x.btSpool,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	retry := agent.RetryPolicy{MaxAttempts: 1, Now: agent.ClassRule{Interval: 10 * time.Millisecond},
		Later: agent.ClassRule{Interval: 50 * time.Millisecond}}
	x.a, err = agent.New(agent.Config{
		AgentID: "A", ServerIP: "10.0.0.1", Drivers: []drivers.Driver{x.bt},
		License: license(t, priv, "A", brooktrout.Name, 8), LicenseKey: pub,
		// Only one channel works, so the records name it.
		DefaultPort: &agent.PortSettings{Disabled: true},
		Ports:       map[string]agent.PortSettings{aPort: {Send: true, Receive: true}},
		Queue:       heldQueue{x.qa, x}, Reporter: x.ra, SpoolDir: x.aSpool, Retry: retry, CSID: "AGENT A", PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	lb := loopback.New(x.net, loopback.DriverOptions{Board: 5, Numbers: []string{bNumber}})
	x.b, err = agent.New(agent.Config{
		AgentID: "B", ServerIP: "10.0.0.2", Drivers: []drivers.Driver{lb},
		License: license(t, priv, "B", "loopback", 1), LicenseKey: pub,
		Queue: x.qb, Reporter: x.rb, SpoolDir: x.bSpool, Retry: retry, CSID: "AGENT B", PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := x.a.Start(ctx); err != nil {
		t.Fatalf("agent A: %v", err)
	}
	if err := x.b.Start(ctx); err != nil {
		t.Fatalf("agent B: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, g := range []*agent.Agent{x.a, x.b} {
			if err := g.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
		x.sim.Close()
		x.net.Close()
	})
	return x
}

// restartService stops the simulator and starts a new one on the same
// socket and network, as a restarted board service.
func (x *agents) restartService(t *testing.T) {
	t.Helper()
	x.sim.Close()
	_ = os.Remove(x.sock)
	ln, err := net.Listen("unix", x.sock)
	if err != nil {
		t.Fatal(err)
	}
	x.sim = btsim.New(x.cfg)
	go x.sim.Serve(ln)
}

// waitInbound waits for the receiving agent's inbound record of the call
// (generously bounded: the test fails only if it never comes).
func waitInbound(t *testing.T, r *agenttest.MemReporter, n int) agent.InboundRecord {
	t.Helper()
	for i := 0; i < 3000; i++ {
		if in := r.InboundRecords(); len(in) >= n {
			return in[n-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no inbound record %d", n)
	return agent.InboundRecord{}
}

func waitFinal(t *testing.T, q *agenttest.MemQueue) {
	t.Helper()
	select {
	case <-q.AllFinal():
	case <-time.After(30 * time.Second):
		t.Fatalf("jobs not final: %v", q.Ops())
	}
}

// readTIFF decodes every page of a spooled TIFF file.
func readTIFF(t *testing.T, path string) []*imaging.Page {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []*imaging.Page
	for i := 0; i < r.NumPages(); i++ {
		pr, err := r.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		info := pr.Info()
		p, err := imaging.ReadPage(pr, info.Width, info.Resolution, 0)
		if err != nil {
			t.Fatalf("%s page %d: %v", path, i+1, err)
		}
		out = append(out, p)
	}
	return out
}

func checkFile(t *testing.T, path string, want t30.PagesDocument) {
	t.Helper()
	got := readTIFF(t, path)
	if len(got) != len(want) {
		t.Fatalf("%s: %d pages, want %d", path, len(got), len(want))
	}
	for i := range want {
		if !drivertest.Equal(want[i], got[i]) {
			t.Errorf("%s page %d: pixels differ from the page sent", path, i+1)
		}
	}
}

// TestNetworkFax sends faxes between a simulated board channel (agent A,
// through the plugin) and a loopback port of agent B on the same
// loopback network, both ways: the pages arrive pixel-equal, and the
// sender's attempt record and the receiver's inbound record carry the
// TransmissionDetails of the call.
func TestNetworkFax(t *testing.T) {
	x := startAgents(t, btsim.Config{})
	tests := []struct {
		name    string
		pages   int
		fromA   bool // A (board) sends to B (loopback); else B to A
		res     imaging.Resolution
		resName string
		height  int
	}{
		{"board to loopback, 1 page", 1, true, imaging.Fine, "fine", 300},
		{"board to loopback, 10 pages", 10, true, imaging.Standard, "standard", 200},
		{"loopback to board, 1 page", 1, false, imaging.Fine, "fine", 300},
		{"loopback to board, 10 pages", 10, false, imaging.Superfine, "superfine", 200},
	}
	inA, inB := 0, 0
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := drivertest.Doc(tc.pages, imaging.WidthA4, tc.height, tc.res, uint64(100+i))
			resName := tc.resName
			id := fmt.Sprintf("job%d", i)
			q, inRep := x.qa, x.rb
			number, txPort, rxPort := bNumber, aPort, bPort
			txID, rxID, txCSID, rxCSID, rxNumber, txNumber := "A", "B", "AGENT A", "AGENT B", bNumber, x.aNumber
			n := &inB
			if !tc.fromA {
				q, inRep = x.qb, x.ra
				number, txPort, rxPort = x.aNumber, bPort, aPort
				txID, rxID, txCSID, rxCSID, rxNumber, txNumber = "B", "A", "AGENT B", "AGENT A", x.aNumber, bNumber
				n = &inA
			}
			if err := q.Add(agent.Job{ID: id, Number: number, Doc: doc, MaxAttempts: 1}); err != nil {
				t.Fatal(err)
			}
			waitFinal(t, q)
			*n++
			in := waitInbound(t, inRep, *n)
			recs := q.Attempts(id)
			if len(recs) != 1 {
				t.Fatalf("%d attempt records", len(recs))
			}
			r := recs[0]
			if r.TransmitStatus != 0 || r.ErrorID != 0 || r.TransmitStatusDef != agent.StatusCompleted {
				t.Fatalf("attempt failed: %+v", r)
			}
			if r.BoardID != txPort || r.FaxAgentID != txID || r.PageCount != tc.pages || r.PageSent != tc.pages ||
				r.StartPageNo != 1 || r.AttemptNo != 1 {
				t.Errorf("attempt record port/pages: %+v", r)
			}
			if r.FaxProtocol != "V17" || r.TransmitSpeed != 14400 || !r.ECM || r.CompressionMode != "MMR" || r.FaxResolution != resName ||
				r.RemoteCSID != rxCSID || r.CalledNumber != number || r.CallingNumber != txNumber {
				t.Errorf("attempt record call: %+v", r)
			}
			if r.CallDuration <= 0 || r.TransmitDuration <= 0 || r.StartDate.IsZero() || r.CompleteDate.Before(r.StartDate) {
				t.Errorf("attempt record times: %+v", r)
			}
			if in.BoardID != rxPort || in.FaxAgentID != rxID || in.Pages != tc.pages || in.Partial || in.ErrorID != 0 {
				t.Errorf("inbound record port/pages: %+v", in)
			}
			if in.FaxProtocol != "V17" || in.TransmitSpeed != 14400 || in.CompressionMode != "MMR" || in.FaxResolution != resName ||
				in.RemoteCSID != txCSID || in.CalledNumber != rxNumber || in.CallingNumber != txNumber {
				t.Errorf("inbound record call: %+v", in)
			}
			checkFile(t, in.File, doc)
		})
	}
	// The board side left nothing in its spool.
	if left, _ := filepath.Glob(filepath.Join(x.btSpool, "*.tif")); len(left) != 0 {
		t.Errorf("plugin spool files left: %v", left)
	}
	if got := x.sim.Completed(); got != len(tests) {
		t.Errorf("simulator completed %d transfers, want %d", got, len(tests))
	}
}

// TestNetworkFaults: line faults of the loopback network reach the board
// side as a board would report them, and a board channel that does not
// take a call rejects it on the network.
func TestNetworkFaults(t *testing.T) {
	x := startAgents(t, btsim.Config{})
	const (
		busy    = "5550201"
		builtin = "5550300" // owned by nobody: the network's fax machine
	)
	x.net.SetModel(bNumber, loopback.Model{DropAfterPage: 2, Calls: 1})
	x.net.SetModel(busy, loopback.Model{Kind: loopback.Busy})

	t.Run("drop after page 2, retry from page 3", func(t *testing.T) {
		doc := drivertest.Doc(5, imaging.WidthA4, 150, imaging.Fine, 7)
		x.holdRetry("drop")
		defer x.holdA.Store(nil)
		if err := x.qa.Add(agent.Job{ID: "drop", Number: bNumber, Doc: doc, MaxAttempts: 2}); err != nil {
			t.Fatal(err)
		}
		waitFinal(t, x.qa)
		recs := x.qa.Attempts("drop")
		if len(recs) != 2 {
			t.Fatalf("%d attempt records", len(recs))
		}
		if r := recs[0]; r.ErrorID != int(t30.CodeCallDropped) || r.PageSent != 2 || r.NextPage != 3 || r.BoardID != aPort {
			t.Errorf("first attempt: %+v", r)
		}
		if r := recs[1]; r.ErrorID != 0 || r.StartPageNo != 3 || r.PageSent != 3 || r.BoardID != aPort {
			t.Errorf("second attempt: %+v", r)
		}
		first, second := waitInbound(t, x.rb, 1), waitInbound(t, x.rb, 2)
		if !first.Partial || first.Pages != 2 || first.ErrorID != int(t30.CodeCallDropped) {
			t.Errorf("first inbound: %+v", first)
		}
		if second.Partial || second.Pages != 3 || second.ErrorID != 0 {
			t.Errorf("second inbound: %+v", second)
		}
		checkFile(t, first.File, doc[:2])
		checkFile(t, second.File, doc[2:])
	})

	t.Run("busy", func(t *testing.T) {
		doc := drivertest.Doc(1, imaging.WidthA4, 100, imaging.Standard, 8)
		if err := x.qa.Add(agent.Job{ID: "busy", Number: busy, Doc: doc, MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
		waitFinal(t, x.qa)
		if r := x.qa.Attempts("busy"); len(r) != 1 || r[0].ErrorID != int(t30.CodeBusy) || r[0].PageSent != 0 {
			t.Errorf("busy attempt: %+v", r)
		}
	})

	t.Run("number nobody owns: the network's fax machine", func(t *testing.T) {
		doc := drivertest.Doc(2, imaging.WidthA4, 100, imaging.Fine, 9)
		if err := x.qa.Add(agent.Job{ID: "builtin", Number: builtin, Doc: doc, MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
		waitFinal(t, x.qa)
		if r := x.qa.Attempts("builtin"); len(r) != 1 || r[0].ErrorID != 0 || r[0].PageSent != 2 {
			t.Fatalf("attempt: %+v", r)
		}
		got := x.net.BuiltinPages(builtin)
		if len(got) != 2 {
			t.Fatalf("fax machine got %d pages", len(got))
		}
		for i, rp := range got {
			pg, _, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
			if err != nil || !drivertest.Equal(doc[i], pg) {
				t.Errorf("page %d differs (%v)", i+1, err)
			}
		}
	})

	// Calls from the network to channels that do not take them: a port
	// the agent does not answer on, and a channel that is down.
	x.sim.SetChannelDown(1, 0, true)
	for _, tc := range []struct{ name, number string }{
		{"channel not answering", btsim.Number(0, 2)},
		{"channel down", btsim.Number(1, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "rej " + tc.number
			doc := drivertest.Doc(1, imaging.WidthA4, 100, imaging.Standard, 10)
			if err := x.qb.Add(agent.Job{ID: id, Number: tc.number, Doc: doc, MaxAttempts: 1}); err != nil {
				t.Fatal(err)
			}
			waitFinal(t, x.qb)
			if r := x.qb.Attempts(id); len(r) != 1 || r[0].ErrorID != int(t30.CodeNoAnswer) || r[0].PageSent != 0 {
				t.Errorf("attempt: %+v", r)
			}
		})
	}
	if in := x.ra.InboundRecords(); len(in) != 0 {
		t.Errorf("agent A received %+v", in)
	}
}

// pluginPID finds the running faxagent-brooktrout this test started.
func pluginPID(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		testutil.Missing(t, "no /proc: %v", err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == pluginBinary.Path(t) {
			return pid
		}
	}
	t.Fatal("plugin process not found")
	return 0
}

// TestNetworkPluginKilled kills the plugin with SIGKILL while agent A's
// board channel sends to agent B over the network: B keeps the pages
// before the drop as a partial fax, A's attempt ends as call dropped,
// the plugin restarts, and the retry from the first unconfirmed page
// completes the document exactly once.
func TestNetworkPluginKilled(t *testing.T) {
	// Kill the plugin once the board has had page 2 confirmed.
	var once sync.Once
	killed := make(chan error, 1)
	var pid atomic.Int64
	x := startAgents(t, btsim.Config{PageTime: 30 * time.Millisecond, OnPage: func(ch vendor.ChannelRef, page int) {
		if ch == (vendor.ChannelRef{Board: 0, Channel: 1}) && page == 2 {
			once.Do(func() { killed <- syscall.Kill(int(pid.Load()), syscall.SIGKILL) })
		}
	}})
	pid.Store(int64(pluginPID(t)))
	// B learns of the drop through the network, A through its dead plugin,
	// in either order.
	x.holdRetry("kill")
	doc := drivertest.Doc(10, imaging.WidthA4, 150, imaging.Fine, 55)
	// B's channel learns of the drop a moment after A's plugin died; on a
	// loaded machine A's retry can reach it before that and be rejected
	// (no answer, nothing sent), so a few such attempts are allowed.
	if err := x.qa.Add(agent.Job{ID: "kill", Number: bNumber, Doc: doc, MaxAttempts: 8}); err != nil {
		t.Fatal(err)
	}
	waitFinal(t, x.qa)
	select {
	case err := <-killed:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("the plugin was not killed")
	}
	all := x.qa.Attempts("kill")
	if len(all) < 2 {
		t.Fatalf("%d attempt records: %+v", len(all), all)
	}
	for _, r := range all[1 : len(all)-1] {
		if r.ErrorID != int(t30.CodeNoAnswer) || r.PageSent != 0 {
			t.Errorf("attempt between the drop and the resumed send: %+v", r)
		}
	}
	recs := []agent.AttemptRecord{all[0], all[len(all)-1]}
	// The board confirmed page 2 as the plugin died: the host may or may
	// not have heard of it.
	k := recs[0].PageSent
	if r := recs[0]; r.ErrorID != int(t30.CodeCallDropped) || k < 1 || k > 2 || r.NextPage != k+1 || r.BoardID != aPort {
		t.Errorf("first attempt: %+v", r)
	}
	if r := recs[1]; r.ErrorID != 0 || r.StartPageNo != k+1 || r.PageSent != 10-k || r.BoardID != aPort {
		t.Errorf("second attempt: %+v", r)
	}
	if x.bt.Restarts() != 1 {
		t.Errorf("plugin restarts: %d", x.bt.Restarts())
	}
	first, second := waitInbound(t, x.rb, 1), waitInbound(t, x.rb, 2)
	if !first.Partial || first.Pages < k || first.ErrorID != int(t30.CodeCallDropped) {
		t.Errorf("first inbound: %+v", first)
	}
	if second.Partial || second.Pages != 10-k || second.ErrorID != 0 {
		t.Errorf("second inbound: %+v", second)
	}
	// Every page arrived; the ones B had but A did not see confirmed
	// came twice, as with a real fax machine.
	checkFile(t, first.File, doc[:first.Pages])
	checkFile(t, second.File, doc[k:])
}

// TestNetworkServiceRestart: the board service restarts; the plugin
// reconnects, the channels reopen, and the board's numbers are reachable
// on the network again.
func TestNetworkServiceRestart(t *testing.T) {
	x := startAgents(t, btsim.Config{})
	restarts := x.bt.Restarts()
	x.restartService(t)
	for i := 0; x.bt.Restarts() == restarts; i++ {
		if i == 3000 {
			t.Fatal("the plugin never restarted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; ; i++ {
		if i == 3000 {
			t.Fatalf("port %s never came back: %+v", aPort, x.bt.Ports())
		}
		up := false
		for _, p := range x.bt.Ports() {
			up = up || p.ID == aPort && p.State == drivers.StateIdle
		}
		if up {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	doc := drivertest.Doc(3, imaging.WidthA4, 120, imaging.Fine, 66)
	if err := x.qb.Add(agent.Job{ID: "after restart", Number: x.aNumber, Doc: doc, MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	waitFinal(t, x.qb)
	if r := x.qb.Attempts("after restart"); len(r) != 1 || r[0].ErrorID != 0 || r[0].PageSent != 3 {
		t.Fatalf("attempt: %+v", r)
	}
	in := waitInbound(t, x.ra, 1)
	if in.BoardID != aPort || in.Pages != 3 || in.ErrorID != 0 {
		t.Errorf("inbound: %+v", in)
	}
	checkFile(t, in.File, doc)
	if x.net.BuiltinPages(x.aNumber) != nil {
		t.Errorf("the network's fax machine answered the board's number")
	}
}
