package drivers

import (
	"sync"
	"time"
)

// PortEvents is the port state reporting every driver shares: it changes a
// port's PortInfo.State and reports the change on the driver's Events
// channel, the same way for every driver: an unchanged state is not
// reported again; the Err of a change goes with it; an event that finds
// the channel full is dropped rather than blocking the driver (the agent
// reads Ports for the truth); Close reports every port that is not down
// yet as Down, then closes the channel, after which nothing more is sent.
//
// The PortInfo values belong to the driver and are guarded by its own
// lock, which it holds when it calls Set and Close.
type PortEvents struct {
	now func() time.Time

	mu     sync.Mutex
	ch     chan PortEvent
	closed bool
}

// NewPortEvents returns the reporting of a driver with ports ports; now is
// the driver's clock (nil: time.Now).
func NewPortEvents(ports int, now func() time.Time) *PortEvents {
	if now == nil {
		now = time.Now
	}
	return &PortEvents{now: now, ch: make(chan PortEvent, 4*ports+16)}
}

// C is the channel Driver.Events returns.
func (e *PortEvents) C() <-chan PortEvent { return e.ch }

// Set puts p in state s and reports it, with err (why a port went down)
// if any; nothing happens when p is in state s already.
func (e *PortEvents) Set(p *PortInfo, s PortState, err error) {
	if p.State == s {
		return
	}
	p.State = s
	e.send(PortEvent{Port: p.ID, State: s, At: e.now(), Err: err})
}

func (e *PortEvents) send(ev PortEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	select {
	case e.ch <- ev:
	default:
	}
}

// Close puts every port of ps that is not down yet Down and reports it,
// then closes the channel. Later calls do nothing.
func (e *PortEvents) Close(ps []*PortInfo) {
	for _, p := range ps {
		e.Set(p, StateDown, nil)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		close(e.ch)
	}
}
