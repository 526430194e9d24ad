package agentapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/agentapi"
	"github.com/faxagent/faxagent/internal/testutil"
)

// claimWatch is an agent's queue telling of every claim's end.
type claimWatch struct {
	*agentapi.Client
	claimed chan int
}

func (w claimWatch) Claim(ctx context.Context, r agent.ClaimRequest) ([]agent.Job, error) {
	jobs, err := w.Client.Claim(ctx, r)
	w.claimed <- len(jobs)
	return jobs, err
}

// TestWakeAcrossCores: two cores on one PostgreSQL queue (--role core);
// an agent long-polls core B, a message is submitted on core A. The agent
// polls once an hour, so only the wake-up (A's notification, B's store,
// B's long-poll, the agent's Ready) can bring it the job: its claim
// returns it and the driver dials the recipient.
func TestWakeAcrossCores(t *testing.T) {
	stA, schema := benchStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stB, _, err := core.Open(ctx, core.Options{DataDir: t.TempDir(), DatabaseURL: testutil.PostgresURL(), Schema: schema,
		PasswordCost: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stB.Close() })
	qB := core.NewAgentQueue(stB)
	self, err := stB.EnrolAgent(ctx, "remote")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := stB.CreateAgentCredential(ctx, self.ID)
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(context.Background())
	srv := agentapi.NewServer(srvCtx, agentapi.Config{Queue: qB, Reporter: qB, Ready: qB.Ready(), Heartbeats: stB,
		LeaseHolder: qB.LeaseHolder, Documents: qB.JobDocument, Logger: slog.New(slog.DiscardHandler),
		Authenticate: func(ctx context.Context, s string) (int64, error) {
			c, err := stB.CredentialAgent(ctx, s)
			return c.AgentID, err
		}})
	mux := http.NewServeMux()
	mux.Handle(agentapi.Prefix+"/", srv)
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	t.Cleanup(stop) // the long-poll ends before the server closes
	c, err := agentapi.NewClient(srvCtx, agentapi.ClientConfig{Core: ts.URL, Credential: secret, Spool: t.TempDir(),
		Transport: ts.Client().Transport, Wait: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	dialled := make(chan string, 4)
	drv := &dialBoard{Board: quickBoard(2), dialled: func(n string) { dialled <- n }}
	w := claimWatch{Client: c, claimed: make(chan int, 16)}
	startAgent(t, self.ID, w, c, drv, time.Hour)
	// The agent claims at start, and once more for the client's first
	// answer (a generation it has not seen: the server's reader starts
	// signalled); then it waits.
	for range 2 {
		select {
		case n := <-w.claimed:
			if n != 0 {
				t.Fatalf("claimed %d jobs before any submission", n)
			}
		case <-ctx.Done():
			t.Fatal("the agent did not claim at start")
		}
	}

	doc, err := os.ReadFile("../../imaging/testdata/codec/text-1728x200.tiffcp-g3-2d.tif")
	if err != nil {
		t.Fatal(err)
	}
	u, err := stA.CreateUser(ctx, core.NewUser{Username: "user", Password: "user-password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stA.Submit(ctx, core.Submission{OwnerID: u.ID, Recipients: []core.Recipient{{Fax: "5550100"}},
		Documents: []core.DocumentInput{{Name: "d.tif", Body: bytes.NewReader(doc)}}}); err != nil {
		t.Fatal(err)
	}
	for got := false; !got; {
		select {
		case n := <-w.claimed:
			got = n == 1
		case <-ctx.Done():
			t.Fatal("the submission on core A did not wake the agent of core B")
		}
	}
	select {
	case n := <-dialled:
		if n != "5550100" {
			t.Fatalf("dialled %q", n)
		}
	case <-ctx.Done():
		t.Fatal("the claimed job was not dialled")
	}
}
