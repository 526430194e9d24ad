package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// queueLink is what the agent works through: the store's adapter in the
// core's process (core.AgentQueue), the agent protocol's client elsewhere
// (agentapi.Client).
type queueLink interface {
	agent.Queue
	agent.Reporter
	agent.Notifier
	agent.ProgressReporter
}

// agentQueue is the agent's queueLink with what serve adds: every call is
// logged on one line with its message, job and attempt IDs. (A received
// fax leaves the agent's spool once the core has its copy: the agent does
// that.)
type agentQueue struct {
	queueLink
	log *slog.Logger
}

func newAgentQueue(l queueLink, log *slog.Logger) *agentQueue {
	return &agentQueue{queueLink: l, log: log}
}

// jobKey is a store job ID as the agent sees it.
func jobKey(id int64) string { return strconv.FormatInt(id, 10) }

// Finish implements agent.Queue.
func (q *agentQueue) Finish(ctx context.Context, l agent.Lease, r agent.AttemptRecord) error {
	err := q.queueLink.Finish(ctx, l, r)
	q.log.Info("call", "direction", "outbound", "message", r.MessageID, "job", r.JobID, "attempt", r.AttemptID,
		"attempt_no", r.AttemptNo, "port", r.BoardID, "number", r.CalledNumber, "status", r.TransmitStatusDef,
		"code", r.TransmitStatus, "pages", fmt.Sprintf("%d/%d", r.PageSent, r.PageCount), "speed", r.TransmitSpeed,
		"duration", r.CallDuration.Round(time.Millisecond), "error", r.ErrorInfo,
		"stored", err == nil || errors.Is(err, agent.ErrStale), "stale", errors.Is(err, agent.ErrStale))
	return err
}

// Inbound implements agent.Reporter.
func (q *agentQueue) Inbound(ctx context.Context, r agent.InboundRecord) error {
	err := q.queueLink.Inbound(ctx, r)
	q.log.Info("call", "direction", "inbound", "attempt", r.ID, "call_id", r.CallID, "port", r.BoardID, "from", r.CallingNumber,
		"to", r.CalledNumber, "csid", r.RemoteCSID, "pages", r.Pages, "partial", r.Partial, "code", r.ErrorID, "error", r.ErrorInfo,
		"stored", err == nil)
	return err
}
