package agentapi_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/agentapi"
)

// credStore is the part of the core's store the protocol's wiring uses.
type credStore interface {
	CreateAgentCredential(ctx context.Context, agentID int64) (core.AgentCredential, string, error)
	RevokeAgentCredential(ctx context.Context, id int64) error
	CredentialAgent(ctx context.Context, secret string) (core.AgentCredential, error)
}

// logBuf is a concurrency-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type rig struct {
	st      core.Store
	cs      credStore
	user    core.User
	agentID int64
	secret  string
	credID  int64
	srv     *httptest.Server
	handler http.Handler
	caFile  string
	coreLog *logBuf
	// skew moves the store's clock ahead (nanoseconds).
	skew atomic.Int64
}

func newRig(t testing.TB) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &rig{coreLog: &logBuf{}}
	st, _, err := core.Open(ctx, core.Options{DataDir: t.TempDir(), PasswordCost: 4, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Now().Add(time.Duration(r.skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.st, r.cs = st, st.(credStore)
	if r.user, err = st.CreateUser(ctx, core.NewUser{Username: "user", Password: "user-password"}); err != nil {
		t.Fatal(err)
	}
	a, err := st.EnrolAgent(ctx, "branch")
	if err != nil {
		t.Fatal(err)
	}
	r.agentID = a.ID
	c, secret, err := r.cs.CreateAgentCredential(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.credID, r.secret = c.ID, secret
	aq := core.NewAgentQueue(st)
	srv := agentapi.NewServer(ctx, agentapi.Config{Queue: aq, Reporter: aq, Ready: aq.Ready(), TempDir: t.TempDir(), Heartbeats: st, LeaseHolder: aq.LeaseHolder, FinishAs: aq.FinishAs, Documents: aq.JobDocument,
		Logger: slog.New(slog.NewTextHandler(r.coreLog, nil)),
		Authenticate: func(ctx context.Context, s string) (int64, error) {
			c, err := r.cs.CredentialAgent(ctx, s)
			return c.AgentID, err
		}})
	mux := http.NewServeMux()
	mux.Handle(agentapi.Prefix+"/", srv)
	r.handler = srv
	r.srv = httptest.NewTLSServer(mux)
	t.Cleanup(r.srv.Close)
	r.caFile = filepath.Join(t.TempDir(), "ca.pem")
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(r.caFile, p, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) client(t *testing.T, secret, caFile string, log *logBuf) *agentapi.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if log == nil {
		log = &logBuf{}
	}
	c, err := agentapi.NewClient(ctx, agentapi.ClientConfig{Core: r.srv.URL, CAFile: caFile, Credential: secret,
		Spool: t.TempDir(), Wait: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *rig) submit(t testing.TB, body string) core.MessageDetails {
	t.Helper()
	m, err := r.st.Submit(context.Background(), core.Submission{OwnerID: r.user.ID,
		Documents:  []core.DocumentInput{{Name: "letter.tif", Body: strings.NewReader(body)}},
		Recipients: []core.Recipient{{Name: "Ken", Fax: "5550100"}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRoundTrip: over TLS trusted through the CA file, the agent learns
// its ID, its heartbeat is stored under it, a submission wakes
// the agent's long-poll, the claimed job comes with its document
// downloaded, renew and progress work, one Finish ends the job and a
// repeat changes nothing; an inbound upload is stored once under its ID.
func TestRoundTrip(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	c := r.client(t, r.secret, r.caFile, nil)

	if id, err := c.Self(ctx); err != nil || id != r.agentID {
		t.Fatalf("self: %d %v, want %d", id, err, r.agentID)
	}
	// A heartbeat lands under the credential's agent, whatever it names,
	// with each port's state.
	states := []core.PortState{
		{ID: "M0,0", No: 1, Driver: "loopback", Number: "100", State: "idle", Status: core.PortIdle, Licensed: true, Send: true, Receive: true},
		{ID: "M0,1", No: 2, Driver: "loopback", State: "receiving", Status: core.PortBusy, Licensed: true, Receive: true},
		{ID: "M0,2", No: 3, Driver: "loopback", State: "down", Status: core.PortDown, Licensed: true, Send: true},
		{ID: "M0,3", No: 4, Driver: "loopback", State: "disabled", Status: core.PortDown, Disabled: true},
	}
	if err := c.Heartbeat(ctx, core.AgentInfo{ID: 1, Host: "branch-host", Ports: 4, Busy: 1, Licensed: 3, PortStates: states, Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	agents, err := r.st.Agents(ctx)
	if err != nil || len(agents) != 1 || agents[0].ID != r.agentID || agents[0].Ports != 4 || agents[0].Host != "branch-host" ||
		!slices.Equal(agents[0].PortStates, states) {
		t.Fatalf("agents after heartbeat: %+v %v", agents, err)
	}
	// Port states that break the bounds are rejected and change nothing.
	bad := []core.PortState{{ID: "M0,0", State: "idle", Status: "napping"}}
	if err := c.Heartbeat(ctx, core.AgentInfo{Host: "other-host", PortStates: bad}); err == nil {
		t.Fatal("heartbeat with an unknown port status accepted")
	}
	if agents, err := r.st.Agents(ctx); err != nil || agents[0].Host != "branch-host" || !slices.Equal(agents[0].PortStates, states) {
		t.Fatalf("agents after a rejected heartbeat: %+v %v", agents, err)
	}

	body := "II*\x00 the document " + strings.Repeat("x", 100000)
	m := r.submit(t, body)
	select {
	case <-c.Ready():
	case <-time.After(time.Minute):
		t.Fatal("no wake-up after a submission")
	}
	jobs, err := c.Claim(ctx, agent.ClaimRequest{AgentID: "spoofed", Max: 4, Lease: time.Minute})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	j := jobs[0]
	if j.ID != strconv.FormatInt(m.Jobs[0].ID, 10) || j.Number != "5550100" || len(j.Documents) != 1 {
		t.Fatalf("job %+v", j)
	}
	got, err := os.ReadFile(j.Documents[0])
	if err != nil || string(got) != body {
		t.Fatalf("document: %d bytes, %v", len(got), err)
	}
	if again, _ := c.Claim(ctx, agent.ClaimRequest{Max: 4, Lease: time.Minute}); len(again) != 0 {
		t.Fatalf("claimed a leased job again: %+v", again)
	}
	l, err := c.Renew(ctx, j.Lease, 2*time.Minute)
	if err != nil || !l.Expires.After(j.Lease.Expires) {
		t.Fatalf("renew: %+v %v", l, err)
	}
	if err := c.Progress(ctx, l, 1, 2); err != nil {
		t.Fatal(err)
	}
	rec := agent.AttemptRecord{AttemptID: j.ID + "#1@" + l.Token, JobID: j.ID, MessageID: j.MessageID,
		StartDate: time.Now(), AttemptFacts: agent.AttemptFacts{CompleteDate: time.Now(), CalledNumber: j.Number, DialedNumber: "9,5550100",
			RemoteCSID: "REMOTE", FaxProtocol: "V17", TransmitSpeed: 14400, TransmitStatusDef: agent.StatusCompleted,
			AttemptNo: 1, MaxAttemptNo: 3, PageCount: 2, StartPageNo: 1, PageSent: 2, PagesTransmitted: 2, ECM: true,
			MaxRate: 9600, FaxAgentID: "spoofed", BoardID: "M0,1"}}
	for i := range 2 {
		if err := c.Finish(ctx, l, rec); err != nil {
			t.Fatalf("finish %d: %v", i, err)
		}
	}
	if _, err := os.Stat(j.Documents[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("downloaded document kept after Finish: %v", err)
	}
	jd, err := r.st.Job(ctx, m.Jobs[0].ID)
	if err != nil || jd.State != core.JobDone || len(jd.Attempts) != 1 {
		t.Fatalf("job after finish: %+v %v", jd, err)
	}
	a := jd.Attempts[0]
	if a.FaxAgentID != strconv.FormatInt(r.agentID, 10) || a.DialedNumber != "9,5550100" || !a.ECM || a.MaxRate != 9600 || a.RemoteCSID != "REMOTE" {
		t.Fatalf("attempt stored as %+v", a)
	}

	// Inbound: the TIFF streamed, stored once under its ID.
	tif := filepath.Join(t.TempDir(), "in.tif")
	content := "II*\x00 received " + strings.Repeat("y", 50000)
	if err := os.WriteFile(tif, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	in := agent.InboundRecord{ID: "rx-1", CallID: "c1", CalledNumber: "5550199", RemoteCSID: "SENDER", Received: time.Now(),
		Pages: 1, File: tif, FaxProtocol: "V17", TransmitSpeed: 9600}
	for i := range 2 {
		if err := c.Inbound(ctx, in); err != nil {
			t.Fatalf("inbound %d: %v", i, err)
		}
	}
	calls, total, err := r.st.Calls(ctx, core.CallQuery{Direction: core.Inbound})
	if err != nil || total != 1 || calls[0].RemoteCSID != "SENDER" || calls[0].FaxAgentID != strconv.FormatInt(r.agentID, 10) {
		t.Fatalf("inbound calls: %d %+v %v", total, calls, err)
	}
}

// TestCredentialRefused: a wrong and a revoked credential are refused 401;
// the core logs why and the agent logs the refusal once.
func TestCredentialRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, secret, coreSays string
		revoke                 bool
	}{
		{"wrong", core.AgentCredentialPrefix + "00", "unknown agent credential", false},
		{"revoked", r.secret, "revoked", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.revoke {
				if err := r.cs.RevokeAgentCredential(ctx, r.credID); err != nil {
					t.Fatal(err)
				}
			}
			log := &logBuf{}
			c := r.client(t, tc.secret, r.caFile, log)
			_, err := c.Claim(ctx, agent.ClaimRequest{Max: 1, Lease: time.Minute})
			if !errors.Is(err, agentapi.ErrRefused) {
				t.Fatalf("claim with a %s credential: %v", tc.name, err)
			}
			if !strings.Contains(log.String(), "the core refused this agent's credential") {
				t.Errorf("agent log: %q", log.String())
			}
			if cl := r.coreLog.String(); !strings.Contains(cl, "agent credential refused") || !strings.Contains(cl, tc.coreSays) {
				t.Errorf("core log: %q", cl)
			}
		})
	}
}

// TestUntrustedCertificate: without the CA file the core's certificate is
// not trusted and no request goes through.
func TestUntrustedCertificate(t *testing.T) {
	r := newRig(t)
	c := r.client(t, r.secret, "", nil)
	_, err := c.Claim(context.Background(), agent.ClaimRequest{Max: 1, Lease: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("claim over an untrusted certificate: %v", err)
	}
}

// TestOtherAgentsLease: an agent with a valid credential of its own
// cannot download the documents of, renew, report progress on, finish or give back a job leased to
// another agent, even knowing its ID and lease token; the core logs it and
// the job stays with its holder, who finishes it.
func TestOtherAgentsLease(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	a, err := r.st.EnrolAgent(ctx, "intruder")
	if err != nil {
		t.Fatal(err)
	}
	_, secret2, err := r.cs.CreateAgentCredential(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	owner := r.client(t, r.secret, r.caFile, nil)
	other := r.client(t, secret2, r.caFile, nil)
	m := r.submit(t, "II*\x00 doc")
	jobs, err := owner.Claim(ctx, agent.ClaimRequest{Max: 1, Lease: time.Minute})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	l := jobs[0].Lease
	rec := agent.AttemptRecord{AttemptID: jobs[0].ID + "#1@" + l.Token, JobID: jobs[0].ID, AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusFailed,
		AttemptNo: 1, MaxAttemptNo: 1, PageCount: 1, StartPageNo: 1}}
	get := func(secret string) int {
		req, _ := http.NewRequest("GET", r.srv.URL+agentapi.Prefix+"/document?job="+jobs[0].ID+"&token="+l.Token+"&n=0", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := r.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(secret2); code != http.StatusConflict {
		t.Errorf("another agent's document download: %d", code)
	}
	if code := get(r.secret); code != http.StatusOK {
		t.Errorf("the holder's document download: %d", code)
	}
	for name, call := range map[string]func() error{
		"renew":    func() error { _, err := other.Renew(ctx, l, time.Minute); return err },
		"progress": func() error { return other.Progress(ctx, l, 1, 1) },
		"release":  func() error { return other.Release(ctx, l) },
	} {
		if err := call(); !errors.Is(err, agent.ErrLeaseLost) {
			t.Errorf("%s by another agent: %v", name, err)
		}
	}
	if !strings.Contains(r.coreLog.String(), "a job leased to another agent refused") {
		t.Errorf("core log: %q", r.coreLog.String())
	}
	// A finish under the holder's lease token is kept as the intruder's
	// stale attempt, under its own ID; the job is not touched.
	irec := rec
	irec.AttemptID = "intruder-1"
	irec.TransmitStatusDef = agent.StatusCompleted
	if err := other.Finish(ctx, l, irec); !errors.Is(err, agent.ErrStale) {
		t.Errorf("finish by another agent: %v", err)
	}
	jd, err := r.st.Job(ctx, m.Jobs[0].ID)
	if err != nil || jd.State != core.JobLeased || jd.LeaseAgent != strconv.FormatInt(r.agentID, 10) || len(jd.Attempts) != 1 ||
		!jd.Attempts[0].Stale || jd.Attempts[0].FaxAgentID != strconv.FormatInt(a.ID, 10) {
		t.Fatalf("job after the intruder: %+v %v", jd, err)
	}
	rec.TransmitStatusDef = agent.StatusCompleted
	if err := owner.Finish(ctx, l, rec); err != nil {
		t.Fatal(err)
	}
	// A repeat after the job ended (no holder) is still idempotent.
	if err := owner.Finish(ctx, l, rec); err != nil {
		t.Fatalf("repeated finish: %v", err)
	}
	if jd, _ := r.st.Job(ctx, m.Jobs[0].ID); jd.State != core.JobDone || len(jd.Attempts) != 2 {
		t.Fatalf("job: %+v", jd)
	}
}

// TestLateOutcomeKeptStale: an agent's lease expires and the job goes to
// another agent; the first agent's outcome, arriving late, is stored whole
// as a stale attempt (a fax that may have been sent is on record), the job
// stays with its new holder, and the agent is told it was stale (not
// refused), once or twice alike. Its renew, progress and give-back stay
// refused. The new holder's outcome then ends the job.
func TestLateOutcomeKeptStale(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	a2, err := r.st.EnrolAgent(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	_, secret2, err := r.cs.CreateAgentCredential(ctx, a2.ID)
	if err != nil {
		t.Fatal(err)
	}
	late := r.client(t, r.secret, r.caFile, nil)
	next := r.client(t, secret2, r.caFile, nil)
	m := r.submit(t, "II*\x00 doc")
	jobs, err := late.Claim(ctx, agent.ClaimRequest{Max: 1, Lease: time.Minute})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	l1 := jobs[0].Lease
	// The first lease expires while the other agent keeps claiming (time
	// without claims would count as an outage: core/leaseclock.go).
	var jobs2 []agent.Job
	for i := 0; i < 20 && err == nil && len(jobs2) == 0; i++ {
		r.skew.Add(int64(10 * time.Second))
		jobs2, err = next.Claim(ctx, agent.ClaimRequest{Max: 1, Lease: time.Hour})
	}
	if err != nil || len(jobs2) != 1 || jobs2[0].ID != jobs[0].ID {
		t.Fatalf("second claim: %v %v", jobs2, err)
	}
	rec := agent.AttemptRecord{AttemptID: "late-1", JobID: jobs[0].ID, MessageID: jobs[0].MessageID,
		AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusCompleted, CalledNumber: "5550100", DialedNumber: "9,5550100",
			RemoteCSID: "REMOTE", TransmitSpeed: 14400, ECM: true, MaxRate: 9600, AttemptNo: 1, MaxAttemptNo: 3, PageCount: 2,
			StartPageNo: 1, PageSent: 2, PagesTransmitted: 2, BoardID: "M0,3"}}
	for i := range 2 {
		if err := late.Finish(ctx, l1, rec); !errors.Is(err, agent.ErrStale) || !errors.Is(err, agent.ErrLeaseLost) {
			t.Fatalf("late finish %d: %v, want a stale outcome", i, err)
		}
	}
	if !strings.Contains(r.coreLog.String(), "a late outcome kept as a stale attempt") {
		t.Errorf("core log: %q", r.coreLog.String())
	}
	jd, err := r.st.Job(ctx, m.Jobs[0].ID)
	if err != nil || jd.State != core.JobLeased || jd.LeaseAgent != strconv.FormatInt(a2.ID, 10) || len(jd.Attempts) != 1 {
		t.Fatalf("job after the late outcome: %+v %v", jd, err)
	}
	if a := jd.Attempts[0]; !a.Stale || a.Key != "late-1" || a.FaxAgentID != strconv.FormatInt(r.agentID, 10) ||
		a.DialedNumber != "9,5550100" || a.RemoteCSID != "REMOTE" || !a.ECM || a.MaxRate != 9600 || a.PageSent != 2 || a.BoardID != "M0,3" {
		t.Fatalf("late attempt stored as %+v", a)
	}
	for name, call := range map[string]func() error{
		"renew":    func() error { _, err := late.Renew(ctx, l1, time.Minute); return err },
		"progress": func() error { return late.Progress(ctx, l1, 1, 1) },
		"release":  func() error { return late.Release(ctx, l1) },
	} {
		if err := call(); !errors.Is(err, agent.ErrLeaseLost) || errors.Is(err, agent.ErrStale) {
			t.Errorf("%s by the late agent: %v", name, err)
		}
	}
	rec2 := rec
	rec2.AttemptID, rec2.BoardID = "next-1", "M0,0"
	if err := next.Finish(ctx, jobs2[0].Lease, rec2); err != nil {
		t.Fatalf("the holder's finish: %v", err)
	}
	jd, err = r.st.Job(ctx, m.Jobs[0].ID)
	if err != nil || jd.State != core.JobDone || len(jd.Attempts) != 2 {
		t.Fatalf("job after the holder's finish: %+v %v", jd, err)
	}
	for _, a := range jd.Attempts {
		if a.Stale != (a.Key == "late-1") {
			t.Errorf("attempt %s stale %v", a.Key, a.Stale)
		}
	}
}

// FuzzServer sends arbitrary requests (operation, inbound record header,
// body) with a valid credential: the server answers every one without a
// panic and refuses bad input with a 4xx, never a 500.
func FuzzServer(f *testing.F) {
	r := newRig(f)
	r.submit(f, "II*\x00 doc")
	paths := []string{"/claim", "/wait?for=1ms&seen=0", "/renew", "/progress", "/finish", "/release", "/document?job=1&token=1&n=0", "/inbound", "/self", "/heartbeat"}
	f.Add(uint8(0), "", []byte(`{"Max":1,"Lease":60000000000}`))
	f.Add(uint8(2), "", []byte(`{"Lease":{"JobID":"1","Token":"x"},"For":1}`))
	f.Add(uint8(4), "", []byte(`{"Lease":{"JobID":"1","Token":"1"},"Record":{"AttemptID":"a","TransmitStatusDef":"Bogus"}}`))
	f.Add(uint8(7), "eyJJRCI6IngiLCJGaWxlIjoieSJ9", []byte("not a tiff"))
	f.Add(uint8(7), "!!", []byte{})
	f.Add(uint8(9), "", []byte(`{"Host":"`+strings.Repeat("h", 300)+`"}`))
	f.Fuzz(func(t *testing.T, op uint8, header string, body []byte) {
		p := paths[int(op)%len(paths)]
		method := "POST"
		if strings.HasPrefix(p, "/document") || p == "/self" {
			method = "GET"
		}
		req := httptest.NewRequest(method, agentapi.Prefix+p, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+r.secret)
		if header != "" {
			req.Header.Set("Faxagent-Inbound-Record", header)
		}
		w := httptest.NewRecorder()
		r.handler.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, p, header, w.Code, w.Body.String())
		}
	})
}

// TestSpoolCleanedAtStart: documents a crashed run left in the agent's
// document spool are removed when the client starts (logged); other files
// stay, and the new run's downloads work.
func TestSpoolCleanedAtStart(t *testing.T) {
	r := newRig(t)
	spool := t.TempDir()
	left := []string{"job-7-3-0", "job-7-3-1", "job-12-9-0"}
	for _, n := range append(slices.Clone(left), "notes.txt") {
		if err := os.WriteFile(filepath.Join(spool, n), []byte("II*\x00 old"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := &logBuf{}
	c, err := agentapi.NewClient(ctx, agentapi.ClientConfig{Core: r.srv.URL, CAFile: r.caFile, Credential: r.secret,
		Spool: spool, Wait: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range left {
		if _, err := os.Stat(filepath.Join(spool, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left by an earlier run: %v", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(spool, "notes.txt")); err != nil {
		t.Errorf("a file not a download: %v", err)
	}
	if !strings.Contains(log.String(), "documents left by an earlier run removed") || !strings.Contains(log.String(), "files=3") {
		t.Errorf("log: %q", log.String())
	}
	r.submit(t, "II*\x00 new")
	jobs, err := c.Claim(ctx, agent.ClaimRequest{Max: 1, Lease: time.Minute})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	if b, err := os.ReadFile(jobs[0].Documents[0]); err != nil || string(b) != "II*\x00 new" {
		t.Fatalf("download: %q %v", b, err)
	}
}
