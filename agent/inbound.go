package agent

import (
	"sync/atomic"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// inboundLoop takes a driver's incoming calls.
func (a *Agent) inboundLoop(d drivers.Driver) {
	defer a.loops.Done()
	for c := range d.Incoming() {
		a.offer(c)
	}
}

func (a *Agent) offer(c drivers.Call) {
	info := c.Info()
	a.mu.Lock()
	p := a.byID[info.Port]
	ok := p != nil && p.licensed && p.set.Receive && !p.set.Disabled && !p.busy && !a.stopping &&
		a.cfg.Clock.Now().Before(a.lic.Expires)
	inCall := p != nil && p.busy
	if ok {
		p.busy, p.state = true, drivers.StateReceiving
		a.inbound[c] = struct{}{}
		a.calls.Add(1)
	}
	a.mu.Unlock()
	if !ok {
		cause := drivers.CauseRejected
		if inCall {
			cause = drivers.CauseBusy // the caller hears busy, not a refusal
		}
		_ = c.Hangup(cause)
		return
	}
	a.cfg.Metrics.PortState(p.info.ID, drivers.StateReceiving)
	go a.receive(c, p)
}

// receive answers an incoming call into the spool and reports it. The
// reception gets an ID unique forever (NewInboundID) before it starts; its
// record is kept in the spool beside the file from the first moment (see
// spool.go), so neither a failed report nor a crash loses the fax.
func (a *Agent) receive(c drivers.Call, p *port) {
	defer a.calls.Done()
	defer a.free(p)
	defer func() {
		a.mu.Lock()
		delete(a.inbound, c)
		a.mu.Unlock()
	}()
	info := c.Info()
	start := a.cfg.Clock.Now()
	id := NewInboundID(a.cfg.AgentID)
	pend := a.pendingFor(id)
	rec := InboundRecord{
		ID: id, CallID: info.ID, FaxAgentID: a.cfg.AgentID, PortNo: p.no, BoardID: p.info.ID, ServerIP: a.cfg.ServerIP,
		CallingNumber: info.CallingNumber, CalledNumber: info.CalledNumber, DID: info.DID,
		RoutingDigits: info.RoutingDigits, CallerID: info.CallerID, Received: start, File: pend.file,
	}
	if err := pend.write(rec, true); err != nil {
		a.log.Error("spool: pending record", "call", info.ID, "inbound", id, "err", err)
	}
	sink := &spoolSink{path: pend.file}
	csid := firstNonEmpty(p.set.CSID, a.cfg.CSID, p.info.Number)
	var watchdogFired atomic.Bool
	wd := a.watchdog(func() {
		watchdogFired.Store(true)
		_ = c.Hangup(drivers.CauseWatchdog)
	})
	a.callStarted(p, drivers.Inbound, 0, 0)
	res, _ := c.Receive(a.base, drivers.ReceiveParams{CSID: csid, ToneDetect: p.set.ToneDetect}, sink,
		func(ev t30.PageEvent) { a.callPage(p, ev); wd.progress(ev) })
	wd.stop()
	if watchdogFired.Load() {
		res.Code = CodeWatchdog
	}
	partial := res.Code != t30.OK
	path, n, err := sink.close()
	if err != nil {
		a.log.Error("spool", "call", info.ID, "inbound", id, "err", err)
	}
	end := a.cfg.Clock.Now()
	rec.RemoteCSID, rec.Pages, rec.File, rec.Partial = res.RemoteIdent, n, path, partial && n > 0
	rec.FaxProtocol, rec.TransmitSpeed = res.Protocol(), res.Speed.Rate
	rec.CallDuration, rec.TransmitDuration, rec.ErrorID = res.CallDuration, res.TransmitDuration, res.Code.ID()
	if res.Code == CodeWatchdog {
		rec.ErrorID = int(CodeWatchdog)
	}
	if res.Speed.Rate > 0 {
		rec.CompressionMode = res.Compression.String()
		rec.FaxResolution = res.Resolution.String()
		rec.ECM = res.ECM
	}
	if res.Code != t30.OK {
		rec.ErrorInfo = CodeText(res.Code)
		if res.Err != nil {
			rec.ErrorInfo += ": " + res.Err.Error()
		}
	}
	if err := pend.write(rec, false); err != nil {
		a.log.Error("spool: pending record", "call", info.ID, "inbound", id, "err", err)
	}
	a.cfg.Metrics.CallEnded(p.info.ID, drivers.Inbound, res.Code, n, end.Sub(start))
	a.reports.Add(1)
	go a.deliver(pend, rec)
}
