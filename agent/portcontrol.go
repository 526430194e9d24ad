package agent

import (
	"errors"
	"fmt"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// ErrNoPort means a port ID names no port of this agent.
var ErrNoPort = errors.New("agent: no such port")

// CallProgress is the live state of the call on a port, for consoles.
type CallProgress struct {
	Direction drivers.Direction
	// Page is the pages done: confirmed by the remote (sending, counting
	// pages before the attempt's start page) or received.
	Page int
	// Pages is the document's page count when sending; 0 when receiving.
	Pages int
	Rate  int    // bit/s of the last page, 0 before the first
	Modem string // of the last page
	ECM   bool   // the last page went with error correction
}

// SetPort changes a port's Send, Receive and Disabled settings while the
// agent runs. A disabled idle port shows StateDisabled at once; a port in
// a call finishes it and then stays unused. Enabling a disabled port makes
// it idle (unless it is unlicensed or down).
func (a *Agent) SetPort(id string, send, receive, disabled bool) error {
	a.mu.Lock()
	p := a.byID[id]
	if p == nil {
		a.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNoPort, id)
	}
	p.set.Send, p.set.Receive, p.set.Disabled = send, receive, disabled
	state, changed := p.state, false
	switch {
	case !p.licensed || p.busy:
	case disabled && p.state != drivers.StateDisabled:
		state, changed = drivers.StateDisabled, true
	case !disabled && p.state == drivers.StateDisabled:
		state, changed = drivers.StateIdle, true
	}
	p.state = state
	a.mu.Unlock()
	if changed {
		a.cfg.Metrics.PortState(id, state)
	}
	a.log.Info("port settings changed", "port", id, "send", send, "receive", receive, "disabled", disabled)
	a.signal()
	return nil
}

// callStarted records the start of a call on p (pages: the document's
// pages when sending, done: the pages already confirmed).
func (a *Agent) callStarted(p *port, dir drivers.Direction, done, pages int) {
	a.mu.Lock()
	p.call = &CallProgress{Direction: dir, Page: done, Pages: pages}
	a.mu.Unlock()
}

// callPage records a page event of the call on p.
func (a *Agent) callPage(p *port, ev t30.PageEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p.call == nil {
		return
	}
	c := *p.call
	c.Rate, c.Modem, c.ECM = ev.Speed.Rate, ev.Speed.Modem.String(), ev.ECM
	if ev.Status == t30.PageConfirmed || ev.Status == t30.PageReceived {
		c.Page = max(c.Page, ev.Page)
	}
	p.call = &c
}
