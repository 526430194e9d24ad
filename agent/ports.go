package agent

import (
	"slices"

	"github.com/faxagent/faxagent/drivers"
)

type port struct {
	info     drivers.PortInfo
	drv      drivers.Driver
	no       int
	set      PortSettings
	licensed bool
	groups   []string

	// Guarded by Agent.mu.
	busy     bool
	down     bool
	state    drivers.PortState
	job      string
	lastUsed uint64
	call     *CallProgress // the call in progress, nil when none
}

// PortStatus is a port as the agent sees it.
type PortStatus struct {
	drivers.PortInfo
	No       int
	Settings PortSettings
	Licensed bool
	Groups   []string
	Job      string        // the job in a call on the port
	Call     *CallProgress // the call in progress, nil when none
}

// Ports lists the agent's ports with their state: Unlicensed and Disabled
// ports show as such; the others show the agent's view of the call.
func (a *Agent) Ports() []PortStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]PortStatus, len(a.ports))
	for i, p := range a.ports {
		info := p.info
		info.State = p.state
		if p.down && p.licensed && !p.set.Disabled {
			info.State = drivers.StateDown
		}
		out[i] = PortStatus{PortInfo: info, No: p.no, Settings: p.set, Licensed: p.licensed, Groups: slices.Clone(p.groups), Job: p.job, Call: p.call}
	}
	return out
}

func (a *Agent) setState(p *port, s drivers.PortState) {
	a.mu.Lock()
	p.state = s
	a.mu.Unlock()
	a.cfg.Metrics.PortState(p.info.ID, s)
}

// freePorts returns the ports that can take a job now.
func (a *Agent) freePorts() []*port {
	if !a.cfg.Clock.Now().Before(a.lic.Expires) {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var free []*port
	for _, p := range a.ports {
		if p.licensed && p.set.Send && !p.set.Disabled && !p.busy && !p.down {
			free = append(free, p)
		}
	}
	return free
}

// take marks the best free port for job busy; nil if none fits.
func (a *Agent) take(job Job, free []*port) *port {
	a.mu.Lock()
	defer a.mu.Unlock()
	var best *port
	for _, p := range free {
		if p.busy {
			continue
		}
		switch job.Preset.Kind {
		case PresetNone:
			if p.set.PresetOnly {
				continue
			}
		case PresetPort:
			if p.info.ID != job.Preset.Port {
				continue
			}
		case PresetGroup:
			if !slices.Contains(p.groups, job.Preset.Group) {
				continue
			}
		}
		if best == nil || p.lastUsed < best.lastUsed {
			best = p
		}
	}
	if best != nil {
		a.lastUsed++
		best.busy, best.job, best.lastUsed = true, job.ID, a.lastUsed
	}
	return best
}

func (a *Agent) free(p *port) {
	a.mu.Lock()
	p.busy, p.job, p.call = false, "", nil
	p.state = drivers.StateIdle
	if p.set.Disabled {
		p.state = drivers.StateDisabled
	}
	state := p.state
	a.mu.Unlock()
	a.cfg.Metrics.PortState(p.info.ID, state)
	a.signal()
}

// eventLoop follows a driver's port events (a port going down is not
// offered jobs).
func (a *Agent) eventLoop(d drivers.Driver) {
	defer a.loops.Done()
	for ev := range d.Events() {
		a.mu.Lock()
		if p := a.byID[ev.Port]; p != nil {
			p.down = ev.State == drivers.StateDown
		}
		a.mu.Unlock()
		if ev.State == drivers.StateDown {
			a.cfg.Metrics.PortState(ev.Port, drivers.StateDown)
		}
	}
}

// destinationNoter is a driver that remembers destinations (a FoIP
// trunk's T.38-less numbers).
type destinationNoter interface {
	Destinations() []drivers.DestinationNote
}

// Destinations lists what the agent's drivers remember about
// destinations, with when each note expires.
func (a *Agent) Destinations() []drivers.DestinationNote {
	var out []drivers.DestinationNote
	for _, d := range a.cfg.Drivers {
		if n, ok := d.(destinationNoter); ok {
			out = append(out, n.Destinations()...)
		}
	}
	return out
}
