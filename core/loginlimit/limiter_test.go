package loginlimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newLimiter(cfg Config) (*Limiter, *clock) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	cfg.Now = c.Now
	return New(cfg), c
}

// try makes one attempt with a known outcome and reports what happened:
// "ok", "bad" (checked, wrong) or "limited" (not checked).
func try(t *testing.T, l *Limiter, user, src string, right bool) string {
	t.Helper()
	checked := false
	ok, err := l.Check(context.Background(), user, src, func() (bool, error) { checked = true; return right, nil })
	switch {
	case errors.Is(err, ErrLimited):
		if checked {
			t.Fatal("limited after checking")
		}
		return "limited"
	case err != nil:
		t.Fatal(err)
	case ok:
		return "ok"
	}
	return "bad"
}

func TestSequentialBackoff(t *testing.T) {
	l, c := newLimiter(Config{})
	for i := range 5 {
		if got := try(t, l, "Admin", "10.0.0.1", false); got != "bad" {
			t.Fatalf("guess %d: %s", i, got)
		}
	}
	steps := []struct {
		wait        time.Duration
		user, src   string
		right       bool
		want        string
		explanation string
	}{
		{0, "admin", "10.0.0.1", true, "limited", "pair backs off (user name in any case)"},
		{0, "admin", "10.0.0.2", true, "ok", "another source is not locked"},
		{0, "bob", "10.0.0.1", true, "ok", "another user from the source is not locked"},
		{29 * time.Second, "admin", "10.0.0.1", true, "limited", "within the first back-off"},
		{time.Second, "admin", "10.0.0.1", false, "bad", "one attempt after 30 s"},
		{59 * time.Second, "admin", "10.0.0.1", true, "limited", "back-off doubled"},
		{time.Second, "admin", "10.0.0.1", true, "ok", "after 60 s"},
		{0, "admin", "10.0.0.1", false, "bad", "success cleared the pair"},
		{0, "admin", "10.0.0.1", true, "ok", "one failure is no lock"},
	}
	for _, s := range steps {
		c.add(s.wait)
		if got := try(t, l, s.user, s.src, s.right); got != s.want {
			t.Fatalf("%s: %s, want %s", s.explanation, got, s.want)
		}
	}
}

func TestBackoffCapAndForget(t *testing.T) {
	l, c := newLimiter(Config{PairFailures: 1, Backoff: time.Minute, MaxBackoff: 4 * time.Minute, Forget: time.Hour})
	if got := try(t, l, "u", "s", false); got != "bad" {
		t.Fatal(got)
	}
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
		c.add(wait - time.Second)
		if got := try(t, l, "u", "s", true); got != "limited" {
			t.Fatalf("back-off %d (%v): %s a second early", i, wait, got)
		}
		c.add(time.Second)
		if got := try(t, l, "u", "s", false); got != "bad" {
			t.Fatalf("back-off %d (%v): %s when over", i, wait, got)
		}
	}
	c.add(time.Hour)
	if got := try(t, l, "u", "s", true); got != "ok" {
		t.Fatalf("after Forget: %s", got)
	}
}

func TestSourceLimit(t *testing.T) {
	l, _ := newLimiter(Config{SourceFailures: 3})
	for i := range 3 {
		if got := try(t, l, fmt.Sprint("user", i), "10.0.0.9", false); got != "bad" {
			t.Fatalf("%d: %s", i, got)
		}
	}
	if got := try(t, l, "fresh", "10.0.0.9", true); got != "limited" {
		t.Fatalf("source over its limit: %s", got)
	}
	if got := try(t, l, "fresh", "10.0.0.10", true); got != "ok" {
		t.Fatalf("other source: %s", got)
	}
}

// TestUserLimitSparesCleanSources: guesses at one user from many sources
// back off the sources that guessed, not one that never failed.
func TestUserLimitSparesCleanSources(t *testing.T) {
	l, _ := newLimiter(Config{UserFailures: 4})
	for i := range 4 {
		if got := try(t, l, "admin", fmt.Sprint("192.0.2.", i), false); got != "bad" {
			t.Fatalf("%d: %s", i, got)
		}
	}
	if got := try(t, l, "admin", "192.0.2.0", true); got != "limited" {
		t.Fatalf("a source that failed for the user: %s", got)
	}
	if got := try(t, l, "admin", "127.0.0.1", true); got != "ok" {
		t.Fatalf("a clean source: %s", got)
	}
	if got := try(t, l, "other", "192.0.2.0", true); got != "ok" {
		t.Fatalf("another user from a guessing source: %s", got)
	}
}

// TestParallelGuesses: 19 wrong attempts at once, then the right one
// while they are in flight; the check runs at most PairFailures times,
// and the right password is refused until the back-off has passed.
func TestParallelGuesses(t *testing.T) {
	l, c := newLimiter(Config{})
	var entered, done atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]string, 20)
	attempt := func(i int) {
		defer wg.Done()
		defer done.Add(1)
		right := i == 19
		ok, err := l.Check(context.Background(), "admin", "10.0.0.2", func() (bool, error) {
			entered.Add(1)
			<-release
			return right, nil
		})
		switch {
		case errors.Is(err, ErrLimited):
			results[i] = "limited"
		case err != nil:
			results[i] = err.Error()
		case ok:
			results[i] = "ok"
		default:
			results[i] = "bad"
		}
	}
	// settled waits until n attempts are in the check, waiting, or answered.
	settled := func(n int) {
		for int(entered.Load())+l.Waiting()+int(done.Load()) < n {
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 19 {
		wg.Add(1)
		go attempt(i)
	}
	settled(19)
	wg.Add(1)
	go attempt(19)
	settled(20)
	close(release)
	wg.Wait()
	if n := entered.Load(); n != 5 {
		t.Fatalf("%d checks ran, want 5", n)
	}
	count := map[string]int{}
	for _, r := range results {
		count[r]++
	}
	if count["bad"] != 5 || count["limited"] != 15 || results[19] != "limited" {
		t.Fatalf("results %v", results)
	}
	if got := try(t, l, "admin", "10.0.0.2", true); got != "limited" {
		t.Fatalf("right password before the back-off: %s", got)
	}
	c.add(30 * time.Second)
	if got := try(t, l, "admin", "10.0.0.2", true); got != "ok" {
		t.Fatalf("right password after the back-off: %s", got)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	l, _ := newLimiter(Config{PairFailures: 1})
	release := make(chan struct{})
	go l.Check(context.Background(), "u", "s", func() (bool, error) { <-release; return false, nil })
	for {
		l.mu.Lock()
		p := l.pairs["u\x00s"]
		inFlight := p != nil && p.pending == 1
		l.mu.Unlock()
		if inFlight {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for l.Waiting() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := l.Check(ctx, "u", "s", func() (bool, error) { return true, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	close(release)
}

func TestStoreErrorNotCounted(t *testing.T) {
	l, _ := newLimiter(Config{PairFailures: 1})
	boom := errors.New("store down")
	for range 3 {
		if _, err := l.Check(context.Background(), "u", "s", func() (bool, error) { return false, boom }); !errors.Is(err, boom) {
			t.Fatal(err)
		}
	}
	if got := try(t, l, "u", "s", true); got != "ok" {
		t.Fatalf("after store errors: %s", got)
	}
}

func TestBoundedTables(t *testing.T) {
	l, _ := newLimiter(Config{MaxEntries: 100})
	for i := range 1000 {
		try(t, l, fmt.Sprint("u", i), fmt.Sprint("s", i), false)
	}
	if len(l.pairs) > 100 || len(l.sources) > 100 || len(l.users) > 100 {
		t.Fatalf("tables %d %d %d, bound 100", len(l.pairs), len(l.sources), len(l.users))
	}
}
