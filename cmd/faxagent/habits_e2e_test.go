package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// sendID runs a send and returns the message ID it printed.
func sendID(t *testing.T, dir string, argv []string) (int64, string) {
	t.Helper()
	out, _ := runIn(dir, argv)
	var id int64
	if _, err := fmt.Sscanf(out, "message %d ", &id); err != nil {
		t.Fatalf("%q: %v\n%s", argv, err, out)
	}
	return id, out
}

// TestHylaFAXHabits runs the commands a HylaFAX administrator reaches for
// through the binary against a running serve: send - (standard input)
// with --note, --hold, --schedule; retry (attempt numbers go on); list's
// columns (direction, remote, pages, recipients done of total); log, one
// line per call; --json on every read command.
func TestHylaFAXHabits(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfg, []byte("agent:\n  poll: 200ms\n  loopback:\n    pacing: none\n"), 0o600)
	s := startServe(t, dir, []string{bin, "serve", "--config", cfg})
	letter, _ := filepath.Abs(sample)

	// send - reads standard input.
	f, err := os.Open(letter)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "send", "--to", "5550104", "--note", "call back", "--subject", "stdin letter", "--wait", "-")
	cmd.Dir, cmd.Env, cmd.Stdin = dir, cleanEnv(), f
	out, err := cmd.CombinedOutput()
	f.Close()
	if err != nil || !strings.Contains(string(out), "message 1 queued: 1 recipient(s), 1 page\n") || !strings.Contains(string(out), "message 1: Completed") {
		t.Fatalf("send -: %v\n%s", err, out)
	}
	var m httpapi.Message
	if s.get("/api/v1/messages/1", &m); m.Note != "call back" || m.Documents[0].Name != "stdin.png" {
		t.Fatalf("message from stdin: note %q, documents %+v", m.Note, m.Documents)
	}

	// A busy number, then retry: the second attempt is #2.
	busy, out1 := sendID(t, dir, []string{bin, "send", "--to", "5550111", "--retries", "0", "--wait", letter})
	if !strings.Contains(out1, fmt.Sprintf("message %d: Failed, 0 of 1", busy)) {
		t.Fatalf("busy send:\n%s", out1)
	}
	out2, err := runIn(dir, []string{bin, "retry", fmt.Sprint(busy)})
	if err != nil || !strings.Contains(out2, "1 recipient(s) queued again") {
		t.Fatalf("retry: %v\n%s", err, out2)
	}
	for i := 0; ; i++ {
		if s.get(fmt.Sprintf("/api/v1/messages/%d", busy), &m); m.Status == "Failed" && len(m.Jobs[0].Attempts) == 2 {
			break
		}
		if i > 300 {
			t.Fatalf("retried message: %s %+v", m.Status, m.Jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a := m.Jobs[0].Attempts; a[0].AttemptNo != 1 || a[1].AttemptNo != 2 {
		t.Errorf("attempt numbers after a retry: %d, %d; want 1, 2", a[0].AttemptNo, a[1].AttemptNo)
	}

	// --hold and --schedule.
	held, out3 := sendID(t, dir, []string{bin, "send", "--to", "5550199", "--hold", letter})
	if !strings.Contains(out3, "on hold") {
		t.Fatalf("send --hold: %s", out3)
	}
	later, out4 := sendID(t, dir, []string{bin, "send", "--to", "5550199", "--schedule", "+1h", letter})
	if !strings.Contains(out4, "scheduled for") {
		t.Fatalf("send --schedule: %s", out4)
	}
	if s.get(fmt.Sprintf("/api/v1/messages/%d", held), &m); m.Status != "Held" || m.Folder != "hold" {
		t.Errorf("held message: %s in %s", m.Status, m.Folder)
	}
	if s.get(fmt.Sprintf("/api/v1/messages/%d", later), &m); m.Schedule == nil || time.Until(*m.Schedule) < 55*time.Minute ||
		m.Jobs[0].NotBefore == nil || time.Until(*m.Jobs[0].NotBefore) < 55*time.Minute {
		t.Errorf("scheduled message: %+v, job %+v", m.Schedule, m.Jobs[0])
	}

	// list: direction, remote, pages, recipients, status.
	out5, err := runIn(dir, []string{bin, "list", "--folder", "sent"})
	if err != nil || !regexp.MustCompile(`(?m)^1 +out +5550104 +1/1 +1/1 +Completed `).MatchString(out5) ||
		!regexp.MustCompile(fmt.Sprintf(`(?m)^%d +out +5550111 +0/1 +0/1 +Failed `, busy)).MatchString(out5) {
		t.Errorf("list --folder sent:\n%s", out5)
	}
	out6, err := runIn(dir, []string{bin, "list", "--folder", "inbox"})
	if err != nil || !regexp.MustCompile(`(?m)^2 +in +\S.* +1/1 +- +Received `).MatchString(out6) {
		t.Errorf("list --folder inbox:\n%s", out6)
	}

	// log: one line per call, outbound with its attempt number.
	out7, err := runIn(dir, []string{bin, "log"})
	if err != nil || !regexp.MustCompile(`out #1 +5550104 +\S+ +1/1 +\d{4,5} +V\S+ +M[HRM]+ +yes +[0-9.]+s +M0,\d +1 +Completed`).MatchString(out7) ||
		!regexp.MustCompile(fmt.Sprintf(`(?m)out #2 +5550111 .* %d +Failed: busy$`, busy)).MatchString(out7) ||
		!regexp.MustCompile(`(?m) in +\S+ +\S+ +1/1 +\d{4,5} +V\S+ +M[HRM]+ +yes .*Received`).MatchString(out7) ||
		strings.Contains(out7, "busy: busy") {
		t.Errorf("log:\n%s", out7)
	}

	// --json on every read command.
	for _, args := range [][]string{{"status", "1"}, {"list"}, {"log"}, {"ports"}} {
		out, err := runIn(dir, append([]string{bin}, append(args, "--json")...))
		var v map[string]any
		if err != nil || json.Unmarshal([]byte(out), &v) != nil || len(v) == 0 {
			t.Errorf("%q --json: %v\n%s", args, err, out)
		}
	}
	s.stop()
}

// TestAlter changes a held message's number and priority and releases
// it (it is sent to the new number), brings a scheduled one forward, and
// refuses to alter a message that has nothing waiting.
func TestAlter(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfg, []byte("agent:\n  poll: 200ms\n  loopback:\n    pacing: none\n"), 0o600)
	s := startServe(t, dir, []string{bin, "serve", "--config", cfg})
	letter, _ := filepath.Abs(sample)

	held, _ := sendID(t, dir, []string{bin, "send", "--to", "5550111", "--hold", letter})
	out, err := runIn(dir, []string{bin, "alter", fmt.Sprint(held), "--number", "5550104", "--priority", "high"})
	if err != nil || !strings.Contains(out, "1 waiting recipient(s) altered") {
		t.Fatalf("alter: %v\n%s", err, out)
	}
	var m httpapi.Message
	if s.get(fmt.Sprintf("/api/v1/messages/%d", held), &m); m.Status != "Held" || m.Priority != 70 || m.Jobs[0].Fax != "5550104" {
		t.Fatalf("altered, still held: %s priority %d to %s", m.Status, m.Priority, m.Jobs[0].Fax)
	}
	if out, err := runIn(dir, []string{bin, "alter", fmt.Sprint(held), "--release"}); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	later, _ := sendID(t, dir, []string{bin, "send", "--to", "5550199", "--schedule", "+2h", letter})
	if out, err := runIn(dir, []string{bin, "alter", fmt.Sprint(later), "--schedule", "now"}); err != nil {
		t.Fatalf("alter --schedule now: %v\n%s", err, out)
	}
	for _, id := range []int64{held, later} {
		for i := 0; ; i++ {
			if s.get(fmt.Sprintf("/api/v1/messages/%d", id), &m); m.Status == "Completed" {
				break
			}
			if i > 400 {
				t.Fatalf("message %d: %s %+v", id, m.Status, m.Jobs)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	if a := m.Jobs[0].Attempts; len(a) != 1 || a[0].CalledNumber != "5550199" {
		t.Errorf("scheduled message's attempts: %+v", a)
	}
	s.get(fmt.Sprintf("/api/v1/messages/%d", held), &m)
	if a := m.Jobs[0].Attempts; len(a) != 1 || a[0].CalledNumber != "5550104" {
		t.Errorf("altered message's attempts: %+v", a)
	}
	out, err = runIn(dir, []string{bin, "alter", fmt.Sprint(held), "--priority", "low"})
	if err == nil || !strings.Contains(out, "has no queued or held recipient") {
		t.Errorf("alter of a sent message: %v\n%s", err, out)
	}
	if out, err := runIn(dir, []string{bin, "alter", fmt.Sprint(held)}); err == nil || !strings.Contains(out, "alter needs") {
		t.Errorf("alter without a change: %v\n%s", err, out)
	}
	s.stop()
}
