package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthrough runs the README's Quick start as written, in
// order, in a fresh directory with the sample letter beside it: `go
// install ./cmd/faxagent` is the binary this test built, put first on
// PATH; `faxagent serve` runs in the background; every other command must
// succeed (a command about the fax that arrives back may be run again
// until the receiving port has filed it). Afterwards the downloaded PDF
// is there.
func TestReadmeWalkthrough(t *testing.T) {
	bin := faxagentBinary(t)
	cmds := readmeQuickStart(t)
	if len(cmds) < 6 || strings.Join(cmds[0], " ") != "go install ./cmd/faxagent" {
		t.Fatalf("Quick start does not begin with go install ./cmd/faxagent: %q", cmds)
	}
	dir := t.TempDir()
	testdata, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(testdata, filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	xdg := "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config")
	var s *server
	for _, c := range cmds[1:] {
		if c[0] != "faxagent" {
			t.Fatalf("Quick start command %q is not a faxagent command", c)
		}
		if c[1] == "serve" {
			s = startServe(t, dir, asBinary(t, bin, c), path, xdg)
			if !strings.Contains(s.out.String(), "API token") || !strings.Contains(s.out.String(), "from any directory") {
				t.Fatalf("serve's first start:\n%s", s.out.String())
			}
			continue
		}
		if s == nil {
			t.Fatalf("%q runs before serve", c)
		}
		for i := 0; ; i++ {
			argv := asBinary(t, bin, c) // the faxagent on PATH
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = dir
			cmd.Env = cleanEnv(path, xdg)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Logf("$ %s\n%s", strings.Join(c, " "), out)
				break
			}
			if i > 100 {
				t.Fatalf("$ %s: %v\n%s", strings.Join(c, " "), err, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "fax.pdf")); err != nil || !strings.HasPrefix(string(b), "%PDF-") {
		t.Fatalf("fax.pdf: %v", err)
	}
	s.stop()
}
