package core

import (
	"bytes"
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/loopback"
)

// recordingProgress is the AgentQueue with its progress reports recorded,
// and the store's view of the job read right after each.
type recordingProgress struct {
	*AgentQueue
	st Store

	mu   sync.Mutex
	seen []JobProgress
	errs []error
}

func (r *recordingProgress) Progress(ctx context.Context, l agent.Lease, sent, total int) error {
	err := r.AgentQueue.Progress(ctx, l, sent, total)
	var p JobProgress
	if id, perr := parseID(l.JobID); perr == nil {
		if jd, jerr := r.st.Job(ctx, id); jerr == nil {
			p = jd.Progress
		}
	}
	r.mu.Lock()
	r.seen = append(r.seen, p)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	r.mu.Unlock()
	return err
}

// TestAgentProgressThroughStore runs a real agent (loopback driver) on the
// store: the page progress of its call reaches the job row through
// AgentQueue, rising to every page, and is gone once the job is done.
func TestAgentProgressThroughStore(t *testing.T) {
	png, err := os.ReadFile("../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			u, err := st.CreateUser(ctx, NewUser{Username: "user", Password: "user-password"})
			if err != nil {
				t.Fatal(err)
			}
			const pages = 3
			var docs []DocumentInput
			for range pages {
				docs = append(docs, DocumentInput{Name: "letter.png", Body: bytes.NewReader(png)})
			}
			m, err := st.Submit(ctx, Submission{OwnerID: u.ID, Documents: docs, Recipients: []Recipient{{Fax: "999"}}})
			if err != nil {
				t.Fatal(err)
			}
			pub, lic := testLicense(t, "A", 1)
			net := loopback.NewNetwork(loopback.Options{Mode: loopback.Virtual, Seed: 1})
			defer net.Close()
			q := &recordingProgress{AgentQueue: NewAgentQueue(st), st: st}
			a, err := agent.New(agent.Config{
				AgentID: "A", Drivers: []drivers.Driver{loopback.New(net, loopback.DriverOptions{Numbers: []string{"100"}})},
				License: lic, LicenseKey: pub, Queue: q, Reporter: q, SpoolDir: t.TempDir(),
				PollInterval: 50 * time.Millisecond, ProgressInterval: time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer a.Shutdown(ctx)
			var jd JobDetails
			for deadline := time.Now().Add(30 * time.Second); ; {
				if jd, err = st.Job(ctx, m.Jobs[0].ID); err != nil {
					t.Fatal(err)
				}
				if jd.State.Final() || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if jd.State != JobDone || jd.Progress != (JobProgress{}) {
				t.Fatalf("job %s, progress %+v (%s)", jd.State, jd.Progress, jd.ErrorText)
			}
			// The attempt keeps the driver's call ID as data.
			if len(jd.Attempts) != 1 || jd.Attempts[0].CallID == "" || jd.Attempts[0].CallID == jd.Attempts[0].Key {
				t.Fatalf("attempts %+v", jd.Attempts)
			}
			q.mu.Lock()
			defer q.mu.Unlock()
			if len(q.errs) > 0 {
				t.Fatalf("progress reports failed: %v", q.errs)
			}
			// Reports may be coalesced, but they rise, start at 0 and end
			// at every page, each stored for the call.
			t.Logf("stored progress %+v", q.seen)
			n := len(q.seen)
			if n < 2 || q.seen[0] != (JobProgress{InCall: true, PagesTotal: pages}) ||
				q.seen[n-1] != (JobProgress{InCall: true, PagesSent: pages, PagesTotal: pages}) ||
				!slices.IsSortedFunc(q.seen, func(a, b JobProgress) int { return a.PagesSent - b.PagesSent }) {
				t.Fatalf("stored progress %+v", q.seen)
			}
		})
	}
}
