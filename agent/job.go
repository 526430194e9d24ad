package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// activeJob is a job in progress on a port.
type activeJob struct {
	job  Job
	port *port

	mu         sync.Mutex
	call       drivers.Call
	cancelDial context.CancelFunc
	ended      bool
	cause      drivers.HangupCause
	hungUp     bool // by us: cancel, watchdog or shutdown
	lease      Lease
}

// hangup ends the job's call (or its dialling) with cause.
func (aj *activeJob) hangup(cause drivers.HangupCause) {
	aj.mu.Lock()
	if aj.ended || aj.hungUp {
		aj.mu.Unlock()
		return
	}
	aj.hungUp, aj.cause = true, cause
	call, cancel := aj.call, aj.cancelDial
	aj.mu.Unlock()
	// The driver learns the cause before the context ends the call.
	if call != nil {
		_ = call.Hangup(cause)
	}
	if cancel != nil {
		cancel()
	}
}

// callID is the connected call's driver ID ("" before it is connected).
func (aj *activeJob) callID() string {
	aj.mu.Lock()
	defer aj.mu.Unlock()
	if aj.call == nil {
		return ""
	}
	return aj.call.Info().ID
}

// setCall records the connected call; false if it was hung up meanwhile.
func (aj *activeJob) setCall(c drivers.Call) bool {
	aj.mu.Lock()
	defer aj.mu.Unlock()
	aj.call = c
	return !aj.hungUp
}

// Cancel cancels a job this agent is working on: dialling stops or the
// call is hung up at once, and the job ends as cancelled. It reports
// whether the job was active here. (Queued jobs are cancelled in the
// queue.)
func (a *Agent) Cancel(jobID string) bool {
	a.mu.Lock()
	aj := a.active[jobID]
	a.mu.Unlock()
	if aj == nil {
		return false
	}
	aj.hangup(drivers.CauseCancelled)
	return true
}

// runJob makes one attempt of a job on port p.
func (a *Agent) runJob(aj *activeJob) {
	defer a.calls.Done()
	job, p := aj.job, aj.port
	// deliver, once set, sends the outcome to the queue: after the port
	// is free, so that a job seen ended has its port back.
	var deliver func()
	defer func() {
		a.mu.Lock()
		delete(a.active, job.ID)
		a.mu.Unlock()
		a.free(p)
		if deliver != nil {
			deliver()
		}
	}()
	clk := a.cfg.Clock
	start := clk.Now()
	aj.lease = job.Lease
	attemptNo := job.Attempts + 1
	attemptID := fmt.Sprintf("%s#%d@%s", job.ID, attemptNo, job.Lease.Token)
	dialled := a.cfg.Dial.Apply(job.Number)
	csid := firstNonEmpty(job.CSID, p.set.CSID, a.cfg.CSID, p.info.Number)

	// Keep the lease while we work.
	renew := a.renewer(aj)
	defer renew.Stop()

	maxRate, noECM := a.mem.settings(dialled)
	params := drivers.SendParams{StartPage: job.StartPage, MaxRate: maxRate, CSID: csid}
	if noECM {
		params.ECM = drivers.ECMOff
	}
	var res drivers.Result
	var jr *callJournal // the call's journal, from the dialling on
	pages := 0
	doc, closeDoc, err := a.document(job, csid, dialled, start)
	if err == nil {
		pages = doc.NumPages()
		if job.StartPage >= pages {
			err = fmt.Errorf("agent: start page %d of %d", job.StartPage+1, pages)
		}
	}
	if err != nil {
		res.Code, res.Err, res.Ended = t30.CodeDocument, err, clk.Now()
		res.Info.CallingNumber = p.info.Number
	} else {
		defer closeDoc()
		fw := a.startProgress(aj, job.StartPage, pages)
		a.callStarted(p, drivers.Outbound, job.StartPage, pages)
		rec := a.record(job, p, drivers.Result{}, t30.CodeCallDropped, StatusRetry, attemptID, attemptNo, Decision{}, pages, dialled, start, start)
		rec.MaxRate, rec.ECMDisabled = maxRate, noECM
		jr = a.openJournal(journalHead{Lease: aj.currentLease(), Job: job, Pages: pages, Record: rec})
		res = a.call(aj, doc, dialled, params, func(ev t30.PageEvent) { jr.page(ev, aj.callID()); a.callPage(p, ev); fw.page(ev) })
		fw.stop()
		if res.Code == t30.CodeInternal && errors.Is(res.Err, drivers.ErrPortBusy) {
			// An incoming call took the port first: not an attempt.
			jr.done()
			_ = a.cfg.Queue.Release(a.base, aj.currentLease())
			return
		}
	}
	code := res.Code
	aj.mu.Lock()
	aj.ended = true
	hungUp, cause := aj.hungUp, aj.cause
	aj.mu.Unlock()
	if hungUp {
		switch cause {
		case drivers.CauseWatchdog:
			code = CodeWatchdog
		case drivers.CauseCancelled:
			code = t30.CodeCancelled
		}
	}
	a.mem.learn(dialled, code, res.Retrains, res.Speed.Rate, maxRate)
	end := clk.Now()
	dec := a.cfg.Retry.Decide(job, attemptNo, code, res.PagesConfirmed, res.PagesSent, pages, end)
	status := StatusFailed
	switch {
	case hungUp && cause == drivers.CauseShutdown:
		// Not the job's fault: back to the queue at once.
		dec.Retry, dec.At = true, end
		status = StatusRetry
	case dec.Code == t30.OK:
		status = StatusCompleted
	case dec.Code == t30.CodeCancelled:
		status = StatusCancelled
	case dec.Retry:
		status = StatusRetry
	}
	if dec.Code == CodePageLimit {
		code = CodePageLimit
	}
	rec := a.record(job, p, res, code, status, attemptID, attemptNo, dec, pages, dialled, start, end)
	rec.MaxRate, rec.ECMDisabled = maxRate, noECM
	a.cfg.Metrics.CallEnded(p.info.ID, drivers.Outbound, code, res.PagesConfirmed, end.Sub(start))
	rec.PagesTransmitted = res.PagesSent
	deliver = a.finish(aj.currentLease(), rec)
	jr.done()
	a.log.Info("attempt", "job", job.ID, "attempt", attemptNo, "port", p.info.ID, "code", code.ID(), "status", status, "pages", res.PagesConfirmed)
}

func (aj *activeJob) currentLease() Lease {
	aj.mu.Lock()
	defer aj.mu.Unlock()
	return aj.lease
}

// renewer renews the job's lease every third of the lease time; a
// cancelled job or a lost lease hangs the call up.
func (a *Agent) renewer(aj *activeJob) interface{ Stop() bool } {
	r := &renewal{}
	every := a.cfg.Lease / 3
	var tick func()
	tick = func() {
		l, err := a.cfg.Queue.Renew(a.base, aj.currentLease(), a.cfg.Lease)
		switch {
		case errors.Is(err, ErrCancelled):
			aj.hangup(drivers.CauseCancelled)
		case errors.Is(err, ErrLeaseLost):
			a.log.Warn("lease lost", "job", aj.job.ID)
			aj.hangup(drivers.CauseCancelled)
		case err == nil:
			aj.mu.Lock()
			aj.lease = l
			aj.mu.Unlock()
		}
		r.mu.Lock()
		if !r.stopped {
			r.t = a.cfg.Clock.AfterFunc(every, tick)
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.t = a.cfg.Clock.AfterFunc(every, tick)
	r.mu.Unlock()
	return r
}

type renewal struct {
	mu      sync.Mutex
	t       t30.Timer
	stopped bool
}

func (r *renewal) Stop() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	return r.t.Stop()
}

// call dials and sends, under the watchdog.
// pageDone, if not nil, is told of every page event too.
func (a *Agent) call(aj *activeJob, doc drivers.Document, dialled string, params drivers.SendParams, pageDone func(t30.PageEvent)) drivers.Result {
	clk := a.cfg.Clock
	p := aj.port
	ctx, cancel := context.WithCancel(a.base)
	defer cancel()
	aj.mu.Lock()
	aj.cancelDial = cancel
	hung := aj.hungUp
	aj.mu.Unlock()
	if hung {
		cancel()
	}
	wd := a.watchdog(func() { aj.hangup(drivers.CauseWatchdog) })
	defer wd.stop()

	a.cfg.Metrics.Dispatched(clk.Now().Sub(aj.job.ReadyAt))
	a.setState(p, drivers.StateDialling)
	c, err := p.drv.Dial(ctx, p.info.ID, dialled, drivers.DialOptions{})
	if err != nil {
		info := drivers.CallInfo{Port: p.info.ID, Direction: drivers.Outbound, CallingNumber: p.info.Number, CalledNumber: dialled}
		r := drivers.DialResult(err, info, clk.Now())
		if errors.Is(err, drivers.ErrPortBusy) {
			r.Err = err
		}
		return r
	}
	if !aj.setCall(c) {
		_ = c.Hangup(drivers.CauseCancelled)
	}
	a.setState(p, drivers.StateSending)
	progress := wd.progress
	if pageDone != nil {
		progress = func(ev t30.PageEvent) {
			wd.progress(ev)
			pageDone(ev)
		}
	}
	res, _ := c.Send(ctx, doc, params, progress)
	aj.mu.Lock()
	ours := aj.hungUp
	aj.mu.Unlock()
	if !ours {
		_ = c.Hangup(drivers.CauseNormal)
	}
	return res
}

// document opens a job's pages: its in-memory document, or its files
// through faxdoc with the header line stamped.
func (a *Agent) document(job Job, csid, number string, now time.Time) (drivers.Document, func(), error) {
	if job.Doc != nil {
		return job.Doc, func() {}, nil
	}
	if len(job.Documents) == 0 {
		return nil, nil, errors.New("agent: job has no document")
	}
	o := a.cfg.Document
	o.Header = firstNonEmpty(job.Header, a.cfg.Header)
	if o.Header == "-" {
		o.Header = ""
	}
	o.Fields.Time, o.Fields.CSID, o.Fields.Number, o.Fields.Recipient = now, csid, number, job.Recipient
	d, err := openFileDoc(job.Documents, o)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", t30.ErrDocument, err)
	}
	return d, func() { d.Close() }, nil
}

func (a *Agent) record(job Job, p *port, res drivers.Result, code t30.Code, status, attemptID string, attemptNo int, dec Decision, pages int, dialled string, start, end time.Time) AttemptRecord {
	rec := AttemptRecord{
		AttemptID: attemptID, JobID: job.ID, MessageID: job.MessageID,
		CreateDate: job.Created, StartDate: start,

		Cause: res.Cause, CauseCode: res.CauseCode, AttemptFacts: AttemptFacts{CallID: res.Info.ID,
			ScheduleDate: job.ReadyAt, CompleteDate: end,
			CallingNumber: firstNonEmpty(res.Info.CallingNumber, p.info.Number),
			CalledNumber:  job.Number, DialedNumber: dialled, RoutingInfo: job.Number,
			RemoteCSID:  res.RemoteIdent,
			FaxProtocol: res.Protocol(), TransmitSpeed: res.Speed.Rate,
			CallDuration: res.CallDuration, TransmitDuration: res.TransmitDuration, ECM: res.ECM,
			TransmitStatus: code.ID(), TransmitStatusDef: status,
			AttemptNo: attemptNo, MaxAttemptNo: dec.Max,
			PageCount: pages, StartPageNo: job.StartPage + 1, PageSent: res.PagesConfirmed,
			FaxAgentID: a.cfg.AgentID, PortNo: p.no, BoardID: p.info.ID, ServerIP: a.cfg.ServerIP,
			ErrorID: code.ID(),
			Media:   res.Media.Transport, PacketsLost: int(res.Media.Lost), PacketsRecovered: int(res.Media.Recovered)},
	}
	if res.Speed.Rate > 0 {
		rec.CompressionMode = res.Compression.String()
		rec.FaxResolution = res.Resolution.String()
	}
	if code != t30.OK {
		rec.ErrorInfo = failureText(code, res.Err)
	}
	if status == StatusRetry {
		rec.NextAttempt, rec.NextPage = dec.At, dec.StartPage+1
	}
	return rec
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
