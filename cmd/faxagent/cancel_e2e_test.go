package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// TestCancelCutsBothSides cancels a demo-paced fax to a port of this
// server after its first page: the call is cut on both ends, the sender's
// attempt is Cancelled with fewer pages than the document, the receiving
// port files what it got as a Partial fax (not all pages as Received),
// and send --wait ends with the status `status` shows.
func TestCancelCutsBothSides(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfg, []byte("agent:\n  poll: 200ms\n  loopback:\n    pacing: demo\n    speedup: 10\n"), 0o600)
	s := startServe(t, dir, []string{bin, "serve", "--config", cfg})
	var text strings.Builder
	for i := range 300 {
		fmt.Fprintf(&text, "line %d of a long letter that takes several pages to send\n", i+1)
	}
	doc := filepath.Join(dir, "long.txt")
	os.WriteFile(doc, []byte(text.String()), 0o600)

	out := &syncBuffer{}
	send := exec.Command(bin, "send", "--to", "5550104", "--retries", "0", "--wait", "--timeout", "120s", doc)
	send.Dir, send.Env, send.Stdout, send.Stderr = dir, cleanEnv(), out, out
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	sendDone := make(chan error, 1)
	go func() { sendDone <- send.Wait() }()
	t.Cleanup(func() {
		if send.ProcessState == nil {
			send.Process.Kill()
			<-sendDone
		}
	})
	var m httpapi.Message
	for i := 0; ; i++ {
		var l httpapi.List
		if s.get("/api/v1/messages?folder=outbox", &l); l.Total == 0 {
			time.Sleep(25 * time.Millisecond)
			continue
		}
		if s.get("/api/v1/messages/1", &m); len(m.Jobs) == 1 && m.Jobs[0].Progress.PagesSent >= 1 {
			break
		}
		if i > 1200 || len(m.Jobs) == 1 && m.Jobs[0].State == "done" {
			t.Fatalf("no page went out: %+v\n%s", m.Jobs, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	total := m.Jobs[0].Progress.PagesTotal
	if total < 3 {
		t.Fatalf("the letter has %d pages; the test wants at least 3", total)
	}
	if res, err := runIn(dir, []string{bin, "cancel", "1"}); err != nil || !strings.Contains(res, "1 in a call being hung up") {
		t.Fatalf("cancel: %v\n%s", err, res)
	}
	if err := <-sendDone; err == nil {
		t.Fatalf("send --wait succeeded after a cancel:\n%s", out.String())
	}
	if !strings.HasSuffix(out.String(), "\nmessage 1: Cancelled, 0 of 1 recipient(s) sent\nfaxagent send: 1 recipient(s) not sent\n") ||
		strings.Contains(out.String(), "Failed") || strings.Contains(out.String(), "cancelled: cancelled") {
		t.Fatalf("send --wait's output:\n%s", out.String())
	}
	st, err := runIn(dir, []string{bin, "status", "1"})
	if err != nil || !strings.Contains(st, "message 1: outbound Cancelled") {
		t.Fatalf("status: %v\n%s", err, st)
	}
	s.get("/api/v1/messages/1", &m)
	a := m.Jobs[0].Attempts
	if len(a) != 1 || a[0].TransmitStatusDef != "Cancelled" || a[0].PageSent >= total {
		t.Fatalf("sender's attempt: %+v", a)
	}
	// The receiving port files the pages it got, as a partial fax.
	var inbox httpapi.List
	for i := 0; ; i++ {
		if s.get("/api/v1/messages?folder=inbox", &inbox); inbox.Total > 0 {
			break
		}
		if i > 400 {
			t.Fatal("the receiving side filed nothing")
		}
		time.Sleep(25 * time.Millisecond)
	}
	var in httpapi.Message
	s.get(fmt.Sprintf("/api/v1/messages/%d", inbox.Messages[0].ID), &in)
	if in.Status != "Partial" || len(in.Documents) != 1 || in.Documents[0].Pages >= total || in.Documents[0].Pages < 1 {
		t.Fatalf("received: %s, documents %+v (sent %d of %d)", in.Status, in.Documents, a[0].PageSent, total)
	}
	s.stop()
}
