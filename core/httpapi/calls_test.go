package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
)

// TestCallLog: inbound calls that brought no fax are in the call log with
// their reason (and the driver's call ID), not in the messages; a received
// fax is in both; only administrators read the log; bad filters are 400.
func TestCallLog(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	for i := range 3 {
		if _, err := e.store.RecordCall(ctx, core.Transmission{Key: fmt.Sprintf("A/failed-%d", i), AttemptFacts: agent.AttemptFacts{CallID: "flood@peer",
			CalledNumber: "5550104", ErrorID: 3, ErrorInfo: "no fax detected"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Receive(ctx, core.InboundFax{Key: "A/fax", Pages: 1, Body: strings.NewReader("II*\x00 fax"),
		Attempt: core.Transmission{AttemptFacts: agent.AttemptFacts{CallID: "fax@peer"}}}); err != nil {
		t.Fatal(err)
	}
	var c Calls
	e.getJSON("/api/v1/calls?direction=inbound&outcome=failed", http.StatusOK, &c)
	if c.Total != 3 || len(c.Calls) != 3 || c.Calls[0].Key != "A/failed-2" || c.Calls[0].ErrorInfo != "no fax detected" ||
		c.Calls[0].CallID != "flood@peer" || c.Calls[0].MessageID != 0 || c.Calls[0].Outcome != "failed" {
		t.Fatalf("failed calls %+v", c)
	}
	e.getJSON("/api/v1/calls?limit=1", http.StatusOK, &c)
	if c.Total != 4 || len(c.Calls) != 1 || c.Calls[0].Key != "A/fax" || c.Calls[0].MessageID == 0 || c.Calls[0].CallID != "fax@peer" {
		t.Fatalf("newest call %+v", c)
	}
	var l List
	e.getJSON("/api/v1/messages?folder=unrouted", http.StatusOK, &l)
	if l.Total != 1 {
		t.Fatalf("%d inbound messages, want the fax only", l.Total)
	}
	for _, q := range []string{"?outcome=lost", "?direction=sideways", "?limit=0"} {
		e.getJSON("/api/v1/calls"+q, http.StatusBadRequest, nil)
	}
	const userToken = "user-token-0123456789abcdef"
	s, err := New(Options{Store: e.store, Tokens: map[string]Principal{userToken: {UserID: 4242}}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/calls", nil)
	req.Header.Set("Authorization", "Bearer "+userToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a standard user read the call log: %d", resp.StatusCode)
	}
}
