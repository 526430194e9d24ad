package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// env is what a contract case gets: a fresh store, its clock and a user.
type env struct {
	t    *testing.T
	ctx  context.Context
	st   *sqlStore
	clk  *fakeClock
	o    Options
	be   backend
	user User
}

func (e *env) submit(s Submission) MessageDetails {
	e.t.Helper()
	if s.OwnerID == 0 {
		s.OwnerID = e.user.ID
	}
	if len(s.Documents) == 0 {
		s.Documents = []DocumentInput{{Name: "letter.tif", Body: strings.NewReader("II*\x00 fake tiff " + s.Subject)}}
	}
	if len(s.Recipients) == 0 {
		s.Recipients = []Recipient{{Name: "Ken", Fax: "+1 (303) 555-0100"}}
	}
	m, err := e.st.Submit(e.ctx, s)
	if err != nil {
		e.t.Fatalf("submit: %v", err)
	}
	return m
}

func (e *env) claim(c Claim) []ClaimedJob {
	e.t.Helper()
	if c.Agent == "" {
		c.Agent = "agent-1"
	}
	if c.Lease == 0 {
		c.Lease = 30 * time.Second
	}
	jobs, err := e.st.Claim(e.ctx, c)
	if err != nil {
		e.t.Fatalf("claim: %v", err)
	}
	return jobs
}

func (e *env) claim1() ClaimedJob {
	e.t.Helper()
	jobs := e.claim(Claim{})
	if len(jobs) != 1 {
		e.t.Fatalf("claimed %d jobs, want 1", len(jobs))
	}
	return jobs[0]
}

func (e *env) noClaim(c Claim) {
	e.t.Helper()
	if jobs := e.claim(c); len(jobs) != 0 {
		e.t.Fatalf("claimed job %d (%s), want none", jobs[0].ID, jobs[0].Recipient.Fax)
	}
}

func (e *env) report(r Report) ReportResult {
	e.t.Helper()
	res, err := e.st.Report(e.ctx, r)
	if err != nil {
		e.t.Fatalf("report %+v: %v", r, err)
	}
	return res
}

func (e *env) job(id int64) JobDetails {
	e.t.Helper()
	j, err := e.st.Job(e.ctx, id)
	if err != nil {
		e.t.Fatalf("job %d: %v", id, err)
	}
	return j
}

func (e *env) message(id int64) MessageDetails {
	e.t.Helper()
	m, err := e.st.Message(e.ctx, id)
	if err != nil {
		e.t.Fatalf("message %d: %v", id, err)
	}
	return m
}

func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.st.read().row(e.ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// spoolFiles lists the files in the spool (documents and temporaries).
func (e *env) spoolFiles() []string {
	var out []string
	filepath.WalkDir(e.st.spool.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func fullAttempt(key string) *Transmission {
	return &Transmission{

		Key: key, AttemptFacts: agent.AttemptFacts{CallingNumber: "30327268800", CalledNumber: "30327268804", RemoteCSID: "ROBOFAX", RoutingInfo: "30327268804",
			FaxProtocol: "V34", TransmitSpeed: 33600, CompressionMode: "MMR", CallDuration: 17 * time.Second,
			TransmitDuration: 15 * time.Second, FaxResolution: "fine", TransmitStatus: 0, TransmitStatusDef: "Completed",
			AttemptNo: 1, MaxAttemptNo: 3, PageCount: 4, StartPageNo: 1, PageSent: 4, FaxAgentID: "agent-1", PortNo: 2,
			BoardID: "M0,2", ServerIP: "10.15.7.6", ErrorID: 0, ErrorInfo: ""},
	}
}

var contractCases = []struct {
	name string
	run  func(e *env)
}{
	{"submit stores message, jobs and content-addressed documents", func(e *env) {
		body := "II*\x00 page data"
		m := e.submit(Submission{Subject: "hello", Priority: PriorityHigh, Recipients: []Recipient{
			{Name: "A", Fax: "+1 303 555-0100"}, {Name: "B", Company: "Co", Fax: "(303) 555.0101"}, {Fax: "0101"}},
			Documents: []DocumentInput{{Name: "a.tif", Body: strings.NewReader(body)}, {Name: "b.tif", Body: strings.NewReader(body)}}})
		if m.Folder != FolderOutbox || m.Status != "Queued" || m.Direction != Outbound || m.JobsTotal != 3 || m.Priority != 70 {
			e.t.Fatalf("message %+v", m.Message)
		}
		if len(m.Jobs) != 3 || m.Jobs[0].Recipient.Fax != "+13035550100" || m.Jobs[1].Recipient.Fax != "3035550101" ||
			m.Jobs[1].Recipient.Company != "Co" || m.Jobs[2].State != JobQueued {
			e.t.Fatalf("jobs %+v", m.Jobs)
		}
		sum := sha256.Sum256([]byte(body))
		hexSum := hex.EncodeToString(sum[:])
		if len(m.Documents) != 2 || m.Documents[0].SHA256 != hexSum || m.Documents[0].ID != m.Documents[1].ID ||
			m.Documents[0].Name != "a.tif" || m.Documents[1].Name != "b.tif" || m.Documents[0].Size != int64(len(body)) {
			e.t.Fatalf("documents %+v", m.Documents)
		}
		_, rc, err := e.st.OpenDocument(e.ctx, m.Documents[0].ID)
		if err != nil {
			e.t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != body {
			e.t.Fatalf("document content %q", got)
		}
		if files := e.spoolFiles(); len(files) != 1 || filepath.Base(files[0]) != hexSum {
			e.t.Fatalf("spool %v, want one file named by its hash", files)
		}
		// An existing document by ID.
		m2 := e.submit(Submission{Documents: []DocumentInput{{ID: m.Documents[0].ID, Name: "again.tif"}}})
		if m2.Documents[0].ID != m.Documents[0].ID || m2.ID == m.ID {
			e.t.Fatalf("second message %+v", m2.Documents)
		}
	}},
	{"claims go by priority, then time, then order", func(e *env) {
		low := e.submit(Submission{Subject: "low", Priority: PriorityLow})
		e.clk.Advance(time.Second)
		normal1 := e.submit(Submission{Subject: "n1"})
		e.clk.Advance(time.Second)
		high := e.submit(Submission{Subject: "high", Priority: PriorityHigh})
		normal2 := e.submit(Submission{Subject: "n2", Priority: PriorityNormal})
		var got []int64
		for range 4 {
			got = append(got, e.claim1().MessageID)
		}
		want := []int64{high.ID, normal1.ID, normal2.ID, low.ID}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			e.t.Fatalf("claim order %v, want %v", got, want)
		}
		e.noClaim(Claim{})
	}},
	{"a scheduled job waits for its time", func(e *env) {
		m := e.submit(Submission{Schedule: e.clk.Now().Add(10 * time.Minute)})
		e.noClaim(Claim{})
		e.clk.Advance(10*time.Minute - time.Millisecond)
		e.noClaim(Claim{})
		e.clk.Advance(time.Millisecond)
		if j := e.claim1(); j.MessageID != m.ID || j.Message.Subject != m.Subject || len(j.Documents) != 1 {
			e.t.Fatalf("claimed %+v", j)
		}
	}},
	{"a held message waits for release", func(e *env) {
		m := e.submit(Submission{Hold: true})
		if m.Folder != FolderHold || m.Status != "Held" || m.Jobs[0].State != JobHeld {
			e.t.Fatalf("held message %+v", m.Message)
		}
		e.noClaim(Claim{})
		if err := e.st.ReleaseHold(e.ctx, m.ID); err != nil {
			e.t.Fatal(err)
		}
		if got := e.message(m.ID); got.Folder != FolderOutbox || got.Status != "Queued" {
			e.t.Fatalf("released message %+v", got.Message)
		}
		wantErr(e.t, e.st.ReleaseHold(e.ctx, m.ID), ErrState)
		e.claim1()
	}},
	{"an expired lease makes the job claimable again", func(e *env) {
		e.submit(Submission{})
		a := e.claim(Claim{Agent: "a", Lease: 30 * time.Second})[0]
		if a.State != JobLeased || a.Attempts != 1 || a.LeaseAgent != "a" || a.Lease.Epoch != 1 {
			e.t.Fatalf("claimed %+v", a.Job)
		}
		e.clk.Advance(29 * time.Second)
		e.noClaim(Claim{Agent: "b"})
		e.clk.Advance(time.Second)
		b := e.claim(Claim{Agent: "b"})
		if len(b) != 1 || b[0].ID != a.ID || b[0].Lease.Epoch != 2 || b[0].Attempts != 2 || b[0].LeaseAgent != "b" {
			e.t.Fatalf("reclaimed %+v", b)
		}
		_, err := e.st.Renew(e.ctx, a.Lease, time.Minute)
		wantErr(e.t, err, ErrLeaseLost)
		if _, err := e.st.Renew(e.ctx, b[0].Lease, time.Minute); err != nil {
			e.t.Fatal(err)
		}
	}},
	{"renew keeps the lease", func(e *env) {
		e.submit(Submission{})
		a := e.claim1()
		for range 5 {
			e.clk.Advance(20 * time.Second)
			rr, err := e.st.Renew(e.ctx, a.Lease, 30*time.Second)
			if err != nil || rr.Cancel || !rr.Expires.Equal(e.clk.Now().Add(30*time.Second)) {
				e.t.Fatalf("renew: %+v %v", rr, err)
			}
			e.noClaim(Claim{Agent: "b"})
		}
		_, err := e.st.Renew(e.ctx, a.Lease, time.Millisecond)
		wantErr(e.t, err, ErrInvalid)
	}},
	{"done completes the job and keeps every TransmissionDetails field", func(e *env) {
		m := e.submit(Submission{})
		j := e.claim1()
		want := fullAttempt("job1#1")
		res := e.report(Report{Lease: j.Lease, Key: "job1#1", Outcome: OutcomeDone, Attempt: want})
		if res.State != JobDone || res.Stale || res.Duplicate || res.AttemptID == 0 {
			e.t.Fatalf("report %+v", res)
		}
		got := e.message(m.ID)
		if got.Folder != FolderSent || got.Status != "Completed" || got.JobsComplete != 1 || got.Completed.IsZero() {
			e.t.Fatalf("message %+v", got.Message)
		}
		jd := got.Jobs[0]
		if jd.State != JobDone || jd.PagesSent != 4 || jd.RemoteCSID != "ROBOFAX" || jd.Speed != 33600 || len(jd.Attempts) != 1 {
			e.t.Fatalf("job %+v", jd)
		}
		a := jd.Attempts[0]
		w := *want
		w.ID, w.JobID, w.MessageID, w.Direction, w.Lease, w.Outcome = res.AttemptID, j.ID, m.ID, Outbound, j.Lease, OutcomeDone
		w.CreateDate, w.CompleteDate, w.ScheduleDate = e.clk.Now(), e.clk.Now(), j.NotBefore
		a.CreateDate, a.CompleteDate, a.ScheduleDate = a.CreateDate.UTC(), a.CompleteDate.UTC(), a.ScheduleDate.UTC()
		w.CreateDate, w.CompleteDate, w.ScheduleDate = w.CreateDate.UTC(), w.CompleteDate.UTC(), w.ScheduleDate.UTC()
		if fmt.Sprintf("%+v", a) != fmt.Sprintf("%+v", w) {
			e.t.Fatalf("attempt\n got %+v\nwant %+v", a, w)
		}
		_, err := e.st.Renew(e.ctx, j.Lease, time.Minute)
		wantErr(e.t, err, ErrLeaseLost)
		e.noClaim(Claim{})
	}},
	{"retry requeues at T from page N until the attempts run out", func(e *env) {
		m := e.submit(Submission{MaxAttempts: 2})
		j := e.claim1()
		at := e.clk.Now().Add(5 * time.Minute)
		res := e.report(Report{Lease: j.Lease, Key: "k1", Outcome: OutcomeRetry, RetryAt: at, ResumePage: 2, PagesSent: 2,
			ErrorID: 2, ErrorText: "busy"})
		if res.State != JobQueued {
			e.t.Fatalf("report %+v", res)
		}
		jd := e.job(j.ID)
		if jd.State != JobQueued || jd.StartPage != 2 || !jd.NotBefore.Equal(at) || jd.ErrorText != "busy" || jd.PagesSent != 2 {
			e.t.Fatalf("job %+v", jd.Job)
		}
		// A message stays "Sending" from its first claim until it ends.
		if got := e.message(m.ID); got.Status != "Sending" || got.Folder != FolderOutbox {
			e.t.Fatalf("message %+v", got.Message)
		}
		e.noClaim(Claim{})
		e.clk.Advance(5 * time.Minute)
		j2 := e.claim1()
		if j2.StartPage != 2 || j2.Attempts != 2 {
			e.t.Fatalf("second claim %+v", j2.Job)
		}
		res = e.report(Report{Lease: j2.Lease, Key: "k2", Outcome: OutcomeRetry, RetryAt: at, ErrorID: 2, ErrorText: "busy"})
		if res.State != JobFailed {
			e.t.Fatalf("last retry gave %+v, want failed", res)
		}
		if jd := e.job(j.ID); jd.ErrorText != "busy (no attempts left)" || len(jd.Attempts) != 2 || jd.Attempts[1].AttemptNo != 2 {
			e.t.Fatalf("job %+v", jd)
		}
		if got := e.message(m.ID); got.Status != "Failed" || got.Folder != FolderSent {
			e.t.Fatalf("message %+v", got.Message)
		}
		n, err := e.st.RetryFailed(e.ctx, m.ID)
		if err != nil || n != 1 {
			e.t.Fatalf("retry failed: %d %v", n, err)
		}
		if got := e.message(m.ID); got.Status != "Queued" || got.Folder != FolderOutbox || !got.Completed.IsZero() {
			e.t.Fatalf("message after RetryFailed %+v", got.Message)
		}
		// A fresh budget after the attempts made: numbering goes on.
		if j3 := e.claim1(); j3.Attempts != 3 || j3.MaxAttempts != 2+m.MaxAttempts || j3.Lease.Epoch != 3 {
			e.t.Fatalf("claim after RetryFailed %+v", j3.Job)
		}
	}},
	{"failed ends the job with its reason", func(e *env) {
		m := e.submit(Submission{Recipients: []Recipient{{Fax: "1"}, {Fax: "2"}}})
		a, b := e.claim1(), e.claim1()
		e.report(Report{Lease: a.Lease, Key: "a", Outcome: OutcomeFailed, ErrorID: 5, ErrorText: "remote terminal is incompatible"})
		if got := e.message(m.ID); got.Status != "Sending" || got.JobsComplete != 1 {
			e.t.Fatalf("message %+v", got.Message)
		}
		e.report(Report{Lease: b.Lease, Key: "b", Outcome: OutcomeDone})
		got := e.message(m.ID)
		if got.Status != "Partial" || got.Folder != FolderSent || got.Jobs[0].ErrorID != 5 ||
			got.Jobs[0].ErrorText != "remote terminal is incompatible" || got.Jobs[0].Attempts[0].ErrorID != 5 {
			e.t.Fatalf("message %+v", got)
		}
	}},
	{"cancel ends queued jobs at once and flags jobs in a call", func(e *env) {
		m := e.submit(Submission{Recipients: []Recipient{{Fax: "1"}, {Fax: "2"}, {Fax: "3"}}})
		a := e.claim1()
		res, err := e.st.Cancel(e.ctx, m.ID)
		if err != nil || res.Cancelled != 2 || res.Flagged != 1 {
			e.t.Fatalf("cancel: %+v %v", res, err)
		}
		e.noClaim(Claim{})
		rr, err := e.st.Renew(e.ctx, a.Lease, time.Minute)
		if err != nil || !rr.Cancel {
			e.t.Fatalf("renew after cancel: %+v %v", rr, err)
		}
		if got := e.message(m.ID); got.Status != "Sending" {
			e.t.Fatalf("message %+v", got.Message)
		}
		r := e.report(Report{Lease: a.Lease, Key: "a1", Outcome: OutcomeRetry, RetryAt: e.clk.Now(), ErrorID: 13, ErrorText: "cancelled"})
		if r.State != JobCancelled {
			e.t.Fatalf("report after cancel %+v", r)
		}
		got := e.message(m.ID)
		if got.Status != "Cancelled" || got.Folder != FolderCancelled {
			e.t.Fatalf("message %+v", got.Message)
		}
		_, err = e.st.Cancel(e.ctx, m.ID)
		wantErr(e.t, err, ErrState)
		_, err = e.st.Cancel(e.ctx, 999999)
		wantErr(e.t, err, ErrNotFound)
	}},
	{"a report repeated by attempt ID changes nothing", func(e *env) {
		e.submit(Submission{MaxAttempts: 3})
		j := e.claim1()
		// The record first (agent.Reporter), then the outcome (agent.Queue).
		rec := *fullAttempt("j#1")
		rec.JobID = j.ID
		rec.TransmitStatusDef, rec.PageSent = "Retry", 1
		id1, err := e.st.RecordAttempt(e.ctx, rec)
		if err != nil {
			e.t.Fatal(err)
		}
		if id2, err := e.st.RecordAttempt(e.ctx, rec); err != nil || id2 != id1 {
			e.t.Fatalf("record again: %d %v", id2, err)
		}
		r := Report{Lease: j.Lease, Key: "j#1", Outcome: OutcomeRetry, RetryAt: e.clk.Now(), ResumePage: 1, PagesSent: 1}
		first := e.report(r)
		second := e.report(r)
		if first.AttemptID != id1 || first.Duplicate || !second.Duplicate || second.AttemptID != id1 || second.State != JobQueued {
			e.t.Fatalf("reports %+v then %+v", first, second)
		}
		jd := e.job(j.ID)
		if len(jd.Attempts) != 1 || jd.PagesSent != 1 || jd.Attempts[0].RemoteCSID != "ROBOFAX" || jd.Attempts[0].Outcome != OutcomeRetry {
			e.t.Fatalf("job %+v", jd)
		}
		// After the job moved on, the same report still changes nothing.
		j2 := e.claim1()
		if again := e.report(r); !again.Duplicate {
			e.t.Fatalf("third report %+v", again)
		}
		if jd := e.job(j.ID); jd.State != JobLeased || jd.Lease != j2.Lease {
			e.t.Fatalf("job after repeat %+v", jd.Job)
		}
		_, err = e.st.Report(e.ctx, Report{Lease: j2.Lease, Key: "", Outcome: OutcomeDone})
		wantErr(e.t, err, ErrInvalid)
	}},
	{"an attempt keeps ECM, media, packet losses and the SIP answer; its error text is one line", func(e *env) {
		e.submit(Submission{MaxAttempts: 3})
		j := e.claim1()
		rec := *fullAttempt("j#1")
		rec.JobID = j.ID
		rec.ECM, rec.Media, rec.PacketsLost, rec.PacketsRecovered = true, "audio", 3, 0
		rec.SIPCode, rec.SIPReason = 488, "Not Acceptable Here"
		rec.ErrorInfo = "training failed:\nno CFR\r\n\tafter 3 tries"
		if _, err := e.st.RecordAttempt(e.ctx, rec); err != nil {
			e.t.Fatal(err)
		}
		e.report(Report{Lease: j.Lease, Key: "j#1", Outcome: OutcomeRetry, RetryAt: e.clk.Now(), ErrorID: 4, ErrorText: "training failed"})
		jd := e.job(j.ID)
		if len(jd.Attempts) != 1 {
			e.t.Fatalf("attempts %+v", jd.Attempts)
		}
		a := jd.Attempts[0]
		if !a.ECM || a.Media != "audio" || a.PacketsLost != 3 || a.SIPCode != 488 || a.SIPReason != "Not Acceptable Here" {
			e.t.Fatalf("attempt %+v", a)
		}
		if a.ErrorInfo != "training failed: no CFR after 3 tries" {
			e.t.Fatalf("error text %q, want one line", a.ErrorInfo)
		}
	}},
	{"a report for a lost lease is kept but changes nothing", func(e *env) {
		e.submit(Submission{})
		a := e.claim(Claim{Agent: "a", Lease: 10 * time.Second})[0]
		e.clk.Advance(11 * time.Second)
		b := e.claim(Claim{Agent: "b"})[0]
		res, err := e.st.Report(e.ctx, Report{Lease: a.Lease, Key: "a#1", Outcome: OutcomeDone, Attempt: fullAttempt("a#1")})
		wantErr(e.t, err, ErrLeaseLost)
		if !res.Stale || res.AttemptID == 0 {
			e.t.Fatalf("stale report %+v", res)
		}
		jd := e.job(a.ID)
		if jd.State != JobLeased || jd.Lease != b.Lease || len(jd.Attempts) != 1 || !jd.Attempts[0].Stale {
			e.t.Fatalf("job after stale report %+v", jd)
		}
		e.report(Report{Lease: b.Lease, Key: "b#2", Outcome: OutcomeFailed, ErrorID: 5, ErrorText: "incompatible"})
		// A late success of the lost lease does not overwrite the newer outcome.
		_, err = e.st.Report(e.ctx, Report{Lease: a.Lease, Key: "a#1-late", Outcome: OutcomeDone})
		wantErr(e.t, err, ErrLeaseLost)
		jd = e.job(a.ID)
		if jd.State != JobFailed || len(jd.Attempts) != 3 || jd.Attempts[1].Stale || !jd.Attempts[2].Stale {
			e.t.Fatalf("job %+v", jd)
		}
	}},
	{"live progress is kept for the lease holder only", func(e *env) {
		m := e.submit(Submission{Recipients: []Recipient{{Fax: "1"}, {Fax: "2"}}, MaxAttempts: 3})
		progress := func(id int64) JobProgress {
			e.t.Helper()
			return e.job(id).Progress
		}
		a := e.claim(Claim{Agent: "a", Max: 1, Lease: 10 * time.Second})[0]
		if p := progress(a.ID); p != (JobProgress{InCall: true}) {
			e.t.Fatalf("progress before any report %+v", p)
		}
		for sent := range 3 {
			if err := e.st.Progress(e.ctx, a.Lease, sent, 5); err != nil {
				e.t.Fatal(err)
			}
		}
		if p := progress(a.ID); p != (JobProgress{InCall: true, PagesSent: 2, PagesTotal: 5}) {
			e.t.Fatalf("progress %+v", p)
		}
		// The other recipient is untouched; the message shows both.
		md := e.message(m.ID)
		if md.Jobs[0].Progress != (JobProgress{InCall: true, PagesSent: 2, PagesTotal: 5}) || md.Jobs[1].Progress != (JobProgress{}) {
			e.t.Fatalf("message jobs progress %+v, %+v", md.Jobs[0].Progress, md.Jobs[1].Progress)
		}
		for _, bad := range [][2]int{{-1, 5}, {6, 5}, {0, -1}} {
			wantErr(e.t, e.st.Progress(e.ctx, a.Lease, bad[0], bad[1]), ErrInvalid)
		}
		// The lease expires and b takes the job: a's reports are ignored,
		// b starts with no progress of its own.
		e.clk.Advance(11 * time.Second)
		b := e.claim(Claim{Agent: "b", Max: 2})
		if len(b) != 2 || b[0].ID != a.ID {
			e.t.Fatalf("reclaimed %+v", b)
		}
		if p := progress(a.ID); p != (JobProgress{InCall: true}) {
			e.t.Fatalf("progress after the lease was lost %+v", p)
		}
		wantErr(e.t, e.st.Progress(e.ctx, a.Lease, 4, 5), ErrLeaseLost)
		if err := e.st.Progress(e.ctx, b[0].Lease, 3, 5); err != nil {
			e.t.Fatal(err)
		}
		wantErr(e.t, e.st.Progress(e.ctx, a.Lease, 5, 5), ErrLeaseLost)
		if p := progress(a.ID); p != (JobProgress{InCall: true, PagesSent: 3, PagesTotal: 5}) {
			e.t.Fatalf("progress of the new holder %+v", p)
		}
		// Once the attempt ends the job is no longer in a call, and a late
		// report changes nothing.
		e.report(Report{Lease: b[0].Lease, Key: "b#2", Outcome: OutcomeDone})
		wantErr(e.t, e.st.Progress(e.ctx, b[0].Lease, 5, 5), ErrLeaseLost)
		if p := progress(a.ID); p != (JobProgress{}) {
			e.t.Fatalf("progress of a done job %+v", p)
		}
		wantErr(e.t, e.st.Progress(e.ctx, Lease{JobID: 999999, Epoch: 1}, 0, 1), ErrLeaseLost)
	}},
	{"a lease that expires on the last attempt fails the job", func(e *env) {
		m := e.submit(Submission{MaxAttempts: 1})
		e.claim(Claim{Lease: 10 * time.Second})
		e.clk.Advance(10 * time.Second)
		e.noClaim(Claim{Agent: "b"})
		jd := e.job(m.Jobs[0].ID)
		if jd.State != JobFailed || !strings.Contains(jd.ErrorText, "lease expired") {
			e.t.Fatalf("job %+v", jd.Job)
		}
		if got := e.message(m.ID); got.Status != "Failed" {
			e.t.Fatalf("message %+v", got.Message)
		}
	}},
	{"unclaim gives the job back without an attempt", func(e *env) {
		e.submit(Submission{})
		a := e.claim1()
		if err := e.st.Unclaim(e.ctx, a.Lease); err != nil {
			e.t.Fatal(err)
		}
		wantErr(e.t, e.st.Unclaim(e.ctx, a.Lease), ErrLeaseLost)
		b := e.claim1()
		if b.Attempts != 1 || b.Lease.Epoch != 2 {
			e.t.Fatalf("claim after unclaim %+v", b.Job)
		}
	}},
	{"presets pin jobs to an agent, port or group", func(e *env) {
		a2, err := e.st.EnrolAgent(e.ctx, "agent-2")
		if err != nil {
			e.t.Fatal(err)
		}
		id2 := strconv.FormatInt(a2.ID, 10)
		port := e.submit(Submission{Subject: "port", Preset: Preset{Type: PresetPort, Value: "M0,3"}})
		group := e.submit(Submission{Subject: "group", Preset: Preset{Type: PresetGroup, Value: "sales"}})
		byID := e.submit(Submission{Subject: "agent", Preset: Preset{Agent: id2}})
		byName := e.submit(Submission{Subject: "agent", Preset: Preset{Agent: "agent-2", Type: PresetGroup, Value: "sales"}})
		if byName.Preset.Agent != id2 {
			e.t.Fatalf("a preset by the agent's name is stored as %q, want its ID %s", byName.Preset.Agent, id2)
		}
		// A preset to an agent the core does not know is refused at once.
		for _, ref := range []string{"100999", "no-such-agent"} {
			_, err := e.st.Submit(e.ctx, Submission{OwnerID: e.user.ID, Preset: Preset{Agent: ref},
				Recipients: []Recipient{{Fax: "5550100"}}, Documents: []DocumentInput{{Name: "a.tif", Body: strings.NewReader("II*\x00")}}})
			wantErr(e.t, err, ErrInvalid)
		}
		e.noClaim(Claim{Agent: "agent-1", Ports: []string{"M0,1"}, Groups: []string{"support"}})
		if j := e.claim(Claim{Agent: "agent-1", Ports: []string{"M0,3"}}); len(j) != 1 || j[0].MessageID != port.ID ||
			j[0].Preset.Value != "M0,3" {
			e.t.Fatalf("port preset: %+v", j)
		}
		if j := e.claim(Claim{Agent: "agent-1", Groups: []string{"sales"}}); len(j) != 1 || j[0].MessageID != group.ID {
			e.t.Fatalf("group preset: %+v", j)
		}
		if j := e.claim(Claim{Agent: id2, Max: 5, Groups: []string{"sales"}}); len(j) != 2 || j[0].MessageID != byID.ID || j[1].MessageID != byName.ID {
			e.t.Fatalf("agent preset: %+v", j)
		}
	}},
	{"alter changes waiting recipients: number, priority, time, hold and release", func(e *env) {
		m := e.submit(Submission{Recipients: []Recipient{{Fax: "5550100"}}, Hold: true})
		hold, release := true, false
		if n, err := e.st.Alter(e.ctx, m.ID, Alteration{Fax: "555 0104", Priority: PriorityHigh}); err != nil || n != 1 {
			e.t.Fatalf("alter: %d %v", n, err)
		}
		e.noClaim(Claim{}) // still held
		if _, err := e.st.Alter(e.ctx, m.ID, Alteration{Hold: &release, NotBefore: e.clk.Now().Add(time.Hour)}); err != nil {
			e.t.Fatal(err)
		}
		if got := e.message(m.ID); got.Status != "Queued" || got.Folder != FolderOutbox || got.Priority != PriorityHigh || got.Hold {
			e.t.Fatalf("released: %+v", got.Message)
		}
		e.noClaim(Claim{}) // not before an hour from now
		if _, err := e.st.Alter(e.ctx, m.ID, Alteration{Hold: &hold}); err != nil {
			e.t.Fatal(err)
		}
		if got := e.message(m.ID); got.Status != "Held" || got.Folder != FolderHold {
			e.t.Fatalf("held again: %+v", got.Message)
		}
		e.st.Alter(e.ctx, m.ID, Alteration{Hold: &release, NotBefore: e.clk.Now()})
		j := e.claim1()
		if j.Recipient.Fax != "5550104" || j.Priority != PriorityHigh {
			e.t.Fatalf("claimed %+v", j.Job)
		}
		wantErr(e.t, func() error { _, err := e.st.Alter(e.ctx, m.ID, Alteration{Priority: PriorityLow}); return err }(), ErrState)
		wantErr(e.t, func() error { _, err := e.st.Alter(e.ctx, 999, Alteration{Priority: PriorityLow}); return err }(), ErrNotFound)
		two := e.submit(Submission{Recipients: []Recipient{{Fax: "1"}, {Fax: "2"}}})
		wantErr(e.t, func() error { _, err := e.st.Alter(e.ctx, two.ID, Alteration{Fax: "3"}); return err }(), ErrInvalid)
		wantErr(e.t, func() error { _, err := e.st.Alter(e.ctx, two.ID, Alteration{Priority: 3}); return err }(), ErrInvalid)
	}},
	{"a preset-only claim takes only jobs preset to its ports or groups", func(e *env) {
		anywhere := e.submit(Submission{Subject: "anywhere"})
		group := e.submit(Submission{Subject: "group", Preset: Preset{Type: PresetGroup, Value: "loopback"}})
		e.noClaim(Claim{Agent: "agent-1", Max: 5, Ports: []string{"M0,1"}, PresetOnly: true})
		if j := e.claim(Claim{Agent: "agent-1", Max: 5, Groups: []string{"loopback"}, PresetOnly: true}); len(j) != 1 || j[0].MessageID != group.ID {
			e.t.Fatalf("preset-only claim: %+v", j)
		}
		if j := e.claim(Claim{Agent: "agent-1", Max: 5, Ports: []string{"M1,0"}}); len(j) != 1 || j[0].MessageID != anywhere.ID {
			e.t.Fatalf("claim: %+v", j)
		}
	}},
	{"inbound routing rules, priority, AND/OR and the unrouted fallback", func(e *env) {
		sales, err := e.st.CreateUser(e.ctx, NewUser{Username: "sales", Password: "sales-password"})
		if err != nil {
			e.t.Fatal(err)
		}
		support, err := e.st.CreateUser(e.ctx, NewUser{Username: "support", Password: "support-password"})
		if err != nil {
			e.t.Fatal(err)
		}
		routes := []Route{
			{UserID: sales.ID, Cond1: RouteCondition{RouteRoutingDigits, "5550100"}, Active: true, Priority: 10},
			{UserID: support.ID, Cond1: RouteCondition{RouteRemoteCSID, "robofax"}, Active: true, Priority: 110},
			{UserID: support.ID, Cond1: RouteCondition{RouteRoutingDigits, "5550200"}, And: true,
				Cond2: RouteCondition{RoutePortNo, "3"}, Active: true, Priority: 50},
			{UserID: sales.ID, Cond1: RouteCondition{RouteCallerID, "+49*"}, Cond2: RouteCondition{RouteRemoteCSID, "ACME"},
				Active: true, Priority: 40},
			{UserID: support.ID, Cond1: RouteCondition{RouteRoutingDigits, "5550300"}, Active: false, Priority: 200},
		}
		for _, r := range routes {
			if _, err := e.st.CreateRoute(e.ctx, r); err != nil {
				e.t.Fatal(err)
			}
		}
		for i, c := range []struct {
			t     Transmission
			owner int64
		}{
			{Transmission{AttemptFacts: agent.AttemptFacts{RoutingInfo: "5550100", RemoteCSID: "x"}}, sales.ID},
			{Transmission{AttemptFacts: agent.AttemptFacts{RoutingInfo: "5550100", RemoteCSID: " ROBOFAX "}}, support.ID}, // higher priority wins
			{Transmission{AttemptFacts: agent.AttemptFacts{RoutingInfo: "5550200", PortNo: 3}}, support.ID},
			{Transmission{AttemptFacts: agent.AttemptFacts{RoutingInfo: "5550200", PortNo: 4}}, 0}, // AND fails
			{Transmission{AttemptFacts: agent.AttemptFacts{CallingNumber: "+4930123"}}, sales.ID},  // OR, prefix
			{Transmission{AttemptFacts: agent.AttemptFacts{RemoteCSID: "acme"}}, sales.ID},         // OR, second condition
			{Transmission{AttemptFacts: agent.AttemptFacts{RoutingInfo: "5550300"}}, 0},            // inactive rule
			{Transmission{AttemptFacts: agent.AttemptFacts{CalledNumber: "5550100"}}, sales.ID},    // DID when no routing digits
		} {
			in := InboundFax{Key: fmt.Sprintf("agent-1/call-%d", i), Pages: 1, Body: strings.NewReader(fmt.Sprintf("II*\x00 fax %d", i)), Attempt: c.t}
			m, err := e.st.Receive(e.ctx, in)
			if err != nil {
				e.t.Fatal(err)
			}
			wantFolder := FolderInbox
			if c.owner == 0 {
				wantFolder = FolderUnrouted
			}
			if m.OwnerID != c.owner || m.Folder != wantFolder || m.Direction != Inbound || len(m.Received) != 1 ||
				len(m.Documents) != 1 || m.Documents[0].Name != "fax.tif" || m.Received[0].Outcome != OutcomeReceived {
				e.t.Fatalf("call %d: %+v", i, m)
			}
		}
		// The same reception reported twice is one message.
		in := InboundFax{Key: "agent-1/call-0", Body: strings.NewReader("II*\x00 fax 0")}
		m, err := e.st.Receive(e.ctx, in)
		if err != nil {
			e.t.Fatal(err)
		}
		if list, total, err := e.st.Messages(e.ctx, MessageQuery{Folder: FolderInbox, OwnerID: sales.ID}); err != nil || total != 4 || len(list) != 4 {
			e.t.Fatalf("sales inbox: %d %v", total, err)
		}
		if list, total, _ := e.st.Messages(e.ctx, MessageQuery{Folder: "Unrouted", Limit: 1, Offset: 1}); total != 2 || len(list) != 1 {
			e.t.Fatalf("unrouted: %d %d", total, len(list))
		}
		if n := e.count("messages"); n != 8 || m.OwnerID != sales.ID {
			e.t.Fatalf("%d messages after a repeated reception", n)
		}
		_, err = e.st.CreateRoute(e.ctx, Route{UserID: sales.ID, Cond1: RouteCondition{"Barcode", "1"}})
		wantErr(e.t, err, ErrInvalid)
		_, err = e.st.CreateRoute(e.ctx, Route{UserID: 12345, Cond1: RouteCondition{RouteRemoteCSID, "x"}})
		wantErr(e.t, err, ErrNotFound)
	}},
	{"users: admin at first start, passwords hashed, authentication", func(e *env) {
		admin, err := e.st.Authenticate(e.ctx, AdminUser, testAdminPassword)
		if err != nil || !admin.Admin || admin.Username != AdminUser {
			e.t.Fatalf("admin: %+v %v", admin, err)
		}
		var h string
		if err := e.st.read().row(e.ctx, "SELECT password_hash FROM users WHERE username = 'admin'").Scan(&h); err != nil {
			e.t.Fatal(err)
		}
		if !strings.HasPrefix(h, "$2a$") || strings.Contains(h, testAdminPassword) {
			e.t.Fatalf("stored hash %q", h)
		}
		for _, c := range []struct{ user, pw string }{{AdminUser, "wrong password"}, {"nobody", testAdminPassword}, {AdminUser, ""}} {
			_, err := e.st.Authenticate(e.ctx, c.user, c.pw)
			wantErr(e.t, err, ErrAuth)
		}
		_, err = e.st.CreateUser(e.ctx, NewUser{Username: "admin", Password: "another-password"})
		wantErr(e.t, err, ErrExists)
		_, err = e.st.CreateUser(e.ctx, NewUser{Username: "x", Password: "short"})
		wantErr(e.t, err, ErrInvalid)
		_, err = e.st.CreateUser(e.ctx, NewUser{Username: "../x", Password: "long enough"})
		wantErr(e.t, err, ErrInvalid)
		if err := e.st.SetUserActive(e.ctx, e.user.ID, false); err != nil {
			e.t.Fatal(err)
		}
		_, err = e.st.Authenticate(e.ctx, e.user.Username, "user-password")
		wantErr(e.t, err, ErrAuth)
		// A second start keeps the account and returns no password.
		o := e.o
		o.AdminPassword = ""
		st2, fs, err := Open(e.ctx, o)
		if err != nil {
			e.t.Fatal(err)
		}
		st2.Close()
		if fs.AdminCreated || fs.AdminPassword != "" {
			e.t.Fatalf("second start %+v", fs)
		}
		var versions int
		e.st.read().row(e.ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&versions)
		if versions != SchemaVersion() {
			e.t.Fatalf("%d migrations recorded, want %d", versions, SchemaVersion())
		}
	}},
	{"flags, folders and paging", func(e *env) {
		var ids []int64
		for i := range 5 {
			ids = append(ids, e.submit(Submission{Subject: fmt.Sprint(i)}).ID)
		}
		list, total, err := e.st.Messages(e.ctx, MessageQuery{Folder: FolderOutbox, Limit: 2, Offset: 1})
		if err != nil || total != 5 || len(list) != 2 || list[0].ID != ids[3] || list[1].ID != ids[2] {
			e.t.Fatalf("page: %d %v %v", total, list, err)
		}
		if err := e.st.MarkRead(e.ctx, ids[0], true); err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.MarkDownloaded(e.ctx, ids[0]); err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.Move(e.ctx, ids[0], FolderProcessed); err != nil {
			e.t.Fatal(err)
		}
		m := e.message(ids[0])
		if !m.Read || !m.Downloaded || m.Folder != FolderProcessed {
			e.t.Fatalf("flags %+v", m.Message)
		}
		if err := e.st.MarkRead(e.ctx, ids[0], false); err != nil || e.message(ids[0]).Read {
			e.t.Fatalf("unread: %v", err)
		}
		wantErr(e.t, e.st.Move(e.ctx, ids[0], "junk"), ErrUnknownFolder)
		wantErr(e.t, e.st.Move(e.ctx, 424242, FolderTrash), ErrNotFound)
		_, _, err = e.st.Messages(e.ctx, MessageQuery{Folder: "../inbox"})
		wantErr(e.t, err, ErrUnknownFolder)
	}},
	{"bad input stores nothing", func(e *env) {
		before := e.count("messages")
		for _, c := range []struct {
			name string
			sub  Submission
			want error
		}{
			{"path name", Submission{Documents: []DocumentInput{{Name: "../../etc/passwd", Body: strings.NewReader("x")}}}, ErrInvalid},
			{"dir name", Submission{Documents: []DocumentInput{{Name: "docs/a.tif", Body: strings.NewReader("x")}}}, ErrInvalid},
			{"windows path", Submission{Documents: []DocumentInput{{Name: `C:\fax.tif`, Body: strings.NewReader("x")}}}, ErrInvalid},
			{"dot file", Submission{Documents: []DocumentInput{{Name: "..", Body: strings.NewReader("x")}}}, ErrInvalid},
			{"no name", Submission{Documents: []DocumentInput{{Body: strings.NewReader("x")}}}, ErrInvalid},
			{"control char", Submission{Documents: []DocumentInput{{Name: "a\x00.tif", Body: strings.NewReader("x")}}}, ErrInvalid},
			{"oversized", Submission{Documents: []DocumentInput{{Name: "big.tif", Body: bytes.NewReader(make([]byte, 4097))}}}, ErrTooLarge},
			{"oversized second", Submission{Documents: []DocumentInput{{Name: "ok.tif", Body: strings.NewReader("fine")},
				{Name: "big.tif", Body: bytes.NewReader(make([]byte, 5000))}}}, ErrTooLarge},
			{"empty", Submission{Documents: []DocumentInput{{Name: "e.tif", Body: strings.NewReader("")}}}, ErrInvalid},
			{"unknown document", Submission{Documents: []DocumentInput{{Name: "x.tif", ID: 987654}}}, ErrNotFound},
			{"bad number", Submission{Recipients: []Recipient{{Fax: "12; DROP TABLE jobs"}}}, ErrInvalid},
			{"no number", Submission{Recipients: []Recipient{{Fax: " - "}}}, ErrInvalid},
			{"too many recipients", Submission{Recipients: make([]Recipient, MaxRecipients+1)}, ErrInvalid},
			{"priority", Submission{Priority: 55}, ErrInvalid},
			{"attempts", Submission{MaxAttempts: -1}, ErrInvalid},
			{"preset", Submission{Preset: Preset{Type: 7, Value: "x"}}, ErrInvalid},
			{"owner", Submission{OwnerID: 55555}, ErrNotFound},
		} {
			s := c.sub
			if s.OwnerID == 0 {
				s.OwnerID = e.user.ID
			}
			if s.Recipients == nil {
				s.Recipients = []Recipient{{Fax: "123"}}
			}
			if s.Documents == nil {
				s.Documents = []DocumentInput{{Name: "a.tif", Body: strings.NewReader("data " + c.name)}}
			}
			_, err := e.st.Submit(e.ctx, s)
			if !errors.Is(err, c.want) {
				e.t.Fatalf("%s: error %v, want %v", c.name, err, c.want)
			}
		}
		_, err := e.st.PutDocument(e.ctx, DocumentInput{Name: "../x", Body: strings.NewReader("x")})
		wantErr(e.t, err, ErrInvalid)
		_, err = e.st.Receive(e.ctx, InboundFax{Key: "k", Name: "/tmp/x.tif", Body: strings.NewReader("x")})
		wantErr(e.t, err, ErrInvalid)
		_, err = e.st.Receive(e.ctx, InboundFax{Key: "k", Body: bytes.NewReader(make([]byte, 5000))})
		wantErr(e.t, err, ErrTooLarge)
		if n := e.count("messages"); n != before {
			e.t.Fatalf("%d messages after bad input, want %d", n, before)
		}
		if n := e.count("documents") + e.count("jobs") + e.count("attempts"); n != 0 {
			e.t.Fatalf("%d documents, jobs and attempts after bad input", n)
		}
		if files := e.spoolFiles(); len(files) != 0 {
			e.t.Fatalf("spool after bad input: %v", files)
		}
		_, err = e.st.Claim(e.ctx, Claim{})
		wantErr(e.t, err, ErrInvalid)
		_, err = e.st.Claim(e.ctx, Claim{Agent: "a", Max: MaxClaim + 1})
		wantErr(e.t, err, ErrInvalid)
	}},
	{"agents are enrolled with integer IDs and report heartbeats", func(e *env) {
		a1, err := e.st.EnrolAgent(e.ctx, "agent-1")
		if err != nil || a1.ID != FirstAgentID || a1.Name != "agent-1" {
			e.t.Fatalf("enrol: %+v %v", a1, err)
		}
		a2, err := e.st.EnrolAgent(e.ctx, "agent-2")
		if err != nil || a2.ID != FirstAgentID+1 {
			e.t.Fatalf("enrol: %+v %v", a2, err)
		}
		if again, err := e.st.EnrolAgent(e.ctx, "agent-1"); err != nil || again.ID != a1.ID {
			e.t.Fatalf("enrolling a name again: %+v %v", again, err)
		}
		for _, bad := range []string{"", "100001", strings.Repeat("x", 65)} {
			_, err := e.st.EnrolAgent(e.ctx, bad)
			wantErr(e.t, err, ErrInvalid)
		}
		if err := e.st.Heartbeat(e.ctx, AgentInfo{ID: a1.ID, Host: "h1", Ports: 4, Licensed: 4}); err != nil {
			e.t.Fatal(err)
		}
		e.clk.Advance(time.Minute)
		if err := e.st.Heartbeat(e.ctx, AgentInfo{ID: a1.ID, Host: "h1", Ports: 4, Licensed: 4, Busy: 2}); err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.Heartbeat(e.ctx, AgentInfo{ID: a2.ID, Ports: 64}); err != nil {
			e.t.Fatal(err)
		}
		as, err := e.st.Agents(e.ctx)
		if err != nil || len(as) != 2 || as[0].Busy != 2 || !as[0].Heartbeat.Equal(e.clk.Now()) || as[1].Ports != 64 ||
			as[0].Name != "agent-1" || as[1].ID != a2.ID {
			e.t.Fatalf("agents %+v %v", as, err)
		}
		wantErr(e.t, e.st.Heartbeat(e.ctx, AgentInfo{}), ErrInvalid)
		wantErr(e.t, e.st.Heartbeat(e.ctx, AgentInfo{ID: 42}), ErrNotFound)
		for _, ref := range []string{"agent-2", strconv.FormatInt(a2.ID, 10)} {
			if got, err := e.st.ResolveAgent(e.ctx, ref); err != nil || got.ID != a2.ID {
				e.t.Fatalf("resolve %q: %+v %v", ref, got, err)
			}
		}
		_, err = e.st.ResolveAgent(e.ctx, "nobody")
		wantErr(e.t, err, ErrNotFound)
	}},
	{"user IDs start at FirstUserID", func(e *env) {
		admin, err := e.st.UserByName(e.ctx, AdminUser)
		if err != nil || admin.ID != FirstUserID || admin.Role != RoleSystemAdmin {
			e.t.Fatalf("admin %+v %v", admin, err)
		}
		if e.user.ID != FirstUserID+1 || e.user.Role != RoleStandardUser {
			e.t.Fatalf("first user %+v", e.user)
		}
		if u, err := e.st.Authenticate(e.ctx, AdminUser, testAdminPassword); err != nil || u.ID != FirstUserID {
			e.t.Fatalf("admin login %+v %v", u, err)
		}
	}},
	{"update user profile and role", func(e *env) {
		u := e.user
		u.FullName, u.Admin = "Dom Admin", true
		p := UserProfile{Role: RoleDomainAdmin, FirstName: "Dom", CompanyName: "Co", PreferAddrType: "Fax",
			LocalCSID: "CSID 1", Config: map[string]string{"k": "v"}}
		if err := e.st.UpdateUser(e.ctx, u, p); err != nil {
			e.t.Fatal(err)
		}
		got, err := e.st.User(e.ctx, u.ID)
		if err != nil || got.FullName != "Dom Admin" || !got.Admin || got.Role != RoleDomainAdmin || !got.Active {
			e.t.Fatalf("user %+v %v", got, err)
		}
		gp, err := e.st.Profile(e.ctx, u.ID)
		if err != nil || gp.Role != RoleDomainAdmin || gp.FirstName != "Dom" || gp.CompanyName != "Co" ||
			gp.PreferAddrType != "Fax" || gp.LocalCSID != "CSID 1" || gp.Config["k"] != "v" {
			e.t.Fatalf("profile %+v %v", gp, err)
		}
		// Bad input changes nothing.
		bad := []struct {
			u User
			p UserProfile
		}{
			{u, UserProfile{Role: "Boss"}},
			{u, UserProfile{Role: RoleStandardUser}}, // disagrees with Admin
			{u, UserProfile{Role: RoleDomainAdmin, PreferAddrType: "Pigeon"}},
			{u, UserProfile{Role: RoleDomainAdmin, LocalCSID: strings.Repeat("x", 21)}},
			{User{ID: u.ID, FullName: strings.Repeat("n", 201), Admin: true}, UserProfile{}},
		}
		for i, b := range bad {
			wantErr(e.t, e.st.UpdateUser(e.ctx, b.u, b.p), ErrInvalid)
			if gp2, _ := e.st.Profile(e.ctx, u.ID); gp2.FirstName != "Dom" || gp2.Role != RoleDomainAdmin {
				e.t.Fatalf("bad update %d changed the profile: %+v", i, gp2)
			}
		}
		wantErr(e.t, e.st.UpdateUser(e.ctx, User{ID: 424242}, UserProfile{}), ErrNotFound)
		// The last active administrator is neither demoted nor deactivated.
	}},
	{"remove user keeps history, frees the name, keeps an admin", func(e *env) {
		m := e.submit(Submission{OwnerID: e.user.ID, Recipients: []Recipient{{Fax: "1"}}})
		r, err := e.st.CreateRoute(e.ctx, Route{UserID: e.user.ID, Cond1: RouteCondition{Field: RouteRoutingDigits, Value: "5"}})
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.RemoveUser(e.ctx, e.user.ID); err != nil {
			e.t.Fatal(err)
		}
		_, err = e.st.User(e.ctx, e.user.ID)
		wantErr(e.t, err, ErrNotFound)
		_, err = e.st.Authenticate(e.ctx, "user", "user-password")
		wantErr(e.t, err, ErrAuth)
		wantErr(e.t, e.st.RemoveUser(e.ctx, e.user.ID), ErrNotFound)
		wantErr(e.t, e.st.SetUserActive(e.ctx, e.user.ID, true), ErrNotFound)
		if us, _ := e.st.Users(e.ctx); len(us) != 1 || us[0].Username != AdminUser {
			e.t.Fatalf("users %+v", us)
		}
		if got := e.message(m.ID); got.OwnerID != e.user.ID || len(got.Jobs) != 1 {
			e.t.Fatalf("message after removal %+v", got.Message)
		}
		if rs, _ := e.st.Routes(e.ctx); len(rs) != 1 || rs[0].ID != r.ID || rs[0].Active {
			e.t.Fatalf("routes after removal %+v", rs)
		}
		nu, err := e.st.CreateUser(e.ctx, NewUser{Username: "user", Password: "other-password"})
		if err != nil || nu.ID == e.user.ID {
			e.t.Fatalf("new user with the freed name %+v %v", nu, err)
		}
		admin, _ := e.st.UserByName(e.ctx, AdminUser)
		wantErr(e.t, e.st.RemoveUser(e.ctx, admin.ID), ErrState)
		wantErr(e.t, e.st.SetUserActive(e.ctx, admin.ID, false), ErrState)
		wantErr(e.t, e.st.UpdateUser(e.ctx, User{ID: admin.ID, Active: true}, UserProfile{}), ErrState)
		wantErr(e.t, e.st.UpdateUser(e.ctx, User{ID: admin.ID, Admin: true, Active: false}, UserProfile{}), ErrState)
		if a, _ := e.st.User(e.ctx, admin.ID); !a.Admin || !a.Active {
			e.t.Fatalf("admin after refused changes %+v", a)
		}
	}},
	{"tracking records", func(e *env) {
		m := e.submit(Submission{OwnerID: e.user.ID, Recipients: []Recipient{{Fax: "1"}},
			Tracks: []Track{{Label: "Order", Value: "A-1"}, {Label: "Dept", Value: "Sales"}}})
		ts, err := e.st.Tracks(e.ctx, m.ID)
		if err != nil || len(ts) != 2 || ts[0] != (Track{1, "Order", "A-1"}) || ts[1] != (Track{2, "Dept", "Sales"}) {
			e.t.Fatalf("tracks %+v %v", ts, err)
		}
		if err := e.st.UpdateTrack(e.ctx, m.ID, 2, "Support"); err != nil {
			e.t.Fatal(err)
		}
		wantErr(e.t, e.st.UpdateTrack(e.ctx, m.ID, 3, "x"), ErrNotFound)
		wantErr(e.t, e.st.UpdateTrack(e.ctx, m.ID, 1, strings.Repeat("x", 1001)), ErrInvalid)
		if ts, _ := e.st.Tracks(e.ctx, m.ID); len(ts) != 2 || ts[0].Value != "A-1" || ts[1].Value != "Support" {
			e.t.Fatalf("tracks after update %+v", ts)
		}
		if err := e.st.SetTracks(e.ctx, m.ID, []Track{{ID: 7, Label: "Only", Value: "one"}}); err != nil {
			e.t.Fatal(err)
		}
		if ts, _ := e.st.Tracks(e.ctx, m.ID); len(ts) != 1 || ts[0] != (Track{7, "Only", "one"}) {
			e.t.Fatalf("tracks after set %+v", ts)
		}
		wantErr(e.t, e.st.SetTracks(e.ctx, 424242, nil), ErrNotFound)
		wantErr(e.t, e.st.SetTracks(e.ctx, m.ID, []Track{{ID: 1}, {ID: 1}}), ErrInvalid)
		// A submission with bad tracking records stores nothing.
		before := e.count("messages")
		_, err = e.st.Submit(e.ctx, Submission{OwnerID: e.user.ID, Recipients: []Recipient{{Fax: "1"}},
			Documents: []DocumentInput{{Name: "a.tif", Body: strings.NewReader("II*\x00")}},
			Tracks:    []Track{{Label: strings.Repeat("l", 201)}}})
		wantErr(e.t, err, ErrInvalid)
		if e.count("messages") != before || e.count("message_tracks") != 1 {
			e.t.Fatalf("bad submission stored %d messages, %d tracks", e.count("messages")-before, e.count("message_tracks"))
		}
	}},
	{"copy and assign messages", func(e *env) {
		other, err := e.st.CreateUser(e.ctx, NewUser{Username: "other", Password: "other-password"})
		if err != nil {
			e.t.Fatal(err)
		}
		m := e.submit(Submission{OwnerID: e.user.ID, Subject: "s", Recipients: []Recipient{{Fax: "1"}},
			Tracks: []Track{{Label: "L", Value: "V"}}})
		cid, err := e.st.CopyMessage(e.ctx, m.ID, other.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		c := e.message(cid)
		if c.OwnerID != other.ID || c.Folder != FolderInbox || c.Subject != "s" || c.Read || len(c.Jobs) != 0 ||
			len(c.Documents) != 1 || c.Documents[0].ID != m.Documents[0].ID {
			e.t.Fatalf("copy %+v", c)
		}
		if ts, _ := e.st.Tracks(e.ctx, cid); len(ts) != 1 || ts[0] != (Track{1, "L", "V"}) {
			e.t.Fatalf("copy tracks %+v", ts)
		}
		if o := e.message(m.ID); o.OwnerID != e.user.ID || len(o.Jobs) != 1 {
			e.t.Fatalf("original after copy %+v", o.Message)
		}
		// To an unknown, inactive or removed user, or of an unknown
		// message: nothing is stored.
		n := e.count("messages")
		if err := e.st.SetUserActive(e.ctx, other.ID, false); err != nil {
			e.t.Fatal(err)
		}
		_, err = e.st.CopyMessage(e.ctx, m.ID, other.ID)
		wantErr(e.t, err, ErrNotFound)
		wantErr(e.t, e.st.AssignMessage(e.ctx, m.ID, other.ID), ErrNotFound)
		_, err = e.st.CopyMessage(e.ctx, m.ID, 424242)
		wantErr(e.t, err, ErrNotFound)
		_, err = e.st.CopyMessage(e.ctx, 424242, e.user.ID)
		wantErr(e.t, err, ErrNotFound)
		wantErr(e.t, e.st.AssignMessage(e.ctx, 424242, e.user.ID), ErrNotFound)
		if e.count("messages") != n || e.message(m.ID).OwnerID != e.user.ID {
			e.t.Fatal("a refused copy or assignment stored something")
		}
		if err := e.st.SetUserActive(e.ctx, other.ID, true); err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.MarkRead(e.ctx, m.ID, true); err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.AssignMessage(e.ctx, m.ID, other.ID); err != nil {
			e.t.Fatal(err)
		}
		if a := e.message(m.ID); a.OwnerID != other.ID || a.Read || a.Folder != FolderOutbox || len(a.Jobs) != 1 {
			e.t.Fatalf("assigned %+v", a.Message)
		}
		// GiveMessage: all or nothing.
		third, err := e.st.CreateUser(e.ctx, NewUser{Username: "third", Password: "third-password"})
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.SetUserActive(e.ctx, third.ID, false); err != nil {
			e.t.Fatal(err)
		}
		n = e.count("messages")
		_, err = e.st.GiveMessage(e.ctx, m.ID, []int64{e.user.ID, third.ID}, 0)
		wantErr(e.t, err, ErrNotFound)
		_, err = e.st.GiveMessage(e.ctx, m.ID, []int64{e.user.ID}, third.ID)
		wantErr(e.t, err, ErrNotFound)
		if e.count("messages") != n || e.message(m.ID).OwnerID != other.ID {
			e.t.Fatal("a refused GiveMessage stored something")
		}
		ids, err := e.st.GiveMessage(e.ctx, m.ID, []int64{e.user.ID}, e.user.ID)
		if err != nil || len(ids) != 1 || e.message(ids[0]).OwnerID != e.user.ID || e.message(m.ID).OwnerID != e.user.ID {
			e.t.Fatalf("give: %v %v", ids, err)
		}
	}},
	{"bootstrap does not recreate a removed admin while another is left", func(e *env) {
		u := e.user
		u.Admin = true
		if err := e.st.UpdateUser(e.ctx, u, UserProfile{}); err != nil {
			e.t.Fatal(err)
		}
		admin, _ := e.st.UserByName(e.ctx, AdminUser)
		if err := e.st.RemoveUser(e.ctx, admin.ID); err != nil {
			e.t.Fatal(err)
		}
		fs, err := e.st.bootstrap(e.ctx)
		if err != nil || fs.AdminCreated {
			e.t.Fatalf("bootstrap %+v %v", fs, err)
		}
		_, err = e.st.UserByName(e.ctx, AdminUser)
		wantErr(e.t, err, ErrNotFound)
	}},
	{"queue stats", func(e *env) {
		e.submit(Submission{Recipients: []Recipient{{Fax: "1"}, {Fax: "2"}, {Fax: "3"}}})
		e.submit(Submission{Hold: true})
		j := e.claim1()
		e.report(Report{Lease: j.Lease, Key: "x", Outcome: OutcomeDone})
		e.claim1()
		qs, err := e.st.QueueStats(e.ctx)
		if err != nil || qs.Queued != 1 || qs.Leased != 1 || qs.Done != 1 || qs.Held != 1 || !qs.OldestQueued.Equal(e.clk.Now()) {
			e.t.Fatalf("stats %+v %v", qs, err)
		}
	}},
}

// TestContract runs every behaviour of the store against both backends.
func TestContract(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			for _, c := range contractCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					st, clk, o := openTest(t, be, func(o *Options) { o.MaxDocumentSize = 4096 })
					ctx := context.Background()
					u, err := st.CreateUser(ctx, NewUser{Username: "user", Password: "user-password"})
					if err != nil {
						t.Fatal(err)
					}
					c.run(&env{t: t, ctx: ctx, st: st, clk: clk, o: o, be: be, user: u})
				})
			}
		})
	}
}

func TestFirstStartGeneratesAdminPassword(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, fs, err := Open(ctx, Options{DataDir: dir, PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !fs.AdminCreated || len(fs.AdminPassword) < 16 {
		t.Fatalf("first start %+v", fs)
	}
	if _, err := st.Authenticate(ctx, AdminUser, fs.AdminPassword); err != nil {
		t.Fatalf("generated password does not log in: %v", err)
	}
	for _, pw := range []string{"admin", "password", ""} {
		if _, err := st.Authenticate(ctx, AdminUser, pw); !errors.Is(err, ErrAuth) {
			t.Fatalf("password %q: %v", pw, err)
		}
	}
	_, _, err = Open(ctx, Options{DataDir: t.TempDir(), AdminPassword: "short"})
	wantErr(t, err, ErrInvalid)
}

// TestMigrationFromVersion1 fills a version 1 database with a message in
// every job state, then opens it with this build: version 2 adds the
// message counters and fills them from the jobs, and the queue goes on.
func TestMigrationFromVersion1(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, clk, o := openTest(t, be, func(o *Options) { o.schemaVersion = 1 })
			ctx := context.Background()
			d := st.read()
			// A version 1 admin account has ID 1, as the first row.
			const hash = "$2a$04$3wK3lWcRzvTQh5e7Zb1zEu5h5dE0X3H3s4PqvH5lY4vJ5Xq1i3b4G"
			if _, err := d.exec(ctx, "INSERT INTO domains (id, name, created_at) VALUES (1, 'default', 0)"); err != nil {
				t.Fatal(err)
			}
			if _, err := d.exec(ctx, `INSERT INTO users (id, username, domain_id, password_hash, full_name, is_admin, created_at)
				VALUES (1, 'admin', 1, ?, 'Administrator', 1, 0), (2, 'bob', 1, ?, 'Bob', 0, 0)`, hash, hash); err != nil {
				t.Fatal(err)
			}
			var msg int64
			if err := d.row(ctx, `INSERT INTO messages (owner_id, direction, folder, status, priority, schedule_at, max_attempts,
				jobs_total, jobs_final, created_at) VALUES (1, 'outbound', 'outbox', 'Sending', 60, 0, 3, 4, 2, 0) RETURNING id`,
			).Scan(&msg); err != nil {
				t.Fatal(err)
			}
			if _, err := d.exec(ctx, `INSERT INTO routes (user_id, cond1_field, cond1_value, created_at)
				VALUES (1, 'RoutingDigits', '55', 0)`); err != nil {
				t.Fatal(err)
			}
			for i, state := range []string{"queued", "leased", "done", "failed"} {
				if _, err := d.exec(ctx, `INSERT INTO jobs (message_id, seq, fax, state, priority, not_before, max_attempts,
					lease_epoch, lease_expires, attempts, created_at) VALUES (?, ?, '1', ?, 60, 0, 3, 1, ?, 1, 0)`,
					msg, i+1, state, ms(clk.Now().Add(time.Hour))); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()
			o.schemaVersion = 0
			st2, _, err := Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			s2 := st2.(*sqlStore)
			var n [5]int
			if err := s2.read().row(ctx, "SELECT n_held, n_queued, n_done, n_failed, n_cancelled FROM messages WHERE id = ?", msg).
				Scan(&n[0], &n[1], &n[2], &n[3], &n[4]); err != nil {
				t.Fatal(err)
			}
			if n != [5]int{0, 2, 1, 1, 0} {
				t.Fatalf("counters after migration %v, want [0 2 1 1 0]", n)
			}
			var versions int
			s2.read().row(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&versions)
			if versions != SchemaVersion() || SchemaVersion() < 2 {
				t.Fatalf("%d versions recorded, want %d", versions, SchemaVersion())
			}
			// The queue works on the migrated data: finish the last two jobs.
			jobs, err := s2.Claim(ctx, Claim{Agent: "a", Max: 5, Lease: time.Minute})
			if err != nil || len(jobs) != 1 {
				t.Fatalf("claim: %v %v", jobs, err)
			}
			if _, err := s2.Report(ctx, Report{Lease: jobs[0].Lease, Key: "k1", Outcome: OutcomeDone}); err != nil {
				t.Fatal(err)
			}
			if _, err := s2.Report(ctx, Report{Lease: Lease{JobID: 2, Epoch: 1}, Key: "k2", Outcome: OutcomeDone}); err != nil {
				t.Fatal(err)
			}
			m, err := s2.Message(ctx, msg)
			if err != nil || m.Status != "Partial" || m.Folder != FolderSent || m.JobsComplete != 4 {
				t.Fatalf("message %+v %v", m.Message, err)
			}
			// Version 3: the admin (ID 1 reads as a failed FaxCore login)
			// is renumbered with its message and route; other IDs stay,
			// new users get IDs from FirstUserID on.
			admin, err := s2.UserByName(ctx, AdminUser)
			if err != nil || admin.ID != FirstUserID || !admin.Admin || admin.Role != RoleSystemAdmin || admin.FullName != "Administrator" {
				t.Fatalf("admin after migration %+v %v", admin, err)
			}
			if bob, err := s2.UserByName(ctx, "bob"); err != nil || bob.ID != 2 || bob.Role != RoleStandardUser {
				t.Fatalf("bob after migration %+v %v", bob, err)
			}
			if _, err := s2.User(ctx, 1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("user 1 after migration: %v", err)
			}
			if m.OwnerID != FirstUserID {
				t.Fatalf("message owner %d, want %d", m.OwnerID, FirstUserID)
			}
			if rs, err := s2.Routes(ctx); err != nil || len(rs) != 1 || rs[0].UserID != FirstUserID {
				t.Fatalf("routes %+v %v", rs, err)
			}
			nu, err := s2.CreateUser(ctx, NewUser{Username: "carol", Password: "carol-password"})
			if err != nil || nu.ID != FirstUserID+1 {
				t.Fatalf("new user %+v %v, want ID %d", nu, err, FirstUserID+1)
			}
		})
	}
}
