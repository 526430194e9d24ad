package agent_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/agent/agenttest"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/t30"
)

func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		a := f.agent("A", 0, []string{"100", "101"}, 2, func(c *agent.Config) { c.Lease = 30 * time.Second })
		// Queued: removed at once, never attempted.
		later := time.Now().Add(time.Hour)
		for _, j := range []agent.Job{
			{ID: "queued", ReadyAt: later},
			{ID: "agent-cancel"},
			{ID: "queue-cancel"},
		} {
			j.Number, j.Doc = "999", doc(30, 1)
			if err := f.q.Add(j); err != nil {
				t.Fatal(err)
			}
		}
		if leased, err := f.q.Cancel("queued"); leased || err != nil {
			t.Fatalf("cancel queued: %v %v", leased, err)
		}
		time.Sleep(20 * time.Second) // both calls are sending now
		if !a.Cancel("agent-cancel") {
			t.Fatal("agent-cancel not active")
		}
		if a.Cancel("nothing") {
			t.Fatal("cancelled an unknown job")
		}
		if leased, err := f.q.Cancel("queue-cancel"); !leased || err != nil {
			t.Fatalf("cancel leased: %v %v", leased, err)
		}
		f.wait(time.Hour)
		f.stop()
		if st, _ := f.q.Job("queued"); st.State != agenttest.JobCancelled || len(f.q.Attempts("queued")) != 0 {
			t.Errorf("queued job: %v", st.State)
		}
		for _, id := range []string{"agent-cancel", "queue-cancel"} {
			st, _ := f.q.Job(id)
			recs := f.q.Attempts(id)
			if st.State != agenttest.JobCancelled || len(recs) != 1 {
				t.Fatalf("%s: %v with %d records", id, st.State, len(recs))
			}
			r := recs[0]
			if r.ErrorID != int(t30.CodeCancelled) || r.TransmitStatusDef != agent.StatusCancelled || r.PageSent >= 30 {
				t.Errorf("%s record %+v", id, r)
			}
			// Hung up at once (agent) or at the next lease renewal
			// (every 10 s), not after the 30 pages.
			if d := r.CompleteDate.Sub(r.StartDate); d > 35*time.Second {
				t.Errorf("%s ran %v after cancel", id, d)
			}
		}
	})
}

// stuckDriver is a board-managed driver whose calls never end by
// themselves: only the watchdog gets the port back.
type stuckDriver struct {
	// every, if set, makes calls report page progress this often: they
	// look alive, and only the maximum call duration catches them.
	every  time.Duration
	in     chan drivers.Call
	ev     chan drivers.PortEvent
	mu     sync.Mutex
	hangup []drivers.HangupCause
}

func newStuck() *stuckDriver {
	return &stuckDriver{in: make(chan drivers.Call), ev: make(chan drivers.PortEvent)}
}

func (d *stuckDriver) Name() string                     { return "board" }
func (d *stuckDriver) Open(context.Context) error       { return nil }
func (d *stuckDriver) Close() error                     { close(d.in); close(d.ev); return nil }
func (d *stuckDriver) Incoming() <-chan drivers.Call    { return d.in }
func (d *stuckDriver) Events() <-chan drivers.PortEvent { return d.ev }
func (d *stuckDriver) Ports() []drivers.PortInfo {
	return []drivers.PortInfo{{ID: "M3,0", Board: 3, Driver: "board", Number: "300", Caps: drivers.Capabilities{Send: true, Receive: true}}}
}
func (d *stuckDriver) Dial(ctx context.Context, port, number string, o drivers.DialOptions) (drivers.Call, error) {
	return &stuckCall{d: d, stop: make(chan struct{})}, nil
}

type stuckCall struct {
	d    *stuckDriver
	once sync.Once
	stop chan struct{}
}

func (c *stuckCall) Info() drivers.CallInfo {
	return drivers.CallInfo{Port: "M3,0", CallingNumber: "300"}
}
func (c *stuckCall) Send(ctx context.Context, doc drivers.Document, p drivers.SendParams, progress func(t30.PageEvent)) (drivers.Result, error) {
	progress(t30.PageEvent{Page: 1, Status: t30.PageSent})
	for {
		var tick <-chan time.Time
		if c.d.every > 0 {
			tick = time.After(c.d.every)
		}
		select {
		case <-c.stop:
		case <-ctx.Done():
		case <-tick:
			progress(t30.PageEvent{Page: 1, Status: t30.PageSent})
			continue
		}
		break
	}
	r := drivers.Result{Result: t30.Result{Code: t30.CodeCancelled}}
	return r, r.AsError()
}
func (c *stuckCall) Receive(ctx context.Context, p drivers.ReceiveParams, sink t30.PageSink, progress func(t30.PageEvent)) (drivers.Result, error) {
	return c.Send(ctx, nil, drivers.SendParams{}, progress)
}
func (c *stuckCall) Hangup(cause drivers.HangupCause) error {
	c.once.Do(func() {
		c.d.mu.Lock()
		c.d.hangup = append(c.d.hangup, cause)
		c.d.mu.Unlock()
		close(c.stop)
	})
	return nil
}

func TestWatchdog(t *testing.T) {
	t.Run("stall", func(t *testing.T) { testWatchdog(t, 0, time.Minute) })
	t.Run("max call", func(t *testing.T) { testWatchdog(t, 30*time.Second, 10*time.Minute) })
}

func testWatchdog(t *testing.T, every, want time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Virtual)
		d := newStuck()
		d.every = every
		lic, err := agent.Sign(agent.License{AgentID: "W", Ports: map[string]int{"board": 1}, Expires: time.Now().Add(48 * time.Hour)}, f.priv)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(agent.Config{AgentID: "W", Drivers: []drivers.Driver{d}, License: lic, LicenseKey: f.pub, Queue: f.q, Reporter: f.rep,
			Stall: time.Minute, MaxCall: 10 * time.Minute, SpoolDir: f.spool,
			Retry: agent.RetryPolicy{MaxAttempts: 2, Later: agent.ClassRule{Interval: time.Minute}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.agents = append(f.agents, a)
		// An incoming call that hangs is caught too.
		d.in <- &stuckCall{d: d, stop: make(chan struct{})}
		time.Sleep(time.Hour)
		if in := f.rep.InboundRecords(); len(in) != 1 || in[0].ErrorID != int(agent.CodeWatchdog) || in[0].Pages != 0 || in[0].File != "" {
			t.Errorf("inbound %+v", in)
		}
		if err := f.q.Add(agent.Job{ID: "stuck", Number: "1", Doc: doc(1, 1)}); err != nil {
			t.Fatal(err)
		}
		f.wait(time.Hour)
		if p := a.Ports()[0]; p.State != drivers.StateIdle || p.Job != "" {
			t.Errorf("port after watchdog: %v %q", p.State, p.Job)
		}
		f.stop()
		recs := f.q.Attempts("stuck")
		if len(recs) != 2 {
			t.Fatalf("%d records", len(recs))
		}
		for i, r := range recs {
			if r.ErrorID != int(agent.CodeWatchdog) || !strings.HasPrefix(r.ErrorInfo, "watchdog") {
				t.Errorf("attempt %d: %d %q", i+1, r.ErrorID, r.ErrorInfo)
			}
			if d := r.CompleteDate.Sub(r.StartDate); d != want {
				t.Errorf("attempt %d hung up after %v, want %v", i+1, d, want)
			}
		}
		if st, _ := f.q.Job("stuck"); st.State != agenttest.JobFailed {
			t.Errorf("state %v", st.State)
		}
		if !slices.Equal(d.hangup, []drivers.HangupCause{drivers.CauseWatchdog, drivers.CauseWatchdog, drivers.CauseWatchdog}) {
			t.Errorf("hangups %v", d.hangup)
		}
	})
}

// Shutdown with calls in flight loses no job: calls finish within the
// grace period or go back to the queue from their first unconfirmed page;
// unstarted jobs stay queued; another agent finishes everything.
func TestShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		nums := []string{"100", "101", "102", "103"}
		a := f.agent("A", 0, nums, 4, func(c *agent.Config) { c.Grace = 20 * time.Second })
		b := f.agent("B", 1, []string{"200", "201"}, 2, func(c *agent.Config) {
			c.Grace = time.Hour
			c.DefaultPort = &agent.PortSettings{Send: true}
		})
		docs := map[string]t30.PagesDocument{}
		for i := range 10 {
			id := fmt.Sprint("j", i)
			docs[id] = drivertest.Doc(20, pageW, 400, imaging.Fine, uint64(100*i))
			if err := f.q.Add(agent.Job{ID: id, Number: fmt.Sprint("90", i), Doc: docs[id]}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(40 * time.Second)
		// B finishes its two calls (long grace); A hangs up after 20 s.
		bDone := make(chan error)
		go func() { bDone <- b.Shutdown(context.Background()) }()
		if err := a.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-bDone; err != nil {
			t.Fatal(err)
		}
		f.agents = nil
		interrupted, completed := 0, 0
		for i := range 10 {
			id := fmt.Sprint("j", i)
			st, _ := f.q.Job(id)
			recs := f.q.Attempts(id)
			switch st.State {
			case agenttest.JobCompleted:
				completed++
				if recs[0].FaxAgentID != "B" {
					t.Errorf("%s completed by %s during shutdown", id, recs[0].FaxAgentID)
				}
			case agenttest.JobQueued:
				if len(recs) == 1 {
					interrupted++
					r := recs[0]
					if r.TransmitStatusDef != agent.StatusRetry || r.NextPage != r.PageSent+1 || r.NextPage < 2 || st.Job.StartPage != r.PageSent {
						t.Errorf("%s interrupted: %+v, queue start page %d", id, r, st.Job.StartPage)
					}
				}
			default:
				t.Errorf("%s: %v after shutdown", id, st.State)
			}
		}
		if completed != 2 || interrupted != 4 {
			t.Errorf("after shutdown: %d completed, %d interrupted", completed, interrupted)
		}
		f.agent("C", 2, []string{"300", "301", "302", "303"}, 4, nil)
		f.wait(time.Hour)
		f.stop()
		for i := range 10 {
			id := fmt.Sprint("j", i)
			if st, _ := f.q.Job(id); st.State != agenttest.JobCompleted {
				t.Errorf("%s: %v", id, st.State)
			}
			recs := f.q.Attempts(id)
			last := recs[len(recs)-1]
			if sent := last.StartPageNo - 1 + last.PageSent; sent != 20 {
				t.Errorf("%s: last attempt ends at page %d", id, sent)
			}
		}
	})
}

func TestInbound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.Retry.MaxAttempts = 1 })
		f.agent("B", 1, []string{"200", "201", "202"}, 2, func(c *agent.Config) {
			c.DefaultPort = &agent.PortSettings{Receive: true}
			c.Ports = map[string]agent.PortSettings{"M1,1": {}}
		})
		f.net.SetModel("200", loopback.Model{DropAfterPage: 2})
		d := doc(4, 7)
		for _, j := range []agent.Job{{ID: "partial", Number: "200"}, {ID: "disabled", Number: "201"}, {ID: "unlicensed", Number: "202"}} {
			j.Doc = d
			if err := f.q.Add(j); err != nil {
				t.Fatal(err)
			}
		}
		f.wait(time.Hour)
		f.stop()
		if r := f.q.Attempts("partial")[0]; r.ErrorID != int(t30.CodeCallDropped) || r.PageSent != 2 {
			t.Errorf("sender: %+v", r)
		}
		for _, id := range []string{"disabled", "unlicensed"} {
			if r := f.q.Attempts(id)[0]; r.ErrorID != int(t30.CodeNoAnswer) {
				t.Errorf("%s: %d %s", id, r.ErrorID, r.ErrorInfo)
			}
		}
		in := f.rep.InboundRecords()
		if len(in) != 1 {
			t.Fatalf("inbound %+v", in)
		}
		r := in[0]
		if !r.Partial || r.Pages != 2 || r.ErrorID != int(t30.CodeCallDropped) || r.BoardID != "M1,0" || r.CalledNumber != "200" {
			t.Errorf("partial inbound %+v", r)
		}
		got := readTIFF(t, r.File)
		if len(got) != 2 || !drivertest.Equal(got[0], d[0]) || !drivertest.Equal(got[1], d[1]) {
			t.Errorf("partial file has %d pages or differs", len(got))
		}
		// Stored: the spool keeps neither the file nor its pending report.
		if left, _ := filepath.Glob(filepath.Join(f.spool, "*.*")); len(left) != 0 {
			t.Errorf("spool after the report: %v", left)
		}
	})
}

// After training trouble to a number, later calls start at the rate that
// worked; this shows in the records.
func TestDestinationMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Virtual)
		f.net.SetModel("999", loopback.Model{TrainFailAbove: 9600})
		f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.Dial.Rewrites = []agent.Rewrite{{Match: "0", Replace: "9"}} })
		for i := range 2 {
			if err := f.q.Add(agent.Job{ID: fmt.Sprint("j", i), Number: "0 99", Doc: doc(1, 1), Created: time.Now().Add(time.Duration(i) * time.Millisecond)}); err != nil {
				t.Fatal(err)
			}
			f.wait(time.Hour)
		}
		f.stop()
		r0, r1 := f.q.Attempts("j0")[0], f.q.Attempts("j1")[0]
		if r0.CalledNumber != "0 99" || r0.DialedNumber != "999" || r0.RoutingInfo != "0 99" {
			t.Errorf("numbers: called %q dialled %q", r0.CalledNumber, r0.DialedNumber)
		}
		if r0.MaxRate != 0 || r0.TransmitSpeed > 9600 || r1.MaxRate != r0.TransmitSpeed || r1.TransmitSpeed != r0.TransmitSpeed {
			t.Errorf("first %d (cap %d), second %d (cap %d)", r0.TransmitSpeed, r0.MaxRate, r1.TransmitSpeed, r1.MaxRate)
		}
		// The second call trained at once: shorter.
		if r1.TransmitDuration >= r0.TransmitDuration {
			t.Errorf("durations %v then %v", r0.TransmitDuration, r1.TransmitDuration)
		}
	})
}

// Jobs given as files are opened with faxdoc and get the header line.
func TestFileJobHeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Virtual)
		path := f.spool + "/in.tif"
		src := drivertest.Page(pageW, 200, imaging.Fine, 3)
		if err := writeTIFF(path, src); err != nil {
			t.Fatal(err)
		}
		f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.Header = "%d %t FROM %c TO %n PAGE %p/%s"; c.CSID = "ACME" })
		if err := f.q.Add(agent.Job{ID: "file", Number: "999", Documents: []string{path, path}}); err != nil {
			t.Fatal(err)
		}
		if err := f.q.Add(agent.Job{ID: "missing", Number: "998", Documents: []string{f.spool + "/nothing.pdf"}}); err != nil {
			t.Fatal(err)
		}
		f.wait(time.Hour)
		f.stop()
		if r := f.q.Attempts("file")[0]; r.ErrorID != 0 || r.PageCount != 2 || r.PageSent != 2 {
			t.Fatalf("file job: %+v", r)
		}
		if r := f.q.Attempts("missing")[0]; r.ErrorID != int(t30.CodeDocument) || r.TransmitStatusDef != agent.StatusFailed {
			t.Errorf("missing file: %d %s", r.ErrorID, r.TransmitStatusDef)
		}
		got := decodeReceived(t, f.net.BuiltinPages("999"))
		if len(got) != 2 {
			t.Fatalf("%d pages", len(got))
		}
		// The header band differs from the source; the rest is the page.
		diffTop, diffBody := false, false
		for y := 0; y < src.Height; y++ {
			same := string(got[0].Row(y)) == string(src.Row(y))
			if y < 20 && !same {
				diffTop = true
			}
			if y >= 80 && !same {
				diffBody = true
			}
		}
		if !diffTop || diffBody {
			t.Errorf("header stamped: top differs %v, body differs %v", diffTop, diffBody)
		}
		if string(got[0].Pix[:got[0].Stride()*40]) == string(got[1].Pix[:got[1].Stride()*40]) {
			t.Error("page 1 and 2 headers are the same (page number missing)")
		}
	})
}

func writeTIFF(path string, p *imaging.Page) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := tiff.NewWriter(f, tiff.WriterOptions{Compression: imaging.MMR})
	pw, err := w.NewPage(tiff.PageSpec{Width: p.Width, Resolution: p.Resolution, Rows: p.Height})
	if err != nil {
		return err
	}
	for y := 0; y < p.Height; y++ {
		if err := pw.WriteRow(p.Row(y)); err != nil {
			return err
		}
	}
	if err := pw.Close(); err != nil {
		return err
	}
	return w.Close()
}

// 64 ports, 1000 jobs, random line models: every job ends in exactly one
// final state with consistent attempt records.
func TestManyJobsRandomModels(t *testing.T) {
	jobs := 1000
	if testing.Short() {
		jobs = 200
	}
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Virtual)
		rng := rand.New(rand.NewPCG(1, 2))
		models := []loopback.Model{
			{}, {}, {}, {},
			{Kind: loopback.Busy, Calls: 1},
			{Kind: loopback.Busy},
			{Kind: loopback.NoAnswer, Calls: 2},
			{Kind: loopback.RingsOut},
			{Kind: loopback.Voice},
			{DropAfterPage: 1, Calls: 1},
			{RemoteCompressions: []imaging.Compression{imaging.MH}, RemoteMaxRate: 4800, RemoteNoECM: true},
			{TrainFailAbove: 7200},
		}
		const numbers = 40
		for i := range numbers {
			f.net.SetModel(fmt.Sprint("9", i), models[rng.IntN(len(models))])
		}
		nums := make([]string, 64)
		for i := range nums {
			nums[i] = fmt.Sprint("1", i)
		}
		f.agent("A", 0, nums, 64, func(c *agent.Config) { c.Retry.MaxAttempts = 3 })
		docs := []t30.PagesDocument{
			drivertest.Doc(1, pageW, 24, imaging.Standard, 1),
			drivertest.Doc(2, pageW, 24, imaging.Standard, 2),
			drivertest.Doc(3, pageW, 24, imaging.Standard, 3),
		}
		vstart := time.Now()
		for i := range jobs {
			j := agent.Job{ID: fmt.Sprint("j", i), Number: fmt.Sprint("9", rng.IntN(numbers)), Doc: docs[rng.IntN(len(docs))], Priority: []int{50, 60, 70}[rng.IntN(3)]}
			if err := f.q.Add(j); err != nil {
				t.Fatal(err)
			}
		}
		f.wait(48 * time.Hour)
		virtual := time.Since(vstart)
		f.stop()
		total := 0
		for i := range jobs {
			id := fmt.Sprint("j", i)
			st, _ := f.q.Job(id)
			recs := f.q.Attempts(id)
			slices.SortFunc(recs, func(a, b agent.AttemptRecord) int { return a.AttemptNo - b.AttemptNo })
			total += len(recs)
			if !st.State.Final() || len(recs) != len(st.Attempts) || len(recs) == 0 || len(recs) > 3 {
				t.Fatalf("%s: %v, %d records, %d attempts", id, st.State, len(recs), len(st.Attempts))
			}
			for k, r := range recs {
				if r.AttemptNo != k+1 || r.AttemptID != st.Attempts[k] {
					t.Fatalf("%s: attempt %d is %d (%s)", id, k+1, r.AttemptNo, r.AttemptID)
				}
				last := k == len(recs)-1
				if !last && (r.TransmitStatusDef != agent.StatusRetry || recs[k+1].StartPageNo != r.NextPage) {
					t.Fatalf("%s attempt %d: %s, next page %d, then %d", id, k+1, r.TransmitStatusDef, r.NextPage, recs[k+1].StartPageNo)
				}
				if last {
					want := map[agenttest.JobState]string{agenttest.JobCompleted: agent.StatusCompleted, agenttest.JobFailed: agent.StatusFailed}[st.State]
					if r.TransmitStatusDef != want {
						t.Fatalf("%s: final %v, last record %s", id, st.State, r.TransmitStatusDef)
					}
				}
			}
		}
		t.Logf("%d jobs, %d attempts, %v of virtual time", jobs, total, virtual)
		if n := len(f.q.Attempts("")); n != total || f.rep.Duplicates() != 0 {
			t.Errorf("%d records, %d expected, %d duplicates", n, total, f.rep.Duplicates())
		}
		if s := f.net.Stats(); s.MaxActive > 64 {
			t.Errorf("%d calls at once on 64 ports", s.MaxActive)
		}
	})
}

// A board-managed driver (T.30 on the board) fits the same contract: the
// board's cause reaches the record and a retry resumes where it stopped.
func TestBoardManagedDriver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Virtual)
		calls := 0
		board := &drivertest.Board{Numbers: []string{"700"}, Script: func(number string, pages int, p drivers.SendParams) drivertest.Outcome {
			calls++
			if calls == 1 {
				return drivertest.Outcome{Code: t30.CodeCallDropped, Confirmed: 2, Cause: "board: loop current lost"}
			}
			return drivertest.Outcome{Confirmed: pages}
		}}
		lic, err := agent.Sign(agent.License{AgentID: "BT", Ports: map[string]int{"board": 1}, Expires: time.Now().Add(48 * time.Hour)}, f.priv)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(agent.Config{AgentID: "BT", Drivers: []drivers.Driver{board}, License: lic, LicenseKey: f.pub, Queue: f.q, Reporter: f.rep, SpoolDir: f.spool})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.agents = append(f.agents, a)
		if err := f.q.Add(agent.Job{ID: "bt", Number: "555", Doc: doc(5, 1)}); err != nil {
			t.Fatal(err)
		}
		f.wait(time.Hour)
		f.stop()
		recs := f.q.Attempts("bt")
		if len(recs) != 2 {
			t.Fatalf("%d records", len(recs))
		}
		r0, r1 := recs[0], recs[1]
		if r0.ErrorID != int(t30.CodeCallDropped) || r0.Cause != "board: loop current lost" || r0.PageSent != 2 || r0.NextPage != 3 || r0.BoardID != "M7,0" {
			t.Errorf("first attempt %+v", r0)
		}
		if r1.ErrorID != 0 || r1.StartPageNo != 3 || r1.PageSent != 3 || r1.TransmitDuration != 30*time.Second {
			t.Errorf("second attempt %+v", r1)
		}
		if board.Sent["555"] != 5 {
			t.Errorf("board sent %v", board.Sent)
		}
	})
}
