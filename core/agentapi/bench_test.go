package agentapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/agentapi"
	"github.com/faxagent/faxagent/internal/testutil"
)

// benchQueue opens a store on PostgreSQL (a fresh schema) with n queued
// jobs and returns the core's adapter.
func benchQueue(b *testing.B, n int) (*core.AgentQueue, core.Store) {
	b.Helper()
	st, _ := benchStore(b)
	ctx := context.Background()
	u, err := st.CreateUser(ctx, core.NewUser{Username: "user", Password: "user-password"})
	if err != nil {
		b.Fatal(err)
	}
	for left := n; left > 0; left -= core.MaxRecipients {
		rs := make([]core.Recipient, min(left, core.MaxRecipients))
		for i := range rs {
			rs[i] = core.Recipient{Fax: "555" + strconv.Itoa(1000+i)}
		}
		if _, err := st.Submit(ctx, core.Submission{OwnerID: u.ID, Recipients: rs,
			Documents: []core.DocumentInput{{Name: "d.tif", Body: strings.NewReader("II*\x00 doc")}}}); err != nil {
			b.Fatal(err)
		}
	}
	return core.NewAgentQueue(st), st
}

// benchStore opens a store on PostgreSQL in a fresh schema, dropped at
// the end, and returns it with the schema's name.
func benchStore(b testing.TB) (core.Store, string) {
	b.Helper()
	db := testutil.NeedPostgres(b)
	raw := make([]byte, 6)
	rand.Read(raw)
	schema := "faxagent_bench_" + hex.EncodeToString(raw)
	b.Cleanup(func() {
		ctx := context.Background()
		if c, err := pgx.Connect(ctx, db); err == nil {
			c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	ctx := context.Background()
	st, _, err := core.Open(ctx, core.Options{DataDir: b.TempDir(), DatabaseURL: db, Schema: schema, PasswordCost: 4,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, schema
}

// benchCA writes the test server's certificate to a CA file, so that a
// client trusts it through the transport NewClient builds (the one an
// agent uses).
func benchCA(b testing.TB, ts *httptest.Server) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// claimFinish runs b.N claim+finish pairs on 8 workers through q.
func claimFinish(b *testing.B, q agent.Queue, agentID string) {
	var seq atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			jobs, err := q.Claim(ctx, agent.ClaimRequest{AgentID: agentID, Max: 1, Lease: time.Minute})
			if err != nil || len(jobs) != 1 {
				b.Errorf("claim: %d jobs, %v", len(jobs), err)
				return
			}
			j := jobs[0]
			rec := agent.AttemptRecord{AttemptID: j.ID + "#1@" + j.Lease.Token, JobID: j.ID, MessageID: j.MessageID, AttemptFacts: agent.AttemptFacts{TransmitStatusDef: agent.StatusCompleted, AttemptNo: 1, MaxAttemptNo: 3, PageCount: 1, StartPageNo: 1, PageSent: 1,
				CompleteDate: time.Now(), FaxAgentID: agentID, BoardID: "M0," + strconv.FormatInt(seq.Add(1)%8, 10)}}
			if err := q.Finish(ctx, j.Lease, rec); err != nil {
				b.Errorf("finish: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkDirectClaimFinish: claim and finish on the store's adapter in
// the process (an agent on the database). Run with -benchtime=Nx.
func BenchmarkDirectClaimFinish(b *testing.B) {
	q, st := benchQueue(b, b.N)
	a, err := st.EnrolAgent(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	claimFinish(b, q, strconv.FormatInt(a.ID, 10))
}

// BenchmarkProtocolClaimFinish: the same through the agent protocol over
// TLS on loopback (one core, 8 workers' worth of claims) with the
// client's own transport, documents (small: inline) with every claim.
func BenchmarkProtocolClaimFinish(b *testing.B) {
	q, st := benchQueue(b, b.N)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := st.EnrolAgent(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	_, secret, err := st.CreateAgentCredential(ctx, a.ID)
	if err != nil {
		b.Fatal(err)
	}
	srv := agentapi.NewServer(ctx, agentapi.Config{Queue: q, Reporter: q, Heartbeats: st, LeaseHolder: q.LeaseHolder, FinishAs: q.FinishAs,
		Documents: q.JobDocument, Logger: slog.New(slog.DiscardHandler),
		Authenticate: func(ctx context.Context, s string) (int64, error) {
			c, err := st.CredentialAgent(ctx, s)
			return c.AgentID, err
		}})
	mux := http.NewServeMux()
	mux.Handle(agentapi.Prefix+"/", srv)
	ts := httptest.NewTLSServer(mux)
	b.Cleanup(ts.Close)
	b.Cleanup(cancel) // the client's long-poll ends before the server closes
	c, err := agentapi.NewClient(ctx, agentapi.ClientConfig{Core: ts.URL, Credential: secret, Spool: b.TempDir(),
		CAFile: benchCA(b, ts), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	claimFinish(b, c, "")
}
