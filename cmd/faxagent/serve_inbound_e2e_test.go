package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
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
