package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/t30"
)

// storeQueue is the agent's Queue and Reporter on a core.Store. Documents
// are copied from the store into a local cache named by their checksum, so
// an agent on another machine than the core's spool works the same way.
type storeQueue struct {
	store core.Store
	cache string
	log   *slog.Logger
	ready chan struct{}

	mu    sync.Mutex
	pages map[string]int // attempt ID -> pages confirmed, until its report
}

func newStoreQueue(st core.Store, cacheDir string, log *slog.Logger) (*storeQueue, error) {
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return nil, err
	}
	return &storeQueue{store: st, cache: cacheDir, log: log, ready: make(chan struct{}, 1), pages: map[string]int{}}, nil
}

// Ready implements agent.Notifier.
func (q *storeQueue) Ready() <-chan struct{} { return q.ready }

// Wake tells the agent a job may be claimable.
func (q *storeQueue) Wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func jobKey(id int64) string { return strconv.FormatInt(id, 10) }

// parseLeaseOf reads the core lease ("<job>.<epoch>", core.Lease.String)
// from an agent lease token.
func parseLeaseOf(l agent.Lease) (core.Lease, error) {
	cl, ok := parseLease(l.Token)
	if !ok {
		return cl, fmt.Errorf("%w: malformed lease %q", agent.ErrLeaseLost, l.Token)
	}
	return cl, nil
}

func parseLease(s string) (core.Lease, bool) {
	a, b, ok := strings.Cut(s, ".")
	job, err1 := strconv.ParseInt(a, 10, 64)
	epoch, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || job <= 0 || epoch <= 0 {
		return core.Lease{}, false
	}
	return core.Lease{JobID: job, Epoch: epoch}, true
}

func queueErr(err error) error {
	switch {
	case errors.Is(err, core.ErrLeaseLost):
		return fmt.Errorf("%w: %w", agent.ErrLeaseLost, err)
	case errors.Is(err, core.ErrNotFound):
		return fmt.Errorf("%w: %w", agent.ErrNoJob, err)
	}
	return err
}

// Claim implements agent.Queue.
func (q *storeQueue) Claim(ctx context.Context, r agent.ClaimRequest) ([]agent.Job, error) {
	cj, err := q.store.Claim(ctx, core.Claim{Agent: r.AgentID, Max: r.Max, Lease: r.Lease, Ports: r.Ports, Groups: r.Groups})
	if err != nil {
		return nil, err
	}
	jobs := make([]agent.Job, 0, len(cj))
	for i, c := range cj {
		paths, err := q.documents(ctx, c.Documents)
		if err != nil {
			// Give back this and the rest: nothing was dialled.
			for _, rest := range cj[i:] {
				if uerr := q.store.Unclaim(ctx, rest.Lease); uerr != nil {
					q.log.Error("unclaim", "job", rest.ID, "err", uerr)
				}
			}
			return jobs, err
		}
		jobs = append(jobs, agent.Job{
			ID: jobKey(c.ID), MessageID: jobKey(c.MessageID), Number: c.Recipient.Fax, Documents: paths,
			Priority: c.Priority, Preset: agentPreset(c.Preset), Header: c.Message.Header,
			Created: c.Created, ReadyAt: c.NotBefore,
			Attempts: max(c.Attempts-1, 0), MaxAttempts: c.MaxAttempts, StartPage: c.StartPage, PagesSent: c.PagesSent,
			Lease: agent.Lease{JobID: jobKey(c.ID), Token: c.Lease.String(), Expires: c.LeaseExpires},
		})
	}
	return jobs, nil
}

func agentPreset(p core.Preset) agent.Preset {
	switch p.Type {
	case core.PresetPort:
		return agent.Preset{Kind: agent.PresetPort, AgentID: p.Agent, Port: p.Value}
	case core.PresetGroup:
		return agent.Preset{Kind: agent.PresetGroup, AgentID: p.Agent, Group: p.Value}
	}
	return agent.Preset{}
}

// documents returns local files with the documents' content.
func (q *storeQueue) documents(ctx context.Context, docs []core.MessageDocument) ([]string, error) {
	paths := make([]string, 0, len(docs))
	for _, d := range docs {
		path := filepath.Join(q.cache, d.SHA256)
		if st, err := os.Stat(path); err == nil && st.Size() == d.Size {
			paths = append(paths, path)
			continue
		}
		_, rc, err := q.store.OpenDocument(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		err = writeFileAtomic(path, rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", d.ID, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func writeFileAtomic(path string, r io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = io.Copy(f, r); err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Renew implements agent.Queue.
func (q *storeQueue) Renew(ctx context.Context, l agent.Lease, d time.Duration) (agent.Lease, error) {
	cl, err := parseLeaseOf(l)
	if err != nil {
		return l, err
	}
	res, err := q.store.Renew(ctx, cl, d)
	if err != nil {
		return l, queueErr(err)
	}
	if res.Cancel {
		return l, agent.ErrCancelled
	}
	l.Expires = res.Expires
	return l, nil
}

func (q *storeQueue) takePages(attemptID string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.pages[attemptID]
	delete(q.pages, attemptID)
	return n
}

func (q *storeQueue) report(ctx context.Context, l agent.Lease, r core.Report) error {
	cl, err := parseLeaseOf(l)
	if err != nil {
		return err
	}
	r.Lease = cl
	res, err := q.store.Report(ctx, r)
	if err != nil {
		return queueErr(err)
	}
	q.log.Debug("report", "job", l.JobID, "attempt", r.Key, "state", res.State, "duplicate", res.Duplicate)
	return nil
}

// Complete implements agent.Queue.
func (q *storeQueue) Complete(ctx context.Context, l agent.Lease, attemptID string) error {
	return q.report(ctx, l, core.Report{Key: attemptID, Outcome: core.OutcomeDone, PagesSent: q.takePages(attemptID)})
}

// Retry implements agent.Queue.
func (q *storeQueue) Retry(ctx context.Context, l agent.Lease, attemptID string, at time.Time, startPage, pagesSent int) error {
	q.takePages(attemptID)
	return q.report(ctx, l, core.Report{Key: attemptID, Outcome: core.OutcomeRetry, RetryAt: at, ResumePage: startPage, PagesSent: pagesSent})
}

// Fail implements agent.Queue.
func (q *storeQueue) Fail(ctx context.Context, l agent.Lease, attemptID string, code t30.Code, reason string) error {
	out := core.OutcomeFailed
	if code == t30.CodeCancelled {
		out = core.OutcomeCancelled
	}
	return q.report(ctx, l, core.Report{Key: attemptID, Outcome: out, PagesSent: q.takePages(attemptID), ErrorID: code.ID(), ErrorText: reason})
}

// Release implements agent.Queue.
func (q *storeQueue) Release(ctx context.Context, l agent.Lease) error {
	cl, err := parseLeaseOf(l)
	if err != nil {
		return err
	}
	return queueErr(q.store.Unclaim(ctx, cl))
}

// Attempt implements agent.Reporter: the record is stored ahead of the
// outcome, which names it by its key.
func (q *storeQueue) Attempt(ctx context.Context, r agent.AttemptRecord) error {
	jobID, err := strconv.ParseInt(r.JobID, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: job %q", agent.ErrNoJob, r.JobID)
	}
	msgID, _ := strconv.ParseInt(r.MessageID, 10, 64)
	lease, _ := parseLease(leaseOfAttempt(r))
	t := core.Transmission{
		Key: r.AttemptID, JobID: jobID, MessageID: msgID, Direction: core.Outbound, Lease: lease,
		Outcome:    outcomeOf(r.TransmitStatusDef),
		CreateDate: r.CreateDate, ScheduleDate: r.ScheduleDate, CompleteDate: r.CompleteDate,
		CallingNumber: r.CallingNumber, CalledNumber: r.CalledNumber, RemoteCSID: r.RemoteCSID,
		RoutingInfo: r.RoutingInfo, FaxProtocol: r.FaxProtocol, TransmitSpeed: r.TransmitSpeed,
		CompressionMode: r.CompressionMode, CallDuration: r.CallDuration, TransmitDuration: r.TransmitDuration,
		FaxResolution: r.FaxResolution, TransmitStatus: r.TransmitStatus, TransmitStatusDef: r.TransmitStatusDef,
		AttemptNo: r.AttemptNo, MaxAttemptNo: r.MaxAttemptNo, PageCount: r.PageCount, StartPageNo: r.StartPageNo,
		PageSent: r.PageSent, FaxAgentID: r.FaxAgentID, PortNo: r.PortNo, BoardID: r.BoardID, ServerIP: r.ServerIP,
		ErrorID: r.ErrorID, ErrorInfo: r.ErrorInfo,
	}
	id, err := q.store.RecordAttempt(ctx, t)
	if err != nil {
		return queueErr(err)
	}
	q.mu.Lock()
	q.pages[r.AttemptID] = r.PageSent
	q.mu.Unlock()
	q.log.Info("call", "direction", "outbound", "message", r.MessageID, "job", r.JobID, "attempt", r.AttemptID,
		"transmission", id, "attempt_no", r.AttemptNo, "port", r.BoardID, "number", r.CalledNumber,
		"status", r.TransmitStatusDef, "code", r.TransmitStatus, "pages", fmt.Sprintf("%d/%d", r.PageSent, r.PageCount),
		"speed", r.TransmitSpeed, "duration", r.CallDuration.Round(time.Millisecond), "error", r.ErrorInfo)
	return nil
}

// leaseOfAttempt finds the lease token in the agent's attempt ID
// ("<job>#<attempt>@<token>"); "" otherwise.
func leaseOfAttempt(r agent.AttemptRecord) string {
	if i := strings.LastIndexByte(r.AttemptID, '@'); i >= 0 {
		return r.AttemptID[i+1:]
	}
	return ""
}

func outcomeOf(status string) core.Outcome {
	switch status {
	case agent.StatusCompleted:
		return core.OutcomeDone
	case agent.StatusRetry:
		return core.OutcomeRetry
	case agent.StatusCancelled:
		return core.OutcomeCancelled
	}
	return core.OutcomeFailed
}

// Inbound implements agent.Reporter: the received TIFF goes into the store
// (and through its routing rules) and leaves the agent's spool.
func (q *storeQueue) Inbound(ctx context.Context, r agent.InboundRecord) error {
	t := core.Transmission{
		Key: r.ID, Direction: core.Inbound, Outcome: core.OutcomeReceived,
		CreateDate: r.Received, CompleteDate: r.Received.Add(r.CallDuration),
		CallingNumber: r.CallingNumber, CalledNumber: r.CalledNumber, RemoteCSID: r.RemoteCSID,
		RoutingInfo: firstOf(r.RoutingDigits, r.DID), CallerID: r.CallerID, FaxProtocol: r.FaxProtocol,
		TransmitSpeed: r.TransmitSpeed, CompressionMode: r.CompressionMode, CallDuration: r.CallDuration,
		TransmitDuration: r.TransmitDuration, FaxResolution: r.FaxResolution, TransmitStatus: r.ErrorID,
		PageCount: r.Pages, PageSent: r.Pages, FaxAgentID: r.FaxAgentID, PortNo: r.PortNo, BoardID: r.BoardID,
		ServerIP: r.ServerIP, ErrorID: r.ErrorID, ErrorInfo: r.ErrorInfo, AttemptNo: 1, MaxAttemptNo: 1,
	}
	if r.ErrorID == 0 {
		t.TransmitStatusDef = "Received"
	} else if r.Partial {
		t.TransmitStatusDef = "Partial"
	} else {
		t.TransmitStatusDef = "Failed"
	}
	logArgs := []any{"direction", "inbound", "attempt", r.ID, "port", r.BoardID, "from", r.CallingNumber,
		"to", r.CalledNumber, "csid", r.RemoteCSID, "pages", r.Pages, "code", r.ErrorID, "error", r.ErrorInfo}
	if r.File == "" || r.Pages == 0 {
		q.log.Info("call", append(logArgs, "stored", false)...)
		return nil
	}
	f, err := os.Open(r.File)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			// Stored by an earlier report that lost its answer.
			q.log.Warn("inbound file gone, already stored?", "attempt", r.ID)
			return nil
		}
		return err
	}
	defer f.Close()
	d, err := q.store.Receive(ctx, core.InboundFax{Key: r.ID, ContentType: "image/tiff", Pages: r.Pages, Body: f, Attempt: t})
	if err != nil {
		return err
	}
	os.Remove(r.File)
	q.log.Info("call", append(logArgs, "message", d.ID, "folder", d.Folder)...)
	return nil
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
