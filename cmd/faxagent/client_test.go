package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
)

const clientToken = "client-test-token-0123456789"

// apiServer runs the HTTP API in-process on a fresh store (no agent: jobs
// stay queued).
func apiServer(t *testing.T) (url string, st core.Store) {
	t.Helper()
	return apiServerWrapped(t, nil)
}

// apiServerWrapped is apiServer with the handler wrapped (nil: as is).
func apiServerWrapped(t *testing.T, wrap func(http.Handler) http.Handler) (url string, st core.Store) {
	t.Helper()
	st, _, err := core.Open(context.Background(), core.Options{DataDir: t.TempDir(), AdminPassword: "client-admin-password", PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, err := st.UserByName(context.Background(), core.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Options{Store: st, Tokens: map[string]httpapi.Principal{clientToken: {UserID: admin.ID, Admin: true}}})
	if err != nil {
		t.Fatal(err)
	}
	var hh http.Handler = h
	if wrap != nil {
		hh = wrap(h)
	}
	srv := httptest.NewServer(hh)
	t.Cleanup(srv.Close)
	return srv.URL, st
}

func TestClientCommands(t *testing.T) {
	url, st := apiServer(t)
	flags := []string{"--server", url, "--token", clientToken}
	code, out, errs := runCLI(t, append([]string{"send", "--to", "5550103", "--to", "5550104", "--priority", "high", sample}, flags...)...)
	if code != 0 || !strings.Contains(out, "message 1 queued: 2 recipient(s), 1 page\n") {
		t.Fatalf("send: %d %q %q", code, out, errs)
	}
	d, err := st.Message(context.Background(), 1)
	if err != nil || d.Priority != core.PriorityHigh || len(d.Jobs) != 2 {
		t.Fatalf("stored: %v %+v", err, d.Message)
	}
	code, out, errs = runCLI(t, append([]string{"status", "1"}, flags...)...)
	if code != 0 || !strings.Contains(out, "message 1: outbound Queued in outbox") || strings.Count(out, "queued") != 2 {
		t.Fatalf("status: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, append([]string{"list", "--folder", "outbox"}, flags...)...)
	if code != 0 || !strings.Contains(out, "outbox: 1-1 of 1") {
		t.Fatalf("list: %d %q", code, out)
	}
	tif := filepath.Join(t.TempDir(), "out.tif")
	code, out, errs = runCLI(t, append([]string{"download", "1", "-o", tif}, flags...)...)
	if b, _ := os.ReadFile(tif); code != 0 || !strings.HasPrefix(string(b), "II*\x00") {
		t.Fatalf("download: %d %q %q", code, out, errs)
	}
	code, out, errs = runCLI(t, append([]string{"cancel", "1"}, flags...)...)
	if code != 0 || !strings.Contains(out, "2 job(s) cancelled") {
		t.Fatalf("cancel: %d %q %q", code, out, errs)
	}
	if d, _ := st.Message(context.Background(), 1); d.Folder != core.FolderCancelled {
		t.Fatalf("after cancel: folder %s", d.Folder)
	}
	code, out, _ = runCLI(t, append([]string{"ports"}, flags...)...)
	if code != 0 || !strings.Contains(out, "PORT") {
		t.Fatalf("ports: %d %q", code, out)
	}
}

func TestClientErrors(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no user config either
	url, st := apiServer(t)
	flags := []string{"--server", url, "--token", clientToken}
	bad := filepath.Join(t.TempDir(), "bad.tif")
	os.WriteFile(bad, []byte("II*\x00garbage"), 0o600)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{append([]string{"send", "--to", "5550103", bad}, flags...), 1, "malformed TIFF"},
		{append([]string{"send", "--to", "nobody", sample}, flags...), 1, "not a fax number"},
		{[]string{"send", "--to", "5550103", sample, "--server", url, "--token", "wrong-token-0123456789"}, 1, "invalid bearer token (run `faxagent login"},
		{[]string{"send", "--to", "5550103", sample, "--server", url, "--data", t.TempDir()}, 1, "no API token"},
		{append([]string{"send", sample}, flags...), 2, "needs --to"},
		{append([]string{"status", "42"}, flags...), 1, "faxagent status: message 42 not found\n"},
		{append([]string{"status", "x"}, flags...), 2, "not a message ID"},
		{append([]string{"cancel"}, flags...), 2, "one message ID"},
		{append([]string{"list", "--folder", "spam"}, flags...), 1, "unknown folder"},
		{append([]string{"download", "1", "-o", "x.png"}, flags...), 2, ".tif"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("%q: %d %q %q, want %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	if _, n, _ := st.Messages(context.Background(), core.MessageQuery{Folder: core.FolderOutbox}); n != 0 {
		t.Errorf("%d messages stored by failed sends", n)
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		n, total int
		want     string
	}{
		{0, 5, "[....................]"},
		{1, 5, "[####................]"},
		{3, 5, "[############........]"},
		{5, 5, "[####################]"},
		{7, 5, "[####################]"},
		{-1, 5, "[....................]"},
		{0, 0, "[....................]"},
		{1, 3, "[######..............]"},
	}
	for _, tc := range tests {
		if got := bar(tc.n, tc.total); got != tc.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tc.n, tc.total, got, tc.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	retryAt := time.Date(2026, 1, 2, 15, 4, 5, 0, time.Local)
	tests := []struct {
		name string
		job  httpapi.Job
		want string
	}{
		{"queued", httpapi.Job{Fax: "5550100", State: "queued", MaxAttempts: 3},
			"  5550100          [....................] 0/5 pages  queued"},
		{"leased, no report yet", httpapi.Job{Fax: "5550100", State: "leased", AttemptCount: 1, MaxAttempts: 3,
			Progress: httpapi.Progress{InCall: true}},
			"  5550100          [....................] 0/5 pages  in call (attempt 1/3)"},
		{"page 3 of 5", httpapi.Job{Fax: "5550100", State: "leased", AttemptCount: 1, MaxAttempts: 3,
			Progress: httpapi.Progress{InCall: true, PagesSent: 3, PagesTotal: 5}},
			"  5550100          [############........] 3/5 pages  in call (attempt 1/3)"},
		// The agent's total (the rendered document) wins over the upload's.
		{"agent's total", httpapi.Job{Fax: "5550100", State: "leased", AttemptCount: 2, MaxAttempts: 3,
			Progress: httpapi.Progress{InCall: true, PagesSent: 1, PagesTotal: 4}},
			"  5550100          [#####...............] 1/4 pages  in call (attempt 2/3)"},
		{"retry after a drop", httpapi.Job{Fax: "5550100", State: "queued", AttemptCount: 1, MaxAttempts: 3, PagesSent: 2,
			NotBefore: &retryAt, Attempts: []httpapi.Attempt{{AttemptNo: 1, ErrorInfo: "call dropped"}}},
			"  5550100          [########............] 2/5 pages  attempt 1/3 failed (call dropped), retry at 15:04:05"},
		{"done", httpapi.Job{Fax: "5550100", State: "done", PageCount: 5, PagesSent: 5, Attempts: []httpapi.Attempt{{
			FaxProtocol: "V17", TransmitSpeed: 14400, CompressionMode: "MMR", CallDuration: 42.5, RemoteCSID: "ROBOFAX", BoardID: "M0,1"}}},
			`  5550100          [####################] 5/5 pages  sent: V17 14400 bit/s MMR, 42.5 s, remote "ROBOFAX", port M0,1`},
		{"failed", httpapi.Job{Fax: "5550100", State: "failed", PagesSent: 1, ErrorText: "busy"},
			"  5550100          [####................] 1/5 pages  failed: busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := progressLine(tc.job, 5); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestProgressViewTerminal(t *testing.T) {
	var b strings.Builder
	v := newProgressView(&b, true)
	v.draw([]string{"a 0/2", "b 0/2"})
	v.draw([]string{"a 0/2", "b 0/2"}) // unchanged: nothing drawn
	v.draw([]string{"a 1/2", "b 0/2"})
	want := "\r\x1b[Ka 0/2\n\r\x1b[Kb 0/2\n" + "\x1b[2A\r\x1b[Ka 1/2\n\r\x1b[Kb 0/2\n"
	if b.String() != want {
		t.Errorf("terminal output %q, want %q", b.String(), want)
	}
	b.Reset()
	v = newProgressView(&b, false)
	v.draw([]string{"a 0/2", "b 0/2"})
	v.draw([]string{"a 0/2", "b 0/2"})
	v.draw([]string{"a 1/2", "b 0/2"})
	if want := "a 0/2\nb 0/2\na 1/2\n"; b.String() != want {
		t.Errorf("plain output %q, want %q", b.String(), want)
	}
}

// TestSendWaitProgress runs send --wait against the API while the test
// plays the agent: it claims the job, reports page progress and completes
// it, one step after each poll of the client, and checks the lines the
// client printed (not a terminal: a line per change).
func TestSendWaitProgress(t *testing.T) {
	// Polls of the message happen under gate's read lock and are counted;
	// a step takes the write lock, so every poll sees a whole step.
	var gate sync.RWMutex
	var mu sync.Mutex
	polls := 0
	cond := sync.NewCond(&mu)
	url, st := apiServerWrapped(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gate.RLock()
			defer gate.RUnlock()
			h.ServeHTTP(w, r)
			// Counted before the read lock goes: a step never misses
			// a poll that saw the state before it.
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/messages/") {
				mu.Lock()
				polls++
				cond.Broadcast()
				mu.Unlock()
			}
		})
	})
	ctx := context.Background()
	// waitPoll waits for a poll that started after the last step.
	waitPoll := func(after int) {
		mu.Lock()
		for polls <= after {
			cond.Wait()
		}
		mu.Unlock()
	}
	step := func(f func() error) {
		gate.Lock()
		err := f()
		mu.Lock()
		n := polls
		mu.Unlock()
		gate.Unlock()
		if err != nil {
			t.Error(err)
		}
		waitPoll(n)
	}
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		waitPoll(0) // the message exists and the client polls
		var lease core.Lease
		step(func() error {
			jobs, err := st.Claim(ctx, core.Claim{Agent: "a1", Max: 1, Lease: time.Minute})
			if err != nil || len(jobs) != 1 {
				return fmt.Errorf("claim: %v %d", err, len(jobs))
			}
			lease = jobs[0].Lease
			return nil
		})
		for _, sent := range []int{0, 1, 2} {
			step(func() error { return st.Progress(ctx, lease, sent, 2) })
		}
		step(func() error {
			_, err := st.Report(ctx, core.Report{Lease: lease, Key: "a1#1", Outcome: core.OutcomeDone, Attempt: &core.Transmission{
				Key: "a1#1", AttemptFacts: agent.AttemptFacts{FaxProtocol: "V17", TransmitSpeed: 14400, CompressionMode: "MMR", CallDuration: 12 * time.Second,
					RemoteCSID: "ROBOFAX", BoardID: "M0,1", PageCount: 2, PageSent: 2, AttemptNo: 1, MaxAttemptNo: 3}}})
			return err
		})
	}()
	code, out, errs := runCLI(t, "send", "--to", "5550103", "--wait", "--timeout", "1m", sample, sample,
		"--server", url, "--token", clientToken)
	<-agentDone
	want := `message 1 queued: 1 recipient(s), 2 pages
  5550103          [....................] 0/2 pages  queued
  5550103          [....................] 0/2 pages  in call (attempt 1/3)
  5550103          [##########..........] 1/2 pages  in call (attempt 1/3)
  5550103          [####################] 2/2 pages  in call (attempt 1/3)
  5550103          [####################] 2/2 pages  sent: V17 14400 bit/s MMR, 12.0 s, remote "ROBOFAX", port M0,1
message 1: Completed, 1 of 1 recipient(s) sent
`
	if code != 0 || out != want {
		t.Errorf("send --wait: exit %d, stderr %q, output\n%s\nwant\n%s", code, errs, out, want)
	}
}

// TestFileTokenOnlyToItsServer: a token read from a data directory or
// the user config goes only to the server that file names; --server
// elsewhere gets no token from it (one given by flag or env goes anywhere).
func TestFileTokenOnlyToItsServer(t *testing.T) {
	data, user := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(data, serverURLFile), []byte("http://127.0.0.1:8123\n"), 0o600)
	os.WriteFile(filepath.Join(data, tokenFile), []byte("fxa_data-dir-token-0123456789\n"), 0o600)
	env := map[string]string{"XDG_CONFIG_HOME": user}
	getenv := func(k string) string { return env[k] }
	mk := func(server, token string) (*client, error) {
		s, tk, d := server, token, data
		return clientFlags{server: &s, token: &tk, data: &d, ca: new(string)}.client(getenv)
	}
	for _, server := range []string{"", "127.0.0.1:8123", "http://127.0.0.1:8123/"} {
		c, err := mk(server, "")
		if err != nil || c.token != "fxa_data-dir-token-0123456789" || c.base != "http://127.0.0.1:8123" {
			t.Errorf("--server %q: %+v %v", server, c, err)
		}
	}
	if c, err := mk("http://other.example:8080", ""); err == nil || !strings.Contains(err.Error(), "no API token") {
		t.Errorf("another server got the data directory's token: %+v %v", c, err)
	}
	if c, err := mk("http://other.example:8080", "fxa_given-token-0123456789"); err != nil || c.token != "fxa_given-token-0123456789" {
		t.Errorf("--token for another server: %+v %v", c, err)
	}
	env["FAXAGENT_TOKEN"] = "fxa_env-token-0123456789"
	if c, err := mk("http://other.example:8080", ""); err != nil || c.token != "fxa_env-token-0123456789" {
		t.Errorf("FAXAGENT_TOKEN for another server: %+v %v", c, err)
	}
}
