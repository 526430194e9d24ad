package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxagent/faxagent/internal/testutil"
)

// privatePostgres is a PostgreSQL server of one test, in a temporary
// directory on a free port, so that the test may restart it without
// disturbing anyone else's database.
type privatePostgres struct {
	t    *testing.T
	bin  string // the directory of pg_ctl and initdb
	dir  string // socket directory, log, and data in dir/data
	opts string // pg_ctl -o
	url  string
	root bool // run the server as the postgres OS user
}

// startPrivatePostgres initialises and starts a PostgreSQL server (trust
// auth, superuser postgres); t.Cleanup stops it and removes its files.
// Without PostgreSQL's server binaries the test is skipped, or fails
// under CI=true.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Strings(bins)
	bin := ""
	if len(bins) > 0 {
		bin = filepath.Dir(bins[len(bins)-1])
	} else if p, err := exec.LookPath("pg_ctl"); err == nil {
		bin = filepath.Dir(p)
	}
	if bin == "" {
		testutil.Missing(t, "PostgreSQL server binaries (pg_ctl, initdb) not found in /usr/lib/postgresql/*/bin or PATH")
	}
	// Not t.TempDir: the postgres user must be able to reach the directory.
	dir, err := os.MkdirTemp("", "faxagent-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg := &privatePostgres{t: t, bin: bin, dir: dir, root: os.Geteuid() == 0}
	if pg.root {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := pg.run("initdb", "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "-N"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// The server is restarted cleanly (fast shutdown), never crashed, so
	// it need not sync to disk.
	pg.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200", port, dir)
	pg.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if out, err := pg.ctl("start"); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, pg.log())
	}
	t.Cleanup(func() {
		if out, err := pg.ctl("stop", "-m", "immediate"); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return pg
}

// run runs one of PostgreSQL's programs, as the postgres user under root.
func (pg *privatePostgres) run(prog string, args ...string) ([]byte, error) {
	argv := append([]string{filepath.Join(pg.bin, prog)}, args...)
	if pg.root {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = pg.dir
	return cmd.CombinedOutput()
}

// ctl runs pg_ctl with the server's options; the server's output goes to
// its log file, so pg_ctl returns once the server is up (or down).
func (pg *privatePostgres) ctl(action string, args ...string) ([]byte, error) {
	return pg.run("pg_ctl", append([]string{action, "-D", filepath.Join(pg.dir, "data"), "-o", pg.opts,
		"-l", filepath.Join(pg.dir, "log"), "-w", "-t", "60"}, args...)...)
}

func (pg *privatePostgres) log() string {
	b, _ := os.ReadFile(filepath.Join(pg.dir, "log"))
	return string(b)
}

// query runs fn on a fresh connection (the server may have restarted).
func (pg *privatePostgres) query(fn func(ctx context.Context, c *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, pg.url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return fn(ctx, c)
}
