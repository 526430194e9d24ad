package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

// Binary is a Go program a package's tests run, built on first use and
// only then: a test binary whose selected tests never ask for it never
// builds it. The zero value is not usable; use NewBinary.
type Binary struct {
	pkg   string
	env   []string
	build func() (string, error)

	mu  sync.Mutex
	dir string
}

// NewBinary describes the program at import path pkg (or a directory such
// as "."), built with env added to the environment (CGO_ENABLED=0, say).
// Call Remove from TestMain after m.Run.
func NewBinary(pkg string, env ...string) *Binary {
	b := &Binary{pkg: pkg, env: env}
	b.build = sync.OnceValues(b.compile)
	return b
}

func (b *Binary) compile() (string, error) {
	dir, err := os.MkdirTemp("", "faxagent-test-bin-")
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.dir = dir
	b.mu.Unlock()
	name := path.Base(b.pkg)
	if b.pkg == "." {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		name = filepath.Base(wd)
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, b.pkg)
	cmd.Env = append(os.Environ(), b.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
	}
	return bin, nil
}

// Path builds the program the first time any test asks and returns its
// path; a failed build fails every test that asks.
func (b *Binary) Path(tb testing.TB) string {
	tb.Helper()
	bin, err := b.build()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// Remove deletes the built program, if any was built.
func (b *Binary) Remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
