package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/imaging/tiff"
)

// TestServeRestartKeepsReceivedFaxes is the operator's restart: serve
// receives a fax on 5550104, is stopped and started again on the same data
// directory (the loopback driver's call IDs start again), and receives
// another; the inbox has both and the agent's spool is empty. The database
// and the data directory are the owner's only.
func TestServeRestartKeepsReceivedFaxes(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	letter, err := filepath.Abs("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "faxagent-data")
	for i := 1; i <= 2; i++ {
		s := startServe(t, dir, []string{bin, "serve", "--pacing", "none"})
		if out, err := runIn(dir, []string{bin, "send", "--to", "5550104", "--wait", letter}); err != nil {
			t.Fatalf("send %d: %v\n%s", i, err, out)
		}
		var inbox httpapi.List
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if s.get("/api/v1/messages?folder=inbox", &inbox); inbox.Total >= i || time.Now().After(deadline) {
				break
			}
		}
		if inbox.Total != i {
			t.Fatalf("run %d: inbox has %d faxes, want %d", i, inbox.Total, i)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			left, _ := filepath.Glob(filepath.Join(data, "agent-spool", "*"))
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: agent spool keeps %v", i, left)
			}
		}
		s.stop()
	}
	for p, want := range map[string]os.FileMode{data: 0o700, filepath.Join(data, "faxagent.db"): 0o600,
		filepath.Join(data, "agent-spool"): 0o700, filepath.Join(data, "spool"): 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %o", p, fi.Mode(), err, want)
		}
	}
}

// spoolPages is the number of complete pages in each TIFF of the agent
// spool (a file being written is read as far as its pages are linked).
func spoolPages(t *testing.T, spool string) map[string]int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(spool, "*.tif"))
	out := map[string]int{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if r, err := tiff.Open(bytes.NewReader(b), int64(len(b))); err == nil {
			out[p] = r.NumPages()
		}
	}
	return out
}

// TestServeKilledMidReceive kills serve (SIGKILL) while it receives a
// three-page fax on 5550104 in real time, after the first page: the next
// start stores the pages received before the kill as a partial fax with
// code 102 and clears the killed call's files from the agent spool. The
// call runs paced in real time (about 45 s): only so is a call in flight
// when a process dies; the recovery's cases are covered in the agent
// package (TestSpoolRecoveryAtStart) without a wait.
func TestServeKilledMidReceive(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	letter, err := filepath.Abs("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "faxagent-data", "agent-spool")
	s := startServe(t, dir, []string{bin, "serve", "--pacing", "real"})
	if out, err := runIn(dir, []string{bin, "send", "--to", "5550104", letter, letter, letter}); err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	var killedFile string
	for deadline := time.Now().Add(3 * time.Minute); killedFile == ""; time.Sleep(100 * time.Millisecond) {
		for p, n := range spoolPages(t, spool) {
			if n >= 1 {
				killedFile = p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no page received in three minutes")
		}
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	pages := spoolPages(t, spool)[killedFile]
	if pages < 1 || pages > 2 {
		t.Fatalf("%d complete pages in the spool at the kill", pages)
	}
	record := strings.TrimSuffix(killedFile, ".tif") + ".json"
	if b, err := os.ReadFile(record); err != nil || !strings.Contains(string(b), `"in_call":true`) {
		t.Fatalf("pending report at the kill: %s %v", b, err)
	}

	s = startServe(t, dir, []string{bin, "serve", "--pacing", "none"})
	var partial *httpapi.Message
	for deadline := time.Now().Add(60 * time.Second); partial == nil; time.Sleep(100 * time.Millisecond) {
		var inbox httpapi.List
		s.get("/api/v1/messages?folder=inbox", &inbox)
		for _, m := range inbox.Messages {
			if m.Status == "Partial" {
				var md httpapi.Message
				s.get(fmt.Sprintf("/api/v1/messages/%d", m.ID), &md)
				partial = &md
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no partial fax after the restart: %+v", inbox)
		}
	}
	if len(partial.Received) != 1 || partial.Received[0].ErrorID != 102 || partial.Received[0].PageCount != pages ||
		len(partial.Documents) != 1 || partial.Documents[0].Pages != pages {
		t.Fatalf("recovered fax %+v", partial)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, errT := os.Stat(killedFile)
		_, errJ := os.Stat(record)
		if os.IsNotExist(errT) && os.IsNotExist(errJ) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed call's files stay in the spool: %v %v", errT, errJ)
		}
	}
	t.Logf("killed after %d page(s); recovered as message %d", pages, partial.ID)
}
