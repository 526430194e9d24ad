// Package loginlimit owns the limiting of password logins (SOAP Basic
// credentials, AuthenticateUser, the API's password login): every attempt
// is reserved and counted before the password is compared, so parallel
// guesses cannot slip past the count, and the back-off an attacker earns
// falls on the addresses it guesses from, not on the account.
//
// Three counters see each attempt:
//   - per (user name, source address): after PairFailures failures the pair
//     backs off exponentially (Backoff, doubling up to MaxBackoff);
//   - per source address, any user names: after SourceFailures failures the
//     source backs off the same way;
//   - per user name, all sources: after UserFailures failures the user's
//     attempts are taken one at a time, and sources that have failed for
//     that user back off; a source that never failed for the user is not
//     locked out, so guesses from elsewhere cannot lock the owner out.
//
// A success clears its pair's count; source and user counts are forgotten
// after Forget without failures. While attempts are in flight, a further
// attempt that could exceed a limit waits for them to end (or for its
// context), so the outcome of every attempt is counted before the next one
// is decided.
//
// loginlimit imports only the standard library.
package loginlimit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// ErrLimited refuses an attempt without checking the password.
var ErrLimited = errors.New("loginlimit: too many failed logins; try again later")

// Config configures a Limiter; zero fields take the defaults.
type Config struct {
	// PairFailures is how many failures one user name may have from one
	// source before that pair backs off (default 5).
	PairFailures int
	// SourceFailures is how many failures one source may have, over all
	// user names, before it backs off (default 20).
	SourceFailures int
	// UserFailures is how many failures one user name may have, over all
	// sources, before its attempts are taken one at a time and the
	// sources that failed for it back off (default 20).
	UserFailures int
	// Backoff is the first back-off (default 30 s); each further failure
	// doubles it, up to MaxBackoff (default 15 min).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Forget drops a counter with no failure for this long (default 1 h).
	Forget time.Duration
	// MaxEntries bounds each counter table (default 100000); when full,
	// forgotten entries go first, then idle ones.
	MaxEntries int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults returns c with its zero fields set to the defaults.
func (c Config) Defaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.PairFailures, 5)
	def(&c.SourceFailures, 20)
	def(&c.UserFailures, 20)
	def(&c.MaxEntries, 100000)
	defD(&c.Backoff, 30*time.Second)
	defD(&c.MaxBackoff, 15*time.Minute)
	defD(&c.Forget, time.Hour)
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Limiter counts login attempts. It is safe for concurrent use.
type Limiter struct {
	cfg     Config
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever an attempt ends
	waiting int
	pairs   table
	sources table
	users   table
}

type counter struct {
	failures int
	last     time.Time // of the last failure
	pending  int       // attempts reserved and not ended
}

type table map[string]*counter

// New makes a Limiter.
func New(cfg Config) *Limiter {
	return &Limiter{cfg: cfg.Defaults(), changed: make(chan struct{}),
		pairs: table{}, sources: table{}, users: table{}}
}

// backoff is how long a counter at failures (>= limit) waits after its
// last failure.
func (l *Limiter) backoff(failures, limit int) time.Duration {
	d := l.cfg.Backoff
	for i := limit; i < failures && d < l.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, l.cfg.MaxBackoff)
}

// lockedAt reports whether c is backing off at now.
func (l *Limiter) lockedAt(c *counter, limit int, now time.Time) bool {
	return c.failures >= limit && now.Before(c.last.Add(l.backoff(c.failures, limit)))
}

// busy reports whether a further attempt must wait for pending ones.
func busy(c *counter, limit int) bool {
	return c.pending > 0 && c.failures+c.pending >= limit
}

// Check runs one login attempt for user from source: check compares the
// password and reports ok, or an error that is not the caller's (a store
// failure: not counted as a failure). It returns ErrLimited without
// calling check when the attempt is refused, and the context's error when
// ctx ends while it waits for attempts in flight.
func (l *Limiter) Check(ctx context.Context, user, source string, check func() (bool, error)) (bool, error) {
	a, err := l.begin(ctx, user, source)
	if err != nil {
		return false, err
	}
	ok, err := check()
	a.end(ok, err == nil)
	return ok && err == nil, err
}

// attempt is a reserved attempt: its counters hold it as pending.
type attempt struct {
	l          *Limiter
	pc, sc, uc *counter
}

func (l *Limiter) begin(ctx context.Context, user, source string) (*attempt, error) {
	user = strings.ToLower(user)
	pk := user + "\x00" + source
	for {
		l.mu.Lock()
		now := l.cfg.Now()
		pc, sc, uc := l.pairs.get(l, pk, now), l.sources.get(l, source, now), l.users.get(l, user, now)
		if l.lockedAt(pc, l.cfg.PairFailures, now) || l.lockedAt(sc, l.cfg.SourceFailures, now) ||
			pc.failures > 0 && l.lockedAt(uc, l.cfg.UserFailures, now) {
			l.mu.Unlock()
			return nil, ErrLimited
		}
		if busy(pc, l.cfg.PairFailures) || busy(sc, l.cfg.SourceFailures) || busy(uc, l.cfg.UserFailures) {
			ch := l.changed
			l.waiting++
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
			}
			l.mu.Lock()
			l.waiting--
			l.mu.Unlock()
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		pc.pending++
		sc.pending++
		uc.pending++
		l.mu.Unlock()
		return &attempt{l: l, pc: pc, sc: sc, uc: uc}, nil
	}
}

// end records an attempt's outcome; counted=false (the check failed for
// a reason of its own) releases it uncounted.
func (a *attempt) end(ok, counted bool) {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	for _, c := range []*counter{a.pc, a.sc, a.uc} {
		c.pending--
		if counted && !ok {
			c.failures++
			c.last = now
		}
	}
	if counted && ok {
		a.pc.failures = 0
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// Waiting is the number of attempts waiting for others to end.
func (l *Limiter) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiting
}

// get returns the counter of key, making it (and making room) if needed;
// a forgotten counter starts afresh. l.mu is held.
func (t table) get(l *Limiter, key string, now time.Time) *counter {
	c := t[key]
	if c != nil && c.pending == 0 && now.Sub(c.last) >= l.cfg.Forget {
		c.failures = 0
	}
	if c != nil {
		return c
	}
	if len(t) >= l.cfg.MaxEntries {
		t.prune(l, now)
	}
	c = &counter{}
	t[key] = c
	return c
}

// prune drops forgotten counters, then idle ones, down to 90% of the
// bound. Dropping a live idle counter forgets failures: the price of a
// bounded table under a flood of distinct keys.
func (t table) prune(l *Limiter, now time.Time) {
	target := l.cfg.MaxEntries * 9 / 10
	for k, c := range t {
		if c.pending == 0 && (c.failures == 0 || now.Sub(c.last) >= l.cfg.Forget) {
			delete(t, k)
		}
	}
	for k, c := range t {
		if len(t) <= target {
			return
		}
		if c.pending == 0 {
			delete(t, k)
		}
	}
}
