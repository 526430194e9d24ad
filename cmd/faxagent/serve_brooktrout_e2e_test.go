package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/internal/testutil"
)

// brooktroutPlugin is the Brooktrout plugin binary, built on demand.
var brooktroutPlugin = testutil.NewBinary("github.com/faxagent/faxagent/cmd/faxagent-brooktrout", "CGO_ENABLED=0")

// startBtsim runs `faxagent testbench btsim` on a unix socket until the
// test ends and waits until it accepts connections.
func startBtsim(t *testing.T, bin, sock string, args ...string) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"testbench", "btsim", "-listen", "unix:" + sock}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("btsim output:\n%s", out.String())
		}
	})
	for i := 0; !strings.Contains(out.String(), "serving unix:"); i++ {
		select {
		case err := <-done:
			t.Fatalf("btsim exited: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if i > 600 {
			t.Fatalf("btsim did not come up:\n%s", out.String())
		}
	}
}

// TestServeBrooktrout: serve's agent.brooktrout selects the Brooktrout
// driver against the board simulator (one board of two channels): both
// channels are listed by `faxagent ports` as real brooktrout ports,
// licensed by the self-issued licence; a fax to the simulator's fax line
// is sent on a channel and completes; a fax to the other channel's number
// is received by serve itself, once.
func TestServeBrooktrout(t *testing.T) {
	bin := faxagentBinary(t)
	plugin := brooktroutPlugin.Path(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "bt.sock")
	startBtsim(t, bin, sock, "-boards", "1", "-channels", "2")
	cfg := filepath.Join(dir, "faxagent.yaml")
	if err := os.WriteFile(cfg, []byte("agent:\n  poll: 200ms\n  loopback:\n    enabled: false\n  brooktrout:\n    plugin: "+plugin+
		"\n    service: unix:"+sock+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, []string{bin, "serve", "--config", cfg})

	out, err := runIn(dir, []string{bin, "ports"})
	if err != nil {
		t.Fatalf("ports: %v\n%s", err, out)
	}
	for _, id := range []string{"M0,0", "M0,1"} {
		if !regexp.MustCompile(`(?m)^100\d{3}\s+` + id + `\s+brooktrout\s+real\s`).MatchString(out) {
			t.Errorf("ports does not list %s as a real brooktrout port:\n%s", id, out)
		}
	}
	var p httpapi.Ports
	s.get("/api/v1/ports", &p)
	if len(p.Ports) != 2 || !p.Ports[0].Licensed || !p.Ports[1].Licensed || p.Ports[0].Driver != "brooktrout" || p.Ports[0].AgentID < 100001 {
		t.Fatalf("ports: %+v", p.Ports)
	}

	letter, _ := filepath.Abs("../../testdata/sample/letter.png")
	res, err := runIn(dir, []string{bin, "send", "--to", "9005", "--preset", "port:M0,0", "--wait", "--timeout", "60s", letter})
	if err != nil || !strings.Contains(res, "1 of 1 recipient(s) sent") {
		t.Fatalf("send to the simulator's fax line: %v\n%s", err, res)
	}
	var m httpapi.Message
	s.get("/api/v1/messages/1", &m)
	if a := m.Jobs[0].Attempts; len(a) != 1 || a[0].BoardID != "M0,0" || a[0].PageSent != 1 || a[0].Outcome != "done" {
		t.Fatalf("attempt: %+v", a)
	}
	// Channel to channel: the simulator rings M0,1, which serve answers.
	res, err = runIn(dir, []string{bin, "send", "--to", "7001", "--preset", "port:M0,0", "--wait", "--timeout", "60s", letter})
	if err != nil || !strings.Contains(res, "1 of 1 recipient(s) sent") {
		t.Fatalf("send to channel M0,1: %v\n%s", err, res)
	}
	var in httpapi.List
	for i := 0; ; i++ {
		s.get("/api/v1/messages?folder=inbox", &in)
		if len(in.Messages) >= 1 {
			break
		}
		if i > 300 {
			t.Fatalf("no received fax: %+v", in)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(in.Messages) != 1 {
		t.Fatalf("received %d faxes, want 1", len(in.Messages))
	}
	s.stop()
}
