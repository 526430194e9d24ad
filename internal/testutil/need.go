package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// CI reports whether the tests run under CI (CI=true), where nothing the
// suite needs may be missing.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing ends the test because something it needs is not there: it fails
// under CI=true and skips otherwise, with the reason either way.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		tb.Fatalf("%s (required under CI=true)", msg)
	}
	tb.Skipf("%s (skipped; under CI=true this fails)", msg)
}

// debianPackage names the Debian package that installs a tool the tests use.
func debianPackage(tool string) string {
	switch {
	case strings.HasPrefix(tool, "tiff") && tool != "tifftopnm", tool == "fax2tiff":
		return "libtiff-tools"
	case strings.HasPrefix(tool, "pdf"):
		return "poppler-utils"
	case strings.Contains(tool, "pnm"), strings.Contains(tool, "pbm"), strings.Contains(tool, "pam"), strings.Contains(tool, "pgm"):
		return "netpbm"
	case tool == "gs":
		return "ghostscript"
	case tool == "sipp":
		return "sip-tester"
	case tool == "node", tool == "npm":
		return "nodejs, npm"
	}
	return tool
}

// NeedTool returns the path of each named program on PATH, in order; when
// one is missing it ends the test through Missing, naming the Debian
// package that installs it.
func NeedTool(tb testing.TB, names ...string) []string {
	tb.Helper()
	paths := make([]string, len(names))
	for i, name := range names {
		p, err := exec.LookPath(name)
		if err != nil {
			Missing(tb, "%s is not installed (Debian package %s)", name, debianPackage(name))
		}
		paths[i] = p
	}
	return paths
}

// Tool is NeedTool for one program: its path.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	return NeedTool(tb, name)[0]
}

// PostgresURL is the PostgreSQL server the tests use:
// FAXAGENT_TEST_POSTGRES, or the trust-auth database test on 127.0.0.1.
func PostgresURL() string {
	if u := os.Getenv("FAXAGENT_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// NeedPostgres returns PostgresURL after checking that the server answers;
// when it does not, it ends the test through Missing.
func NeedPostgres(tb testing.TB) string {
	tb.Helper()
	u := PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err == nil {
		err = c.Ping(ctx)
		c.Close(ctx)
	}
	if err != nil {
		Missing(tb, "PostgreSQL at %s is not reachable: %v", u, err)
	}
	return u
}

// NeedRealtime skips a test that runs calls on the wall clock (tens of
// seconds each) unless CI=true or FAXAGENT_REALTIME=1; what says what the
// test runs and how long it takes.
func NeedRealtime(tb testing.TB, what string) {
	tb.Helper()
	if CI() || os.Getenv("FAXAGENT_REALTIME") == "1" {
		return
	}
	tb.Skipf("%s: set FAXAGENT_REALTIME=1 to run it (always on under CI=true)", what)
}
