package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxagent/faxagent/internal/testutil"
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
		c, err := pgx.Connect(ctx, testutil.PostgresURL())
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
			testutil.NeedPostgres(tb)
			schema := randomSchema(tb)
			dropSchemaLater(tb, schema)
			return Options{DataDir: tb.TempDir(), DatabaseURL: testutil.PostgresURL(), Schema: schema}
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
	// Fake clocks jump: a jump without a claim would look like an outage
	// (see leaseclock.go; TestLeaseClock covers it).
	o.OutageGap = -1
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
