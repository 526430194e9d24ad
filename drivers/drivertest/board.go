package drivertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// Outcome is what a simulated board reports for one call.
type Outcome struct {
	// DialCode, if not OK, makes Dial fail with it (busy, no answer).
	DialCode t30.Code
	// Code ends the call after Confirmed pages (OK: all pages).
	Code      t30.Code
	Confirmed int
	// Cause is the board's call-progress text.
	Cause string
	// PageTime is how long a page takes (time.Sleep: virtual time in a
	// synctest bubble); 0 means 10 s.
	PageTime time.Duration
}

// Board is a simulated board-managed driver (in the style of a Brooktrout
// board): T.30 runs "on the board", so Send and Receive never touch t30's
// engine; they report a Result that Script decides. It shows how such a
// driver fits the contract and lets agent tests run without T.30.
type Board struct {
	BoardName string
	Numbers   []string
	// Script decides each outgoing call; nil: every call succeeds.
	Script func(number string, pages int, p drivers.SendParams) Outcome

	mu     sync.Mutex
	busy   map[string]bool
	closed bool
	in     chan drivers.Call
	ev     chan drivers.PortEvent
	// Sent counts pages confirmed per dialled number.
	Sent map[string]int
}

var _ drivers.Driver = (*Board)(nil)

// Name implements drivers.Driver.
func (b *Board) Name() string {
	if b.BoardName == "" {
		return "board"
	}
	return b.BoardName
}

// Open implements drivers.Driver.
func (b *Board) Open(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.busy, b.Sent = map[string]bool{}, map[string]int{}
	b.in, b.ev = make(chan drivers.Call), make(chan drivers.PortEvent, 16)
	return ctx.Err()
}

// Close implements drivers.Driver.
func (b *Board) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.in)
		close(b.ev)
	}
	return nil
}

// Ports implements drivers.Driver.
func (b *Board) Ports() []drivers.PortInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]drivers.PortInfo, len(b.Numbers))
	for i, n := range b.Numbers {
		id := drivers.PortID(7, i)
		st := drivers.StateIdle
		if b.busy[id] {
			st = drivers.StateSending
		}
		out[i] = drivers.PortInfo{ID: id, Board: 7, Channel: i, Driver: b.Name(), Number: n, State: st,
			Caps: drivers.Capabilities{Send: true, Modems: t30.SetV27ter | t30.SetV29 | t30.SetV17, MaxRate: 14400}}
	}
	return out
}

// Incoming implements drivers.Driver: this board takes no calls.
func (b *Board) Incoming() <-chan drivers.Call { return b.in }

// Events implements drivers.Driver.
func (b *Board) Events() <-chan drivers.PortEvent { return b.ev }

// Dial implements drivers.Driver.
func (b *Board) Dial(ctx context.Context, port, number string, o drivers.DialOptions) (drivers.Call, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, drivers.ErrClosed
	case b.busy[port]:
		return nil, fmt.Errorf("%w: %s", drivers.ErrPortBusy, port)
	}
	b.busy[port] = true
	return &boardCall{b: b, port: port, number: number, stop: make(chan struct{}),
		info: drivers.CallInfo{ID: port + ":" + number, Port: port, Direction: drivers.Outbound, CalledNumber: number, DID: number, Started: time.Now()}}, nil
}

type boardCall struct {
	b      *Board
	port   string
	number string
	info   drivers.CallInfo
	once   sync.Once
	stop   chan struct{}
	cause  drivers.HangupCause
}

func (c *boardCall) Info() drivers.CallInfo { return c.info }

func (c *boardCall) release() {
	c.b.mu.Lock()
	delete(c.b.busy, c.port)
	c.b.mu.Unlock()
}

// Send implements drivers.Call: the "board" sends page after page and
// reports progress like a real board's events.
func (c *boardCall) Send(ctx context.Context, doc drivers.Document, p drivers.SendParams, progress func(t30.PageEvent)) (drivers.Result, error) {
	defer c.release()
	pages := doc.NumPages() - p.StartPage
	out := Outcome{Confirmed: pages}
	if c.b.Script != nil {
		out = c.b.Script(c.number, pages, p)
	}
	if out.PageTime == 0 {
		out.PageTime = 10 * time.Second
	}
	r := drivers.Result{Info: c.info, Cause: out.Cause}
	r.StartPage = p.StartPage
	r.Speed = t30.Speed{Modem: t30.V17, Rate: 14400}
	if p.MaxRate > 0 && p.MaxRate < r.Speed.Rate {
		r.Speed.Rate = p.MaxRate
	}
	if out.DialCode != t30.OK {
		r.Code, r.DialDuration = out.DialCode, 30*time.Second
		r.CallDuration = r.DialDuration
		return r, r.AsError()
	}
	start := time.Now()
	for i := 0; i < min(out.Confirmed, pages); i++ {
		t := time.NewTimer(out.PageTime)
		select {
		case <-t.C:
		case <-c.stop:
			t.Stop()
			return c.end(r, start, t30.CodeCancelled)
		case <-ctx.Done():
			t.Stop()
			return c.end(r, start, t30.CodeCancelled)
		}
		r.PagesSent++
		r.PagesConfirmed++
		if progress != nil {
			progress(t30.PageEvent{Page: p.StartPage + i + 1, Status: t30.PageConfirmed, Speed: r.Speed})
		}
	}
	c.b.mu.Lock()
	c.b.Sent[c.number] += r.PagesConfirmed
	c.b.mu.Unlock()
	return c.end(r, start, out.Code)
}

func (c *boardCall) end(r drivers.Result, start time.Time, code t30.Code) (drivers.Result, error) {
	r.Code = code
	if code != t30.OK && r.FailedPage == 0 {
		r.FailedPage = r.StartPage + r.PagesConfirmed + 1
	}
	r.TransmitDuration = time.Since(start)
	r.CallDuration = r.TransmitDuration
	r.Ended = time.Now()
	if code == t30.CodeCancelled {
		r.Err = errors.New("board: call hung up")
		r.HangupCause = c.cause
	}
	return r, r.AsError()
}

// Receive implements drivers.Call; the simulated board only sends.
func (c *boardCall) Receive(context.Context, drivers.ReceiveParams, t30.PageSink, func(t30.PageEvent)) (drivers.Result, error) {
	r := drivers.Result{Info: c.info}
	r.Code, r.Err = t30.CodeInternal, errors.New("board: Receive on an outgoing call")
	return r, r.AsError()
}

// Hangup implements drivers.Call.
func (c *boardCall) Hangup(cause drivers.HangupCause) error {
	c.once.Do(func() {
		c.cause = cause
		close(c.stop)
	})
	return nil
}
