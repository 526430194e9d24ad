package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// fakeClock is a settable clock shared by a test and its store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// postgresURL is the test server; FAXAGENT_TEST_POSTGRES overrides it.
func postgresURL() string {
	if u := os.Getenv("FAXAGENT_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// needPostgres skips (or under CI=true fails) a test when PostgreSQL is not
// reachable.
func needPostgres(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, postgresURL())
	if err == nil {
		err = c.Ping(ctx)
		c.Close(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL at %s is not reachable: %v", postgresURL(), err)
		}
		tb.Skipf("PostgreSQL at %s is not reachable (set CI=true to fail instead): %v", postgresURL(), err)
	}
}

func randomSchema(tb testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "faxagent_test_" + hex.EncodeToString(b)
}

// dropSchemaLater removes a test schema when the test ends.
func dropSchemaLater(tb testing.TB, schema string) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, postgresURL())
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
}

// backend opens stores of one kind for tests.
type backend struct {
	name string
	// options returns options for a fresh, empty store.
	options func(tb testing.TB) Options
}

func backends() []backend {
	return []backend{
		{"sqlite", func(tb testing.TB) Options {
			return Options{DataDir: tb.TempDir()}
		}},
		{"postgres", func(tb testing.TB) Options {
			needPostgres(tb)
			schema := randomSchema(tb)
			dropSchemaLater(tb, schema)
			return Options{DataDir: tb.TempDir(), DatabaseURL: postgresURL(), Schema: schema}
		}},
	}
}

const testAdminPassword = "correct horse battery"

// openTest opens a fresh store with a fake clock and a cheap bcrypt cost.
func openTest(tb testing.TB, be backend, tweak func(*Options)) (*sqlStore, *fakeClock, Options) {
	tb.Helper()
	clk := newFakeClock()
	o := be.options(tb)
	o.Now = clk.Now
	o.PasswordCost = 4
	o.AdminPassword = testAdminPassword
	o.Logger = slog.New(slog.DiscardHandler)
	if tweak != nil {
		tweak(&o)
	}
	st, _, err := Open(context.Background(), o)
	if err != nil {
		tb.Fatalf("open %s: %v", be.name, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st.(*sqlStore), clk, o
}
