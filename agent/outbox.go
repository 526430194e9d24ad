package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The outbox keeps the outcome of every attempt until the queue has it.
// When a call ends, its record and lease are written to a file in
// Config.OutboxDir (synced, renamed into place) before the first Finish;
// the file goes only once the queue has stored the record: Finish returned
// nil, or ErrStale (the lease had moved on, to another agent or by
// expiry: the queue kept the record as a stale attempt and left the job as
// it was; logged), or ErrNoJob (no such job any more). An answer that
// retrying cannot change without the record stored (ErrRejected, or
// ErrLeaseLost without ErrStale) moves the file to OutboxDir/rejected,
// logged. Until then
// Finish is tried again with back-off up to maxOutcomeDelay apart, the
// job's lease renewed between tries, for as long as the agent runs, and
// from the next start on if it stops first: an outage of the core or its
// database of any length loses no outcome, and, with the queue's reclaim
// rule (core: time without any claim does not count against leases), the
// job is not given to another agent meanwhile, so a fax that was sent is
// not sent again because its report was late.

// maxOutcomeDelay caps the back-off between two tries of an outcome: a
// queue that comes back hears of it within this, well inside what the
// reclaim rule leaves of the lease (core: at least its outage allowance,
// 20 s by default, after the queue is back).
const maxOutcomeDelay = 5 * time.Second

// outcomeRetryCap is the longest back-off between two tries of an outcome
// for a lease of the given length: maxOutcomeDelay, but never more than a
// quarter of the lease. After an outage the queue gives a held job back
// only what was left of its lease when the queue was last reached (the
// reclaim rule); a try that waited longer than that would find the job
// given to another agent and the fax sent twice.
func outcomeRetryCap(lease time.Duration) time.Duration {
	c := min(maxOutcomeDelay, lease/4)
	return max(c, 50*time.Millisecond)
}

// outboxEntry is the content of an outbox file.
type outboxEntry struct {
	Lease  Lease         `json:"lease"`
	Record AttemptRecord `json:"record"`
}

func (a *Agent) outboxPath(attemptID string) string {
	return filepath.Join(a.cfg.OutboxDir, spoolBase(attemptID)+".json")
}

// finish writes an attempt's outcome to the outbox and returns what starts
// its delivery in the background (the port need not wait for it).
func (a *Agent) finish(l Lease, rec AttemptRecord) func() {
	path := a.outboxPath(rec.AttemptID)
	b, err := json.Marshal(outboxEntry{Lease: l, Record: rec})
	if err == nil {
		err = writeDurable(path, b)
	}
	if err != nil {
		// Delivered all the same, from memory: only a crash before the
		// queue has it loses it now.
		a.log.Error("outbox: outcome not written", "attempt", rec.AttemptID, "err", err)
		path = ""
	}
	a.reports.Add(1)
	return func() { go a.deliverOutcome(path, l, rec) }
}

// deliverOutcome calls Finish until the queue answers for good, then
// removes the outbox file. It stops trying when the agent stops; the file
// stays for the next start.
func (a *Agent) deliverOutcome(path string, l Lease, rec AttemptRecord) {
	defer a.reports.Done()
	limit := outcomeRetryCap(a.cfg.Lease)
	delay := min(100*time.Millisecond, limit)
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(a.base, reportTimeout)
		err := a.cfg.Queue.Finish(ctx, l, rec)
		cancel()
		switch {
		case err == nil, errors.Is(err, ErrStale), errors.Is(err, ErrNoJob):
			switch {
			case errors.Is(err, ErrStale):
				a.log.Warn("outcome stored as a stale attempt: the job had moved on (lease expired or given to another agent)",
					"job", rec.JobID, "attempt", rec.AttemptID, "status", rec.TransmitStatusDef, "err", err)
			case err != nil:
				a.log.Warn("outcome not stored: the job is gone", "job", rec.JobID, "attempt", rec.AttemptID, "err", err)
			}
			if path != "" {
				if err := os.Remove(path); err != nil {
					a.log.Warn("outbox: removing a delivered outcome", "file", path, "err", err)
				}
			}
			if try > 1 {
				a.log.Info("outcome delivered", "job", rec.JobID, "attempt", rec.AttemptID, "tries", try)
			}
			return
		case errors.Is(err, ErrRejected), errors.Is(err, ErrLeaseLost):
			a.log.Error("outcome refused by the queue (not stored); kept aside", "job", rec.JobID, "attempt", rec.AttemptID,
				"dir", filepath.Join(a.cfg.OutboxDir, "rejected"), "err", err)
			if path != "" {
				dir := filepath.Join(a.cfg.OutboxDir, "rejected")
				if err := os.MkdirAll(dir, 0o700); err == nil {
					os.Rename(path, filepath.Join(dir, filepath.Base(path)))
				}
			}
			return
		}
		select {
		case <-a.stop:
			a.log.Error("outcome not delivered; kept in the outbox for the next start", "job", rec.JobID, "attempt", rec.AttemptID, "file", path, "err", err)
			return
		default:
		}
		a.log.Warn("outcome not delivered, retrying", "job", rec.JobID, "attempt", rec.AttemptID, "err", err, "try", try)
		if !a.pause(delay) {
			a.log.Error("outcome not delivered; kept in the outbox for the next start", "job", rec.JobID, "attempt", rec.AttemptID, "file", path, "err", err)
			return
		}
		delay = min(2*delay, limit)
		// Hold on to the job while its outcome waits (best effort: a
		// queue that cannot take the outcome seldom takes a renewal).
		ctx, cancel = context.WithTimeout(a.base, reportTimeout)
		if nl, err := a.cfg.Queue.Renew(ctx, l, a.cfg.Lease); err == nil {
			l.Expires = nl.Expires
		}
		cancel()
	}
}

// recoverOutbox delivers the outcomes an earlier run left in the outbox,
// and those of the calls it did not see end (calljournal.go).
func (a *Agent) recoverOutbox() {
	a.recoverJournals()
	entries, err := os.ReadDir(a.cfg.OutboxDir)
	if err != nil {
		a.log.Error("outbox: reading", "dir", a.cfg.OutboxDir, "err", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(a.cfg.OutboxDir, name)
		b, err := os.ReadFile(path)
		var x outboxEntry
		if err == nil {
			err = json.Unmarshal(b, &x)
		}
		if err == nil && a.outboxPath(x.Record.AttemptID) != path {
			err = errors.New("the file name does not match its attempt ID")
		}
		if err != nil {
			a.log.Error("outbox: unreadable outcome, left in place", "file", path, "err", err)
			continue
		}
		a.log.Info("outbox: delivering an outcome left by an earlier run", "job", x.Record.JobID, "attempt", x.Record.AttemptID,
			"status", x.Record.TransmitStatusDef)
		a.reports.Add(1)
		go a.deliverOutcome(path, x.Lease, x.Record)
	}
}
