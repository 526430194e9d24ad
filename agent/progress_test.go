package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/agent/agenttest"

	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/t30"
)

// TestProgress sends in virtual time and checks the page progress the
// queue got from the lease holders, in order.
func TestProgress(t *testing.T) {
	tests := []struct {
		name     string
		model    loopback.Model
		interval time.Duration
		want     []agenttest.PageProgress // tokens of the first and second claim
	}{
		{name: "five pages, every page", interval: time.Millisecond,
			want: []agenttest.PageProgress{{Token: "A.2", Sent: 0, Total: 5}, {Token: "A.2", Sent: 1, Total: 5}, {Token: "A.2", Sent: 2, Total: 5}, {Token: "A.2", Sent: 3, Total: 5}, {Token: "A.2", Sent: 4, Total: 5}, {Token: "A.2", Sent: 5, Total: 5}}},
		// The drop after page 2 ends the first attempt; the second starts
		// at page 3 and reports the two pages done before as sent.
		{name: "resume after a drop", model: loopback.Model{DropAfterPage: 2, Calls: 1}, interval: time.Millisecond,
			want: []agenttest.PageProgress{{Token: "A.2", Sent: 0, Total: 5}, {Token: "A.2", Sent: 1, Total: 5}, {Token: "A.2", Sent: 2, Total: 5}, {Token: "A.3", Sent: 2, Total: 5}, {Token: "A.3", Sent: 3, Total: 5}, {Token: "A.3", Sent: 4, Total: 5}, {Token: "A.3", Sent: 5, Total: 5}}},
		// Rate limited to one report an hour: the first, and the last
		// one flushed when the call ends.
		{name: "rate limited", interval: time.Hour,
			want: []agenttest.PageProgress{{Token: "A.2", Sent: 0, Total: 5}, {Token: "A.2", Sent: 5, Total: 5}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, loopback.Paced)
				f.net.SetModel("999", tc.model)
				f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) { c.ProgressInterval = tc.interval })
				if err := f.q.Add(agent.Job{ID: "j", Number: "999", Doc: doc(5, 1)}); err != nil {
					t.Fatal(err)
				}
				f.wait(24 * time.Hour)
				f.stop()
				if st, _ := f.q.Job("j"); st.State != agenttest.JobCompleted {
					t.Fatalf("job %v", st.State)
				}
				got := f.q.ProgressLog("j")
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("progress\n got %v\nwant %v", got, tc.want)
				}
			})
		})
	}
}

// brokenProgressQueue is a MemQueue whose progress reports fail, or hang
// until their context ends.
type brokenProgressQueue struct {
	*agenttest.MemQueue
	hang bool

	mu    sync.Mutex
	calls int
}

func (q *brokenProgressQueue) Progress(ctx context.Context, l agent.Lease, sent, total int) error {
	q.mu.Lock()
	q.calls++
	q.mu.Unlock()
	if q.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return errors.New("core unreachable")
}

// TestProgressFailureIsNotFatal: a failing or hanging progress reporter
// neither fails nor stalls the call; the failure is logged once.
func TestProgressFailureIsNotFatal(t *testing.T) {
	for _, hang := range []bool{false, true} {
		t.Run(fmt.Sprintf("hang=%v", hang), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, loopback.Paced)
				q := &brokenProgressQueue{MemQueue: f.q, hang: hang}
				var logs bytes.Buffer
				var logMu sync.Mutex
				f.agent("A", 0, []string{"100"}, 1, func(c *agent.Config) {
					c.Queue = q
					c.ProgressInterval = time.Millisecond
					c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
				})
				if err := f.q.Add(agent.Job{ID: "j", Number: "999", Doc: doc(5, 1)}); err != nil {
					t.Fatal(err)
				}
				f.wait(24 * time.Hour)
				f.stop()
				st, _ := f.q.Job("j")
				recs := f.q.Attempts("j")
				if st.State != agenttest.JobCompleted || len(recs) != 1 || recs[0].PageSent != 5 || t30.Code(recs[0].ErrorID) != t30.OK {
					t.Fatalf("job %v, records %+v", st.State, recs)
				}
				q.mu.Lock()
				calls := q.calls
				q.mu.Unlock()
				logMu.Lock()
				failures := strings.Count(logs.String(), "progress report failed")
				logMu.Unlock()
				if calls < 2 || failures != 1 {
					t.Errorf("%d progress calls, %d failures logged; want at least 2 and 1", calls, failures)
				}
			})
		})
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
