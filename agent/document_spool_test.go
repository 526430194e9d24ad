package agent

import (
	"os"
	"path/filepath"
	"testing"
)

// A call ID reused after a restart must not collide with a fax already in
// the spool: the new fax gets a name of its own and the old one is kept.
func TestCreateUniqueKeepsExistingFax(t *testing.T) {
	dir := t.TempDir()
	path := spoolName(dir, "vm", "M0,3/2")
	if err := os.WriteFile(path, []byte("old fax"), 0o640); err != nil {
		t.Fatal(err)
	}
	p := path
	f, err := createUnique(&p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if p == path || filepath.Dir(p) != dir {
		t.Fatalf("new fax at %q, want a new name in %s", p, dir)
	}
	if b, _ := os.ReadFile(path); string(b) != "old fax" {
		t.Fatalf("existing fax overwritten: %q", b)
	}
	q := path
	f, err = createUnique(&q)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if q == p || q == path {
		t.Fatalf("third fax reused a name: %q", q)
	}
}
