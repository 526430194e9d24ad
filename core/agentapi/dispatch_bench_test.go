package agentapi_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/agentapi"
	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/internal/testutil"
)

// Dispatch latency: from a submission (the core's Store.Submit, as the
// HTTP API calls it) to the agent's driver Dial of its recipient, on
// PostgreSQL, with an agent of dispatchPorts ports polling every
// dispatchPoll: only wake-ups bring it the jobs, and a missed one fails
// the benchmark (no call within a minute) instead of hiding in the tail.
//
//	go test ./core/agentapi -run XXX -bench Dispatch -benchtime=500x
//
// The agents:
//
//   - protocol: the agent protocol's client long-polling a core
//     (agentapi.Server following the store's Ready, as --role core) over
//     TLS on loopback;
//   - direct: an agent on the database in a process of its own
//     (--role agent --db): a second store on the same schema, woken by
//     PostgreSQL's LISTEN/NOTIFY;
//   - inprocess: the agent in the core's process (--role all) on the
//     core's store.
//
// idle spaces the submissions (dispatchGap after the previous job's
// outcome is stored), so that each finds the agent waiting; burst submits
// dispatchPorts messages at once, from as many goroutines, and waits for
// all of them. Reported: p50-ms, p99-ms and max-ms of submission to Dial,
// and the same of Store.Submit alone (submit-*: the part before the job
// is stored and announced) and of the rest (after-*: from Submit's return
// to the Dial, 0 when the Dial came first); claims/op counts the agent's claims per
// submission (one finds the job, the others nothing: each wake-up and
// each freed port claims).
const (
	dispatchPorts = 8
	dispatchPoll  = time.Hour
	dispatchGap   = 25 * time.Millisecond
)

func BenchmarkDispatch(b *testing.B) {
	for _, kind := range []string{"protocol", "direct", "inprocess"} {
		for _, load := range []string{"idle", "burst"} {
			b.Run(kind+"/"+load, func(b *testing.B) {
				r := newDispatchRig(b, kind)
				var lat []time.Duration
				claims := r.claims.Load()
				b.ResetTimer()
				if load == "idle" {
					lat = r.idle(b, b.N)
				} else {
					lat = r.burst(b, b.N)
				}
				b.StopTimer()
				reportLatency(b, "", lat)
				reportLatency(b, "submit-", r.submitTook)
				reportLatency(b, "after-", r.afterSubmit)
				b.ReportMetric(float64(r.claims.Load()-claims)/float64(b.N), "claims/op")
			})
		}
	}
}

// reportLatency reports p50, p99 and max in milliseconds, their units
// prefixed with what.
func reportLatency(b *testing.B, what string, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), what+"p50-ms")
	b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), what+"p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), what+"max-ms")
	b.ReportMetric(0, "ns/op")
}

// dispatchRig is a core's store, its user, and an agent whose driver
// reports every Dial.
type dispatchRig struct {
	st    core.Store
	owner int64
	doc   []byte

	mu       sync.Mutex
	dialled  map[string]chan time.Time // number → the Dial's time
	finished chan struct{}             // an outcome stored
	// submitTook is how long each Store.Submit took (the part of the
	// latency before the job was stored and announced).
	submitTook []time.Duration
	// afterSubmit is the time from Submit's return to the Dial (0 when
	// the Dial came first): wake-up, claim, document, call start.
	afterSubmit []time.Duration
	claims      atomic.Int64 // the agent's claims (most find nothing)
}

func newDispatchRig(b *testing.B, kind string) *dispatchRig {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	doc, err := os.ReadFile("../../imaging/testdata/codec/text-1728x200.tiffcp-g3-2d.tif")
	if err != nil {
		b.Fatal(err)
	}
	st, schema := benchStore(b)
	q := core.NewAgentQueue(st)
	u, err := st.CreateUser(ctx, core.NewUser{Username: "user", Password: "user-password"})
	if err != nil {
		b.Fatal(err)
	}
	r := &dispatchRig{st: st, owner: u.ID, doc: doc, dialled: map[string]chan time.Time{}, finished: make(chan struct{}, 2*dispatchPorts)}
	self, err := st.EnrolAgent(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var link interface {
		agent.Queue
		agent.Reporter
	}
	switch kind {
	case "protocol":
		_, secret, err := st.CreateAgentCredential(ctx, self.ID)
		if err != nil {
			b.Fatal(err)
		}
		srv := agentapi.NewServer(ctx, agentapi.Config{Queue: q, Reporter: q, Ready: q.Ready(), Heartbeats: st,
			LeaseHolder: q.LeaseHolder, Documents: q.JobDocument, Logger: slog.New(slog.DiscardHandler),
			Authenticate: func(ctx context.Context, s string) (int64, error) {
				c, err := st.CredentialAgent(ctx, s)
				return c.AgentID, err
			}})
		mux := http.NewServeMux()
		mux.Handle(agentapi.Prefix+"/", srv)
		ts := httptest.NewTLSServer(mux)
		b.Cleanup(ts.Close)
		c, err := agentapi.NewClient(ctx, agentapi.ClientConfig{Core: ts.URL, Credential: secret, Spool: b.TempDir(),
			CAFile: benchCA(b, ts), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		link = c
	case "direct":
		st2, _, err := core.Open(ctx, core.Options{DataDir: b.TempDir(), DatabaseURL: testutil.PostgresURL(),
			Schema: schema, PasswordCost: 4, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st2.Close() })
		link = core.NewAgentQueue(st2)
	case "inprocess":
		link = q
	}
	b.Cleanup(cancel) // after the agent's shutdown, before the server's
	startAgent(b, self.ID, finishWatch{link: link, r: r}, link, &dialBoard{Board: quickBoard(dispatchPorts), dialled: r.dialledNow}, dispatchPoll)
	return r
}

// startAgent starts an agent of ID id on q, its calls on drv (licensed for
// its ports), polling every poll; it shuts down at the end.
func startAgent(tb testing.TB, id int64, q agent.Queue, rep agent.Reporter, drv drivers.Driver, poll time.Duration) {
	tb.Helper()
	pub, priv, _ := agent.GenerateKey(nil)
	lic, err := agent.Sign(agent.License{AgentID: "bench", Ports: map[string]int{drv.Name(): 64}, Expires: time.Now().Add(time.Hour)}, priv)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := agent.New(agent.Config{AgentID: strconv.FormatInt(id, 10), Name: "bench", Drivers: []drivers.Driver{drv},
		License: lic, LicenseKey: pub, Queue: q, Reporter: rep, SpoolDir: tb.TempDir(), PollInterval: poll})
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Shutdown(context.Background()) })
}

// send stores a message to number, as the API does, and waits for its
// call: it returns the time from the submission to the Dial.
func (r *dispatchRig) send(number string) (time.Duration, error) {
	ch := make(chan time.Time, 1)
	r.mu.Lock()
	r.dialled[number] = ch
	r.mu.Unlock()
	start := time.Now()
	if _, err := r.st.Submit(context.Background(), core.Submission{OwnerID: r.owner, Recipients: []core.Recipient{{Fax: number}},
		Documents: []core.DocumentInput{{Name: "d.tif", Body: bytes.NewReader(r.doc)}}}); err != nil {
		return 0, err
	}
	stored := time.Now()
	r.mu.Lock()
	r.submitTook = append(r.submitTook, stored.Sub(start))
	r.mu.Unlock()
	select {
	case t := <-ch:
		r.mu.Lock()
		r.afterSubmit = append(r.afterSubmit, max(t.Sub(stored), 0))
		r.mu.Unlock()
		return t.Sub(start), nil
	case <-time.After(time.Minute):
		return 0, fmt.Errorf("no call to %s within a minute", number)
	}
}

// waitFinished waits for n outcomes stored, then lets the agent go back
// to waiting.
func (r *dispatchRig) waitFinished(b *testing.B, n int) {
	for range n {
		select {
		case <-r.finished:
		case <-time.After(time.Minute):
			b.Fatal("no outcome stored within a minute")
		}
	}
	time.Sleep(dispatchGap)
}

// idle submits n messages one at a time, each once the agent is waiting.
func (r *dispatchRig) idle(b *testing.B, n int) []time.Duration {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		d, err := r.send("9" + strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, d)
		r.waitFinished(b, 1)
	}
	return lat
}

// burst submits n messages dispatchPorts at once, each from a goroutine
// of its own (as concurrent API requests).
func (r *dispatchRig) burst(b *testing.B, n int) []time.Duration {
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	for base := 0; base < n; base += dispatchPorts {
		k := min(dispatchPorts, n-base)
		var wg sync.WaitGroup
		for i := base; i < base+k; i++ {
			wg.Go(func() { lat[i], errs[i] = r.send("9" + strconv.Itoa(i)) })
		}
		wg.Wait()
		for _, err := range errs[base : base+k] {
			if err != nil {
				b.Fatal(err)
			}
		}
		r.waitFinished(b, k)
	}
	return lat
}

// dialBoard is a simulated board that tells of every Dial.
type dialBoard struct {
	*drivertest.Board
	dialled func(number string)
}

func (d *dialBoard) Dial(ctx context.Context, port, number string, o drivers.DialOptions) (drivers.Call, error) {
	d.dialled(number)
	return d.Board.Dial(ctx, port, number, o)
}

// dialledNow tells send of the call to number.
func (r *dispatchRig) dialledNow(number string) {
	at := time.Now()
	r.mu.Lock()
	ch := r.dialled[number]
	r.mu.Unlock()
	if ch != nil {
		ch <- at
	}
}

// quickBoard is a simulated board of n ports whose calls all succeed, a
// millisecond a page.
func quickBoard(n int) *drivertest.Board {
	nums := make([]string, n)
	for i := range nums {
		nums[i] = "100" + strconv.Itoa(i)
	}
	return &drivertest.Board{Numbers: nums, Script: func(string, int, drivers.SendParams) drivertest.Outcome {
		return drivertest.Outcome{PageTime: time.Millisecond}
	}}
}

// finishWatch is the agent's queue, telling the rig of every stored
// outcome; it keeps the link's wake-ups.
type finishWatch struct {
	link interface {
		agent.Queue
		agent.Reporter
	}
	r *dispatchRig
}

func (f finishWatch) Claim(ctx context.Context, req agent.ClaimRequest) ([]agent.Job, error) {
	f.r.claims.Add(1)
	return f.link.Claim(ctx, req)
}

func (f finishWatch) Renew(ctx context.Context, l agent.Lease, d time.Duration) (agent.Lease, error) {
	return f.link.Renew(ctx, l, d)
}

func (f finishWatch) Release(ctx context.Context, l agent.Lease) error { return f.link.Release(ctx, l) }

func (f finishWatch) Finish(ctx context.Context, l agent.Lease, rec agent.AttemptRecord) error {
	err := f.link.Finish(ctx, l, rec)
	if err != nil {
		return fmt.Errorf("bench: finish: %w", err)
	}
	f.r.finished <- struct{}{}
	return nil
}

func (f finishWatch) Ready() <-chan struct{} { return f.link.(agent.Notifier).Ready() }
