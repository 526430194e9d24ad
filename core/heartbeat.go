package core

import (
	"context"
	"log/slog"
	"time"

	"github.com/faxagent/faxagent/agent"
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
// with the time and the counts of ports's ports (all, licensed, busy with
// a job) at that moment. A failed beat is logged and the next one tries
// again.
func Heartbeats(ctx context.Context, st Heartbeater, ports PortLister, info AgentInfo, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		info.Ports, info.Licensed, info.Busy = 0, 0, 0
		for _, p := range ports.Ports() {
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
