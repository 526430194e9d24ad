package agent

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

func TestSetPortAndCallProgress(t *testing.T) {
	a := &Agent{byID: map[string]*port{}, cfg: Config{Metrics: NopMetrics{}}, wake: make(chan struct{}, 1)}
	a.log = slog.New(slog.DiscardHandler)
	p := &port{info: drivers.PortInfo{ID: "M0,0"}, licensed: true, state: drivers.StateIdle, set: PortSettings{Send: true, Receive: true}}
	a.ports, a.byID["M0,0"] = []*port{p}, p
	if err := a.SetPort("M9,9", true, true, false); !errors.Is(err, ErrNoPort) {
		t.Fatalf("unknown port: %v", err)
	}
	steps := []struct {
		send, recv, disabled bool
		busy                 bool
		want                 drivers.PortState
	}{
		{true, true, true, false, drivers.StateDisabled},
		{true, false, false, false, drivers.StateIdle},
		{true, true, true, true, drivers.StateSending}, // busy: keeps the call's state
	}
	for i, s := range steps {
		p.busy = s.busy
		if s.busy {
			p.state = drivers.StateSending
		}
		if err := a.SetPort("M0,0", s.send, s.recv, s.disabled); err != nil {
			t.Fatal(err)
		}
		st := a.Ports()[0]
		if st.State != s.want || st.Settings.Send != s.send || st.Settings.Receive != s.recv || st.Settings.Disabled != s.disabled {
			t.Fatalf("step %d: state %v settings %+v", i, st.State, st.Settings)
		}
	}
	// The call on the busy port reports its pages; freeing a disabled
	// port leaves it disabled and clears the call.
	a.callStarted(p, drivers.Outbound, 1, 3)
	a.callPage(p, t30.PageEvent{Page: 2, Status: t30.PageSent, Speed: t30.Speed{Rate: 14400}, ECM: true})
	if c := a.Ports()[0].Call; c == nil || c.Page != 1 || c.Pages != 3 || c.Rate != 14400 || !c.ECM {
		t.Fatalf("after a page sent: %+v", c)
	}
	a.callPage(p, t30.PageEvent{Page: 2, Status: t30.PageConfirmed, Speed: t30.Speed{Rate: 9600}})
	if c := a.Ports()[0].Call; c.Page != 2 || c.Rate != 9600 || c.ECM {
		t.Fatalf("after a page confirmed: %+v", c)
	}
	a.free(p)
	if st := a.Ports()[0]; st.State != drivers.StateDisabled || st.Call != nil {
		t.Fatalf("freed: %v %+v", st.State, st.Call)
	}
}
