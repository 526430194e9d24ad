package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/t30"
)

// Reception IDs never repeat (a restart of the agent or of a driver does
// not reset them), name one file each in the spool, and a spool file that
// exists is never overwritten.
func TestInboundIDsAndSpoolNames(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewInboundID("vm/1")
		base := spoolBase(id)
		if seen[id] || seen[base] || !strings.HasPrefix(id, "vm/1/") || strings.ContainsAny(base, `/\.`) {
			t.Fatalf("ID %q (file %q) repeats or names a path", id, base)
		}
		seen[id], seen[base] = true, true
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "x.tif")
	if err := os.WriteFile(path, []byte("old fax"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &spoolSink{path: path}
	if err := s.Page(&t30.ReceivedPage{}); err == nil {
		t.Fatal("a sink wrote over an existing file")
	}
	if b, _ := os.ReadFile(path); string(b) != "old fax" {
		t.Fatalf("existing fax overwritten: %q", b)
	}
}
