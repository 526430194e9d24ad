package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core/httpapi"
)

// TestTrunkFirstRouting: with a FoIP trunk configured, a job without a
// preset leaves on the trunk and never on the simulated loopback ports
// (the trunk's peer is absent here, so the job fails, on port M1,0); a
// job preset to group:loopback still uses them; `ports` says which ports
// are simulated; presets and numbers nobody can dial (over 15 digits, or
// over 15 once the dial rules add country and area code) are refused at
// submit and nothing is stored.
func TestTrunkFirstRouting(t *testing.T) {
	t.Parallel() // the trunk's call waits 32 s for a SIP answer
	bin := faxagentBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("agent:\n  poll: 200ms\n  dial:\n    country_code: \"1\"\n    area_code: \"303\"\n  loopback:\n    pacing: none\n  foip:\n    listen: 127.0.0.1:%d\n    peer: 127.0.0.1:%d\n    number: \"5556000\"\n",
		freeUDPPort(t), freeUDPPort(t))), 0o600)
	s := startServe(t, dir, []string{bin, "serve", "--config", cfg})
	letter, _ := filepath.Abs(sample)

	out, err := runIn(dir, []string{bin, "ports"})
	if err != nil || strings.Count(out, "simulated") != 5 || !regexp.MustCompile(`M1,0 +foip +real `).MatchString(out) {
		t.Fatalf("ports: %v\n%s", err, out)
	}
	// Refused at submit: nothing is queued.
	for _, tc := range []struct{ args, want string }{
		{"--preset group:nosuch", "preset group:nosuch: no such port group (groups: foip, loopback)"},
		{"--preset port:M9,9", "preset port:M9,9: no such port"},
		{"--preset port:9", "a port ID is M<board>,<channel>"},
		{"--to 123456789012345678901234567", "has 27 digits; a telephone number has at most 15 (E.164)"},
		{"--to 55512345678901", "is +130355512345678901 under the dial rules: 18 digits, more than E.164's 15"},
	} {
		args := append([]string{bin, "send", "--to", "5557002"}, strings.Fields(tc.args)...)
		out, err := runIn(dir, append(args, letter))
		if err == nil || !strings.Contains(out, tc.want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("send %s: %v\n%s", tc.args, err, out)
		}
	}
	var l httpapi.List
	if s.get("/api/v1/messages?folder=outbox", &l); l.Total != 0 {
		t.Fatalf("refused sends stored %d messages", l.Total)
	}

	// Preset to the simulated network: it is used, and the fax arrives.
	out, err = runIn(dir, []string{bin, "send", "--to", "5550104", "--preset", "group:loopback", "--wait", "--timeout", "60s", letter})
	if err != nil || !strings.Contains(out, "message 1: Completed") {
		t.Fatalf("send preset to loopback: %v\n%s", err, out)
	}
	// No preset: the trunk, whose peer does not answer.
	out, err = runIn(dir, []string{bin, "send", "--to", "5557002", "--retries", "0", "--wait", "--timeout", "120s", letter})
	if err == nil || strings.Contains(out, "Completed") {
		t.Fatalf("send without a preset completed although the trunk is down:\n%s", out)
	}
	var id int
	if _, err := fmt.Sscanf(out, "message %d queued", &id); err != nil {
		t.Fatalf("send output %q: %v", out, err)
	}
	var m httpapi.Message
	s.get(fmt.Sprintf("/api/v1/messages/%d", id), &m)
	if len(m.Jobs) != 1 || len(m.Jobs[0].Attempts) != 1 || m.Jobs[0].Attempts[0].BoardID != "M1,0" {
		t.Fatalf("job without a preset: %+v", m.Jobs)
	}
	s.stop()
}

// TestLoopbackOff: the simulated network can be turned off beside a
// trunk (`loopback: ports: []` or `enabled: false`); with neither ports
// nor a trunk, serve refuses to start.
func TestLoopbackOff(t *testing.T) {
	bin := faxagentBinary(t)
	for _, off := range []string{"ports: []", "enabled: false"} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "faxagent.yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf("agent:\n  loopback:\n    %s\n  foip:\n    listen: 127.0.0.1:%d\n    peer: 127.0.0.1:%d\n",
			off, freeUDPPort(t), freeUDPPort(t))), 0o600)
		s := startServe(t, dir, []string{bin, "serve", "--config", cfg})
		var p httpapi.Ports
		s.get("/api/v1/ports", &p)
		if len(p.Ports) != 1 || p.Ports[0].Driver != "foip" {
			t.Errorf("%s: ports %+v", off, p.Ports)
		}
		s.stop()

		os.WriteFile(cfg, []byte("agent:\n  loopback:\n    "+off+"\n"), 0o600)
		out, err := runIn(dir, []string{bin, "serve", "--config", cfg, "--listen", "127.0.0.1:0"})
		if err == nil || !strings.Contains(out, "the agent has no ports") {
			t.Errorf("%s without a trunk: %v\n%s", off, err, out)
		}
	}
}
