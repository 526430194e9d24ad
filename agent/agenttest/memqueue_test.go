package agenttest

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// TestMemQueueIdempotent: a job is leased once at a time; a repeated
// Finish or Complete of one attempt is stored once; an old lease ends
// nothing.
func TestMemQueueIdempotent(t *testing.T) {
	q := NewMemQueue(nil)
	ctx := context.Background()
	if err := q.Add(agent.Job{ID: "j"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Add(agent.Job{ID: "j"}); err == nil {
		t.Fatal("duplicate job accepted")
	}
	jobs, _ := q.Claim(ctx, agent.ClaimRequest{AgentID: "a", Max: 5, Lease: time.Minute})
	if len(jobs) != 1 {
		t.Fatalf("claimed %d", len(jobs))
	}
	l := jobs[0].Lease
	if again, _ := q.Claim(ctx, agent.ClaimRequest{AgentID: "b", Max: 5, Lease: time.Minute}); len(again) != 0 {
		t.Fatal("leased job claimed twice")
	}
	rec := agent.AttemptRecord{AttemptID: "j#1", JobID: "j", AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusRetry, NextAttempt: time.Now(), NextPage: 3, PagesTransmitted: 2}}
	for range 3 {
		if err := q.Finish(ctx, l, rec); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(q.Attempts("j")); n != 1 {
		t.Fatalf("%d records", n)
	}
	st, _ := q.Job("j")
	if st.State != JobQueued || st.Job.Attempts != 1 || st.Job.StartPage != 2 || st.Job.PagesSent != 2 {
		t.Fatalf("after repeated retry: %+v", st)
	}
	jobs, _ = q.Claim(ctx, agent.ClaimRequest{AgentID: "a", Max: 5, Lease: time.Minute})
	if err := q.Complete(ctx, l, "j#1x"); !errors.Is(err, agent.ErrLeaseLost) {
		t.Fatalf("old lease: %v", err)
	}
	l2 := jobs[0].Lease
	for range 2 {
		if err := q.Complete(ctx, l2, "j#2"); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := q.Job("j"); st.State != JobCompleted || st.Job.Attempts != 2 {
		t.Fatalf("after repeated complete: %+v", st)
	}
	if _, err := q.Renew(ctx, l2, time.Minute); !errors.Is(err, agent.ErrLeaseLost) {
		t.Fatalf("renew after complete: %v", err)
	}
	select {
	case <-q.AllFinal():
	default:
		t.Fatal("AllFinal not closed")
	}
}

// A job whose agent died (its lease ran out) is claimed again by another
// agent; the dead agent's lease can no longer end it.
func TestMemQueueLeaseExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewMemQueue(nil)
		ctx := context.Background()
		if err := q.Add(agent.Job{ID: "j"}); err != nil {
			t.Fatal(err)
		}
		jobs, _ := q.Claim(ctx, agent.ClaimRequest{AgentID: "dead", Max: 1, Lease: time.Minute})
		time.Sleep(59 * time.Second)
		if again, _ := q.Claim(ctx, agent.ClaimRequest{AgentID: "b", Max: 1, Lease: time.Minute}); len(again) != 0 {
			t.Fatal("claimed before the lease ran out")
		}
		time.Sleep(time.Second)
		again, _ := q.Claim(ctx, agent.ClaimRequest{AgentID: "b", Max: 1, Lease: time.Minute})
		if len(again) != 1 || again[0].Lease.Token == jobs[0].Lease.Token {
			t.Fatalf("not reclaimed: %+v", again)
		}
		if err := q.Complete(ctx, jobs[0].Lease, "dead#1"); !errors.Is(err, agent.ErrLeaseLost) {
			t.Fatalf("dead agent completed: %v", err)
		}
		if _, err := q.Renew(ctx, jobs[0].Lease, time.Minute); !errors.Is(err, agent.ErrLeaseLost) {
			t.Fatalf("dead agent renewed: %v", err)
		}
		if err := q.Complete(ctx, again[0].Lease, "b#1"); err != nil {
			t.Fatal(err)
		}
	})
}
