package agent

import "slices"

// signal wakes the scheduler.
func (a *Agent) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Wake tells the agent jobs may be claimable now.
func (a *Agent) Wake() { a.signal() }

// schedule is the claim loop.
func (a *Agent) schedule() {
	defer a.sched.Done()
	var ready <-chan struct{}
	if n, ok := a.cfg.Queue.(Notifier); ok {
		ready = n.Ready()
	}
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		claimed := a.claim()
		if claimed {
			continue
		}
		poll := make(chan struct{})
		t := a.cfg.Clock.AfterFunc(a.cfg.PollInterval, func() { close(poll) })
		select {
		case <-a.stop:
			t.Stop()
			return
		case <-a.wake:
		case <-ready:
		case <-poll:
		}
		t.Stop()
	}
}

// claim claims jobs for the free ports and starts them; it reports
// whether it started any.
func (a *Agent) claim() bool {
	free := a.freePorts()
	if len(free) == 0 {
		return false
	}
	// Ports that take any job claim first, with every free port's
	// presets; then the preset-only ports claim the jobs preset to them.
	var anyJob, presetOnly []*port
	for _, p := range free {
		if p.set.PresetOnly {
			presetOnly = append(presetOnly, p)
		} else {
			anyJob = append(anyJob, p)
		}
	}
	var jobs []Job
	for _, ports := range [][]*port{anyJob, presetOnly} {
		if len(ports) == 0 {
			continue
		}
		req := ClaimRequest{AgentID: a.cfg.AgentID, Max: len(ports), Lease: a.cfg.Lease, PresetOnly: ports[0].set.PresetOnly}
		for _, p := range ports {
			req.Ports = append(req.Ports, p.info.ID)
			for _, g := range p.groups {
				if !slices.Contains(req.Groups, g) {
					req.Groups = append(req.Groups, g)
				}
			}
		}
		js, err := a.cfg.Queue.Claim(a.base, req)
		if err != nil {
			a.log.Warn("claim failed", "err", err)
			break
		}
		jobs = append(jobs, js...)
	}
	started := false
	for _, j := range jobs {
		a.mu.Lock()
		stopping := a.stopping
		a.mu.Unlock()
		var p *port
		if !stopping {
			p = a.take(j, free)
		}
		if p == nil {
			// Shutting down, or a preset port went to another job of
			// this batch.
			if err := a.cfg.Queue.Release(a.base, j.Lease); err != nil {
				a.log.Warn("release failed", "job", j.ID, "err", err)
			}
			continue
		}
		started = true
		aj := &activeJob{job: j, port: p}
		a.mu.Lock()
		a.active[j.ID] = aj
		a.mu.Unlock()
		a.calls.Add(1)
		go a.runJob(aj)
	}
	return started
}
