package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxClaim bounds the jobs of one claim.
const MaxClaim = 100

func (s *sqlStore) Claim(ctx context.Context, c Claim) ([]ClaimedJob, error) {
	if c.Agent == "" || len(c.Agent) > 64 {
		return nil, fmt.Errorf("%w: claim needs an agent ID of 1 to 64 bytes", ErrInvalid)
	}
	if c.Max == 0 {
		c.Max = 1
	}
	if c.Max < 0 || c.Max > MaxClaim {
		return nil, fmt.Errorf("%w: claim of %d jobs", ErrInvalid, c.Max)
	}
	if c.Lease == 0 {
		c.Lease = s.o.DefaultLease
	}
	if c.Lease < time.Second {
		return nil, fmt.Errorf("%w: lease %v shorter than 1 s", ErrInvalid, c.Lease)
	}
	if len(c.Ports) > 4096 || len(c.Groups) > 4096 {
		return nil, fmt.Errorf("%w: claim names more than 4096 ports or groups", ErrInvalid)
	}
	if err := s.tickLeaseClock(ctx); err != nil {
		return nil, err
	}
	reapNow := s.claims.Add(1)%32 == 0
	var jobs []Job
	err := s.tx(ctx, func(d q) error {
		jobs = jobs[:0]
		now := s.now()
		where := `((state = 'queued' AND not_before <= ?) OR (state = 'leased' AND lease_expires <= ?
				AND cancel_requested = 0 AND attempts < max_attempts))
			AND (preset_agent = '' OR preset_agent = ?)`
		args := []any{c.Agent, ms(now.Add(c.Lease)), ms(now), ms(now), c.Agent}
		anywhere := "preset_type = 0"
		if c.PresetOnly {
			anywhere = "1 = 0"
		}
		where += " AND (" + anywhere + inList(" OR (preset_type = 1 AND preset_value IN (%s))", c.Ports, &args) +
			inList(" OR (preset_type = 2 AND preset_value IN (%s))", c.Groups, &args) + ")"
		lock := ""
		if d.pg {
			lock = " FOR NO KEY UPDATE SKIP LOCKED"
		}
		// One statement picks and leases the jobs: the highest priority
		// first, then the oldest due time, then submission order.
		rows, err := d.query(ctx, `UPDATE jobs SET state = 'leased', lease_epoch = lease_epoch + 1, lease_agent = ?,
			lease_expires = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM jobs WHERE `+where+` ORDER BY priority DESC, not_before, id LIMIT ?`+lock+`)
			RETURNING `+jobCols+`, (SELECT status FROM messages WHERE messages.id = jobs.message_id)`,
			append(args, c.Max)...)
		if err != nil {
			return fmt.Errorf("core: claim: %w", err)
		}
		var queuedMsgs []int64 // messages of claimed jobs that are still "Queued"
		for rows.Next() {
			var status string
			j, err := scanJob(scanWith{rows, &status})
			if err != nil {
				rows.Close()
				return fmt.Errorf("core: claim: %w", err)
			}
			jobs = append(jobs, j)
			if status == "Queued" && !slices.Contains(queuedMsgs, j.MessageID) {
				queuedMsgs = append(queuedMsgs, j.MessageID)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("core: claim: %w", err)
		}
		slices.SortFunc(jobs, func(a, b Job) int {
			if a.Priority != b.Priority {
				return b.Priority - a.Priority
			}
			if c := a.NotBefore.Compare(b.NotBefore); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		deltas := map[int64]delta{}
		if reapNow || len(jobs) < c.Max {
			if deltas, err = s.reap(ctx, d, now); err != nil {
				return err
			}
		}
		for _, m := range queuedMsgs {
			if deltas[m] == nil {
				deltas[m] = delta{}
			}
		}
		// Message rows are locked in id order, so that two claims never
		// wait for each other.
		ids := make([]int64, 0, len(deltas))
		for m := range deltas {
			ids = append(ids, m)
		}
		slices.Sort(ids)
		for _, m := range ids {
			if err := s.adjustMessage(ctx, d, m, deltas[m]); err != nil {
				return err
			}
			if slices.Contains(queuedMsgs, m) {
				if err := s.markSending(ctx, d, m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(jobs) < c.Max {
		// The agent will wait: wake it when the next job is due.
		s.wakeNextDue(ctx)
	}
	out := make([]ClaimedJob, 0, len(jobs))
	for _, j := range jobs {
		cj, err := s.claimInfo(ctx, j.MessageID)
		if err != nil {
			return nil, err
		}
		cj.Job = j
		out = append(out, cj)
	}
	return out, nil
}

// reap ends jobs whose agent went away (the lease expired) on their last
// allowed attempt, or after they were cancelled: they are not called again.
// It returns the message counter changes.
func (s *sqlStore) reap(ctx context.Context, d q, now time.Time) (map[int64]delta, error) {
	lock := ""
	if d.pg {
		lock = " FOR NO KEY UPDATE SKIP LOCKED"
	}
	rows, err := d.query(ctx, `SELECT id, message_id, cancel_requested FROM jobs WHERE state = 'leased' AND lease_expires <= ?
		AND (cancel_requested = 1 OR attempts >= max_attempts) ORDER BY id LIMIT 100`+lock, ms(now))
	if err != nil {
		return nil, fmt.Errorf("core: reap: %w", err)
	}
	type dead struct {
		id, msg   int64
		cancelled bool
	}
	var ds []dead
	for rows.Next() {
		var x dead
		if err := rows.Scan(&x.id, &x.msg, &x.cancelled); err != nil {
			rows.Close()
			return nil, err
		}
		ds = append(ds, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	deltas := map[int64]delta{}
	for _, x := range ds {
		st, text := JobFailed, "lease expired on the last attempt"
		if x.cancelled {
			st, text = JobCancelled, "cancelled"
		}
		if _, err := d.exec(ctx, `UPDATE jobs SET state = ?, error_text = ?, completed_at = ?, lease_expires = 0 WHERE id = ?`,
			string(st), text, ms(now), x.id); err != nil {
			return nil, fmt.Errorf("core: reap: %w", err)
		}
		if deltas[x.msg] == nil {
			deltas[x.msg] = delta{}
		}
		deltas[x.msg].move(JobLeased, st)
	}
	return deltas, nil
}

// maxClaimCache bounds the cache of what claims hand out about messages.
const maxClaimCache = 4096

// claimInfo returns a claimed job's message and documents. What an agent
// needs of them never changes after the submission, so they are cached;
// the message's status, folder and flags in it are those of the first
// claim.
func (s *sqlStore) claimInfo(ctx context.Context, msg int64) (ClaimedJob, error) {
	s.cacheMu.Lock()
	cj, ok := s.claimCache[msg]
	s.cacheMu.Unlock()
	if ok {
		cj.Documents = slices.Clone(cj.Documents)
		return cj, nil
	}
	d := s.read()
	m, err := s.message(ctx, d, msg)
	if err != nil {
		return ClaimedJob{}, err
	}
	docs, err := s.messageDocuments(ctx, d, msg)
	if err != nil {
		return ClaimedJob{}, err
	}
	cj = ClaimedJob{Message: m, Documents: docs}
	s.cacheMu.Lock()
	if len(s.claimCache) >= maxClaimCache {
		clear(s.claimCache)
	}
	s.claimCache[msg] = cj
	s.cacheMu.Unlock()
	return cj, nil
}

// scanWith scans a row's columns and then extra ones.
type scanWith struct {
	r     interface{ Scan(...any) error }
	extra any
}

func (s scanWith) Scan(dest ...any) error { return s.r.Scan(append(dest, s.extra)...) }

// markSending sets the status of a queued message to Sending. The
// condition keeps it from locking the row once the status is set.
func (s *sqlStore) markSending(ctx context.Context, d q, msg int64) error {
	_, err := d.exec(ctx, "UPDATE messages SET status = 'Sending' WHERE id = ? AND status = 'Queued'", msg)
	return err
}

func inList(format string, vals []string, args *[]any) string {
	if len(vals) == 0 {
		return ""
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = "?"
		*args = append(*args, v)
	}
	return fmt.Sprintf(format, strings.Join(ph, ", "))
}

func (s *sqlStore) Renew(ctx context.Context, l Lease, dur time.Duration) (RenewResult, error) {
	if dur == 0 {
		dur = s.o.DefaultLease
	}
	if dur < time.Second {
		return RenewResult{}, fmt.Errorf("%w: lease %v shorter than 1 s", ErrInvalid, dur)
	}
	var rr RenewResult
	err := s.tx(ctx, func(d q) error {
		exp := s.now().Add(dur)
		err := d.row(ctx, `UPDATE jobs SET lease_expires = ? WHERE id = ? AND lease_epoch = ? AND state = 'leased'
			RETURNING cancel_requested`, ms(exp), l.JobID, l.Epoch).Scan(&rr.Cancel)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %v", ErrLeaseLost, l)
		}
		if err != nil {
			return fmt.Errorf("core: renew: %w", err)
		}
		rr.Expires = fromMS(ms(exp))
		return nil
	})
	return rr, err
}

// Progress implements Store.
func (s *sqlStore) Progress(ctx context.Context, l Lease, pagesSent, pagesTotal int) error {
	if pagesSent < 0 || pagesTotal < 0 || pagesSent > pagesTotal || pagesTotal > maxProgressPages {
		return fmt.Errorf("%w: progress %d of %d pages", ErrInvalid, pagesSent, pagesTotal)
	}
	return s.tx(ctx, func(d q) error {
		res, err := d.exec(ctx, `UPDATE jobs SET progress_epoch = ?, progress_pages = ?, progress_total = ?
			WHERE id = ? AND lease_epoch = ? AND state = 'leased'`, l.Epoch, pagesSent, pagesTotal, l.JobID, l.Epoch)
		if err != nil {
			return fmt.Errorf("core: progress: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("core: progress: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: %v", ErrLeaseLost, l)
		}
		return nil
	})
}

// maxProgressPages bounds a reported page count (a sanity limit far above
// any fax).
const maxProgressPages = 1 << 20

// jobLock is the part of a job a report needs, read with the row locked.
type jobLock struct {
	state     JobState
	epoch     int64
	msg       int64
	attempts  int
	max       int
	cancelReq bool
	notBefore int64
}

func (s *sqlStore) lockJob(ctx context.Context, d q, id int64) (jobLock, error) {
	var j jobLock
	var st string
	err := d.row(ctx, `SELECT state, lease_epoch, message_id, attempts, max_attempts, cancel_requested, not_before
		FROM jobs WHERE id = ?`+d.forUpdate(), id).Scan(&st, &j.epoch, &j.msg, &j.attempts, &j.max, &j.cancelReq, &j.notBefore)
	if errors.Is(err, sql.ErrNoRows) {
		return j, fmt.Errorf("%w: job %d", ErrNotFound, id)
	}
	if err != nil {
		return j, fmt.Errorf("core: lock job: %w", err)
	}
	j.state = JobState(st)
	return j, nil
}

// prevAttempt is an attempt already stored under a key.
type prevAttempt struct {
	id      int64
	job     int64
	applied bool
	stale   bool
	found   bool
}

func (s *sqlStore) attemptByKey(ctx context.Context, d q, key string) (prevAttempt, error) {
	var p prevAttempt
	err := d.row(ctx, "SELECT id, COALESCE(job_id, 0), applied, stale FROM attempts WHERE attempt_key = ?", key).
		Scan(&p.id, &p.job, &p.applied, &p.stale)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("core: attempt: %w", err)
	}
	p.found = true
	return p, nil
}

// RecordAttempt stores an attempt's record (t.Key and t.JobID required)
// without changing its job; Report ends the attempt. Recording the same key
// again overwrites the details with the same data.
func (s *sqlStore) RecordAttempt(ctx context.Context, t Transmission) (int64, error) {
	if err := checkTransmission(&t); err != nil {
		return 0, err
	}
	if t.JobID <= 0 {
		return 0, fmt.Errorf("%w: attempt without a job", ErrInvalid)
	}
	err := s.tx(ctx, func(d q) error {
		j, err := s.lockJob(ctx, d, t.JobID)
		if err != nil {
			return err
		}
		p, err := s.attemptByKey(ctx, d, t.Key)
		if err != nil {
			return err
		}
		if p.found {
			if p.job != t.JobID {
				return fmt.Errorf("%w: attempt ID %q belongs to another job", ErrInvalid, t.Key)
			}
			t.ID = p.id
			return s.updateAttemptDetails(ctx, d, p.id, &t)
		}
		t.MessageID, t.Direction, t.Lease, t.Stale = j.msg, Outbound, Lease{}, false
		if t.MaxAttemptNo == 0 {
			t.MaxAttemptNo = j.max
		}
		if err := s.insertAttempt(ctx, d, &t, false); err != nil {
			if errors.Is(err, ErrExists) {
				return fmt.Errorf("%w: %w", errConflict, err) // a concurrent record of the same key
			}
			return err
		}
		return nil
	})
	return t.ID, err
}

func (s *sqlStore) Report(ctx context.Context, r Report) (ReportResult, error) {
	switch r.Outcome {
	case OutcomeDone, OutcomeRetry, OutcomeFailed, OutcomeCancelled:
	default:
		return ReportResult{}, fmt.Errorf("%w: outcome %q", ErrInvalid, r.Outcome)
	}
	if r.Lease.JobID <= 0 || r.Lease.Epoch <= 0 {
		return ReportResult{}, fmt.Errorf("%w: lease %v", ErrInvalid, r.Lease)
	}
	if r.ResumePage < 0 || r.PagesSent < 0 {
		return ReportResult{}, fmt.Errorf("%w: resume page %d, pages sent %d", ErrInvalid, r.ResumePage, r.PagesSent)
	}
	if err := checkLen("error text", r.ErrorText, maxNote); err != nil {
		return ReportResult{}, err
	}
	var t Transmission
	if r.Attempt != nil {
		t = *r.Attempt
	}
	t.Key = r.Key
	if err := checkTransmission(&t); err != nil {
		return ReportResult{}, err
	}
	var res ReportResult
	err := s.tx(ctx, func(d q) error {
		res = ReportResult{}
		// One query locks the job and finds an attempt stored under the
		// key. On PostgreSQL a report of the same key committed while this
		// one waited for the lock may be missed; inserting it again then
		// fails on the unique key and the transaction is retried.
		var j jobLock
		var p prevAttempt
		var st string
		var pid, pjob sql.NullInt64
		var papplied, pstale sql.NullBool
		var holder string
		lockOf := ""
		if d.pg {
			lockOf = " FOR NO KEY UPDATE OF j"
		}
		err := d.row(ctx, `SELECT j.state, j.lease_epoch, j.message_id, j.attempts, j.max_attempts, j.cancel_requested,
			j.not_before, j.lease_agent, a.id, a.job_id, a.applied, a.stale
			FROM jobs j LEFT JOIN attempts a ON a.attempt_key = ? WHERE j.id = ?`+lockOf, r.Key, r.Lease.JobID).
			Scan(&st, &j.epoch, &j.msg, &j.attempts, &j.max, &j.cancelReq, &j.notBefore, &holder, &pid, &pjob, &papplied, &pstale)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: job %d", ErrNotFound, r.Lease.JobID)
		}
		if err != nil {
			return fmt.Errorf("core: report: %w", err)
		}
		j.state = JobState(st)
		p = prevAttempt{id: pid.Int64, job: pjob.Int64, applied: papplied.Bool, stale: pstale.Bool, found: pid.Valid}
		if p.found && p.job != r.Lease.JobID {
			return fmt.Errorf("%w: attempt ID %q belongs to another job", ErrInvalid, r.Key)
		}
		res.State = j.state
		if p.found && p.applied {
			res.AttemptID, res.Duplicate = p.id, true
			return nil
		}
		current := j.state == JobLeased && j.epoch == r.Lease.Epoch && (r.Agent == "" || r.Agent == holder)
		now := s.now()
		if !p.found || r.Attempt != nil {
			// Fill what the record lacks.
			t.JobID, t.MessageID, t.Direction = r.Lease.JobID, j.msg, Outbound
			if t.CreateDate.IsZero() {
				t.CreateDate = now
			}
			if t.CompleteDate.IsZero() {
				t.CompleteDate = now
			}
			if t.ScheduleDate.IsZero() {
				t.ScheduleDate = fromMS(j.notBefore)
			}
			if t.AttemptNo == 0 && current {
				t.AttemptNo = j.attempts
			}
			if t.MaxAttemptNo == 0 {
				t.MaxAttemptNo = j.max
			}
			if t.ErrorID == 0 && t.ErrorInfo == "" {
				t.ErrorID, t.ErrorInfo = r.ErrorID, r.ErrorText
			}
			if r.Attempt == nil {
				t.TransmitStatus, t.PageSent = r.ErrorID, r.PagesSent
			}
		}
		t.Lease, t.Stale, t.Outcome = r.Lease, !current, r.Outcome
		// The queue owns the attempt budget: a retry with none left ends
		// the job failed, and the record says so.
		next := JobState("")
		switch r.Outcome {
		case OutcomeDone:
			next = JobDone
		case OutcomeFailed:
			next = JobFailed
		case OutcomeCancelled:
			next = JobCancelled
		case OutcomeRetry:
			switch {
			case j.cancelReq:
				next = JobCancelled
			case j.attempts >= j.max:
				next = JobFailed
			default:
				next = JobQueued
			}
		}
		retryAt := r.RetryAt
		if retryAt.Before(now) {
			retryAt = now
		}
		if current && (!p.found || r.Attempt != nil) {
			switch next {
			case JobQueued:
				t.NextAttempt, t.NextPage = retryAt, r.ResumePage+1
			case JobFailed, JobCancelled:
				if r.Outcome == OutcomeRetry {
					t.TransmitStatusDef = map[JobState]string{JobFailed: "Failed", JobCancelled: "Cancelled"}[next]
				}
				t.NextAttempt, t.NextPage = time.Time{}, 0
			}
		}
		if p.found {
			t.ID = p.id
			if r.Attempt != nil {
				if err := s.updateAttemptDetails(ctx, d, p.id, &t); err != nil {
					return err
				}
			}
			if _, err := d.exec(ctx, "UPDATE attempts SET lease_epoch = ?, stale = ?, applied = ?, outcome = ? WHERE id = ?",
				r.Lease.Epoch, b2i(!current), b2i(current), string(r.Outcome), p.id); err != nil {
				return fmt.Errorf("core: report: %w", err)
			}
			// The stored record is what the job shows.
			if t, err = s.attemptRow(ctx, d, p.id); err != nil {
				return err
			}
		} else if err := s.insertAttempt(ctx, d, &t, current); err != nil {
			if errors.Is(err, ErrExists) {
				return fmt.Errorf("%w: %w", errConflict, err)
			}
			return err
		}
		res.AttemptID, res.Stale = t.ID, !current
		if !current {
			return nil
		}
		errID, errText := r.ErrorID, r.ErrorText
		if errID == 0 && errText == "" {
			errID, errText = t.ErrorID, t.ErrorInfo
		}
		if next == JobDone {
			errID, errText = 0, ""
		}
		if r.Outcome == OutcomeRetry && next == JobFailed {
			errText = strings.TrimSpace(errText + " (no attempts left)")
		}
		if next == JobQueued {
			_, err = d.exec(ctx, `UPDATE jobs SET state = 'queued', not_before = ?, start_page = ?, lease_agent = '',
				lease_expires = 0, error_id = ?, error_text = ?, page_count = ?, pages_sent = pages_sent + ?,
				remote_csid = ?, speed = ? WHERE id = ?`, ms(retryAt), r.ResumePage, errID, errText, t.PageCount,
				r.PagesSent, t.RemoteCSID, t.TransmitSpeed, r.Lease.JobID)
		} else {
			_, err = d.exec(ctx, `UPDATE jobs SET state = ?, completed_at = ?, lease_expires = 0, error_id = ?,
				error_text = ?, page_count = ?, pages_sent = pages_sent + ?, remote_csid = ?, speed = ? WHERE id = ?`,
				string(next), ms(now), errID, errText, t.PageCount, max(r.PagesSent, t.PageSent), t.RemoteCSID,
				t.TransmitSpeed, r.Lease.JobID)
		}
		if err != nil {
			return fmt.Errorf("core: report: %w", err)
		}
		res.State = next
		return s.adjustMessage(ctx, d, j.msg, moved(JobLeased, next))
	})
	if err != nil {
		return ReportResult{}, err
	}
	if res.State == JobQueued && !res.Duplicate {
		s.announce(ctx)
		s.wakeAt(r.RetryAt)
	}
	if res.Stale && !res.Duplicate {
		return res, fmt.Errorf("%w: %v (attempt %q kept)", ErrLeaseLost, r.Lease, r.Key)
	}
	if res.Stale {
		return res, fmt.Errorf("%w: %v", ErrLeaseLost, r.Lease)
	}
	return res, nil
}

func (s *sqlStore) attemptRow(ctx context.Context, d q, id int64) (Transmission, error) {
	t, err := scanAttempt(d.row(ctx, "SELECT "+attemptCols+" FROM attempts WHERE id = ?", id))
	if err != nil {
		return Transmission{}, fmt.Errorf("core: attempt %d: %w", id, err)
	}
	return t, nil
}

// Unclaim gives a leased job back without an attempt (the agent is
// stopping, or had no port after all): it is claimable again at once and
// the claim does not count as an attempt. A cancelled job ends cancelled.
func (s *sqlStore) Unclaim(ctx context.Context, l Lease) error {
	defer s.announce(ctx)
	return s.tx(ctx, func(d q) error {
		j, err := s.lockJob(ctx, d, l.JobID)
		if err != nil {
			return err
		}
		if j.state != JobLeased || j.epoch != l.Epoch {
			return fmt.Errorf("%w: %v", ErrLeaseLost, l)
		}
		next := JobQueued
		if j.cancelReq {
			next = JobCancelled
			_, err = d.exec(ctx, `UPDATE jobs SET state = 'cancelled', completed_at = ?, lease_expires = 0,
				error_text = 'cancelled', attempts = attempts - 1 WHERE id = ?`, ms(s.now()), l.JobID)
		} else {
			_, err = d.exec(ctx, `UPDATE jobs SET state = 'queued', lease_agent = '', lease_expires = 0,
				attempts = attempts - 1 WHERE id = ?`, l.JobID)
		}
		if err != nil {
			return fmt.Errorf("core: unclaim: %w", err)
		}
		return s.adjustMessage(ctx, d, j.msg, moved(JobLeased, next))
	})
}

func (s *sqlStore) QueueStats(ctx context.Context) (QueueStats, error) {
	var qs QueueStats
	d := s.read()
	rows, err := d.query(ctx, "SELECT state, COUNT(*) FROM jobs GROUP BY state")
	if err != nil {
		return qs, fmt.Errorf("core: queue stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return qs, err
		}
		switch JobState(st) {
		case JobHeld:
			qs.Held = n
		case JobQueued:
			qs.Queued = n
		case JobLeased:
			qs.Leased = n
		case JobDone:
			qs.Done = n
		case JobFailed:
			qs.Failed = n
		case JobCancelled:
			qs.Cancelled = n
		}
	}
	if err := rows.Err(); err != nil {
		return qs, err
	}
	var oldest sql.NullInt64
	if err := d.row(ctx, "SELECT MIN(not_before) FROM jobs WHERE state = 'queued'").Scan(&oldest); err != nil {
		return qs, fmt.Errorf("core: queue stats: %w", err)
	}
	qs.OldestQueued = fromMS(oldest.Int64)
	return qs, nil
}
