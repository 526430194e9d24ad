package core

import (
	"testing"
	"time"
)

// TestLeaseClock checks the reclaim rule's outage allowance: with agents
// polling, an expired lease is reclaimed as before; after a gap without
// any claim (an outage) longer than OutageGap, the leases valid when it
// began are extended by the gap (and to at least OutageGap after it), so
// the holder's late outcome is applied
// and the job is not sent again; a holder that never comes back loses the
// job once its extended lease runs out.
func TestLeaseClock(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, clk, _ := openTest(t, be, func(o *Options) { o.OutageGap = 20 * time.Second })
			e := &env{t: t, ctx: t.Context(), st: st, clk: clk, be: be}
			u, err := st.CreateUser(e.ctx, NewUser{Username: "user", Password: "user-password"})
			if err != nil {
				t.Fatal(err)
			}
			e.user = u
			// poll is agent b claiming every 5 s for d.
			poll := func(d time.Duration) {
				for end := clk.Now().Add(d); clk.Now().Before(end); {
					clk.Advance(5 * time.Second)
					e.noClaim(Claim{Agent: "b"})
				}
			}

			// Polling agents: a dead agent's job goes to another at expiry.
			e.submit(Submission{Subject: "dead"})
			a := e.claim(Claim{Agent: "a", Lease: 30 * time.Second})[0]
			poll(25 * time.Second)
			clk.Advance(5 * time.Second)
			b := e.claim(Claim{Agent: "b"})
			if len(b) != 1 || b[0].ID != a.ID {
				t.Fatalf("not reclaimed at expiry while polling: %+v", b)
			}
			e.report(Report{Lease: b[0].Lease, Key: "dead#2", Outcome: OutcomeDone})

			// An outage of 5 min, 10 s into a 30 s lease: the lease is
			// extended by the gap; the holder's outcome lands after it.
			e.submit(Submission{Subject: "outage"})
			a = e.claim(Claim{Agent: "a", Lease: 30 * time.Second})[0]
			poll(10 * time.Second)
			clk.Advance(5 * time.Minute)
			e.noClaim(Claim{Agent: "b"})
			poll(15 * time.Second)
			r := e.report(Report{Lease: a.Lease, Key: "outage#1", Outcome: OutcomeDone})
			if r.Stale || r.State != JobDone {
				t.Fatalf("outcome after the outage: %+v", r)
			}

			// An outage 1 s before a lease runs out: the holder still has
			// OutageGap after the queue is back (the gap alone would
			// leave it 1 s, less than an outbox's back-off).
			e.submit(Submission{Subject: "late in the lease"})
			a = e.claim(Claim{Agent: "a", Lease: 30 * time.Second})[0]
			poll(25 * time.Second)
			clk.Advance(4 * time.Second)
			clk.Advance(5 * time.Minute)
			e.noClaim(Claim{Agent: "b"})
			poll(15 * time.Second)
			r = e.report(Report{Lease: a.Lease, Key: "late#1", Outcome: OutcomeDone})
			if r.Stale || r.State != JobDone {
				t.Fatalf("outcome 15 s after an outage that began 1 s before the lease ran out: %+v", r)
			}

			// Another outage, and the holder never comes back: the job is
			// claimable once the rest of its extended lease has run out.
			e.submit(Submission{Subject: "gone"})
			a = e.claim(Claim{Agent: "a", Lease: 30 * time.Second})[0]
			poll(10 * time.Second)
			clk.Advance(5 * time.Minute)
			e.noClaim(Claim{Agent: "b"})
			poll(15 * time.Second)
			clk.Advance(5 * time.Second)
			if b := e.claim(Claim{Agent: "b"}); len(b) != 1 || b[0].ID != a.ID {
				t.Fatalf("not reclaimed after the extended lease: %+v", b)
			}
			// Without the allowance the outage job would have gone to b.
			st.o.OutageGap = -1
			e.submit(Submission{Subject: "no allowance"})
			a = e.claim(Claim{Agent: "a", Lease: 30 * time.Second})[0]
			clk.Advance(5 * time.Minute)
			if b := e.claim(Claim{Agent: "b", Max: 5}); len(b) != 2 {
				t.Fatalf("without the allowance: %+v", b)
			}
		})
	}
}
