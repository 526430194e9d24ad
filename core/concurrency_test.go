package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// fill submits n jobs in messages of per recipients each.
func fill(tb testing.TB, st Store, owner int64, n, per int) {
	tb.Helper()
	ctx := context.Background()
	for i := 0; i < n; i += per {
		k := min(per, n-i)
		rs := make([]Recipient, k)
		for j := range rs {
			rs[j] = Recipient{Fax: fmt.Sprintf("555%04d", i+j)}
		}
		_, err := st.Submit(ctx, Submission{OwnerID: owner, Subject: fmt.Sprint(i), Recipients: rs,
			Documents: []DocumentInput{{Name: "doc.tif", Body: strings.NewReader("II*\x00 shared document")}}})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// TestConcurrentClaims has 8 workers race for 500 jobs. Some workers
// "crash" holding a lease (they drop the job without a word); when nothing
// is claimable the clock jumps past the leases, so those jobs, and jobs
// whose worker was merely slow, go to another worker. At the end every job
// is done exactly once: one applied attempt per job, and exactly 500 reports
// that were told they completed a job.
func TestConcurrentClaims(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			const jobs, workers = 500, 8
			st, clk, _ := openTest(t, be, func(o *Options) { o.DefaultMaxAttempts = 100 })
			ctx := context.Background()
			admin, err := st.UserByName(ctx, AdminUser)
			if err != nil {
				t.Fatal(err)
			}
			fill(t, st, admin.ID, jobs, 10)
			var completed, stale, dropped atomic.Int64
			var wg sync.WaitGroup
			var clockMu sync.Mutex
			errs := make(chan error, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					agent := fmt.Sprintf("agent-%d", w)
					idle, lastFinal := 0, -1
					for n := 0; ; n++ {
						got, err := st.Claim(ctx, Claim{Agent: agent, Max: 1 + w%3, Lease: 10 * time.Second})
						if err != nil {
							errs <- err
							return
						}
						if len(got) == 0 {
							qs, err := st.QueueStats(ctx)
							if err != nil {
								errs <- err
								return
							}
							final := qs.Done + qs.Failed + qs.Cancelled
							if final == jobs {
								return
							}
							if final == lastFinal && qs.Queued == 0 {
								idle++
							} else {
								idle, lastFinal = 0, final
							}
							if idle >= 5 {
								// No progress: leases held by crashed workers
								// (and maybe slow ones) are let expire.
								idle = 0
								clockMu.Lock()
								clk.Advance(11 * time.Second)
								clockMu.Unlock()
							}
							time.Sleep(time.Millisecond)
							continue
						}
						for i, j := range got {
							if j.ID%37 == 0 && j.Attempts == 1 && i == 0 {
								dropped.Add(1) // crash: never report
								continue
							}
							res, err := st.Report(ctx, Report{Lease: j.Lease, Key: fmt.Sprintf("%s-%d-%d", agent, n, i),
								Outcome: OutcomeDone, Attempt: onePageSent(agent)})
							switch {
							case errors.Is(err, ErrLeaseLost):
								stale.Add(1)
							case err != nil:
								errs <- err
								return
							case res.State == JobDone:
								completed.Add(1)
							default:
								errs <- fmt.Errorf("report gave state %s", res.State)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if completed.Load() != jobs {
				t.Fatalf("%d reports completed a job, want %d (stale %d, dropped %d)", completed.Load(), jobs, stale.Load(), dropped.Load())
			}
			if dropped.Load() == 0 {
				t.Fatal("no worker crashed: the test lost its point")
			}
			var doneJobs, applied, perJobMax, staleRows int
			d := st.read()
			if err := d.row(ctx, "SELECT COUNT(*) FROM jobs WHERE state = 'done'").Scan(&doneJobs); err != nil {
				t.Fatal(err)
			}
			if err := d.row(ctx, "SELECT COUNT(*) FROM attempts WHERE applied = 1 AND outcome = 'done'").Scan(&applied); err != nil {
				t.Fatal(err)
			}
			if err := d.row(ctx, `SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM attempts WHERE applied = 1
				GROUP BY job_id) x`).Scan(&perJobMax); err != nil {
				t.Fatal(err)
			}
			if err := d.row(ctx, "SELECT COUNT(*) FROM attempts WHERE stale = 1").Scan(&staleRows); err != nil {
				t.Fatal(err)
			}
			if doneJobs != jobs || applied != jobs || perJobMax != 1 || staleRows != int(stale.Load()) {
				t.Fatalf("done jobs %d, applied attempts %d, most applied per job %d, stale rows %d (stale reports %d)",
					doneJobs, applied, perJobMax, staleRows, stale.Load())
			}
			var unfinished int
			if err := d.row(ctx, "SELECT COUNT(*) FROM messages WHERE status <> 'Completed' OR folder <> 'sent'").Scan(&unfinished); err != nil {
				t.Fatal(err)
			}
			if unfinished != 0 {
				t.Fatalf("%d messages not completed", unfinished)
			}
			t.Logf("%s: %d jobs done once by %d workers; %d crashed claims, %d stale reports kept", be.name, jobs, workers,
				dropped.Load(), stale.Load())
		})
	}
}

// BenchmarkClaimComplete measures claims plus completions per second with 8
// concurrent workers, each claiming one job and reporting it done.
func BenchmarkClaimComplete(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			b.ReportAllocs()
			st, _, _ := openTest(b, be, func(o *Options) { o.Now = time.Now })
			ctx := context.Background()
			admin, err := st.UserByName(ctx, AdminUser)
			if err != nil {
				b.Fatal(err)
			}
			fill(b, st, admin.ID, b.N, 100)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					agent := fmt.Sprintf("bench-%d", w)
					for {
						got, err := st.Claim(ctx, Claim{Agent: agent, Lease: time.Minute})
						if err != nil {
							b.Error(err)
							return
						}
						if len(got) == 0 {
							return
						}
						k := next.Add(1)
						if _, err := st.Report(ctx, Report{Lease: got[0].Lease, Key: fmt.Sprint("b", k), Outcome: OutcomeDone}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			if int(next.Load()) != b.N {
				b.Fatalf("%d jobs done, want %d", next.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "jobs/s")
		})
	}
}

// TestConcurrentDuplicateReports sends the same report from 8 goroutines at
// once (an agent retrying after a lost answer, while the first is still in
// flight): one applies it, the others see a duplicate, one attempt is kept.
func TestConcurrentDuplicateReports(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			admin, err := st.UserByName(ctx, AdminUser)
			if err != nil {
				t.Fatal(err)
			}
			fill(t, st, admin.ID, 20, 5)
			for round := 0; ; round++ {
				got, err := st.Claim(ctx, Claim{Agent: "a", Lease: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 {
					break
				}
				var applied, dup atomic.Int32
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						res, err := st.Report(ctx, Report{Lease: got[0].Lease, Key: fmt.Sprint("k", round), Outcome: OutcomeDone,
							Attempt: &Transmission{AttemptFacts: agent.AttemptFacts{PageSent: 1}}})
						switch {
						case err != nil:
							errs <- err
						case res.Duplicate:
							dup.Add(1)
						default:
							applied.Add(1)
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				if applied.Load() != 1 || dup.Load() != 7 {
					t.Fatalf("round %d: %d applied, %d duplicates", round, applied.Load(), dup.Load())
				}
			}
			var n int
			if err := st.read().row(ctx, "SELECT COUNT(*) FROM attempts").Scan(&n); err != nil || n != 20 {
				t.Fatalf("%d attempts for 20 jobs (%v)", n, err)
			}
		})
	}
}

// onePageSent is an attempt of agentID that sent its one page.
func onePageSent(agentID string) *Transmission {
	t := &Transmission{}
	t.FaxAgentID, t.PageCount, t.PageSent = agentID, 1, 1
	return t
}
