package agent

import (
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// Clock is the agent's time base: t30's Clock, with the extra requirement
// that AfterFunc is safe from any goroutine and its callbacks may run on
// any goroutine (they only signal). SystemClock is the production one; in
// tests it runs in the virtual time of a testing/synctest bubble, so whole
// scenarios with retry intervals and leases take milliseconds.
type Clock = t30.Clock

// SystemClock is Clock on the time package.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (SystemClock) AfterFunc(d time.Duration, f func()) t30.Timer { return time.AfterFunc(d, f) }

// Metrics receives the agent's measurements; the serve command exports
// them to Prometheus. Methods are called from many goroutines and must
// not block.
type Metrics interface {
	// PortState is called on every change of a port's state.
	PortState(port string, s drivers.PortState)
	// CallEnded is called once per call with its direction, completion
	// code, pages (confirmed or received) and duration (port busy time,
	// for utilisation).
	CallEnded(port string, dir drivers.Direction, code t30.Code, pages int, d time.Duration)
	// Dispatched is called when a job is dialled, with the time since it
	// became claimable.
	Dispatched(latency time.Duration)
}

// NopMetrics discards measurements.
type NopMetrics struct{}

// PortState implements Metrics.
func (NopMetrics) PortState(string, drivers.PortState) {}

// CallEnded implements Metrics.
func (NopMetrics) CallEnded(string, drivers.Direction, t30.Code, int, time.Duration) {}

// Dispatched implements Metrics.
func (NopMetrics) Dispatched(time.Duration) {}
