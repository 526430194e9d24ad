package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/internal/testutil"
)

// faxagentBin is this command, built the first time an end-to-end test
// asks for it.
var faxagentBin = testutil.NewBinary(".")

func TestMain(m *testing.M) {
	// serve writes, and the CLI reads, the user config: keep both away
	// from the real one.
	cfg, err := os.MkdirTemp("", "faxagent-xdg-*")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", cfg)
	code := m.Run()
	os.RemoveAll(cfg)
	faxagentBin.Remove()
	os.Exit(code)
}

func faxagentBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test builds the binary; skipped with -short")
	}
	return faxagentBin.Path(t)
}

// readmeQuickStart returns the commands of the README's Quick start, in
// order: every line of its sh blocks.
func readmeQuickStart(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Quick start\n")
	if !ok {
		t.Fatal("README has no Quick start section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var cmds [][]string
	inBlock := false
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "```sh":
			inBlock = true
		case line == "```":
			inBlock = false
		case inBlock && line != "" && !strings.HasPrefix(line, "#"):
			cmds = append(cmds, strings.Fields(line))
		}
	}
	return cmds
}

// readmeCommands returns the Quick start's serve command and its first
// send.
func readmeCommands(t *testing.T) (serve, send []string) {
	t.Helper()
	for _, c := range readmeQuickStart(t) {
		switch {
		case len(c) > 1 && c[0] == "faxagent" && c[1] == "serve" && serve == nil:
			serve = c
		case len(c) > 1 && c[0] == "faxagent" && c[1] == "send" && send == nil:
			send = c
		}
	}
	if serve == nil || send == nil {
		t.Fatalf("README's Quick start has no serve (%q) or no send (%q)", serve, send)
	}
	return serve, send
}

// asBinary replaces `faxagent` with the built binary.
func asBinary(t *testing.T, bin string, cmd []string) []string {
	t.Helper()
	if len(cmd) < 2 || cmd[0] != "faxagent" {
		t.Fatalf("command %q does not start with faxagent", cmd)
	}
	return append([]string{bin}, cmd[1:]...)
}

type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	tok  string
	out  *syncBuffer // serve's stdout and stderr
	done chan error
}

// cleanEnv is the environment without FAXAGENT_* variables, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "FAXAGENT_") {
			env = append(env, e)
		}
	}
	return append(env, extra...)
}

type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.String()
}

// startServe runs argv in dir and waits until the API answers.
func startServe(t *testing.T, dir string, argv []string, env ...string) *server {
	t.Helper()
	data := filepath.Join(dir, "faxagent-data")
	os.Remove(filepath.Join(data, serverURLFile))
	out := &syncBuffer{}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	// Each serve writes the user config of its own directory unless the
	// test names one (a later variable wins).
	cmd.Env = cleanEnv(append([]string{"FAXAGENT_LISTEN=127.0.0.1:0", "FAXAGENT_ADMIN_PASSWORD=e2e-admin-password",
		"XDG_CONFIG_HOME=" + filepath.Join(dir, ".config")}, env...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("serve output:\n%s", out.String())
		}
	})
	for i := 0; ; i++ {
		b, err := os.ReadFile(filepath.Join(data, serverURLFile))
		if err == nil {
			s.url = strings.TrimSpace(string(b))
			if resp, err := http.Get(s.url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve exited: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if i > 600 {
			t.Fatalf("serve did not come up\n%s", out.String())
		}
	}
	tok, err := os.ReadFile(filepath.Join(data, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	s.tok = strings.TrimSpace(string(tok))
	return s
}

func (s *server) get(path string, out any) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if w, ok := out.(*[]byte); ok {
		*w = b
		return
	}
	if err := json.Unmarshal(b, out); err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(60 * time.Second):
		s.t.Fatal("serve did not stop after SIGTERM")
	}
}

func runIn(dir string, argv []string, env ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestReadmeServeAndSend runs the README's first command and its send
// example as written (with the built binary for `go run`, on a free port)
// and checks the fax was delivered, its attempt recorded, and its copy
// received back as an inbound message.
func TestReadmeServeAndSend(t *testing.T) {
	bin := faxagentBinary(t)
	serveCmd, sendCmd := readmeCommands(t)
	dir := t.TempDir()
	testdata, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(testdata, filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, asBinary(t, bin, serveCmd))

	out, err := runIn(dir, asBinary(t, bin, sendCmd))
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	if !strings.Contains(out, "message 1: Completed, 1 of 1 recipient(s) sent") || !strings.Contains(out, "1/1 pages  sent") {
		t.Fatalf("send output:\n%s", out)
	}
	to := sendCmd[slicesIndex(sendCmd, "--to")+1]

	var m httpapi.Message
	s.get("/api/v1/messages/1", &m)
	if m.Folder != "sent" || m.Status != "Completed" || len(m.Jobs) != 1 || m.Jobs[0].State != "done" || len(m.Jobs[0].Attempts) != 1 {
		t.Fatalf("message: %+v", m)
	}
	a := m.Jobs[0].Attempts[0]
	if a.Outcome != "done" || a.TransmitStatus != 0 || a.TransmitStatusDef != "Completed" || a.AttemptNo != 1 ||
		a.PageCount != 1 || a.PageSent != 1 || a.StartPageNo != 1 || a.CalledNumber != to || a.RemoteCSID == "" ||
		a.FaxProtocol == "" || a.TransmitSpeed < 2400 || a.CompressionMode == "" || a.CallDuration <= 0 ||
		!strings.HasPrefix(a.BoardID, "M0,") || a.FaxAgentID == "" || a.ServerIP == "" || a.Completed == nil {
		t.Errorf("attempt: %+v", a)
	}

	// The receiving port's report may land just after the sender's.
	var inbox httpapi.List
	for i := 0; i < 200; i++ {
		if s.get("/api/v1/messages?folder=inbox", &inbox); inbox.Total > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if inbox.Total != 1 {
		t.Fatalf("inbox: %+v", inbox)
	}
	var in httpapi.Message
	s.get(fmt.Sprintf("/api/v1/messages/%d", inbox.Messages[0].ID), &in)
	if in.Direction != "inbound" || len(in.Received) != 1 || in.Received[0].PageCount != 1 ||
		in.Received[0].CalledNumber != to || len(in.Documents) != 1 || in.Documents[0].Pages != 1 {
		t.Fatalf("inbound copy: %+v", in)
	}
	pdf := filepath.Join(dir, "in.pdf")
	if out, err := runIn(dir, []string{bin, "download", fmt.Sprint(in.ID), "-o", pdf}); err != nil {
		t.Fatalf("download: %v %s", err, out)
	}
	if b, _ := os.ReadFile(pdf); !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("download is not a PDF")
	}

	// A busy number fails without retries, and the CLI says so.
	out, err = runIn(dir, []string{bin, "send", "--to", "5550111", "--retries", "0", "--wait", "testdata/sample/letter.png"})
	if err == nil || !strings.Contains(out, "busy") || !strings.Contains(out, "0 of 1 recipient(s) sent") {
		t.Fatalf("send to a busy number: %v\n%s", err, out)
	}
	out, err = runIn(dir, []string{bin, "list", "--folder", "sent"})
	if err != nil || !strings.Contains(out, "sent: 1-2 of 2") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = runIn(dir, []string{bin, "ports"})
	if err != nil || strings.Count(out, "loopback") != 4 {
		t.Fatalf("ports: %v\n%s", err, out)
	}

	var metrics []byte
	s.get("/metrics", &metrics)
	for _, want := range []string{
		`faxagent_calls_total{code="0",direction="outbound",driver="loopback",result="success"} 1`,
		`faxagent_calls_total{code="2",direction="outbound",driver="loopback",result="failed"} 1`,
		`faxagent_calls_total{code="0",direction="inbound",driver="loopback",result="success"} 1`,
		`faxagent_pages_total{direction="outbound"} 1`,
		`faxagent_call_duration_seconds_count{direction="outbound"} 2`,
		`faxagent_queue_jobs{state="done"} 1`,
		`faxagent_queue_jobs{state="failed"} 1`,
		`faxagent_license_ports_licensed{driver="loopback"} 4`,
		`faxagent_license_ports_used{driver="loopback"} 4`,
		`faxagent_port_state{port="M0,0",state=`,
		`faxagent_build_info{goversion="go1.`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	s.stop()
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestCrashMidCall kills serve with SIGKILL while a job is in a call,
// restarts it on the same data directory, and checks the job ends once:
// the killed attempt reported from the call journal (a retry: no page was
// confirmed yet), then one completed attempt.
func TestCrashMidCall(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "faxagent.yaml")
	// Short leases and polls so the restarted agent reclaims the job
	// quickly; calls slow enough (a page about 5 s) to kill one midway.
	os.WriteFile(cfg, []byte("agent:\n  lease: 2s\n  poll: 200ms\n  grace: 1s\n  loopback:\n    speedup: 5\n"), 0o600)
	argv := []string{bin, "serve", "--config", cfg}
	s := startServe(t, dir, argv)
	letter, _ := filepath.Abs("../../testdata/sample/letter.png")
	out, err := runIn(dir, []string{bin, "send", "--to", "5550104", letter})
	if err != nil || !strings.Contains(out, "message 1 queued") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	var m httpapi.Message
	for i := 0; ; i++ {
		s.get("/api/v1/messages/1", &m)
		if m.Jobs[0].State == "leased" {
			break
		}
		if i > 200 || m.Jobs[0].State != "queued" {
			t.Fatalf("job never went into a call: %+v", m.Jobs[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A port dials or sends: the call has begun (its journal with it).
	for i := 0; ; i++ {
		var p httpapi.Ports
		s.get("/api/v1/ports", &p)
		if slices.ContainsFunc(p.Ports, func(p httpapi.Port) bool { return p.State == "dialling" || p.State == "sending" }) {
			break
		}
		if i > 200 {
			t.Fatalf("no port dialled: %+v", p.Ports)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	<-s.done

	s = startServe(t, dir, argv)
	for i := 0; ; i++ {
		s.get("/api/v1/messages/1", &m)
		if m.Jobs[0].State != "queued" && m.Jobs[0].State != "leased" {
			break
		}
		if i > 600 {
			t.Fatalf("job did not end after the restart: %+v", m.Jobs[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The killed call is reported from the agent's call journal at the
	// restart (no page was confirmed: a retry), the next attempt sends.
	j := m.Jobs[0]
	if j.State != "done" || m.Folder != "sent" || j.AttemptCount != 2 || len(j.Attempts) != 2 ||
		j.Attempts[0].Outcome != "retry" || j.Attempts[0].AttemptNo != 1 || j.Attempts[0].PageSent != 0 ||
		!strings.Contains(j.Attempts[0].ErrorInfo, "the agent stopped during the call") ||
		j.Attempts[1].Outcome != "done" || j.Attempts[1].AttemptNo != 2 || j.Attempts[1].PageSent != 1 {
		t.Fatalf("after the crash: message %s in %s, job %+v", m.Status, m.Folder, j)
	}
	out, err = runIn(dir, []string{bin, "status", "1"})
	if err != nil || !strings.Contains(out, "outbound Completed in sent") || strings.Count(out, "Completed  port") != 1 {
		t.Fatalf("status: %v\n%s", err, out)
	}
	s.stop()
}

// TestRolesOnPostgres runs a core-only and an agent-only process on one
// PostgreSQL schema, each with its own data directory (the document comes
// from the database): the core takes the fax, the agent sends it, the
// core sees the agent's heartbeat.
func TestRolesOnPostgres(t *testing.T) {
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
	os.WriteFile(cfg, []byte("schema: "+schema+"\nagent:\n  poll: 200ms\n  loopback:\n    pacing: none\n"), 0o600)
	core := startServe(t, dir, []string{bin, "serve", "--config", cfg, "--role", "core", "--db", db})

	type agentProc struct {
		cmd  *exec.Cmd
		done chan error
	}
	startAgentProc := func(name string) agentProc {
		out := &syncBuffer{}
		ag := exec.Command(bin, "serve", "--config", cfg, "--role", "agent", "--agent-id", name, "--db", db,
			"--data", filepath.Join(dir, name+"-data"))
		ag.Dir = dir
		ag.Env = cleanEnv("FAXAGENT_LISTEN=127.0.0.1:0")
		ag.Stdout, ag.Stderr = out, out
		if err := ag.Start(); err != nil {
			t.Fatal(err)
		}
		p := agentProc{ag, make(chan error, 1)}
		go func() { p.done <- ag.Wait() }()
		t.Cleanup(func() {
			if ag.ProcessState == nil {
				ag.Process.Kill()
				<-p.done
			}
			if t.Failed() {
				t.Logf("agent %s output:\n%s", name, out.String())
			}
		})
		return p
	}
	procs := []agentProc{startAgentProc("e2e-agent"), startAgentProc("e2e-branch")}
	ids := map[string]int64{}
	for i := 0; ; i++ {
		var p httpapi.Ports
		core.get("/api/v1/ports", &p)
		for _, a := range p.Agents {
			if a.Ports == 4 && a.ID >= 100001 {
				ids[a.Name] = a.ID
			}
		}
		if len(ids) == 2 {
			// The core lists the agents' ports from their heartbeats
			// (Remote), never ports of its own.
			for _, port := range p.Ports {
				if !port.Remote || (port.AgentID != ids["e2e-branch"] && port.AgentID != ids["e2e-agent"]) {
					t.Errorf("a core-only process lists a port of its own: %+v", port)
				}
			}
			break
		}
		if i > 300 {
			t.Fatalf("no heartbeat from both agents: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ids["e2e-agent"] == ids["e2e-branch"] {
		t.Fatalf("two agents with one ID: %v", ids)
	}
	letter, _ := filepath.Abs("../../testdata/sample/letter.png")
	res, err := runIn(dir, []string{bin, "send", "--to", "5550199", "--wait", "--timeout", "60s", letter})
	if err != nil || !strings.Contains(res, "1 of 1 recipient(s) sent") {
		t.Fatalf("send: %v\n%s", err, res)
	}
	var m httpapi.Message
	core.get("/api/v1/messages/1", &m)
	if a := m.Jobs[0].Attempts; len(a) != 1 || (a[0].FaxAgentID != strconv.FormatInt(ids["e2e-agent"], 10) &&
		a[0].FaxAgentID != strconv.FormatInt(ids["e2e-branch"], 10)) || a[0].Outcome != "done" {
		t.Fatalf("attempts (agents %v): %+v", ids, a)
	}

	// The FaxCore flow: SendCompleteMessageWithPresetAgents with the
	// branch's integer ID runs every job on the branch; an agent ID the
	// core never enrolled fails at once and stores nothing.
	doc, err := os.ReadFile("../../core/soap/testdata/three.tif")
	if err != nil {
		t.Fatal(err)
	}
	url := core.url + "/WebServices/wfApi.asmx"
	admin := soapE2ECall(t, url, "AuthenticateUser", `<userName>admin</userName><password>e2e-admin-password</password>`).result()
	preset := func(agent int64) string {
		return fmt.Sprintf(`<agentID><int>%d</int></agentID><presetType><int>1</int></presetType><presetValue><int>1</int></presetValue>`, agent)
	}
	branch := ids["e2e-branch"]
	var msgs []string
	for i := range 3 {
		msg := soapE2ECall(t, url, "SendCompleteMessageWithPresetAgents",
			soapE2ESendXML(admin, "preset", fmt.Sprintf("55502%02d", i), doc)+preset(branch)).result()
		msgs = append(msgs, msg)
	}
	for _, msg := range msgs {
		if st := soapE2EWaitStatus(t, url, msg); st != "Completed" {
			t.Fatalf("message %s: %s", msg, st)
		}
		core.get("/api/v1/messages/"+msg, &m)
		if a := m.Jobs[0].Attempts; len(a) != 1 || a[0].FaxAgentID != strconv.FormatInt(branch, 10) || a[0].BoardID != "M0,1" {
			t.Fatalf("message %s attempts (branch %d): %+v", msg, branch, a)
		}
	}
	status, fault := soapE2EPost(t, url, "SendCompleteMessageWithPresetAgents", soapE2ESendXML(admin, "nowhere", "5550300", doc)+preset(100999))
	if status != 500 || !strings.Contains(string(fault), "Client") || !strings.Contains(string(fault), "preset agent 100999: no such agent") {
		t.Fatalf("unknown agent: %d %s", status, fault)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM "+schema+".messages").Scan(&n); err != nil || n != 4 {
		t.Errorf("%d messages stored (%v), want 4: the refused send stored something", n, err)
	}
	c.Close(ctx)
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-p.done; err != nil {
			t.Errorf("agent exited with %v", err)
		}
	}
	core.stop()
}

// TestDataDirLock starts a second serve on a running serve's data
// directory: it refuses with one line naming the holder and leaves the
// server URL alone; once the first is killed with SIGKILL the directory is
// free again.
func TestDataDirLock(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	argv := []string{bin, "serve", "--data", filepath.Join(dir, "faxagent-data"), "--pacing", "none"}
	s := startServe(t, dir, argv)
	urlFile := filepath.Join(dir, "faxagent-data", serverURLFile)
	before, _ := os.ReadFile(urlFile)
	out, err := runIn(dir, argv, "FAXAGENT_LISTEN=127.0.0.1:0", "FAXAGENT_ADMIN_PASSWORD=e2e-admin-password")
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("second serve: %v\n%s", err, out)
	}
	want := fmt.Sprintf("faxagent serve: data directory %s is in use by another faxagent (pid %d)\n",
		filepath.Join(dir, "faxagent-data"), s.cmd.Process.Pid)
	if out != want {
		t.Fatalf("second serve said\n%q\nwant\n%q", out, want)
	}
	if after, _ := os.ReadFile(urlFile); string(after) != string(before) {
		t.Errorf("server URL changed from %q to %q", before, after)
	}
	s.cmd.Process.Kill()
	<-s.done
	s2 := startServe(t, dir, argv)
	s2.stop()
}

// TestTestbench runs quick scenarios through the testbench command and
// checks its table and JSON report.
func TestTestbench(t *testing.T) {
	bin := faxagentBinary(t)
	report := filepath.Join(t.TempDir(), "report.json")
	names := []string{"send-1", "lines", "resume", "cancel", "inbound"}
	cmd := exec.Command(bin, append([]string{"testbench", "--report", report}, names...)...)
	cmd.Dir = "../.."
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testbench: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "5 passed, 0 failed") {
		t.Fatalf("testbench output:\n%s", out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Passed, Failed int
		Results        []struct {
			Name  string
			Pass  bool
			Jobs  int
			Pages int
		}
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Passed != len(names) || rep.Failed != 0 || len(rep.Results) != len(names) {
		t.Fatalf("report: %+v", rep)
	}
	for i, r := range rep.Results {
		if r.Name != names[i] || !r.Pass || r.Jobs == 0 {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	// Bad scenario names are refused before anything runs.
	cmd = exec.Command(bin, "testbench", "no-such-scenario")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "unknown scenario") {
		t.Fatalf("unknown scenario: %v %s", err, out)
	}
}
