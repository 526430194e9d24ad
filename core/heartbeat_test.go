package core

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
)

type beats struct {
	ch   chan AgentInfo
	fail bool // the first beat fails
	once sync.Once
}

func (b *beats) Heartbeat(ctx context.Context, a AgentInfo) error {
	var err error
	if b.fail {
		b.once.Do(func() { err = errors.New("store down") })
	}
	if err == nil {
		b.ch <- a
	}
	return err
}

type portTable struct {
	mu    sync.Mutex
	ports []agent.PortStatus
}

func (p *portTable) Ports() []agent.PortStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ports
}

// TestHeartbeats: each beat carries the agent's fields, the time and the
// port counts at that moment; a failed beat does not stop the next; the
// loop ends with its context.
func TestHeartbeats(t *testing.T) {
	pt := &portTable{ports: []agent.PortStatus{{Licensed: true}, {Licensed: true, Job: "12"}, {}}}
	b := &beats{ch: make(chan AgentInfo), fail: true}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	started := time.Now()
	go func() {
		defer close(done)
		Heartbeats(ctx, b, pt, AgentInfo{ID: 100001, Host: "h", Version: "v", Started: started}, time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	first := <-b.ch // the second beat: the first failed
	if first.ID != 100001 || first.Host != "h" || first.Version != "v" || !first.Started.Equal(started) ||
		first.Ports != 3 || first.Licensed != 2 || first.Busy != 1 || first.Heartbeat.Before(started) {
		t.Fatalf("beat: %+v", first)
	}
	pt.mu.Lock()
	pt.ports = pt.ports[:1]
	pt.mu.Unlock()
	for a := range b.ch {
		if a.Ports == 1 {
			if a.Licensed != 1 || a.Busy != 0 || a.Heartbeat.Before(first.Heartbeat) {
				t.Fatalf("beat after the change: %+v", a)
			}
			break
		}
	}
	cancel()
	go func() {
		for range b.ch {
		}
	}()
	<-done
	close(b.ch)
}
