package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/agent/agenttest"

	"github.com/faxagent/faxagent/drivers/loopback"
)

// downQueue is a MemQueue whose Finish and Renew fail while down is set:
// a core or database outage as the agent sees it.
type downQueue struct {
	*agenttest.MemQueue
	down     atomic.Bool
	finishes atomic.Int32 // Finish calls, failed ones included
}

var errUnreachable = errors.New("queue unreachable")

func (q *downQueue) Finish(ctx context.Context, l agent.Lease, r agent.AttemptRecord) error {
	q.finishes.Add(1)
	if q.down.Load() {
		return errUnreachable
	}
	return q.MemQueue.Finish(ctx, l, r)
}

func (q *downQueue) Renew(ctx context.Context, l agent.Lease, d time.Duration) (agent.Lease, error) {
	if q.down.Load() {
		return l, errUnreachable
	}
	return q.MemQueue.Renew(ctx, l, d)
}

func outboxFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOutboxOutage: the queue is down when the call ends (for ten
// minutes, far beyond the 8 tries persist used to make): the outcome waits
// in the outbox, the port is free meanwhile, and once the queue is back
// the job completes with its record; the far end got the fax once.
func TestOutboxOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		q := &downQueue{MemQueue: f.q}
		q.down.Store(true)
		f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.Queue = q; c.Lease = time.Hour })
		if err := f.q.Add(agent.Job{ID: "j", Number: "999", Doc: doc(2, 1)}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(f.spool, "outbox")
		for len(outboxFiles(t, out)) == 0 {
			time.Sleep(time.Second)
		}
		time.Sleep(10 * time.Minute)
		if st, _ := f.q.Job("j"); st.State != agenttest.JobLeased || len(outboxFiles(t, out)) != 1 || q.finishes.Load() < 20 {
			t.Fatalf("during the outage: %v, outbox %v, %d tries", st.State, outboxFiles(t, out), q.finishes.Load())
		}
		q.down.Store(false)
		f.wait(time.Minute)
		synctest.Wait()
		if len(outboxFiles(t, out)) != 0 {
			t.Errorf("outbox after delivery: %v", outboxFiles(t, out))
		}
		f.stop()
		if st, _ := f.q.Job("j"); st.State != agenttest.JobCompleted || st.Job.Attempts != 1 {
			t.Fatalf("job %+v", st)
		}
		if recs := f.q.Attempts("j"); len(recs) != 1 || recs[0].PageSent != 2 || recs[0].TransmitStatusDef != agent.StatusCompleted {
			t.Fatalf("records %+v", recs)
		}
		if n := len(f.net.BuiltinPages("999")); n != 2 {
			t.Errorf("far end got %d pages, want 2 (once)", n)
		}
	})
}

// TestOutboxAcrossRestart: the queue is down when the call ends and the
// agent stops: the outcome stays in the outbox file, and the next agent
// started on the data directory delivers it before anything else; the job
// is not sent again.
func TestOutboxAcrossRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, loopback.Paced)
		q := &downQueue{MemQueue: f.q}
		q.down.Store(true)
		a := f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.Queue = q; c.Lease = time.Hour })
		if err := f.q.Add(agent.Job{ID: "j", Number: "999", Doc: doc(1, 1)}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(f.spool, "outbox")
		for len(outboxFiles(t, out)) == 0 {
			time.Sleep(time.Second)
		}
		if err := a.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.agents = nil
		files := outboxFiles(t, out)
		if len(files) != 1 {
			t.Fatalf("outbox after shutdown: %v", files)
		}
		if st, _ := f.q.Job("j"); st.State != agenttest.JobLeased {
			t.Fatalf("job %v before the restart", st.State)
		}
		q.down.Store(false)
		f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.Queue = q; c.Lease = time.Hour })
		f.wait(time.Minute)
		synctest.Wait()
		if _, err := os.Stat(files[0]); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("outbox file after delivery: %v", err)
		}
		f.stop()
		if st, _ := f.q.Job("j"); st.State != agenttest.JobCompleted || st.Job.Attempts != 1 {
			t.Fatalf("job %+v", st)
		}
		if n := len(f.net.BuiltinPages("999")); n != 1 {
			t.Errorf("far end got %d pages, want 1 (sent once)", n)
		}
	})
}

// answerQueue is a MemQueue whose Finish stores as usual but answers err:
// how a queue tells that the lease had moved on.
type answerQueue struct {
	*agenttest.MemQueue
	err error
}

func (q *answerQueue) Finish(ctx context.Context, l agent.Lease, r agent.AttemptRecord) error {
	if err := q.MemQueue.Finish(ctx, l, r); err != nil {
		return err
	}
	return q.err
}

// TestOutboxLateOutcome: an outcome the queue kept as a stale attempt
// (ErrStale: the lease had moved on) leaves the outbox, logged; one the
// queue refused without keeping it (ErrLeaseLost alone) is not dropped but
// kept aside in OutboxDir/rejected, logged.
func TestOutboxLateOutcome(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		log      string
		rejected int
	}{
		{"stale", fmt.Errorf("%w: %w", agent.ErrStale, agent.ErrLeaseLost), "outcome stored as a stale attempt", 0},
		{"lease lost", agent.ErrLeaseLost, "outcome refused by the queue (not stored); kept aside", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, loopback.Paced)
				var logs bytes.Buffer
				var mu sync.Mutex
				q := &answerQueue{MemQueue: f.q, err: tc.err}
				f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) {
					c.Queue = q
					c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
				})
				if err := f.q.Add(agent.Job{ID: "j", Number: "999", Doc: doc(1, 1)}); err != nil {
					t.Fatal(err)
				}
				f.wait(time.Minute)
				f.stop()
				out := filepath.Join(f.spool, "outbox")
				rejected := outboxFiles(t, filepath.Join(out, "rejected"))
				if len(outboxFiles(t, out)) != 0 || len(rejected) != tc.rejected {
					t.Errorf("outbox %v, rejected %v", outboxFiles(t, out), rejected)
				}
				mu.Lock()
				defer mu.Unlock()
				if !strings.Contains(logs.String(), tc.log) {
					t.Errorf("log lacks %q:\n%s", tc.log, logs.String())
				}
			})
		})
	}
}

// TestCallJournalAfterKill: the agent is stopped while a call runs, with
// some pages confirmed by the remote or none, and before the outcome is
// written (the state a SIGKILL leaves: the call's journal and no outcome
// in the outbox). Started again on its data directory, it reports the
// call from the journal at once (the lease is an hour): every page
// confirmed, the job is done with that one attempt; else it goes on from
// the first page not confirmed. No page the remote confirmed is sent
// again.
func TestCallJournalAfterKill(t *testing.T) {
	tests := []struct {
		name      string
		confirmed int // pages in the journal when the agent is stopped
		attempts  int
		status    []string
	}{
		{name: "every page confirmed", confirmed: 2, attempts: 1, status: []string{agent.StatusCompleted}},
		{name: "one of two pages confirmed", confirmed: 1, attempts: 2, status: []string{agent.StatusRetry, agent.StatusCompleted}},
		{name: "no page confirmed", confirmed: 0, attempts: 2, status: []string{agent.StatusRetry, agent.StatusCompleted}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, loopback.Paced)
				q := &downQueue{MemQueue: f.q}
				q.down.Store(true)
				cfg := func(c *agent.Config) { c.Queue = q; c.Lease = time.Hour }
				a := f.agent("A", 0, []string{"100"}, 1, cfg)
				if err := f.q.Add(agent.Job{ID: "j", Number: "999", Doc: doc(2, 1)}); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(f.spool, "outbox")
				var journal []byte
				var path string
				for journal == nil {
					time.Sleep(50 * time.Millisecond)
					m, _ := filepath.Glob(filepath.Join(out, "*.call"))
					if len(m) == 1 {
						b, _ := os.ReadFile(m[0])
						if bytes.Count(b, []byte("\n")) == 1+tc.confirmed {
							journal, path = b, m[0]
						}
					}
				}
				if err := a.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
				f.agents = nil
				// The kill came before the outcome was written.
				for _, p := range outboxFiles(t, out) {
					os.Remove(p)
				}
				if err := os.WriteFile(path, journal, 0o600); err != nil {
					t.Fatal(err)
				}
				q.down.Store(false)
				f.agent("A", 0, []string{"100"}, 1, cfg)
				f.wait(time.Minute)
				synctest.Wait()
				f.stop()
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("journal after recovery: %v", err)
				}
				st, _ := f.q.Job("j")
				recs := f.q.Attempts("j")
				var status []string
				for _, r := range recs {
					status = append(status, r.TransmitStatusDef)
				}
				if st.State != agenttest.JobCompleted || st.Job.Attempts != tc.attempts || !slices.Equal(status, tc.status) {
					t.Fatalf("job %v after %d attempts %v, want %d %v", st.State, st.Job.Attempts, status, tc.attempts, tc.status)
				}
				r := recs[0]
				if r.PageSent != tc.confirmed || r.CompleteDate.Before(r.StartDate) || r.BoardID != "M0,0" || r.DialedNumber != "999" ||
					r.FaxAgentID != "A" || r.AttemptNo != 1 || r.PageCount != 2 || (r.ErrorInfo == "") != (tc.confirmed == 2) {
					t.Errorf("the record made from the journal: %+v", r)
				}
				if tc.confirmed > 0 && (r.TransmitSpeed == 0 || r.FaxProtocol == "" || r.CallDuration <= 0 || r.CallID == "" ||
					r.CompressionMode == "" || r.FaxResolution == "" || r.RemoteCSID == "") {
					t.Errorf("the call's facts in the record made from the journal: %+v", r)
				}
				if len(recs) > 1 && (recs[1].StartPageNo != tc.confirmed+1 || recs[0].NextPage != tc.confirmed+1) {
					t.Errorf("the attempt after the journal's started at page %d (next page %d), want %d",
						recs[1].StartPageNo, recs[0].NextPage, tc.confirmed+1)
				}
				// (The stopped call ran on a little after its journal was
				// taken; a killed one would not have: the far end's pages
				// are counted when the journal had them all.)
				if n := len(f.net.BuiltinPages("999")); tc.confirmed == 2 && n != 2 {
					t.Errorf("far end got %d pages, want 2 (each sent once)", n)
				}
			})
		})
	}
}

// timedQueue is a downQueue that notes when each Finish was tried.
type timedQueue struct {
	*downQueue
	mu    sync.Mutex
	tries []time.Time
}

func (q *timedQueue) Finish(ctx context.Context, l agent.Lease, r agent.AttemptRecord) error {
	q.mu.Lock()
	q.tries = append(q.tries, time.Now())
	q.mu.Unlock()
	return q.downQueue.Finish(ctx, l, r)
}

// Claim fails while the queue is down: the whole queue is out.
func (q *timedQueue) Claim(ctx context.Context, r agent.ClaimRequest) ([]agent.Job, error) {
	if q.down.Load() {
		return nil, errUnreachable
	}
	return q.downQueue.Claim(ctx, r)
}

// TestOutboxRetriesWithinLease: with a short lease the outcome is tried
// again at most a quarter of the lease apart through a long outage, so
// when the queue comes back (and gives the job what was left of its
// lease) the outcome lands before the job could go to another agent.
// With the back-off capped at 5 s whatever the lease, a 2 s lease ran out
// between two tries and the fax was sent twice.
func TestOutboxRetriesWithinLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lease = 2 * time.Second
		f := newFixture(t, loopback.Paced)
		q := &timedQueue{downQueue: &downQueue{MemQueue: f.q}}
		f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.Queue = q; c.Lease = lease })
		if err := f.q.Add(agent.Job{ID: "j", Number: "999", Doc: doc(1, 1)}); err != nil {
			t.Fatal(err)
		}
		// The whole queue goes down once the call is under way.
		for st, _ := f.q.Job("j"); st.State != agenttest.JobLeased; st, _ = f.q.Job("j") {
			time.Sleep(10 * time.Millisecond)
		}
		q.down.Store(true)
		out := filepath.Join(f.spool, "outbox")
		for len(outboxFiles(t, out)) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Minute)
		q.mu.Lock()
		tries := slices.Clone(q.tries)
		q.mu.Unlock()
		if len(tries) < 10 {
			t.Fatalf("%d tries in a minute of outage", len(tries))
		}
		var widest time.Duration
		for i := 1; i < len(tries); i++ {
			widest = max(widest, tries[i].Sub(tries[i-1]))
		}
		if widest > lease/4 {
			t.Errorf("tries up to %v apart with a %v lease (%d tries)", widest, lease, len(tries))
		}
		q.down.Store(false)
		f.wait(time.Minute)
		synctest.Wait()
		f.stop()
		if st, _ := f.q.Job("j"); st.State != agenttest.JobCompleted {
			t.Errorf("job %+v", st)
		}
	})
}
