package agent

import (
	"context"
	"sync"
	"time"

	"github.com/faxagent/faxagent/t30"
)

// ProgressReporter is optionally implemented by a Queue (or else by the
// Reporter): while a call runs the agent reports its page progress through
// it, so that users can watch a fax go out page by page. pagesSent is the
// number of document pages the remote has confirmed so far (pages before
// the attempt's start page count as confirmed), pagesTotal the document's
// page count. The first report of an attempt comes before dialling, with
// the pages done by earlier attempts.
//
// Reports are best effort: the agent rate-limits them (Config.
// ProgressInterval), never lets them block a call, and only logs a
// failure. An implementation must ignore (ErrLeaseLost) a report under a
// lease that is no longer current.
type ProgressReporter interface {
	Progress(ctx context.Context, l Lease, pagesSent, pagesTotal int) error
}

// progressTimeout bounds one progress report.
const progressTimeout = 5 * time.Second

// progressReporter is the Queue's ProgressReporter, else the Reporter's,
// else nil.
func (a *Agent) progressReporter() ProgressReporter {
	if pr, ok := a.cfg.Queue.(ProgressReporter); ok {
		return pr
	}
	if pr, ok := a.cfg.Reporter.(ProgressReporter); ok {
		return pr
	}
	return nil
}

// progressForwarder forwards one attempt's page progress to a
// ProgressReporter from its own goroutine: the call's progress callback
// only stores the newest value, and the goroutine reports it at most once
// per interval, so a slow or failing core never holds up the call. Values
// that arrive faster are coalesced (the newest wins).
type progressForwarder struct {
	a     *Agent
	pr    ProgressReporter
	lease func() Lease
	job   string

	mu          sync.Mutex
	sent, total int
	pending     bool
	failed      bool // a report failed (logged once per attempt)

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

// startProgress starts the forwarder of an attempt and queues the first
// report (startPage pages of total done); nil when nobody takes progress.
func (a *Agent) startProgress(aj *activeJob, startPage, total int) *progressForwarder {
	pr := a.progressReporter()
	if pr == nil {
		return nil
	}
	f := &progressForwarder{
		a: a, pr: pr, lease: aj.currentLease, job: aj.job.ID, total: total,
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
	f.sent, f.pending = startPage, true
	f.wake <- struct{}{}
	go f.run()
	return f
}

// set records that sent pages are done.
func (f *progressForwarder) set(sent int) {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.sent, f.pending = sent, true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// page is the calls' progress callback: a confirmed page moves the
// progress to that document page.
func (f *progressForwarder) page(ev t30.PageEvent) {
	if f == nil || ev.Status != t30.PageConfirmed {
		return
	}
	f.mu.Lock()
	later := ev.Page > f.sent
	f.mu.Unlock()
	if later {
		f.set(ev.Page)
	}
}

// stop reports a pending value (the attempt's last page), then ends the
// goroutine and waits for it.
func (f *progressForwarder) stop() {
	if f == nil {
		return
	}
	close(f.quit)
	<-f.done
}

func (f *progressForwarder) run() {
	defer close(f.done)
	every := f.a.cfg.ProgressInterval
	for {
		select {
		case <-f.wake:
		case <-f.quit:
			f.report()
			return
		}
		f.report()
		// Rate limit: nothing more for one interval (a value that comes
		// meanwhile waits; stop still flushes it).
		tick := make(chan struct{})
		t := f.a.cfg.Clock.AfterFunc(every, func() { close(tick) })
		select {
		case <-tick:
		case <-f.quit:
			t.Stop()
			f.report()
			return
		}
	}
}

// report sends the pending value, if any.
func (f *progressForwarder) report() {
	f.mu.Lock()
	if !f.pending {
		f.mu.Unlock()
		return
	}
	sent, total := f.sent, f.total
	f.pending = false
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(f.a.base, progressTimeout)
	err := f.pr.Progress(ctx, f.lease(), sent, total)
	cancel()
	if err != nil {
		f.mu.Lock()
		first := !f.failed
		f.failed = true
		f.mu.Unlock()
		if first {
			f.a.log.Warn("progress report failed", "job", f.job, "pages", sent, "of", total, "err", err)
		}
	}
}
