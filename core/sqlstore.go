package core

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqlStore implements Store on database/sql for both backends. Queries are
// written with '?' placeholders and rebound for PostgreSQL; the few
// statements that differ are chosen by s.pg.
type sqlStore struct {
	db    *sql.DB
	pool  *pgxpool.Pool // PostgreSQL only
	pg    bool
	o     Options
	spool spool

	dummyOnce sync.Once
	dummy     []byte

	// readers are poked when jobs may have become claimable (see Ready).
	readyMu sync.Mutex
	readers []chan struct{}
	timerMu sync.Mutex
	timer   *time.Timer
	timerAt time.Time
	closed  bool

	cacheMu    sync.Mutex
	claimCache map[int64]ClaimedJob // see claimInfo
	claims     atomic.Uint64        // claims made, to reap now and then

	// PostgreSQL: the notification channel that tells other processes
	// sharing the queue about new work, this store's name in its payloads
	// (see hears), and the listener's life.
	channel    string
	instance   string
	stopListen context.CancelFunc
	listenDone chan struct{}
}

// Ready returns a channel of the caller's own, poked (without blocking;
// one pending signal at most) when jobs may have become claimable: a
// submission, a release, a retry or a give-back, and at the time the next
// scheduled job or lease is due, in this process or (PostgreSQL) another
// sharing the queue. Every channel hears every signal, so the agent in
// this process and the agent protocol's long-polls both wake; the channel
// starts signalled (the reader has seen nothing yet). Each change
// signals once (a store does not hear its own notifications again). Call
// it once per reader: a channel is kept for the store's life.
func (s *sqlStore) Ready() <-chan struct{} {
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	s.readyMu.Lock()
	s.readers = append(s.readers, ch)
	s.readyMu.Unlock()
	return ch
}

func (s *sqlStore) poke() {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	for _, ch := range s.readers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// announce tells this process's agents, and on PostgreSQL those of other
// processes sharing the queue, that jobs may have become claimable.
func (s *sqlStore) announce(ctx context.Context) {
	s.poke()
	if !s.pg {
		return
	}
	if _, err := s.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", s.channel, s.instance); err != nil {
		s.o.Logger.Debug("core: notify", "err", err)
	}
}

// listen pokes Ready on every notification on s.channel, reconnecting
// after errors (a restarted server); after a reconnect it pokes once, as
// notifications may have been missed.
func (s *sqlStore) listen(ctx context.Context) {
	defer close(s.listenDone)
	for {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		s.o.Logger.Warn("core: job notifications lost, reconnecting", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (s *sqlStore) listenOnce(ctx context.Context) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	c := pc.Hijack()
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	s.poke()
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if s.hears(n.Payload) {
			s.poke()
		}
	}
}

// hears says whether a notification pokes Ready: one whose payload names
// another store (another process, or one of an older version: ""). This
// store's own come back too, and were poked for when announced: poking
// again would wake every waiting agent twice (each a claim) for one
// change.
func (s *sqlStore) hears(payload string) bool { return payload != s.instance }

// wakeAt pokes Ready at t (on the store's clock), or at once if t has
// passed; an earlier pending wake-up is kept.
func (s *sqlStore) wakeAt(t time.Time) {
	d := t.Sub(s.now())
	if d <= 0 {
		s.poke()
		return
	}
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	if s.closed || (s.timer != nil && !s.timerAt.IsZero() && !s.timerAt.After(t)) {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerAt = t
	s.timer = time.AfterFunc(d, func() {
		s.timerMu.Lock()
		s.timerAt = time.Time{}
		s.timerMu.Unlock()
		s.poke()
	})
}

// wakeNextDue arms the wake-up for the next job that becomes claimable by
// time: a scheduled or retried job, or a lease that expires.
func (s *sqlStore) wakeNextDue(ctx context.Context) {
	var next sql.NullInt64
	err := s.read().row(ctx, `SELECT MIN(t) FROM (
		SELECT MIN(not_before) AS t FROM jobs WHERE state = 'queued'
		UNION ALL SELECT MIN(lease_expires) AS t FROM jobs WHERE state = 'leased') x`).Scan(&next)
	if err == nil && next.Valid && next.Int64 > 0 {
		s.wakeAt(fromMS(next.Int64))
	}
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q is a querier that rebinds placeholders for the backend.
type q struct {
	x  querier
	pg bool
}

func (d q) rebind(query string) string {
	if !d.pg {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (d q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.x.ExecContext(ctx, d.rebind(query), args...)
}

func (d q) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.x.QueryContext(ctx, d.rebind(query), args...)
}

func (d q) row(ctx context.Context, query string, args ...any) *sql.Row {
	return d.x.QueryRowContext(ctx, d.rebind(query), args...)
}

// forUpdate is the row-locking suffix of a SELECT inside a transaction
// (SQLite transactions are single-writer already). PostgreSQL's NO KEY
// UPDATE lock does not conflict with the KEY SHARE locks that inserts
// referencing the row take, so a transaction that inserts an attempt and
// then locks its message cannot deadlock with another one doing the same.
func (d q) forUpdate() string {
	if d.pg {
		return " FOR NO KEY UPDATE"
	}
	return ""
}

func (s *sqlStore) Backend() string {
	if s.pg {
		return "postgres"
	}
	return "sqlite"
}

func (s *sqlStore) Close() error {
	if s.stopListen != nil {
		s.stopListen()
		<-s.listenDone
	}
	s.timerMu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerMu.Unlock()
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

func (s *sqlStore) now() time.Time { return s.o.Now() }

func (s *sqlStore) read() q { return q{s.db, s.pg} }

// tx runs fn in one transaction, retrying a few times on serialisation
// failures, deadlocks and a busy SQLite database. fn must do all its work
// through the q it is given.
func (s *sqlStore) tx(ctx context.Context, fn func(q) error) error {
	var err error
	for try := 0; try < 8; try++ {
		err = s.tx1(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(time.Duration(try+1) * 5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return err
}

func (s *sqlStore) tx1(ctx context.Context, fn func(q) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("core: begin: %w", err)
	}
	if err := fn(q{t, s.pg}); err != nil {
		t.Rollback()
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("core: commit: %w", err)
	}
	return nil
}

// errConflict marks an error caused by a concurrent transaction that a new
// attempt of the whole transaction resolves.
var errConflict = errors.New("core: concurrent change")

func retryable(err error) bool {
	if errors.Is(err, errConflict) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// ms and fromMS store times as Unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func openSQLite(ctx context.Context, o Options) (*sqlStore, error) {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("core: data directory: %w", err)
	}
	path := filepath.Join(o.DataDir, "faxagent.db")
	if err := privateDBFiles(path); err != nil {
		return nil, fmt.Errorf("core: sqlite file: %w", err)
	}
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return nil, fmt.Errorf("core: open sqlite: %w", err)
	}
	// One connection: SQLite has one writer at a time anyway, and a single
	// connection turns lock waits into a cheap Go queue.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	s := &sqlStore{db: db, o: o, claimCache: map[int64]ClaimedJob{}}
	if err := s.openCommon(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// privateDBFiles makes the database file readable by its owner only
// before SQLite opens it: created empty with mode 0600 if missing (SQLite
// gives its -wal and -shm files the database file's mode), and tightened
// to 0600, with those files, if an earlier version left them readable by
// others.
func privateDBFiles(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, os.ErrExist) {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

func openPostgres(ctx context.Context, o Options) (*sqlStore, error) {
	cfg, err := pgxpool.ParseConfig(o.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("core: database URL: %w", err)
	}
	cfg.MaxConns = int32(o.MaxConns)
	if o.Schema != "" {
		if !validIdent(o.Schema) {
			return nil, fmt.Errorf("%w: schema name %q", ErrInvalid, o.Schema)
		}
		// Create the schema with a plain connection first.
		c, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
		if err != nil {
			return nil, fmt.Errorf("core: connect postgres: %w", err)
		}
		_, err = c.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+o.Schema)
		c.Close(ctx)
		if err != nil && !isUnique(err) {
			return nil, fmt.Errorf("core: create schema: %w", err)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("core: connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("core: connect postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	db.SetMaxOpenConns(o.MaxConns)
	s := &sqlStore{db: db, pool: pool, pg: true, o: o, claimCache: map[int64]ClaimedJob{}}
	s.channel = "faxagent_jobs"
	raw := make([]byte, 8)
	if _, err := rand.Read(raw); err != nil {
		pool.Close()
		return nil, fmt.Errorf("core: %w", err)
	}
	s.instance = hex.EncodeToString(raw)
	if o.Schema != "" {
		s.channel = ("faxagent_jobs_" + o.Schema)[:min(63, len("faxagent_jobs_")+len(o.Schema))]
	}
	if err := s.openCommon(ctx); err != nil {
		s.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen, s.listenDone = cancel, make(chan struct{})
	go s.listen(lctx)
	return s, nil
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func (s *sqlStore) openCommon(ctx context.Context) error {
	sp, err := newSpool(filepath.Join(s.o.DataDir, "spool"))
	if err != nil {
		return err
	}
	s.spool = sp
	return s.migrate(ctx)
}
