package core

import (
	"testing"

	"github.com/faxagent/faxagent/agent"
)

// TestDefaultRoute: the fresh system's rule is valid, routes a call on
// any port to its user, at priority 0 (any rule of higher priority wins).
func TestDefaultRoute(t *testing.T) {
	r := DefaultRoute(7)
	if err := checkCondition(r.Cond1, true); err != nil || r.UserID != 7 || !r.Active {
		t.Fatalf("%+v: %v", r, err)
	}
	for _, f := range []agent.AttemptFacts{{PortNo: 0}, {PortNo: 1}, {PortNo: 63, RoutingInfo: "5550104", RemoteCSID: "x"}} {
		tr := Transmission{AttemptFacts: f}
		if !r.Match(&tr) {
			t.Errorf("does not route %+v", tr)
		}
	}
	if r.Priority != 0 {
		t.Errorf("priority %d: a rule made later at priority 0 would not win over it", r.Priority)
	}
}
