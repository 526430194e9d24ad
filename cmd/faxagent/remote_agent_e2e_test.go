package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/internal/testutil"
)

// remoteRig is a core on PostgreSQL (a fresh schema) and a remote agent
// process that reaches it only over the agent protocol.
type remoteRig struct {
	t        *testing.T
	bin, dir string
	coreArgv []string
	srv      *server
	agArgv   []string
	ag       *exec.Cmd
	agDone   chan error
	agOut    *syncBuffer
	agentID  int64
	// sendDir is where send runs the CLI (the directory of the core it
	// submits to); "" the rig's.
	sendDir string
}

// newRemoteRig starts the core (on listen, "" a free port) and the agent
// with a credential from agent-credential create.
func newRemoteRig(t *testing.T, pacing, listen string) *remoteRig {
	t.Helper()
	r := &remoteRig{t: t, bin: faxagentBinary(t), dir: t.TempDir()}
	db := testutil.NeedPostgres(t)
	schema := fmt.Sprintf("faxagent_e2e_%d_%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, db); err == nil {
			if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
				t.Errorf("dropping %s: %v", schema, err)
			}
			c.Close(ctx)
		}
	})
	cfg := filepath.Join(r.dir, "faxagent.yaml")
	os.WriteFile(cfg, []byte("schema: "+schema+"\nagent:\n  poll: 2s\n  loopback:\n    pacing: "+pacing+"\n"), 0o600)
	r.coreArgv = []string{r.bin, "serve", "--config", cfg, "--role", "core", "--db", db}
	if listen != "" {
		r.coreArgv = append(r.coreArgv, "--listen", listen)
	}
	r.srv = startServe(t, r.dir, r.coreArgv)

	out, err := runIn(r.dir, []string{r.bin, "agent-credential", "create", "remote-1"})
	if err != nil {
		t.Fatalf("agent-credential create: %v\n%s", err, out)
	}
	var secret string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, core.AgentCredentialPrefix) {
			secret = strings.TrimSpace(l)
		}
	}
	credFile := filepath.Join(r.dir, "remote.credential")
	if err := os.WriteFile(credFile, []byte(secret+"\n"), 0o600); err != nil || secret == "" {
		t.Fatalf("no credential in %q (%v)", out, err)
	}
	r.agArgv = []string{"serve", "--config", cfg, "--role", "agent", "--agent-id", "remote-1", "--core", r.srv.url,
		"--core-credential-file", credFile, "--data", filepath.Join(r.dir, "remote-data")}
	r.agOut = &syncBuffer{}
	r.ag = exec.Command(r.bin, r.agArgv...)
	r.ag.Dir = r.dir
	r.ag.Env = cleanEnv("FAXAGENT_LISTEN=127.0.0.1:0")
	r.ag.Stdout, r.ag.Stderr = r.agOut, r.agOut
	if err := r.ag.Start(); err != nil {
		t.Fatal(err)
	}
	r.agDone = make(chan error, 1)
	go func() { r.agDone <- r.ag.Wait() }()
	t.Cleanup(func() {
		if r.ag.ProcessState == nil {
			r.ag.Process.Kill()
			<-r.agDone
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", r.agOut.String())
		}
	})
	for i := 0; r.agentID == 0; i++ {
		var p httpapi.Ports
		r.srv.get("/api/v1/ports", &p)
		for _, a := range p.Agents {
			if a.Name == "remote-1" && a.Ports == 4 {
				r.agentID = a.ID
			}
		}
		if i > 300 {
			t.Fatalf("no heartbeat from the remote agent: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return r
}

// send submits n one-page faxes to the agent's own receiving loopback
// ports and returns the message IDs.
func (r *remoteRig) send(n int) []int {
	r.t.Helper()
	letter, _ := filepath.Abs("../../testdata/sample/letter.png")
	var msgs []int
	for i := range n {
		to := []string{"5550103", "5550104"}[i%2]
		dir := r.dir
		if r.sendDir != "" {
			dir = r.sendDir
		}
		res, err := runIn(dir, []string{r.bin, "send", "--to", to, letter})
		var msg int
		if _, serr := fmt.Sscanf(res, "message %d", &msg); err != nil || serr != nil {
			r.t.Fatalf("send %d: %v %v\n%s", i, err, serr, res)
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

// waitEnded waits for a message's job to end and returns it.
func (r *remoteRig) waitEnded(msg int) httpapi.Job {
	r.t.Helper()
	var m httpapi.Message
	for i := 0; ; i++ {
		r.srv.get("/api/v1/messages/"+strconv.Itoa(msg), &m)
		if len(m.Jobs) == 1 && m.Jobs[0].State != "queued" && m.Jobs[0].State != "leased" {
			return m.Jobs[0]
		}
		if i > 1200 {
			r.t.Fatalf("message %d did not end: %+v", msg, m.Jobs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkOnce asserts every message's job ended done with one attempt by
// the remote agent, and that n faxes were received, each once.
func (r *remoteRig) checkOnce(msgs []int) {
	r.t.Helper()
	agent := strconv.FormatInt(r.agentID, 10)
	for _, msg := range msgs {
		j := r.waitEnded(msg)
		// Two send ports may reach one receiving port at once: the
		// loser is busy (nothing sent) and retried. Exactly one attempt
		// sent the fax, the last.
		ok := j.State == "done" && len(j.Attempts) >= 1
		for i, a := range j.Attempts {
			last := i == len(j.Attempts)-1
			ok = ok && a.FaxAgentID == agent
			if last {
				ok = ok && a.Outcome == "done"
			} else {
				ok = ok && a.Outcome == "retry" && a.ErrorID == 2 && a.PageSent == 0
			}
		}
		if !ok {
			r.t.Errorf("message %d: job %+v", msg, j)
		}
	}
	var calls httpapi.Calls
	for i := 0; ; i++ {
		r.srv.get("/api/v1/calls?direction=inbound&limit=1000", &calls)
		if calls.Total >= len(msgs) || i > 300 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[string]bool{}
	for _, c := range calls.Calls {
		if seen[c.Key] || c.FaxAgentID != agent || c.PageSent != 1 {
			r.t.Errorf("inbound call %+v (repeated or not from agent %s)", c, agent)
		}
		seen[c.Key] = true
	}
	if calls.Total != len(msgs) {
		r.t.Fatalf("%d receptions stored, want %d", calls.Total, len(msgs))
	}
}

// killCore kills the core with SIGKILL, waits until a report of the agent
// failed to reach it (a real outage seen by the agent) and starts it again
// on its address.
func (r *remoteRig) killCore() {
	r.t.Helper()
	r.srv.cmd.Process.Kill()
	<-r.srv.done
	for i := 0; !strings.Contains(r.agOut.String(), "stored=false"); i++ {
		if i > 600 {
			r.t.Fatal("no report failed to reach the killed core")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.srv = startServe(r.t, r.dir, r.coreArgv)
}

// TestRemoteAgent runs a core on PostgreSQL and an agent that reaches it
// only over the agent protocol (--core, its own data directory, no --db,
// a credential from agent-credential create): 10 faxes to the agent's own
// receiving loopback ports each end exactly once (one attempt, done, by
// the remote agent) and each is received exactly once (the TIFF uploaded
// over the protocol). A revoked credential then stops the agent at start
// with one clear line, and the core logs the refusal.
func TestRemoteAgent(t *testing.T) {
	r := newRemoteRig(t, "none", "")
	r.checkOnce(r.send(10))

	var cs httpapi.AgentCredentials
	r.srv.get("/api/v1/agents/credentials", &cs)
	if len(cs.Credentials) != 1 || cs.Credentials[0].AgentID != r.agentID || cs.Credentials[0].Revoked != nil {
		t.Fatalf("credentials: %+v", cs)
	}
	if res, err := runIn(r.dir, []string{r.bin, "agent-credential", "revoke", strconv.FormatInt(cs.Credentials[0].ID, 10)}); err != nil {
		t.Fatalf("revoke: %v\n%s", err, res)
	}
	list, err := runIn(r.dir, []string{r.bin, "agent-credential", "list"})
	if fields := strings.Fields(list); err != nil || len(fields) < 10 || fields[5] != strconv.FormatInt(cs.Credentials[0].ID, 10) ||
		fields[6] != strconv.FormatInt(r.agentID, 10) || fields[7] != "remote-1" || strings.Contains(list, " -\n") {
		t.Errorf("agent-credential list after the revocation: %v\n%s", err, list)
	}
	r.ag.Process.Signal(os.Interrupt)
	<-r.agDone
	res, err := runIn(r.dir, append([]string{r.bin}, r.agArgv...), "FAXAGENT_LISTEN=127.0.0.1:0")
	if err == nil || !strings.Contains(res, "refused this agent's credential") {
		t.Fatalf("agent with a revoked credential: %v\n%s", err, res)
	}
	if !strings.Contains(r.srv.out.String(), "agent credential refused") {
		t.Errorf("the core did not log the refusal")
	}
}

// TestRemoteAgentCoreKilled: the core is killed (SIGKILL) while the remote
// agent's calls run and started again on the same address a moment after
// an outcome failed to reach it; the agent's outbox delivers what it kept
// and every job still ends exactly once, every fax received once.
func TestRemoteAgentCoreKilled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newRemoteRig(t, "demo", addr)
	msgs := r.send(10)
	r.waitEnded(msgs[0])
	r.killCore()
	r.checkOnce(msgs)
	t.Logf("reports (outcomes and receptions) that failed while the core was down and were delivered later: %d", strings.Count(r.agOut.String(), "stored=false"))
}

// TestRemoteAgentTwoCores: two cores on one PostgreSQL schema, each with
// its own data directory; the remote agent is pointed at core A while the
// faxes are submitted to core B. Core A is killed (SIGKILL) mid-run and
// started again on its address; every job still ends exactly once and
// every fax is received once.
func TestRemoteAgentTwoCores(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newRemoteRig(t, "demo", addr)
	r.sendDir = t.TempDir()
	startServe(t, r.sendDir, r.coreArgv[:len(r.coreArgv)-2]) // core B: same database, own data, a free port
	msgs := r.send(10)
	r.waitEnded(msgs[0])
	r.killCore()
	r.checkOnce(msgs)
}
