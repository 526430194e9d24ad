package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// TestBusyPortRetriesSoon: two recipients of one message dial the same
// single-port number at once under demo pacing. The second finds the
// port in a call: that is "busy" (code 2) with the reason said once, not
// "no answer ... call rejected"; its retry comes after the demo-scaled
// busy wait (1 min / 10, ±20 %), not 2 real minutes, and succeeds as
// attempt #2; send --wait's last line is the status `status` shows.
func TestBusyPortRetriesSoon(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfg, []byte("agent:\n  poll: 200ms\n  loopback:\n    pacing: demo\n    speedup: 10\n"), 0o600)
	s := startServe(t, dir, []string{bin, "serve", "--config", cfg})
	letter, _ := filepath.Abs(sample)
	out, err := runIn(dir, []string{bin, "send", "--to", "5550104", "--to", "5550104", "--wait", "--timeout", "90s", letter})
	if err != nil || !strings.HasSuffix(out, "message 1: Completed, 2 of 2 recipient(s) sent\n") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	var m httpapi.Message
	s.get("/api/v1/messages/1", &m)
	var busy *httpapi.Job
	for i := range m.Jobs {
		if len(m.Jobs[i].Attempts) == 2 {
			busy = &m.Jobs[i]
		}
	}
	if busy == nil {
		t.Fatalf("no recipient found the port busy: %+v", m.Jobs)
	}
	a1, a2 := busy.Attempts[0], busy.Attempts[1]
	if a1.TransmitStatus != 2 || a1.ErrorInfo != "busy: the called port is in another call" || a1.AttemptNo != 1 ||
		a2.AttemptNo != 2 || a2.Outcome != "done" {
		t.Fatalf("busy attempt: %+v\nthen %+v", a1, a2)
	}
	// The retry's schedule is the policy's decision (busy: 1 min / 10 under
	// demo pacing, ±20 % jitter), not a measured wait: a loaded machine
	// only makes the second attempt start later than it was scheduled.
	if a1.Completed == nil || a2.Scheduled == nil {
		t.Fatalf("busy attempt completed %v, retry scheduled %v", a1.Completed, a2.Scheduled)
	}
	if wait := a2.Scheduled.Sub(*a1.Completed); wait < 4*time.Second || wait > 30*time.Second {
		t.Errorf("the busy retry was scheduled %v after the busy attempt; demo pacing should make it about 6 s", wait)
	}
	t.Logf("busy at %v, retry scheduled %v later, started %v after its schedule",
		a1.Completed.Format(time.StampMilli), a2.Scheduled.Sub(*a1.Completed), a2.Created.Sub(*a2.Scheduled))
	if a2.Created.Before(*a2.Scheduled) {
		t.Errorf("the retry started at %v, before its schedule %v", a2.Created, *a2.Scheduled)
	}
	st, err := runIn(dir, []string{bin, "status", "1"})
	if err != nil || !strings.Contains(st, "outbound Completed in sent") {
		t.Fatalf("status: %v\n%s", err, st)
	}
	s.stop()
}
