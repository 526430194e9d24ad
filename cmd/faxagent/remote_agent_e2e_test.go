package main

import (
	"context"
	"fmt"
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

// TestRemoteAgent runs a core on PostgreSQL and an agent that reaches it
// only over the agent protocol (--core, its own data directory, no --db,
// a credential from agent-credential create): 10 faxes to the agent's own
// receiving loopback ports each end exactly once (one attempt, done, by
// the remote agent) and each is received exactly once (the TIFF uploaded
// over the protocol). A revoked credential then stops the agent at start
// with one clear line.
func TestRemoteAgent(t *testing.T) {
	bin := faxagentBinary(t)
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
	dir := t.TempDir()
	cfg := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfg, []byte("schema: "+schema+"\nagent:\n  poll: 2s\n  loopback:\n    pacing: none\n"), 0o600)
	srv := startServe(t, dir, []string{bin, "serve", "--config", cfg, "--role", "core", "--db", db})

	out, err := runIn(dir, []string{bin, "agent-credential", "create", "remote-1"})
	if err != nil {
		t.Fatalf("agent-credential create: %v\n%s", err, out)
	}
	var secret string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, core.AgentCredentialPrefix) {
			secret = strings.TrimSpace(l)
		}
	}
	credFile := filepath.Join(dir, "remote.credential")
	if err := os.WriteFile(credFile, []byte(secret+"\n"), 0o600); err != nil || secret == "" {
		t.Fatalf("no credential in %q (%v)", out, err)
	}

	agentOut := &syncBuffer{}
	argv := []string{"serve", "--config", cfg, "--role", "agent", "--agent-id", "remote-1", "--core", srv.url,
		"--core-credential-file", credFile, "--data", filepath.Join(dir, "remote-data")}
	ag := exec.Command(bin, argv...)
	ag.Dir = dir
	ag.Env = cleanEnv("FAXAGENT_LISTEN=127.0.0.1:0")
	ag.Stdout, ag.Stderr = agentOut, agentOut
	if err := ag.Start(); err != nil {
		t.Fatal(err)
	}
	agDone := make(chan error, 1)
	go func() { agDone <- ag.Wait() }()
	t.Cleanup(func() {
		if ag.ProcessState == nil {
			ag.Process.Kill()
			<-agDone
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", agentOut.String())
		}
	})
	var id int64
	for i := 0; id == 0; i++ {
		var p httpapi.Ports
		srv.get("/api/v1/ports", &p)
		for _, a := range p.Agents {
			if a.Name == "remote-1" && a.Ports == 4 {
				id = a.ID
			}
		}
		if i > 300 {
			t.Fatalf("no heartbeat from the remote agent: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}

	letter, _ := filepath.Abs("../../testdata/sample/letter.png")
	const n = 10
	var msgs []int
	for i := range n {
		to := []string{"5550103", "5550104"}[i%2]
		res, err := runIn(dir, []string{bin, "send", "--to", to, letter})
		var msg int
		if _, serr := fmt.Sscanf(res, "message %d", &msg); err != nil || serr != nil {
			t.Fatalf("send %d: %v %v\n%s", i, err, serr, res)
		}
		msgs = append(msgs, msg)
	}
	for _, msg := range msgs {
		var m httpapi.Message
		for i := 0; ; i++ {
			srv.get("/api/v1/messages/"+strconv.Itoa(msg), &m)
			if len(m.Jobs) == 1 && m.Jobs[0].State != "queued" && m.Jobs[0].State != "leased" {
				break
			}
			if i > 1200 {
				t.Fatalf("message %d did not end: %+v", msg, m.Jobs)
			}
			time.Sleep(100 * time.Millisecond)
		}
		j := m.Jobs[0]
		if j.State != "done" || len(j.Attempts) != 1 || j.Attempts[0].Outcome != "done" ||
			j.Attempts[0].FaxAgentID != strconv.FormatInt(id, 10) {
			t.Fatalf("message %d: job %+v", msg, j)
		}
	}
	var calls httpapi.Calls
	for i := 0; ; i++ {
		srv.get("/api/v1/calls?direction=inbound&limit=100", &calls)
		if calls.Total >= n || i > 300 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[string]bool{}
	for _, c := range calls.Calls {
		if seen[c.Key] || c.FaxAgentID != strconv.FormatInt(id, 10) || c.PageSent != 1 {
			t.Errorf("inbound call %+v (repeated or not from agent %d)", c, id)
		}
		seen[c.Key] = true
	}
	if calls.Total != n {
		t.Fatalf("%d receptions stored, want %d", calls.Total, n)
	}

	// Revoked: the agent is refused at its next start, with one line.
	var cs httpapi.AgentCredentials
	srv.get("/api/v1/agents/credentials", &cs)
	if len(cs.Credentials) != 1 || cs.Credentials[0].AgentID != id || cs.Credentials[0].Revoked != nil {
		t.Fatalf("credentials: %+v", cs)
	}
	if res, err := runIn(dir, []string{bin, "agent-credential", "revoke", strconv.FormatInt(cs.Credentials[0].ID, 10)}); err != nil {
		t.Fatalf("revoke: %v\n%s", err, res)
	}
	ag.Process.Signal(os.Interrupt)
	<-agDone
	res, err := runIn(dir, append([]string{bin}, argv...), "FAXAGENT_LISTEN=127.0.0.1:0")
	if err == nil || !strings.Contains(res, "refused this agent's credential") {
		t.Fatalf("agent with a revoked credential: %v\n%s", err, res)
	}
	if !strings.Contains(srv.out.String(), "agent credential refused") {
		t.Errorf("the core did not log the refusal")
	}
}
