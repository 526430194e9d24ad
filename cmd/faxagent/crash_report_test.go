package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// callLine is serve's log line for an outbound attempt whose record was
// stored: the line is written after the transaction that stored the record
// with the job's new state (Finish) committed.
var callLine = regexp.MustCompile(`msg=call direction=outbound .* attempt=(\S+) .*stored=true`)

// reportKiller is serve's stdout and stderr: it collects the attempt IDs
// whose records were stored and sends SIGKILL to the process as soon as
// the n-th of them is logged, that is, while the agent is writing that
// attempt's result to the store.
type reportKiller struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	n       int
	partial []byte
	out     strings.Builder
	stored  []string
	killed  bool
}

func (k *reportKiller) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.out.Write(p)
	k.partial = append(k.partial, p...)
	for {
		i := strings.IndexByte(string(k.partial), '\n')
		if i < 0 {
			break
		}
		line := string(k.partial[:i])
		k.partial = k.partial[i+1:]
		if m := callLine.FindStringSubmatch(line); m != nil {
			k.stored = append(k.stored, strings.Trim(m[1], `"`))
			if len(k.stored) == k.n && !k.killed && k.n > 0 {
				k.killed = true
				k.cmd.Process.Kill()
			}
		}
	}
	return len(p), nil
}

func (k *reportKiller) result() (stored []string, killed bool, out string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.stored...), k.killed, k.out.String()
}

// startKillable runs serve in dir with a reportKiller that kills it at the
// n-th stored attempt (n 0: never), and waits until its API answers.
func startKillable(t *testing.T, dir string, argv []string, n int) (*server, *reportKiller) {
	t.Helper()
	data := filepath.Join(dir, "faxagent-data")
	os.Remove(filepath.Join(data, serverURLFile))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = cleanEnv("FAXAGENT_LISTEN=127.0.0.1:0", "FAXAGENT_ADMIN_PASSWORD=e2e-admin-password")
	k := &reportKiller{cmd: cmd, n: n}
	cmd.Stdout, cmd.Stderr = k, k
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			_, _, out := k.result()
			t.Logf("serve output:\n%s", out)
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
			if _, killed, _ := k.result(); killed {
				// Killed before the API answered: the caller sees it.
				s.done <- err
				return s, k
			}
			_, _, out := k.result()
			t.Fatalf("serve exited: %v\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if i > 600 {
			t.Fatal("serve did not come up")
		}
	}
	tok, err := os.ReadFile(filepath.Join(data, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	s.tok = strings.TrimSpace(string(tok))
	return s, k
}

// TestCrashDuringReport kills serve with SIGKILL, five times, the moment
// an attempt's record is stored, restarts it on the same data directory
// each time, and checks that a stored record always came with the job's
// new state (one transaction), and that every job ends exactly once with
// every stored attempt record present: no job lost, no job done twice, no
// attempt number repeated.
func TestCrashDuringReport(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	const (
		jobs      = 200
		kills     = 5
		sendPorts = 2 // the default configuration's sending ports
	)
	cfg := filepath.Join(dir, "faxagent.yaml")
	// Calls take no time, so the agent spends its time writing results;
	// short leases so a restarted agent reclaims the jobs the killed one
	// held; attempts enough for every kill to cost one.
	if err := os.WriteFile(cfg, []byte("agent:\n  lease: 1s\n  poll: 100ms\n  grace: 1s\n  retry:\n    max_attempts: 10\n"+
		"  loopback:\n    pacing: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	argv := []string{bin, "serve", "--config", cfg}
	letter, err := filepath.Abs("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}

	// Queue the jobs on a server whose agent cannot send yet: a core-only
	// process on the same data directory.
	s, _ := startKillable(t, dir, []string{bin, "serve", "--config", cfg, "--role", "core"}, 0)
	send := []string{bin, "send"}
	for i := range jobs {
		send = append(send, "--to", fmt.Sprintf("555%04d", 3000+i))
	}
	send = append(send, letter)
	if out, err := runIn(dir, send); err != nil || !strings.Contains(out, "message 1 queued") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	s.stop()

	var stored []string
	interrupted := 0 // kills that found a stored record without its outcome
	for round := range kills {
		// Kill at a different stored attempt each round.
		s, k := startKillable(t, dir, argv, 5+round*3)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: serve was not killed (too few attempts stored?)", round)
		}
		st, killed, _ := k.result()
		if !killed {
			t.Fatalf("round %d: serve exited by itself", round)
		}
		stored = append(stored, st...)
		// Was the outcome of the attempt at which serve was killed written?
		s, _ = startKillable(t, dir, []string{bin, "serve", "--config", cfg, "--role", "core"}, 0)
		var m httpapi.Message
		s.get("/api/v1/messages/1", &m)
		last := st[len(st)-1]
		for _, j := range m.Jobs {
			for _, a := range j.Attempts {
				if a.Key == last && a.Outcome != "done" {
					interrupted++
				}
			}
		}
		s.stop()
	}
	t.Logf("%d attempt records stored before the kills", len(stored))
	if interrupted != 0 {
		t.Errorf("%d of %d kills left a stored attempt record without the job's outcome", interrupted, kills)
	}

	s, _ = startKillable(t, dir, argv, 0)
	var m httpapi.Message
	for i := 0; ; i++ {
		s.get("/api/v1/messages/1", &m)
		if m.JobsComplete == jobs {
			break
		}
		if i > 400 {
			t.Fatalf("only %d of %d jobs ended after the last restart", m.JobsComplete, jobs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m.Folder != "sent" || m.Status != "Completed" || len(m.Jobs) != jobs {
		t.Fatalf("message %s in %s with %d jobs", m.Status, m.Folder, len(m.Jobs))
	}
	keys := map[string]bool{}
	gaps, retried := 0, 0
	for _, j := range m.Jobs {
		if j.State != "done" || j.Completed == nil || j.PagesSent != 1 {
			t.Errorf("job %d (%s): state %s, pages sent %d", j.ID, j.Fax, j.State, j.PagesSent)
		}
		nos := map[int]bool{}
		done := 0
		for _, a := range j.Attempts {
			if keys[a.Key] {
				t.Errorf("job %d: attempt %s recorded twice", j.ID, a.Key)
			}
			keys[a.Key] = true
			if nos[a.AttemptNo] || a.AttemptNo < 1 || a.AttemptNo > j.AttemptCount {
				t.Errorf("job %d: attempt number %d repeated or outside 1..%d: %+v", j.ID, a.AttemptNo, j.AttemptCount, j.Attempts)
			}
			nos[a.AttemptNo] = true
			if a.Outcome == "done" {
				done++
				if a.AttemptNo != j.AttemptCount || a.Stale {
					t.Errorf("job %d: done at attempt %d of %d (stale %v)", j.ID, a.AttemptNo, j.AttemptCount, a.Stale)
				}
			}
		}
		if done != 1 {
			t.Errorf("job %d: %d done attempts, want 1: %+v", j.ID, done, j.Attempts)
		}
		// An attempt number without a record is a call the kill cut off
		// before its record was written.
		gaps += j.AttemptCount - len(j.Attempts)
		if j.AttemptCount > 1 {
			retried++
		}
	}
	for _, key := range stored {
		if !keys[key] {
			t.Errorf("attempt %s was stored before a kill and is gone", key)
		}
	}
	if max := kills * sendPorts; gaps > max {
		t.Errorf("%d attempts without a record; at most %d calls (%d kills x %d ports) can be cut off", gaps, max, kills, sendPorts)
	}
	if retried == 0 {
		t.Errorf("no job was claimed again after %d kills: the kills hit no job in flight", kills)
	}
	t.Logf("%d jobs done once each; %d claimed again after a kill; %d cut-off calls without a record", jobs, retried, gaps)
	s.stop()
}
