package core

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
)

const crashEnv = "FAXAGENT_CORE_CRASH_HELPER"

// TestCrashHelper is the worker process TestCrash kills: it claims jobs,
// records attempts and reports them (some retried once) until it is killed.
func TestCrashHelper(t *testing.T) {
	if os.Getenv(crashEnv) == "" {
		t.Skip("helper process for TestCrash")
	}
	ctx := context.Background()
	o := Options{DataDir: os.Getenv("CRASH_DATA"), DatabaseURL: os.Getenv("CRASH_DB"), Schema: os.Getenv("CRASH_SCHEMA"),
		AdminPassword: testAdminPassword, PasswordCost: 4, Logger: slog.New(slog.DiscardHandler)}
	st, _, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	holder := "crash-" + strconv.Itoa(os.Getpid())
	for n := 0; ; n++ {
		jobs, err := st.Claim(ctx, Claim{Agent: holder, Max: 2, Lease: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		for i, j := range jobs {
			key := fmt.Sprintf("%s-%d-%d", holder, n, i)
			if _, err := st.RecordAttempt(ctx, Transmission{Key: key, JobID: j.ID, AttemptFacts: agent.AttemptFacts{PageCount: 2, PageSent: 1}}); err != nil {
				t.Fatal(err)
			}
			r := Report{Lease: j.Lease, Key: key, Outcome: OutcomeDone}
			if j.ID%3 == 0 && j.Attempts == 1 {
				r.Outcome, r.ResumePage, r.PagesSent = OutcomeRetry, 1, 1
			}
			if _, err := st.Report(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if len(jobs) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestCrash kills worker processes with SIGKILL in the middle of their
// work, twice, then drains the queue after their leases expired: every job
// ends exactly once, no attempt is applied twice, and the message counters
// match the jobs.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			const jobs = 300
			st, _, o := openTest(t, be, func(o *Options) { o.Now = time.Now })
			ctx := context.Background()
			admin, err := st.UserByName(ctx, AdminUser)
			if err != nil {
				t.Fatal(err)
			}
			fill(t, st, admin.ID, jobs, 20)
			for round, minDone := range []int{40, 120} {
				cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
				cmd.Env = append(os.Environ(), crashEnv+"=1", "CRASH_DATA="+o.DataDir, "CRASH_DB="+o.DatabaseURL, "CRASH_SCHEMA="+o.Schema)
				out := &limitedBuffer{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(20 * time.Second)
				for {
					qs, err := st.QueueStats(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if qs.Done >= minDone {
						break
					}
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						cmd.Wait()
						t.Fatalf("round %d: worker made no progress (%+v): %s", round, qs, out.b)
					}
					time.Sleep(2 * time.Millisecond)
				}
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				cmd.Wait()
			}
			// Reopen as a later clock, so that the dead workers' leases
			// have expired, and finish the rest.
			o.Now = func() time.Time { return time.Now().Add(time.Hour) }
			st.Close()
			s, _, err := Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for n := 0; ; n++ {
				got, err := s.Claim(ctx, Claim{Agent: "drain", Max: 10, Lease: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 {
					break
				}
				for i, j := range got {
					if _, err := s.Report(ctx, Report{Lease: j.Lease, Key: fmt.Sprintf("drain-%d-%d", n, i), Outcome: OutcomeDone}); err != nil {
						t.Fatal(err)
					}
				}
			}
			checkInvariants(t, s.(*sqlStore), jobs)
		})
	}
}

// checkInvariants checks a drained store: every job final exactly once.
func checkInvariants(t *testing.T, s *sqlStore, jobs int) {
	t.Helper()
	ctx := context.Background()
	d := s.read()
	one := func(query string) int {
		t.Helper()
		var n int
		if err := d.row(ctx, query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	if n := one("SELECT COUNT(*) FROM jobs"); n != jobs {
		t.Fatalf("%d jobs, want %d", n, jobs)
	}
	if n := one("SELECT COUNT(*) FROM jobs WHERE state NOT IN ('done', 'failed', 'cancelled')"); n != 0 {
		t.Fatalf("%d jobs not final", n)
	}
	if n := one("SELECT COUNT(*) FROM attempts WHERE applied = 1 AND outcome = 'done'"); n != one("SELECT COUNT(*) FROM jobs WHERE state = 'done'") {
		t.Fatalf("%d applied done attempts for %d done jobs", n, one("SELECT COUNT(*) FROM jobs WHERE state = 'done'"))
	}
	if n := one(`SELECT COUNT(*) FROM (SELECT job_id FROM attempts WHERE applied = 1 AND outcome IN ('done', 'failed', 'cancelled')
		GROUP BY job_id HAVING COUNT(*) > 1) x`); n != 0 {
		t.Fatalf("%d jobs ended twice", n)
	}
	if n := one(`SELECT COUNT(*) FROM messages m WHERE m.direction = 'outbound' AND (
		m.n_held <> (SELECT COUNT(*) FROM jobs j WHERE j.message_id = m.id AND j.state = 'held') OR
		m.n_queued <> (SELECT COUNT(*) FROM jobs j WHERE j.message_id = m.id AND j.state IN ('queued', 'leased')) OR
		m.n_done <> (SELECT COUNT(*) FROM jobs j WHERE j.message_id = m.id AND j.state = 'done') OR
		m.n_failed <> (SELECT COUNT(*) FROM jobs j WHERE j.message_id = m.id AND j.state = 'failed') OR
		m.n_cancelled <> (SELECT COUNT(*) FROM jobs j WHERE j.message_id = m.id AND j.state = 'cancelled') OR
		m.jobs_final <> m.n_done + m.n_failed + m.n_cancelled OR m.completed_at = 0)`); n != 0 {
		t.Fatalf("%d messages whose counters disagree with their jobs", n)
	}
	t.Logf("%d jobs final once; %d attempts, %d stale", jobs, one("SELECT COUNT(*) FROM attempts"),
		one("SELECT COUNT(*) FROM attempts WHERE stale = 1"))
}

// limitedBuffer keeps the first 64 KiB a helper process writes.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
