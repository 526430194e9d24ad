package core

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/drivers"
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

// TestPortStateOf: a heartbeat's port state is busy with a job, a call or
// a busy driver state, down when down, unlicensed or disabled, else idle;
// the settings' send and receive carry over.
func TestPortStateOf(t *testing.T) {
	port := func(s drivers.PortState, job string, call *agent.CallProgress) agent.PortStatus {
		return agent.PortStatus{PortInfo: drivers.PortInfo{ID: "M0,1", Driver: "loopback", Number: "100", State: s}, No: 2,
			Settings: agent.PortSettings{Send: true}, Licensed: true, Job: job, Call: call}
	}
	for _, c := range []struct {
		name   string
		p      agent.PortStatus
		status string
	}{
		{"idle", port(drivers.StateIdle, "", nil), PortIdle},
		{"job", port(drivers.StateIdle, "12", nil), PortBusy},
		{"dialling", port(drivers.StateDialling, "", nil), PortBusy},
		{"receiving", port(drivers.StateReceiving, "", &agent.CallProgress{}), PortBusy},
		{"down", port(drivers.StateDown, "", nil), PortDown},
		{"unlicensed", port(drivers.StateUnlicensed, "", nil), PortDown},
		{"disabled", port(drivers.StateDisabled, "", nil), PortDown},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := PortStateOf(c.p)
			want := PortState{ID: "M0,1", No: 2, Driver: "loopback", Number: "100", State: c.p.State.String(), Status: c.status,
				Licensed: true, Send: true}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

// TestHeartbeatPortStates: on both backends a heartbeat's port states
// are stored and listed whole; too many or malformed ones are ErrInvalid
// and change nothing stored.
func TestHeartbeatPortStates(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			a, err := st.EnrolAgent(ctx, "branch")
			if err != nil {
				t.Fatal(err)
			}
			states := []PortState{
				{ID: "M0,0", No: 1, Driver: "foip", Number: "100", State: "sending", Status: PortBusy, Licensed: true, Send: true},
				{ID: "M0,1", No: 2, Driver: "foip", State: "idle", Status: PortIdle, Licensed: true, Receive: true},
			}
			if err := st.Heartbeat(ctx, AgentInfo{ID: a.ID, Host: "h", Ports: 2, PortStates: states}); err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				t.Helper()
				got, err := st.Agents(ctx)
				if err != nil || len(got) != 1 || !slices.Equal(got[0].PortStates, states) || got[0].Host != "h" {
					t.Fatalf("%s: %+v %v", when, got, err)
				}
			}
			check("after the heartbeat")
			many := make([]PortState, MaxPortStates+1)
			for i := range many {
				many[i] = PortState{ID: "M0,0", State: "idle", Status: PortIdle}
			}
			for name, ps := range map[string][]PortState{
				"too many":    many,
				"bad status":  {{ID: "M0,0", State: "idle", Status: "napping"}},
				"no ID":       {{State: "idle", Status: PortIdle}},
				"long number": {{ID: "M0,0", Number: strings.Repeat("1", 65), Status: PortIdle}},
			} {
				if err := st.Heartbeat(ctx, AgentInfo{ID: a.ID, Host: "x", PortStates: ps}); !errors.Is(err, ErrInvalid) {
					t.Fatalf("%s: %v, want ErrInvalid", name, err)
				}
				check(name)
			}
			// A beat without ports clears them.
			if err := st.Heartbeat(ctx, AgentInfo{ID: a.ID, Host: "h"}); err != nil {
				t.Fatal(err)
			}
			states = nil
			check("after a beat without ports")
		})
	}
}
