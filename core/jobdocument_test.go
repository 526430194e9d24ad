package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// broadcast submits one message with docs documents to n recipients.
func broadcast(tb testing.TB, st *sqlStore, owner int64, n, docs int) MessageDetails {
	tb.Helper()
	s := Submission{OwnerID: owner}
	for i := range n {
		s.Recipients = append(s.Recipients, Recipient{Fax: fmt.Sprintf("+1555%07d", i)})
	}
	for i := range docs {
		s.Documents = append(s.Documents, DocumentInput{Name: fmt.Sprintf("d%d.tif", i), Body: strings.NewReader(fmt.Sprintf("II*\x00 document %d", i))})
	}
	m, err := st.Submit(context.Background(), s)
	if err != nil {
		tb.Fatalf("submit: %v", err)
	}
	return m
}

// TestJobDocument: a job of a message with many recipients (some of them
// with attempts) gets each of its message's documents by index, and the
// download is refused to another agent, to an old lease epoch, to a job
// given back and for an index out of range or a job that does not exist.
func TestJobDocument(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			u, err := st.CreateUser(ctx, NewUser{Username: "user", Password: "user-password"})
			if err != nil {
				t.Fatal(err)
			}
			// Another message first, so its documents would be found by a
			// lookup that mixed messages up.
			broadcast(t, st, u.ID, 1, 1)
			m := broadcast(t, st, u.ID, 300, 3)
			aq := NewAgentQueue(st)
			claim := func(agentID string, max int) []agent.Job {
				t.Helper()
				jobs, err := aq.Claim(ctx, agent.ClaimRequest{AgentID: agentID, Max: max, Lease: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				return jobs
			}
			// The other message's job and a few of the broadcast's go to
			// agent 7; the one tested is deep in the broadcast.
			first := claim("7", 20)
			var j agent.Job
			for _, x := range first {
				if x.MessageID == strconv.FormatInt(m.ID, 10) {
					j = x
				}
			}
			if j.ID == "" || len(j.Documents) != 3 {
				t.Fatalf("claimed %+v", first)
			}
			for n := range 3 {
				p, err := aq.JobDocument(ctx, j.Lease, "7", n)
				if err != nil {
					t.Fatalf("document %d: %v", n, err)
				}
				b, err := os.ReadFile(p)
				if want := fmt.Sprintf("II*\x00 document %d", n); err != nil || string(b) != want {
					t.Fatalf("document %d: %q %v, want %q", n, b, err, want)
				}
			}
			refused := []struct {
				name  string
				l     agent.Lease
				agent string
				n     int
				want  error
			}{
				{"other agent", j.Lease, "8", 0, agent.ErrLeaseLost},
				{"no agent", j.Lease, "", 0, agent.ErrLeaseLost},
				{"old epoch", agent.Lease{JobID: j.ID, Token: strconv.Itoa(mustAtoi(t, j.Lease.Token) - 1)}, "7", 0, agent.ErrLeaseLost},
				{"newer epoch", agent.Lease{JobID: j.ID, Token: strconv.Itoa(mustAtoi(t, j.Lease.Token) + 1)}, "7", 0, agent.ErrLeaseLost},
				{"past the last document", j.Lease, "7", 3, agent.ErrNoJob},
				{"negative index", j.Lease, "7", -1, agent.ErrNoJob},
				{"other agent, bad index", j.Lease, "8", 3, agent.ErrLeaseLost},
				{"no such job", agent.Lease{JobID: "999999", Token: j.Lease.Token}, "7", 0, agent.ErrNoJob},
			}
			for _, c := range refused {
				if p, err := aq.JobDocument(ctx, c.l, c.agent, c.n); !errors.Is(err, c.want) {
					t.Errorf("%s: %q %v, want %v", c.name, p, err, c.want)
				}
			}
			// Given back and claimed again (by agent 8): the old lease is
			// refused to agent 7, the new one serves agent 8 only.
			for _, x := range first {
				if err := aq.Release(ctx, x.Lease); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := aq.JobDocument(ctx, j.Lease, "7", 0); !errors.Is(err, agent.ErrLeaseLost) {
				t.Fatalf("released job: %v, want lease lost", err)
			}
			var again agent.Job
			for _, x := range claim("8", 20) {
				if x.ID == j.ID {
					again = x
				}
			}
			if again.ID == "" || again.Lease.Token == j.Lease.Token {
				t.Fatalf("job %s claimed again as %+v", j.ID, again)
			}
			if _, err := aq.JobDocument(ctx, j.Lease, "7", 0); !errors.Is(err, agent.ErrLeaseLost) {
				t.Fatalf("old lease: %v, want lease lost", err)
			}
			if _, err := aq.JobDocument(ctx, again.Lease, "7", 0); !errors.Is(err, agent.ErrLeaseLost) {
				t.Fatalf("new lease, old agent: %v, want lease lost", err)
			}
			if _, err := aq.JobDocument(ctx, again.Lease, "8", 2); err != nil {
				t.Fatalf("new lease: %v", err)
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkJobDocument measures one agent's document lookup for a job of
// a message with 1 and with 500 recipients (each with an attempt): the
// work must not grow with the recipients.
//
//	go test ./core -run '^$' -bench BenchmarkJobDocument -benchtime 2000x
func BenchmarkJobDocument(b *testing.B) {
	for _, be := range backends() {
		for _, n := range []int{1, 500} {
			b.Run(fmt.Sprintf("%s/recipients=%d", be.name, n), func(b *testing.B) {
				st, _, _ := openTest(b, be, nil)
				ctx := context.Background()
				u, err := st.CreateUser(ctx, NewUser{Username: "user", Password: "user-password"})
				if err != nil {
					b.Fatal(err)
				}
				broadcast(b, st, u.ID, n, 1)
				aq := NewAgentQueue(st)
				// Every recipient but the one looked up gets a failed
				// attempt, as a broadcast's do.
				var held *agent.Lease
				for {
					jobs, err := aq.Claim(ctx, agent.ClaimRequest{AgentID: "7", Max: MaxClaim, Lease: time.Hour})
					if err != nil {
						b.Fatal(err)
					}
					if len(jobs) == 0 {
						break
					}
					for _, j := range jobs {
						if held == nil {
							held = &j.Lease
							continue
						}
						rec := agent.AttemptRecord{AttemptID: j.ID + "@" + j.Lease.Token, JobID: j.ID, StartDate: time.Now(),
							AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusFailed, ErrorInfo: "busy"}}
						if err := aq.FinishAs(ctx, "7", j.Lease, rec); err != nil {
							b.Fatal(err)
						}
					}
				}
				if held == nil {
					b.Fatal("no job claimed")
				}
				b.ResetTimer()
				for range b.N {
					if _, err := aq.JobDocument(ctx, *held, "7", 0); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
