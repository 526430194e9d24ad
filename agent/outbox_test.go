package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
