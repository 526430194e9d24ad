// Package agenttest holds in-memory doubles of what the agent needs from a
// core, for tests: MemQueue (agent.Queue, with job states, attempts,
// progress and the order of operations to assert on) and MemReporter
// (agent.Reporter, counting duplicate inbound reports).
//
// agenttest imports agent and t30; production code must not import it.
package agenttest

import (
	"context"
	"fmt"
	"github.com/faxagent/faxagent/agent"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/faxagent/faxagent/t30"
)

// JobState is where a job is in a MemQueue.
type JobState int

// Job states.
const (
	JobQueued JobState = iota
	JobLeased
	JobCompleted
	JobFailed
	JobCancelled
)

var jobStateNames = [...]string{"queued", "leased", "completed", "failed", "cancelled"}

func (s JobState) String() string {
	if s >= 0 && int(s) < len(jobStateNames) {
		return jobStateNames[s]
	}
	return "JobState(" + strconv.Itoa(int(s)) + ")"
}

// Final reports whether the state is final.
func (s JobState) Final() bool { return s >= JobCompleted }

// MemQueue is an in-memory Queue for tests, benchmarks and a single-process
// demo. It implements agent.Notifier and agent.ProgressReporter.
type MemQueue struct {
	clock agent.Clock

	mu    sync.Mutex
	jobs  map[string]*memJob
	seq   int
	ready chan struct{}
	// finals counts jobs that reached a final state.
	finals int
	done   chan struct{} // closed when every job added is final (see Wait)
	// Ops counts state transitions, for tests.
	ops []string
	// records are the attempt records Finish took, once each.
	records []agent.AttemptRecord
}

type memJob struct {
	job       agent.Job
	state     JobState
	cancelReq bool
	attempts  []string // attempt IDs that ended the job's leases
	code      t30.Code
	reason    string
	order     int
	progress  []PageProgress
}

// NewMemQueue returns an empty queue timed by clock (nil: SystemClock).
func NewMemQueue(clock agent.Clock) *MemQueue {
	if clock == nil {
		clock = agent.SystemClock{}
	}
	return &MemQueue{clock: clock, jobs: map[string]*memJob{}, ready: make(chan struct{}, 1)}
}

// Ready implements agent.Notifier.
func (q *MemQueue) Ready() <-chan struct{} { return q.ready }

func (q *MemQueue) notify() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Add queues a job. Created and ReadyAt default to now.
func (q *MemQueue) Add(j agent.Job) error {
	now := q.clock.Now()
	if j.Created.IsZero() {
		j.Created = now
	}
	if j.ReadyAt.IsZero() {
		j.ReadyAt = j.Created
	}
	if j.Priority == 0 {
		j.Priority = agent.PriorityNormal
	}
	q.mu.Lock()
	if _, ok := q.jobs[j.ID]; ok || j.ID == "" {
		q.mu.Unlock()
		return fmt.Errorf("agent: job ID %q empty or already queued", j.ID)
	}
	q.seq++
	q.jobs[j.ID] = &memJob{job: j, order: q.seq}
	q.mu.Unlock()
	q.notify()
	if d := j.ReadyAt.Sub(now); d > 0 {
		q.clock.AfterFunc(d, q.notify)
	}
	return nil
}

// Claim implements agent.Queue.
func (q *MemQueue) Claim(ctx context.Context, r agent.ClaimRequest) ([]agent.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := q.clock.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	var cands []*memJob
	for _, m := range q.jobs {
		if m.state == JobLeased && !m.job.Lease.Expires.After(now) {
			m.state = JobQueued // the holder died
		}
		if m.state != JobQueued || m.job.ReadyAt.After(now) {
			continue
		}
		if a := m.job.Preset.AgentID; a != "" && a != r.AgentID {
			continue
		}
		switch m.job.Preset.Kind {
		case agent.PresetNone:
			if r.PresetOnly {
				continue
			}
		case agent.PresetPort:
			if !slices.Contains(r.Ports, m.job.Preset.Port) {
				continue
			}
		case agent.PresetGroup:
			if !slices.Contains(r.Groups, m.job.Preset.Group) {
				continue
			}
		}
		cands = append(cands, m)
	}
	slices.SortFunc(cands, func(a, b *memJob) int {
		if a.job.Priority != b.job.Priority {
			return b.job.Priority - a.job.Priority
		}
		if c := a.job.ReadyAt.Compare(b.job.ReadyAt); c != 0 {
			return c
		}
		if c := a.job.Created.Compare(b.job.Created); c != 0 {
			return c
		}
		return a.order - b.order
	})
	if len(cands) > r.Max {
		cands = cands[:r.Max]
	}
	out := make([]agent.Job, 0, len(cands))
	for _, m := range cands {
		q.seq++
		m.state = JobLeased
		m.job.Lease = agent.Lease{JobID: m.job.ID, Token: r.AgentID + "." + strconv.Itoa(q.seq), Expires: now.Add(r.Lease)}
		q.ops = append(q.ops, "claim "+m.job.ID)
		out = append(out, m.job)
	}
	return out, nil
}

// leased returns the job held by l, or an error.
func (q *MemQueue) leased(l agent.Lease) (*memJob, error) {
	m := q.jobs[l.JobID]
	switch {
	case m == nil:
		return nil, agent.ErrNoJob
	case m.state != JobLeased || m.job.Lease.Token != l.Token:
		return m, agent.ErrLeaseLost
	}
	return m, nil
}

// ended reports whether attemptID already ended the job (an idempotent
// repeat).
func (m *memJob) ended(attemptID string) bool {
	return attemptID != "" && slices.Contains(m.attempts, attemptID)
}

// Renew implements agent.Queue.
func (q *MemQueue) Renew(ctx context.Context, l agent.Lease, d time.Duration) (agent.Lease, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.leased(l)
	if err != nil {
		return l, err
	}
	if m.cancelReq {
		return l, agent.ErrCancelled
	}
	m.job.Lease.Expires = q.clock.Now().Add(d)
	return m.job.Lease, nil
}

func (q *MemQueue) finish(m *memJob, st JobState) {
	m.state = st
	q.finals++
	q.ops = append(q.ops, st.String()+" "+m.job.ID)
	if q.done != nil && q.finals == len(q.jobs) {
		close(q.done)
		q.done = nil
	}
}

// Finish implements agent.Queue: the record is kept once (Attempts), then the
// job ends or is queued again as its status says. The attempt budget is
// the queue's: a retry of a job with MaxAttempts attempts made fails it.
func (q *MemQueue) Finish(ctx context.Context, l agent.Lease, r agent.AttemptRecord) error {
	q.mu.Lock()
	if !slices.ContainsFunc(q.records, func(x agent.AttemptRecord) bool { return x.AttemptID == r.AttemptID }) {
		if m := q.jobs[l.JobID]; m != nil && m.job.Lease.Token == l.Token && m.state == JobLeased {
			q.records = append(q.records, r)
		}
	}
	q.mu.Unlock()
	switch r.TransmitStatusDef {
	case agent.StatusCompleted:
		return q.Complete(ctx, l, r.AttemptID)
	case agent.StatusRetry:
		q.mu.Lock()
		m := q.jobs[l.JobID]
		spent := m != nil && m.job.MaxAttempts > 0 && m.job.Attempts+1 >= m.job.MaxAttempts
		q.mu.Unlock()
		if !spent {
			return q.Retry(ctx, l, r.AttemptID, r.NextAttempt, max(r.NextPage-1, 0), r.PagesTransmitted)
		}
		return q.Fail(ctx, l, r.AttemptID, t30.Code(r.ErrorID), r.ErrorInfo+" (no attempts left)")
	case agent.StatusCancelled:
		return q.Fail(ctx, l, r.AttemptID, t30.CodeCancelled, r.ErrorInfo)
	}
	return q.Fail(ctx, l, r.AttemptID, t30.Code(r.ErrorID), r.ErrorInfo)
}

// Attempts returns the attempt records Finish took under a current lease,
// optionally only those of a job.
func (q *MemQueue) Attempts(jobID string) []agent.AttemptRecord {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []agent.AttemptRecord
	for _, a := range q.records {
		if jobID == "" || a.JobID == jobID {
			out = append(out, a)
		}
	}
	return out
}

// Complete ends a job as sent (what Finish does for StatusCompleted).
func (q *MemQueue) Complete(ctx context.Context, l agent.Lease, attemptID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.leased(l)
	if err != nil {
		if m != nil && m.ended(attemptID) {
			return nil
		}
		return err
	}
	m.attempts = append(m.attempts, attemptID)
	m.job.Attempts++
	q.finish(m, JobCompleted)
	return nil
}

// Retry queues a job again (what Finish does for StatusRetry).
func (q *MemQueue) Retry(ctx context.Context, l agent.Lease, attemptID string, at time.Time, startPage, pagesSent int) error {
	q.mu.Lock()
	m, err := q.leased(l)
	if err != nil {
		q.mu.Unlock()
		if m != nil && m.ended(attemptID) {
			return nil
		}
		return err
	}
	m.attempts = append(m.attempts, attemptID)
	m.job.Attempts++
	m.job.StartPage = startPage
	m.job.PagesSent += pagesSent
	m.job.ReadyAt = at
	m.job.Lease = agent.Lease{}
	if m.cancelReq {
		q.finish(m, JobCancelled)
		q.mu.Unlock()
		return nil
	}
	m.state = JobQueued
	q.ops = append(q.ops, "retry "+m.job.ID)
	q.mu.Unlock()
	if d := at.Sub(q.clock.Now()); d > 0 {
		q.clock.AfterFunc(d, q.notify)
	} else {
		q.notify()
	}
	return nil
}

// Fail ends a job as failed, or cancelled for t30.CodeCancelled.
func (q *MemQueue) Fail(ctx context.Context, l agent.Lease, attemptID string, code t30.Code, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.leased(l)
	if err != nil {
		if m != nil && m.ended(attemptID) {
			return nil
		}
		return err
	}
	m.attempts = append(m.attempts, attemptID)
	m.job.Attempts++
	m.code, m.reason = code, reason
	if code == t30.CodeCancelled {
		q.finish(m, JobCancelled)
	} else {
		q.finish(m, JobFailed)
	}
	return nil
}

// Release implements agent.Queue.
func (q *MemQueue) Release(ctx context.Context, l agent.Lease) error {
	q.mu.Lock()
	m, err := q.leased(l)
	if err != nil {
		q.mu.Unlock()
		if err == agent.ErrLeaseLost && m.state == JobQueued {
			return nil
		}
		return err
	}
	m.job.Lease = agent.Lease{}
	if m.cancelReq {
		q.finish(m, JobCancelled)
		q.mu.Unlock()
		return nil
	}
	m.state = JobQueued
	q.ops = append(q.ops, "release "+m.job.ID)
	q.mu.Unlock()
	q.notify()
	return nil
}

// Cancel cancels a job: a queued job ends as cancelled at once, a leased
// one is marked so that its next Renew returns ErrCancelled (and Retry or
// Release end it). It reports whether the job was leased (then the agent
// holding it should be told, Agent.Cancel).
func (q *MemQueue) Cancel(id string) (leased bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.jobs[id]
	switch {
	case m == nil:
		return false, agent.ErrNoJob
	case m.state == JobQueued:
		m.code, m.reason = t30.CodeCancelled, "cancelled while queued"
		q.finish(m, JobCancelled)
		return false, nil
	case m.state == JobLeased:
		m.cancelReq = true
		return true, nil
	}
	return false, nil
}

// JobInfo is a job's state in a MemQueue.
type JobInfo struct {
	Job      agent.Job
	State    JobState
	Attempts []string // IDs of the attempts that ended leases
	Code     t30.Code
	Reason   string
}

// Job returns a job's state.
func (q *MemQueue) Job(id string) (JobInfo, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.jobs[id]
	if m == nil {
		return JobInfo{}, false
	}
	return JobInfo{Job: m.job, State: m.state, Attempts: slices.Clone(m.attempts), Code: m.code, Reason: m.reason}, true
}

// PageProgress is one progress report a MemQueue took.
type PageProgress struct {
	Token       string // the lease's token
	Sent, Total int
}

// Progress implements agent.ProgressReporter: the report is kept (see
// ProgressLog) if l is the job's current lease.
func (q *MemQueue) Progress(ctx context.Context, l agent.Lease, pagesSent, pagesTotal int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.leased(l)
	if err != nil {
		return err
	}
	m.progress = append(m.progress, PageProgress{Token: l.Token, Sent: pagesSent, Total: pagesTotal})
	return nil
}

// ProgressLog returns the progress reports a job's lease holders made, in
// order.
func (q *MemQueue) ProgressLog(id string) []PageProgress {
	q.mu.Lock()
	defer q.mu.Unlock()
	if m := q.jobs[id]; m != nil {
		return slices.Clone(m.progress)
	}
	return nil
}

// Ops returns the log of state transitions ("claim J", "retry J", ...).
func (q *MemQueue) Ops() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.ops)
}

// AllFinal returns a channel closed once every job added so far is in a
// final state.
func (q *MemQueue) AllFinal() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	ch := make(chan struct{})
	if q.finals == len(q.jobs) {
		close(ch)
		return ch
	}
	if q.done != nil {
		return q.done
	}
	q.done = ch
	return ch
}

// MemReporter is an in-memory Reporter that keeps every record once.
type MemReporter struct {
	mu      sync.Mutex
	inbound []agent.InboundRecord
	seen    map[string]bool
	// Dups counts reports ignored as repeats.
	dups int
}

// NewMemReporter returns an empty reporter.
func NewMemReporter() *MemReporter { return &MemReporter{seen: map[string]bool{}} }

// Inbound implements agent.Reporter. Like a store, it keeps its own copy of the
// received file (the agent removes the spool's once the report is in):
// under "reported" beside it, which the record it keeps names.
func (r *MemReporter) Inbound(ctx context.Context, rec agent.InboundRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen["i:"+rec.ID] {
		r.dups++
		return nil
	}
	if rec.File != "" {
		b, err := os.ReadFile(rec.File)
		if err != nil {
			return err
		}
		dir := filepath.Join(filepath.Dir(rec.File), "reported")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		rec.File = filepath.Join(dir, filepath.Base(rec.File))
		if err := os.WriteFile(rec.File, b, 0o600); err != nil {
			return err
		}
	}
	r.seen["i:"+rec.ID] = true
	r.inbound = append(r.inbound, rec)
	return nil
}

// InboundRecords returns the inbound records.
func (r *MemReporter) InboundRecords() []agent.InboundRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.inbound)
}

// Duplicates is the number of repeated reports ignored.
func (r *MemReporter) Duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dups
}
