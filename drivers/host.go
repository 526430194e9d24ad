package drivers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// Loop is the clock loop host-managed calls run their T.30 sessions on. A
// t30.Session must only be touched from its clock's loop; Loop owns that
// loop and is the one way in from other goroutines (Post).
//
// A virtual loop (NewVirtualLoop) runs on a t30.VirtualClock: a whole call
// takes milliseconds of CPU, and the results carry virtual durations. It
// suits a call whose every line event is produced on the loop itself (an
// in-memory line pair). A wall loop (NewWallLoop) runs on a t30.WallClock
// in real time and may carry many calls at once (real-time loopback, SIP).
type Loop struct {
	virtual *t30.VirtualClock
	wall    *t30.WallClock
	pace    float64 // virtual loops: > 0 keeps virtual time at most pace times ahead of the wall

	mu     sync.Mutex
	inbox  []func() // virtual loops: posted work, drained on the loop
	wake   chan struct{}
	closed bool
	expect int // virtual loops: sessions still to be started before time may run

	active []*hostSession // loop only
}

// NewVirtualLoop returns a loop in virtual time.
func NewVirtualLoop() *Loop {
	return &Loop{virtual: t30.NewVirtualClock(), wake: make(chan struct{}, 1)}
}

// NewPacedVirtualLoop returns a loop in virtual time that lets time pass
// at most pace times faster than on the wall: a call runs page by page
// in 1/pace of its duration (a demo a person can follow, and a hang-up
// from another goroutine cuts it where it is), while every timing the
// sessions measure stays exact virtual time.
func NewPacedVirtualLoop(pace float64) *Loop {
	l := NewVirtualLoop()
	l.pace = pace
	return l
}

// NewWallLoop returns a loop in real time.
func NewWallLoop() *Loop {
	return &Loop{wall: t30.NewWallClock(), wake: make(chan struct{}, 1)}
}

// Clock is the loop's clock, for Lines that need one (t30.NewLinePair).
// Its AfterFunc may only be called on the loop for a virtual loop.
func (l *Loop) Clock() t30.Clock {
	if l.virtual != nil {
		return l.virtual
	}
	return l.wall
}

// Post runs f on the loop. It is safe from any goroutine.
func (l *Loop) Post(f func()) {
	if l.wall != nil {
		l.wall.AfterFunc(0, f)
		return
	}
	l.mu.Lock()
	l.inbox = append(l.inbox, f)
	l.mu.Unlock()
	l.signal()
}

// postSession posts f and counts one expected session as started.
func (l *Loop) postSession(f func()) {
	if l.wall != nil {
		l.wall.AfterFunc(0, f)
		return
	}
	l.mu.Lock()
	l.inbox = append(l.inbox, f)
	l.expect--
	l.mu.Unlock()
	l.signal()
}

// Expect tells a virtual loop that n more sessions will be started on it
// (by SendOver or ReceiveOver); its clock stands still until they all have
// been, so the two ends of an in-memory call start at the same virtual
// instant even when they are started from different goroutines. Forgo
// takes back one expected session that will never start. Both are no-ops
// for a wall loop.
func (l *Loop) Expect(n int) {
	if l.wall != nil {
		return
	}
	l.mu.Lock()
	l.expect += n
	l.mu.Unlock()
	l.signal()
}

// Forgo is Expect(-1).
func (l *Loop) Forgo() { l.Expect(-1) }

func (l *Loop) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Close says no more sessions will be started: Run returns once the
// running ones have ended.
func (l *Loop) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.Post(func() {})
}

// finished reports whether Run is over (loop only).
func (l *Loop) finished() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed && l.expect <= 0 && len(l.inbox) == 0 && len(l.active) == 0
}

// poll runs on the loop after every callback: it runs posted work, ends
// finished sessions and reports whether Run is done.
func (l *Loop) poll() bool {
	for {
		l.mu.Lock()
		work := l.inbox
		l.inbox = nil
		closed, waiting := l.closed, l.expect > 0 && l.wall == nil
		l.mu.Unlock()
		if len(work) == 0 {
			l.reap()
			// A virtual loop pauses (returns to Run) while sessions
			// are still expected.
			return waiting || closed && len(l.active) == 0
		}
		for _, f := range work {
			f()
		}
	}
}

func (l *Loop) reap() {
	kept := l.active[:0]
	for _, h := range l.active {
		if h.s.Done() {
			h.res = h.s.Result()
			close(h.done)
			continue
		}
		kept = append(kept, h)
	}
	clear(l.active[len(kept):])
	l.active = kept
}

// Run executes the loop until Close was called and every session ended,
// or ctx ends. A virtual loop with nothing to do waits for Post.
func (l *Loop) Run(ctx context.Context) error {
	if l.wall != nil {
		return l.wall.Run(ctx, l.poll)
	}
	if l.pace > 0 {
		return l.runPaced(ctx)
	}
	for {
		err := l.virtual.Run(ctx, l.poll)
		switch {
		case err == nil:
			if l.finished() {
				return nil
			}
		case !errors.Is(err, t30.ErrIdle):
			return err
		}
		select {
		case <-l.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// runPaced is Run for a paced virtual loop: before each timer fires, it
// waits until the wall has caught up with the timer's virtual time
// divided by the pace; posted work (a hang-up) wakes it at once.
func (l *Loop) runPaced(ctx context.Context) error {
	vStart, wStart := l.virtual.Now(), time.Now()
	wait := time.NewTimer(time.Hour)
	defer wait.Stop()
	for {
		for !l.poll() {
			next, ok := l.virtual.Next()
			if !ok {
				break
			}
			if d := time.Until(wStart.Add(time.Duration(float64(next.Sub(vStart)) / l.pace))); d > 0 {
				wait.Reset(d)
				select {
				case <-wait.C:
				case <-l.wake:
					wait.Stop()
					continue // posted work first
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			l.virtual.Step()
		}
		if l.finished() {
			return nil
		}
		select {
		case <-l.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type hostSession struct {
	s    *t30.Session
	done chan struct{}
	res  t30.Result
}

// run starts a session on the loop and waits for it; ctx ending or stop
// being closed cancels it.
func (l *Loop) run(ctx context.Context, cfg t30.Config, line t30.Line, stop <-chan struct{}) (t30.Result, error) {
	s, err := t30.NewSession(cfg, line, l.Clock())
	if err != nil {
		l.Forgo()
		return t30.Result{}, err
	}
	h := &hostSession{s: s, done: make(chan struct{})}
	l.postSession(func() {
		l.active = append(l.active, h)
		s.Start()
	})
	select {
	case <-h.done:
		return h.res, nil
	case <-ctx.Done():
	case <-stop:
	}
	l.Post(s.Cancel)
	<-h.done
	return h.res, nil
}

// SendOver runs the sending side of a host-managed call: a calling,
// transmitting t30.Session over line on loop, with the port's
// capabilities capped by p. Closing stop (Call.Hangup) or ctx cancels the
// session (CodeCancelled). The Result has the T.30 outcome and
// TransmitDuration; the driver adds the call-level fields.
func SendOver(ctx context.Context, loop *Loop, line t30.Line, caps Capabilities, doc Document, p SendParams, stop <-chan struct{}, progress func(t30.PageEvent)) (Result, error) {
	cfg := t30.Config{
		Calling:      true,
		Transmit:     true,
		Ident:        p.CSID,
		Document:     doc,
		StartPage:    p.StartPage,
		Modems:       caps.Modems,
		MaxRate:      capRate(caps.MaxRate, p.MaxRate),
		Compressions: pick(p.Compressions, caps.Compressions),
		ECM:          ecmOn(p.ECM, caps.ECM),
		Timers:       p.Timers,
		MaxPageTries: p.MaxPageTries,
		Progress:     progress,
	}
	return finishHost(loop.run(ctx, cfg, line, stop))
}

// ReceiveOver runs the answering side of a host-managed call, like SendOver.
func ReceiveOver(ctx context.Context, loop *Loop, line t30.Line, caps Capabilities, p ReceiveParams, sink t30.PageSink, stop <-chan struct{}, progress func(t30.PageEvent)) (Result, error) {
	cfg := t30.Config{
		Ident:        p.CSID,
		Sink:         sink,
		Modems:       caps.Modems,
		MaxRate:      capRate(caps.MaxRate, p.MaxRate),
		Compressions: pick(p.Compressions, caps.Compressions),
		Resolutions:  pick(p.Resolutions, caps.Resolutions),
		ECM:          ecmOn(p.ECM, caps.ECM),
		Timers:       p.Timers,
		Progress:     progress,
	}
	return finishHost(loop.run(ctx, cfg, line, stop))
}

func finishHost(tr t30.Result, err error) (Result, error) {
	if err != nil {
		// The session could not even be set up: a bad document or
		// start page, or a programming error.
		code := t30.CodeInternal
		if errors.Is(err, t30.ErrDocument) {
			code = t30.CodeDocument
		}
		r := Result{Result: t30.Result{Code: code, Err: err}}
		return r, r.AsError()
	}
	r := Result{Result: tr, TransmitDuration: tr.Timings.Total}
	return r, r.AsError()
}

func capRate(port, want int) int {
	switch {
	case want <= 0:
		return port
	case port <= 0:
		return want
	}
	return min(port, want)
}

func pick[T imaging.Compression | imaging.Resolution](want, have []T) []T {
	if want != nil {
		return want
	}
	return have
}

func ecmOn(m ECMMode, port bool) bool {
	switch m {
	case ECMOn:
		return port
	case ECMOff:
		return false
	}
	return port
}
