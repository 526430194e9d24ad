package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/agentapi"
)

// TestAgentAPIWakesBesideLocalAgent: under --role all the agent in the
// core's process reads the store's wake-up signal, and the agent
// protocol's long-polls (withAgentAPI) still wake on a submission: a
// remote agent does not fall back to polling. Both readers hear it.
func TestAgentAPIWakesBesideLocalAgent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	st, _, err := core.Open(ctx, core.Options{DataDir: dir, PasswordCost: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// What serve does for --role all: the local agent's queue first, then
	// the protocol beside the API.
	local := core.NewAgentQueue(st).Ready()
	h := withAgentAPI(ctx, Config{DataDir: dir}, st, http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	ts := httptest.NewServer(h)
	defer ts.Close()
	a, err := st.EnrolAgent(ctx, "remote-1")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.CreateAgentCredential(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	// wait long-polls for up to d with the generation seen.
	wait := func(seen uint64, d string) uint64 {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+agentapi.Prefix+"/wait?for="+d+"&seen="+strconv.FormatUint(seen, 10), nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var gen uint64
		if err := json.NewDecoder(resp.Body).Decode(&gen); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("wait: %d %v", resp.StatusCode, err)
		}
		return gen
	}
	// Quiet first: a poll of a second that ends with nothing new.
	gen := wait(0, "0s")
	for i := 0; ; i++ {
		g := wait(gen, "1s")
		if g == gen {
			break
		}
		if gen = g; i > 10 {
			t.Fatal("the protocol's wake-ups never settle")
		}
	}
	select {
	case <-local:
	default:
	}
	admin, err := st.UserByName(ctx, core.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Submit(ctx, core.Submission{OwnerID: admin.ID, Recipients: []core.Recipient{{Fax: "5550100"}},
		Documents: []core.DocumentInput{{Name: "d.tif", Body: strings.NewReader("II*\x00 doc")}}}); err != nil {
		t.Fatal(err)
	}
	if g := wait(gen, "25s"); g == gen {
		t.Fatal("the agent protocol's long-poll did not wake on a submission")
	}
	select {
	case <-local:
	default:
		t.Fatal("the local agent did not hear the submission")
	}
}
