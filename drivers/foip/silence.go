package foip

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/t38"
)

// ErrRemoteSilent is wrapped by the error of a call whose far end stopped
// sending media (Config.UDPTLTimeout, Config.RTPTimeout): the completion
// code is t30.CodeCallDropped and the Result's Cause says how long and
// which stream ("remote silent for 20s: no UDPTL packets").
var ErrRemoteSilent = errors.New("foip: remote silent")

// silenceError is the error a silenceWatch ends a call with.
type silenceError struct {
	limit time.Duration
	what  string // "UDPTL", "RTP"
}

func (e *silenceError) Error() string {
	return fmt.Sprintf("remote silent for %v: no %s packets", e.limit, e.what)
}

func (e *silenceError) Unwrap() error { return ErrRemoteSilent }

// silenceWatch ends a call whose media stream has gone quiet: once armed,
// `limit` without activity calls fired with a *silenceError. It runs on the
// call's clock, checking every limit/4, so it fires between limit and 1.25
// limit after the last activity; a stall of our own process (a check that
// runs late) is not the far end's silence.
//
// What arms it and what counts as activity is the stream's business
// (activity). On UDPTL it is armed by the far end's first HDLC frame (DIS
// or DCS): before it, tones (CED lasts up to 4 s, CNG pauses 3 s) leave
// gaps with no packet, and T.30's T1 (35 s) bounds that wait anyway; our
// own packets count as activity too, because T.38 is half duplex in
// practice and the far end is rightly quiet while we send a page. After
// the first frame the gaps of a sound call are the V.21 preamble (1 s) and
// a training (1.4 s at most) before their data; T4 (3 s) and T2 (6 s)
// bound those of a lossy one. On RTP, where audio flows both ways all the
// time, the far end's first packet arms it and only its packets count.
type silenceWatch struct {
	clock t30.Clock
	limit time.Duration
	what  string
	// activity returns what arms the watch (0: not yet) and a count
	// that changes with every packet that is activity; safe from any
	// goroutine.
	activity func() (armed, total uint64)
	// paused, if set, suspends the watch while it returns true (our
	// re-INVITE is under way: the far end may stop audio for T.38).
	paused func() bool
	// fired runs on the clock's loop, at most once.
	fired func(error)

	mu      sync.Mutex
	timer   t30.Timer
	stopped bool
	err     error

	// clock's loop only
	seen  uint64
	last  time.Time
	held  bool      // paused at the last check
	check time.Time // the last check
}

// start begins watching; a limit of 0 or less never fires.
func (w *silenceWatch) start() {
	if w.limit > 0 {
		w.arm()
	}
}

func (w *silenceWatch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.timer = w.clock.AfterFunc(w.limit/4, w.tick)
	}
}

// stop ends the watch; it never fires after stop returns.
func (w *silenceWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

// firedErr is the error the watch fired with, nil if it did not.
func (w *silenceWatch) firedErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *silenceWatch) tick() {
	now := w.clock.Now()
	armed, total := w.activity()
	held := w.paused != nil && w.paused()
	// A check that comes late (due limit/4 after the last, run more than
	// limit/2 after it) means this process did not run for a while: the
	// far end's packets may still wait in the socket, read just after this
	// check, so it counts as activity.
	late := !w.check.IsZero() && now.Sub(w.check) > w.limit/2
	w.check = now
	switch {
	case armed == 0 || w.last.IsZero() || total != w.seen || held || w.held || late:
		// A pause counts as activity up to the first check after it.
		w.seen, w.last = total, now
	case now.Sub(w.last) >= w.limit:
		err := &silenceError{limit: w.limit, what: w.what}
		w.mu.Lock()
		if w.stopped {
			w.mu.Unlock()
			return
		}
		w.stopped, w.err = true, err
		w.mu.Unlock()
		w.fired(err)
		return
	}
	w.held = held
	w.arm()
}

// framedLine is a call's T.38 terminal counting the HDLC frames it
// delivers (what arms the call's UDPTL silenceWatch).
type framedLine struct {
	*t38.Terminal
	frames atomic.Uint64
}

// SetHandler implements t30.Line.
func (l *framedLine) SetHandler(h func(t30.Event)) {
	l.Terminal.SetHandler(func(ev t30.Event) {
		if ev.Kind == t30.EventFrame {
			l.frames.Add(1)
		}
		h(ev)
	})
}
