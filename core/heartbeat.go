package core

import (
	"context"
	"log/slog"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/drivers"
)

// HeartbeatEvery is how often an agent tells the core it is alive.
const HeartbeatEvery = 10 * time.Second

// Heartbeater stores an agent's heartbeat (a Store does).
type Heartbeater interface {
	Heartbeat(ctx context.Context, a AgentInfo) error
}

// PortLister is an agent's port table (agent.Agent has it).
type PortLister interface {
	Ports() []agent.PortStatus
}

// Heartbeats stores info every interval, at once first, until ctx ends:
// with the time, the counts of ports's ports (all, licensed, busy with
// a job) and each port's state at that moment. A failed beat is logged
// and the next one tries again.
func Heartbeats(ctx context.Context, st Heartbeater, ports PortLister, info AgentInfo, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		info.Ports, info.Licensed, info.Busy, info.PortStates = 0, 0, 0, nil
		for _, p := range ports.Ports() {
			info.PortStates = append(info.PortStates, PortStateOf(p))
			info.Ports++
			if p.Licensed {
				info.Licensed++
			}
			if p.Job != "" {
				info.Busy++
			}
		}
		info.Heartbeat = time.Now()
		if err := st.Heartbeat(ctx, info); err != nil && ctx.Err() == nil {
			log.Warn("heartbeat", "agent", info.ID, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PortStateOf is a port's state as a heartbeat reports it: busy with a
// job or a call, down (also when unlicensed or disabled: it takes no
// calls), or idle.
func PortStateOf(p agent.PortStatus) PortState {
	st := PortState{ID: p.ID, No: p.No, Driver: p.Driver, Number: p.Number, State: p.State.String(),
		Licensed: p.Licensed, Send: p.Settings.Send, Receive: p.Settings.Receive, Disabled: p.Settings.Disabled, Status: PortIdle}
	switch {
	case p.Job != "" || p.Call != nil || p.State == drivers.StateDialling || p.State == drivers.StateSending || p.State == drivers.StateReceiving:
		st.Status = PortBusy
	case p.State == drivers.StateDown || p.State == drivers.StateUnlicensed || p.State == drivers.StateDisabled:
		st.Status = PortDown
	}
	return st
}
