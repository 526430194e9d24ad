package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// AgentQueue adapts a Store to the agent's agent.Queue and agent.Reporter.
// IDs cross as decimal strings, a lease token is the claim's epoch, and the
// agent's attempt ID is the store's attempt key, so every report is
// idempotent. Documents are handed over as paths in this process's spool
// (filled from the database on PostgreSQL).
type AgentQueue struct {
	st Store
}

var (
	_ agent.Queue    = (*AgentQueue)(nil)
	_ agent.Reporter = (*AgentQueue)(nil)
	_ agent.Notifier = (*AgentQueue)(nil)

	_ agent.ProgressReporter = (*AgentQueue)(nil)
)

// Ready implements agent.Notifier with the store's Ready signal (see
// Store.Ready): each call returns a channel of its own, so an agent in the
// core's process and the agent protocol's long-polls all wake.
func (a *AgentQueue) Ready() <-chan struct{} { return a.st.Ready() }

// NewAgentQueue returns the adapter.
func NewAgentQueue(st Store) *AgentQueue { return &AgentQueue{st: st} }

// agentErr maps store errors onto the agent's sentinels, keeping both.
func agentErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrLeaseLost):
		return fmt.Errorf("%w: %w", agent.ErrLeaseLost, err)
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w: %w", agent.ErrNoJob, err)
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w: %w", agent.ErrRejected, err)
	}
	return err
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: %w: job ID %q", agent.ErrNoJob, ErrInvalid, s)
	}
	return id, nil
}

func leaseFrom(l agent.Lease) (Lease, error) {
	id, err := parseID(l.JobID)
	if err != nil {
		return Lease{}, err
	}
	ep, err := strconv.ParseInt(l.Token, 10, 64)
	if err != nil || ep <= 0 {
		return Lease{}, fmt.Errorf("%w: token %q", agent.ErrLeaseLost, l.Token)
	}
	return Lease{JobID: id, Epoch: ep}, nil
}

// Claim implements agent.Queue.
func (a *AgentQueue) Claim(ctx context.Context, r agent.ClaimRequest) ([]agent.Job, error) {
	if r.Max <= 0 {
		return nil, nil
	}
	jobs, err := a.st.Claim(ctx, Claim{Agent: r.AgentID, Max: min(r.Max, MaxClaim), Lease: r.Lease, Ports: r.Ports, Groups: r.Groups, PresetOnly: r.PresetOnly})
	if err != nil {
		return nil, err
	}
	out := make([]agent.Job, 0, len(jobs))
	for _, j := range jobs {
		paths := make([]string, 0, len(j.Documents))
		for _, d := range j.Documents {
			p, err := a.st.DocumentFile(ctx, d.ID)
			if err != nil {
				return nil, err
			}
			paths = append(paths, p)
		}
		aj := agent.Job{
			ID: strconv.FormatInt(j.ID, 10), MessageID: strconv.FormatInt(j.MessageID, 10),
			Number: j.Recipient.Fax, Recipient: j.Recipient.Name, Documents: paths, Priority: j.Priority, Header: j.Message.Header,
			Created: j.Created, ReadyAt: j.NotBefore,
			// The store counts the claim just made as an attempt; the agent
			// counts attempts made before it.
			Attempts: j.Attempts - 1, MaxAttempts: j.MaxAttempts, StartPage: j.StartPage, PagesSent: j.PagesSent,
			Lease: agent.Lease{JobID: strconv.FormatInt(j.ID, 10), Token: strconv.FormatInt(j.Lease.Epoch, 10), Expires: j.LeaseExpires},
		}
		aj.Preset.AgentID = j.Preset.Agent
		switch j.Preset.Type {
		case PresetPort:
			aj.Preset.Kind, aj.Preset.Port = agent.PresetPort, j.Preset.Value
		case PresetGroup:
			aj.Preset.Kind, aj.Preset.Group = agent.PresetGroup, j.Preset.Value
		}
		out = append(out, aj)
	}
	return out, nil
}

// Renew implements agent.Queue.
func (a *AgentQueue) Renew(ctx context.Context, l agent.Lease, d time.Duration) (agent.Lease, error) {
	cl, err := leaseFrom(l)
	if err != nil {
		return l, err
	}
	rr, err := a.st.Renew(ctx, cl, d)
	if err != nil {
		return l, agentErr(err)
	}
	l.Expires = rr.Expires
	if rr.Cancel {
		return l, agent.ErrCancelled
	}
	return l, nil
}

// outcomes maps the agent's attempt statuses onto the store's outcomes.
var outcomes = map[string]Outcome{agent.StatusCompleted: OutcomeDone, agent.StatusRetry: OutcomeRetry,
	agent.StatusFailed: OutcomeFailed, agent.StatusCancelled: OutcomeCancelled}

// Finish implements agent.Queue: the whole record and the job's new state
// in one Report (one transaction). A lease lost meanwhile keeps the record
// as a stale attempt (agent.ErrStale).
func (a *AgentQueue) Finish(ctx context.Context, l agent.Lease, r agent.AttemptRecord) error {
	return a.FinishAs(ctx, "", l, r)
}

// FinishAs is Finish for the agent agentID (decimal, "" any): a job whose
// lease another agent holds keeps the record as a stale attempt, whatever
// the lease token says, and its state is not touched (agent.ErrStale).
// The agent protocol's finish goes through it.
func (a *AgentQueue) FinishAs(ctx context.Context, agentID string, l agent.Lease, r agent.AttemptRecord) error {
	cl, err := leaseFrom(l)
	if err != nil {
		return err
	}
	o, ok := outcomes[r.TransmitStatusDef]
	if !ok {
		return fmt.Errorf("%w: %w: attempt status %q", agent.ErrRejected, ErrInvalid, r.TransmitStatusDef)
	}
	t := transmissionOf(r)
	t.JobID = cl.JobID
	rep := Report{Lease: cl, Key: r.AttemptID, Outcome: o, PagesSent: r.PagesTransmitted,
		ErrorID: r.ErrorID, ErrorText: t.ErrorInfo, Attempt: &t, Agent: agentID}
	if o == OutcomeRetry {
		rep.RetryAt, rep.ResumePage = r.NextAttempt, max(r.NextPage-1, 0)
	}
	if o == OutcomeDone {
		rep.ErrorID, rep.ErrorText = 0, ""
	}
	res, err := a.st.Report(ctx, rep)
	if res.Stale && errors.Is(err, ErrLeaseLost) {
		return fmt.Errorf("%w: %w", agent.ErrStale, agentErr(err))
	}
	return agentErr(err)
}

// transmissionOf is the store's form of an agent's attempt record: every
// field is kept (the driver's cause of an attempt that did not complete
// goes into the error text; a completed attempt has none, whatever the
// driver called its ending, e.g. a board's "normal completion").
func transmissionOf(r agent.AttemptRecord) Transmission {
	t := Transmission{Key: r.AttemptID, CreateDate: r.StartDate, AttemptFacts: r.AttemptFacts}
	if r.Cause != "" && r.TransmitStatusDef != agent.StatusCompleted && !strings.Contains(t.ErrorInfo, r.Cause) {
		t.ErrorInfo = strings.TrimSpace(t.ErrorInfo + " (" + r.Cause + ")")
	}
	if r.CauseCode >= 100 && r.CauseCode < 700 { // a SIP response
		t.SIPCode, t.SIPReason = r.CauseCode, r.Cause
	}
	return t
}

// Progress implements agent.ProgressReporter: the store keeps the live
// progress of the lease holder's call.
func (a *AgentQueue) Progress(ctx context.Context, l agent.Lease, pagesSent, pagesTotal int) error {
	cl, err := leaseFrom(l)
	if err != nil {
		return err
	}
	return agentErr(a.st.Progress(ctx, cl, pagesSent, pagesTotal))
}

// Release implements agent.Queue.
func (a *AgentQueue) Release(ctx context.Context, l agent.Lease) error {
	cl, err := leaseFrom(l)
	if err != nil {
		return err
	}
	return agentErr(a.st.Unclaim(ctx, cl))
}

// Inbound implements agent.Reporter: a received file is copied into the
// store's spool and the routing rules decide the owner; a call that
// brought no page is a failed call record, not a message. Text fields
// from the network are made valid and cut to their limits, not refused. It returns nil
// only once the store has committed the reception (or had it already under
// the same record ID), so the agent may then delete its spool file.
func (a *AgentQueue) Inbound(ctx context.Context, r agent.InboundRecord) error {
	t := Transmission{
		Key: r.ID, CreateDate: r.Received,
		CallerID: r.CallerID, AttemptFacts: agent.AttemptFacts{CallID: r.CallID, CallingNumber: r.CallingNumber, CalledNumber: r.CalledNumber,
			RoutingInfo: firstNonEmpty(r.RoutingDigits, r.DID, r.CalledNumber),
			RemoteCSID:  r.RemoteCSID, FaxProtocol: r.FaxProtocol, TransmitSpeed: r.TransmitSpeed,
			CompressionMode: r.CompressionMode, ECM: r.ECM, FaxResolution: r.FaxResolution, CallDuration: r.CallDuration,
			TransmitDuration: r.TransmitDuration, TransmitStatus: r.ErrorID, AttemptNo: 1, MaxAttemptNo: 1,
			PageCount: r.Pages, StartPageNo: 1, PageSent: r.Pages, FaxAgentID: r.FaxAgentID, PortNo: r.PortNo,
			BoardID: r.BoardID, ServerIP: r.ServerIP, ErrorID: r.ErrorID, ErrorInfo: r.ErrorInfo},
	}
	// What the peer sent (numbers, CSID, Call-ID) is stored as it can be:
	// a fax must not stay out of the store for an overlong CSID.
	clampTransmission(&t)
	if r.File == "" {
		_, err := a.st.RecordCall(ctx, t)
		return err
	}
	f, err := os.Open(r.File)
	if err != nil {
		return fmt.Errorf("core: inbound file: %w", err)
	}
	defer f.Close()
	_, err = a.st.Receive(ctx, InboundFax{Key: r.ID, Pages: r.Pages, Partial: r.Partial, Body: f, Attempt: t})
	return err
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// LeaseHolder returns the agent ID (decimal) holding a job's lease, ""
// when the job is not leased; agent.ErrNoJob for no such job.
func (a *AgentQueue) LeaseHolder(ctx context.Context, jobID string) (string, error) {
	id, err := parseID(jobID)
	if err != nil {
		return "", err
	}
	j, err := a.st.Job(ctx, id)
	if err != nil {
		return "", agentErr(err)
	}
	if j.State != JobLeased {
		return "", nil
	}
	return j.LeaseAgent, nil
}

// JobDocument returns the file (in this process's spool, filled from the
// database on PostgreSQL) of document n (from 0, in the order Claim gave
// them) of a job leased to agentID under l: any core sharing the store
// answers it, not only the one that answered the claim. agent.ErrLeaseLost
// when the lease is not agentID's (any more), agent.ErrNoJob for no such
// job or document.
func (a *AgentQueue) JobDocument(ctx context.Context, l agent.Lease, agentID string, n int) (string, error) {
	cl, err := leaseFrom(l)
	if err != nil {
		return "", err
	}
	// One narrow query (LeasedDocument), not the whole message: a
	// broadcast's every download would read all its jobs and attempts.
	id, err := a.st.LeasedDocument(ctx, cl, agentID, n)
	if err != nil {
		return "", agentErr(err)
	}
	return a.st.DocumentFile(ctx, id)
}
