package agent

import (
	"sync"

	"github.com/faxagent/faxagent/t30"
)

// watchdog fires once when a call exceeds MaxCall or goes Stall without
// page progress.
type watchdog struct {
	a    *Agent
	fire func()

	mu      sync.Mutex
	max     t30.Timer
	stall   t30.Timer
	stopped bool
}

func (a *Agent) watchdog(fire func()) *watchdog {
	w := &watchdog{a: a, fire: fire}
	w.mu.Lock()
	w.max = a.cfg.Clock.AfterFunc(a.cfg.MaxCall, fire)
	w.stall = a.cfg.Clock.AfterFunc(a.cfg.Stall, fire)
	w.mu.Unlock()
	return w
}

// progress restarts the stall timer; it is the calls' progress callback.
func (w *watchdog) progress(t30.PageEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stall.Stop()
	w.stall = w.a.cfg.Clock.AfterFunc(w.a.cfg.Stall, w.fire)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.max.Stop()
	w.stall.Stop()
}
