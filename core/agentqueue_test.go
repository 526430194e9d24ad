package core

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/t30"
)

// TestAgentQueue drives the adapter the way agent.Agent does: claim, then
// one Finish per attempt carrying the whole record (stored whole: dialled
// number, ECM, rate cap, ECM switch-off, next attempt and page); a repeat
// changes nothing; renew learns about a cancel; release gives a job back;
// inbound files are stored and routed.
func TestAgentQueue(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, clk, _ := openTest(t, be, nil)
			ctx := context.Background()
			u, err := st.CreateUser(ctx, NewUser{Username: "user", Password: "user-password"})
			if err != nil {
				t.Fatal(err)
			}
			e := &env{t: t, ctx: ctx, st: st, clk: clk, be: be, user: u}
			aq := NewAgentQueue(st)
			var q agent.Queue = aq
			var rep agent.Reporter = aq
			claim := func(r agent.ClaimRequest) []agent.Job {
				t.Helper()
				if r.AgentID == "" {
					r.AgentID = "agent-1"
				}
				if r.Lease == 0 {
					r.Lease = time.Minute
				}
				if r.Max == 0 {
					r.Max = 1
				}
				jobs, err := q.Claim(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				return jobs
			}

			m := e.submit(Submission{Header: "%d %t", MaxAttempts: 2, Priority: PriorityHigh,
				Recipients: []Recipient{{Fax: "+1 555 0100"}, {Fax: "5550101"}}, Preset: Preset{Type: PresetGroup, Value: "sales"}})
			if jobs := claim(agent.ClaimRequest{Groups: []string{"support"}}); len(jobs) != 0 {
				t.Fatalf("claimed %+v for the wrong group", jobs)
			}
			jobs := claim(agent.ClaimRequest{Groups: []string{"sales"}, Max: 5, Lease: 5 * time.Minute})
			if len(jobs) != 2 {
				t.Fatalf("claimed %d jobs", len(jobs))
			}
			j := jobs[0]
			if j.Number != "+15550100" || j.Priority != 70 || j.Header != "%d %t" || j.Attempts != 0 || j.MaxAttempts != 2 ||
				j.Preset != (agent.Preset{Kind: agent.PresetGroup, Group: "sales"}) || j.Lease.Token != "1" ||
				!j.Lease.Expires.Equal(clk.Now().Add(5*time.Minute)) || len(j.Documents) != 1 {
				t.Fatalf("job %+v", j)
			}
			content, err := os.ReadFile(j.Documents[0])
			if err != nil || !strings.HasPrefix(string(content), "II*\x00") {
				t.Fatalf("document file: %q %v", content, err)
			}

			// First job: a retry from page 2, then success.
			id1 := j.ID + "#1@" + j.Lease.Token
			rec := agent.AttemptRecord{AttemptID: id1, JobID: j.ID, MessageID: j.MessageID, StartDate: clk.Now(),

				Cause: "BYE", AttemptFacts: agent.AttemptFacts{CompleteDate: clk.Now(), CalledNumber: j.Number, RemoteCSID: "REMOTE", FaxProtocol: "V17",
					TransmitSpeed: 14400, TransmitStatus: int(t30.CodeCallDropped), TransmitStatusDef: agent.StatusRetry,
					AttemptNo: 1, MaxAttemptNo: 2, PageCount: 3, StartPageNo: 1, PageSent: 1, BoardID: "M0,1", PortNo: 1,
					FaxAgentID: "agent-1", ErrorID: int(t30.CodeCallDropped), ErrorInfo: "call dropped",
					DialedNumber: "9,15550100", ECM: true, MaxRate: 9600, ECMDisabled: false, PagesTransmitted: 1,
					NextAttempt: clk.Now().Add(time.Minute), NextPage: 2}}
			for range 2 {
				if err := q.Finish(ctx, j.Lease, rec); err != nil {
					t.Fatal(err)
				}
			}
			clk.Advance(time.Minute)
			again := claim(agent.ClaimRequest{Groups: []string{"sales"}})
			if len(again) != 1 || again[0].ID != j.ID || again[0].Attempts != 1 || again[0].StartPage != 1 || again[0].PagesSent != 1 {
				t.Fatalf("second claim %+v", again)
			}
			// The old lease is gone.
			_, err = q.Renew(ctx, j.Lease, time.Minute)
			if !errors.Is(err, agent.ErrLeaseLost) {
				t.Fatalf("renew of an old lease: %v", err)
			}
			late := agent.AttemptRecord{AttemptID: "late", AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusCompleted}}
			if err := q.Finish(ctx, j.Lease, late); !errors.Is(err, agent.ErrStale) || !errors.Is(err, agent.ErrLeaseLost) {
				t.Fatalf("finish on an old lease: %v", err)
			}
			// Another agent's outcome under the holder's own lease token is
			// kept as a stale attempt and leaves the job with its holder.
			forged := agent.AttemptRecord{AttemptID: "forged", AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusFailed}}
			if err := aq.FinishAs(ctx, "agent-2", again[0].Lease, forged); !errors.Is(err, agent.ErrStale) {
				t.Fatalf("finish by an agent not holding the lease: %v", err)
			}
			if jb := e.job(m.Jobs[0].ID); jb.State != JobLeased || jb.LeaseAgent != "agent-1" {
				t.Fatalf("job after another agent's finish: %+v", jb.Job)
			}
			// Progress: the new lease holder's counts, the old lease's are refused.
			var pr agent.ProgressReporter = aq
			if err := pr.Progress(ctx, again[0].Lease, 2, 3); err != nil {
				t.Fatal(err)
			}
			if err := pr.Progress(ctx, j.Lease, 3, 3); !errors.Is(err, agent.ErrLeaseLost) {
				t.Fatalf("progress on an old lease: %v", err)
			}
			if p := e.job(m.Jobs[0].ID).Progress; p != (JobProgress{InCall: true, PagesSent: 2, PagesTotal: 3}) {
				t.Fatalf("progress %+v", p)
			}
			j = again[0]
			id2 := j.ID + "#2@" + j.Lease.Token
			rec.AttemptID, rec.AttemptNo, rec.StartPageNo, rec.PageSent, rec.ErrorID, rec.ErrorInfo, rec.Cause =
				id2, 2, 2, 2, 0, "", ""
			rec.TransmitStatus, rec.TransmitStatusDef, rec.NextAttempt, rec.NextPage = 0, agent.StatusCompleted, time.Time{}, 0
			rec.ECMDisabled, rec.MaxRate = true, 0
			for range 2 {
				if err := q.Finish(ctx, j.Lease, rec); err != nil {
					t.Fatal(err)
				}
			}

			// Second job: cancelled in the call, learnt on renew, failed as cancelled.
			k := jobs[1]
			if _, err := st.CancelJob(ctx, m.Jobs[1].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := q.Renew(ctx, k.Lease, time.Minute); !errors.Is(err, agent.ErrCancelled) {
				t.Fatalf("renew after cancel: %v", err)
			}
			if err := q.Finish(ctx, k.Lease, agent.AttemptRecord{AttemptID: k.ID + "#1@1", AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusCancelled,
				ErrorID: int(t30.CodeCancelled), ErrorInfo: "cancelled"}}); err != nil {
				t.Fatal(err)
			}

			got := e.message(m.ID)
			if got.Status != "Partial" || got.Jobs[0].State != JobDone || got.Jobs[1].State != JobCancelled {
				t.Fatalf("message %+v", got)
			}
			a := got.Jobs[0].Attempts
			if len(a) != 4 || a[0].Outcome != OutcomeRetry || a[0].ErrorInfo != "call dropped (BYE)" || a[0].RemoteCSID != "REMOTE" ||
				a[0].BoardID != "M0,1" || a[1].Key != "late" || !a[1].Stale || a[2].Key != "forged" || !a[2].Stale ||
				a[3].Outcome != OutcomeDone || a[3].PageSent != 2 {
				t.Fatalf("attempts %+v", a)
			}
			// Stored whole.
			if x := a[0]; x.DialedNumber != "9,15550100" || !x.ECM || x.MaxRate != 9600 || x.ECMDisabled || x.PagesTransmitted != 1 ||
				!x.NextAttempt.Equal(clk.Now()) || x.NextPage != 2 || x.TransmitStatusDef != agent.StatusRetry {
				t.Fatalf("retry record not whole: %+v", x)
			}
			if x := a[3]; !x.ECMDisabled || x.MaxRate != 0 || !x.NextAttempt.IsZero() || x.NextPage != 0 || x.DialedNumber != "9,15550100" {
				t.Fatalf("completed record not whole: %+v", x)
			}

			// Release: back to the queue without an attempt.
			e.submit(Submission{})
			r := claim(agent.ClaimRequest{})
			if err := q.Release(ctx, r[0].Lease); err != nil {
				t.Fatal(err)
			}
			if r2 := claim(agent.ClaimRequest{}); len(r2) != 1 || r2[0].Attempts != 0 || r2[0].Lease.Token != "2" {
				t.Fatalf("claim after release %+v", r2)
			}
			if _, err := q.Renew(ctx, agent.Lease{JobID: "x", Token: "1"}, time.Minute); !errors.Is(err, agent.ErrNoJob) {
				t.Fatalf("renew of a bad job ID: %v", err)
			}

			// Inbound: a file routed by DID, and a call that brought nothing.
			if _, err := st.CreateRoute(ctx, Route{UserID: u.ID, Cond1: RouteCondition{RouteRoutingDigits, "200"}, Active: true}); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "in.tif")
			if err := os.WriteFile(file, []byte("II*\x00 received"), 0o600); err != nil {
				t.Fatal(err)
			}
			in := agent.InboundRecord{ID: "agent-1/call-7", FaxAgentID: "agent-1", PortNo: 2, BoardID: "M0,2",
				CallingNumber: "555", CalledNumber: "100200", DID: "200", RemoteCSID: "SENDER", Received: clk.Now(), Pages: 1, File: file}
			for range 2 {
				if err := rep.Inbound(ctx, in); err != nil {
					t.Fatal(err)
				}
			}
			if err := rep.Inbound(ctx, agent.InboundRecord{ID: "agent-1/call-8", CalledNumber: "999", ErrorID: 3, ErrorInfo: "no fax"}); err != nil {
				t.Fatal(err)
			}
			inbox, _, err := st.Messages(ctx, MessageQuery{Folder: FolderInbox, OwnerID: u.ID})
			if err != nil || len(inbox) != 1 || inbox[0].Status != "Received" {
				t.Fatalf("inbox %+v %v", inbox, err)
			}
			// The call that brought nothing is a failed call record, no message.
			if un, _, err := st.Messages(ctx, MessageQuery{Folder: FolderUnrouted}); err != nil || len(un) != 0 {
				t.Fatalf("unrouted %+v %v", un, err)
			}
			calls, total, err := st.Calls(ctx, CallQuery{Direction: Inbound, Outcome: OutcomeFailed})
			if err != nil || total != 1 || calls[0].Key != "agent-1/call-8" || calls[0].MessageID != 0 || calls[0].ErrorInfo != "no fax" {
				t.Fatalf("failed calls %+v %d %v", calls, total, err)
			}
			md := e.message(inbox[0].ID)
			if len(md.Documents) != 1 || len(md.Received) != 1 || md.Received[0].RoutingInfo != "200" || md.Received[0].BoardID != "M0,2" {
				t.Fatalf("inbound message %+v", md)
			}
		})
	}
}

// TestAgentQueueReady checks the Notifier: a submission, a give-back and
// the due time of a scheduled job wake the agent.
func TestAgentQueueReady(t *testing.T) {
	st, clk, _ := openTest(t, backends()[0], nil)
	ctx := context.Background()
	u, err := st.CreateUser(ctx, NewUser{Username: "user", Password: "user-password"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, st: st, clk: clk, user: u}
	aq := NewAgentQueue(st)
	ready := aq.Ready()
	fired := func() bool {
		select {
		case <-ready:
			return true
		default:
			return false
		}
	}
	fired()
	e.submit(Submission{Hold: true})
	if fired() {
		t.Fatal("a held message woke the agent")
	}
	e.submit(Submission{})
	if !fired() {
		t.Fatal("a submission did not wake the agent")
	}
	jobs, err := aq.Claim(ctx, agent.ClaimRequest{AgentID: "a", Max: 1, Lease: time.Minute})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	if err := aq.Release(ctx, jobs[0].Lease); err != nil {
		t.Fatal(err)
	}
	if !fired() {
		t.Fatal("a released job did not wake the agent")
	}
	if _, err := aq.Claim(ctx, agent.ClaimRequest{AgentID: "a", Max: 1, Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	// A job due a little later wakes the agent when it is due.
	e.submit(Submission{Schedule: clk.Now().Add(20 * time.Millisecond)})
	fired()
	if jobs, _ := aq.Claim(ctx, agent.ClaimRequest{AgentID: "a", Max: 2, Lease: time.Minute}); len(jobs) != 0 {
		t.Fatalf("claimed %v before it was due", jobs)
	}
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the due time of a scheduled job did not wake the agent")
	}
}

// TestReadyEveryReader: every reader of the store's wake-up signal (the
// agent in the core's process, the agent protocol's long-polls) hears a
// submission, on both backends.
func TestReadyEveryReader(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			u, err := st.CreateUser(ctx, NewUser{Username: "user", Password: "user-password"})
			if err != nil {
				t.Fatal(err)
			}
			readers := []<-chan struct{}{NewAgentQueue(st).Ready(), NewAgentQueue(st).Ready(), st.Ready()}
			for i, r := range readers {
				select {
				case <-r: // a new reader starts signalled
				default:
					t.Fatalf("reader %d did not start signalled", i)
				}
			}
			e := &env{t: t, ctx: ctx, st: st, user: u}
			e.submit(Submission{})
			for i, r := range readers {
				select {
				case <-r:
				case <-time.After(10 * time.Second):
					t.Fatalf("reader %d did not hear the submission", i)
				}
			}
		})
	}
}

// TestPostgresWakesOtherProcesses: a submission through one store wakes the
// agents of another store on the same PostgreSQL queue (LISTEN/NOTIFY).
func TestPostgresWakesOtherProcesses(t *testing.T) {
	st, _, o := openTest(t, backends()[1], nil)
	other, _, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ready := NewAgentQueue(other).Ready()
	// The listener pokes once when it starts listening: wait for that.
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not start")
	}
	admin, err := st.UserByName(context.Background(), AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, st, admin.ID, 1, 1)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("a submission in one process did not wake the other")
	}
}

// TestPostgresOwnNotificationsIgnored: a submission pokes its own store's
// Ready at once, and the notification it sends carries the store's name,
// so that the store's listener does not poke again for it (a second poke
// would wake every waiting agent twice, each a claim); other stores'
// notifications, and those without a name, poke.
func TestPostgresOwnNotificationsIgnored(t *testing.T) {
	st, _, o := openTest(t, backends()[1], nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, o.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{st.channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	admin, err := st.UserByName(ctx, AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	ready := st.Ready()
	<-ready // a new reader starts signalled
	fill(t, st, admin.ID, 1, 1)
	select {
	case <-ready:
	default:
		t.Fatal("a submission did not poke its own store's Ready")
	}
	n, err := c.WaitForNotification(ctx)
	if err != nil || st.instance == "" || n.Payload != st.instance {
		t.Fatalf("notification %+v %v, want the payload %q", n, err, st.instance)
	}
	for _, c := range []struct {
		payload string
		hears   bool
	}{{st.instance, false}, {"", true}, {"another-store", true}} {
		if got := st.hears(c.payload); got != c.hears {
			t.Errorf("hears(%q) = %v", c.payload, got)
		}
	}
}

// TestAgentQueueOwnsAttemptBudget: the agent asks for a retry, the queue
// has no attempt left: the job fails, and the stored record says so
// (status Failed, no next attempt) instead of what the agent asked.
func TestAgentQueueOwnsAttemptBudget(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, clk, _ := openTest(t, be, nil)
			ctx := context.Background()
			u, err := st.CreateUser(ctx, NewUser{Username: "user", Password: "user-password"})
			if err != nil {
				t.Fatal(err)
			}
			e := &env{t: t, ctx: ctx, st: st, clk: clk, be: be, user: u}
			m := e.submit(Submission{MaxAttempts: 1})
			q := NewAgentQueue(st)
			jobs, err := q.Claim(ctx, agent.ClaimRequest{AgentID: "a", Max: 1, Lease: time.Minute})
			if err != nil || len(jobs) != 1 {
				t.Fatalf("claim %v %v", jobs, err)
			}
			j := jobs[0]
			rec := agent.AttemptRecord{AttemptID: j.ID + "#1", AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusRetry, AttemptNo: 1,
				ErrorID: int(t30.CodeBusy), ErrorInfo: "busy", NextAttempt: clk.Now().Add(time.Minute), NextPage: 1}}
			if err := q.Finish(ctx, j.Lease, rec); err != nil {
				t.Fatal(err)
			}
			jd := e.job(m.Jobs[0].ID)
			if jd.State != JobFailed || len(jd.Attempts) != 1 || !strings.Contains(jd.ErrorText, "no attempts left") {
				t.Fatalf("job %+v", jd)
			}
			if a := jd.Attempts[0]; a.TransmitStatusDef != agent.StatusFailed || !a.NextAttempt.IsZero() || a.NextPage != 0 || a.Outcome != OutcomeRetry {
				t.Fatalf("record %+v", a)
			}
		})
	}
}

// TestTransmissionOfCause: the driver's cause explains an attempt that did
// not complete, in its error text; a completed attempt keeps no error
// text (a board calls its success "normal completion").
func TestTransmissionOfCause(t *testing.T) {
	tests := []struct {
		name, status, cause, info, want string
	}{
		{name: "completed", status: agent.StatusCompleted, cause: "normal completion", want: ""},
		{name: "retry", status: agent.StatusRetry, cause: "BYE", info: "call dropped", want: "call dropped (BYE)"},
		{name: "failed, cause already said", status: agent.StatusFailed, cause: "busy", info: "line busy", want: "line busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := agent.AttemptRecord{Cause: tc.cause, AttemptFacts: agent.AttemptFacts{TransmitStatusDef: tc.status, ErrorInfo: tc.info}}
			if got := transmissionOf(r).ErrorInfo; got != tc.want {
				t.Errorf("error info %q, want %q", got, tc.want)
			}
		})
	}
}
