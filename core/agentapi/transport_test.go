package agentapi_test

import (
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/agentapi"
)

// counted is the rig's protocol server behind a TLS server of its own
// that counts the connections opened to it and the requests per path.
type counted struct {
	srv    *httptest.Server
	caFile string
	conns  atomic.Int64
	mu     sync.Mutex
	paths  map[string]int
	// meet, if set, holds each heartbeat until meet heartbeats are in
	// the server (then lets them all go on), so that they are served at
	// once.
	meet    int
	arrived int
	met     chan struct{}
}

// gate holds a heartbeat until c.meet of them have come.
func (c *counted) gate() {
	c.mu.Lock()
	if c.met == nil {
		c.met = make(chan struct{})
	}
	met := c.met
	if c.arrived++; c.arrived == c.meet {
		close(c.met)
		c.met, c.arrived = nil, 0
	}
	c.mu.Unlock()
	<-met
}

func (c *counted) requests(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[agentapi.Prefix+path]
}

func newCounted(t *testing.T, r *rig) *counted {
	t.Helper()
	c := &counted{paths: map[string]int{}}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		c.mu.Lock()
		c.paths[q.URL.Path]++
		gated := c.meet > 0 && q.URL.Path == agentapi.Prefix+"/heartbeat"
		c.mu.Unlock()
		if gated {
			c.gate()
		}
		r.handler.ServeHTTP(w, q)
	}))
	c.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.srv.StartTLS()
	t.Cleanup(c.srv.Close)
	c.caFile = filepath.Join(t.TempDir(), "ca.pem")
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw})
	if err := os.WriteFile(c.caFile, p, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// client returns a client of the counted server with the transport
// NewClient builds (TLS through the CA file).
func (c *counted) client(t *testing.T, secret string) *agentapi.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cl, err := agentapi.NewClient(ctx, agentapi.ClientConfig{Core: c.srv.URL, CAFile: c.caFile, Credential: secret,
		Spool: t.TempDir(), Wait: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestClaimDocumentsInline: a claim's answer carries a small document
// inline (no download request); one too large for it is downloaded by a
// request of its own. The agent gets the same file either way.
func TestClaimDocumentsInline(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size      int
		downloads int
	}{
		{"small inline", 100 << 10, 0},
		{"large downloaded", 600 << 10, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			cs := newCounted(t, r)
			c := cs.client(t, r.secret)
			ctx := context.Background()
			body := "II*\x00 " + strings.Repeat("z", tc.size)
			r.submit(t, body)
			jobs, err := c.Claim(ctx, agent.ClaimRequest{Max: 1, Lease: time.Minute})
			if err != nil || len(jobs) != 1 || len(jobs[0].Documents) != 1 {
				t.Fatalf("claim: %+v %v", jobs, err)
			}
			if got, err := os.ReadFile(jobs[0].Documents[0]); err != nil || string(got) != body {
				t.Fatalf("document: %d bytes, %v", len(got), err)
			}
			if n := cs.requests("/document"); n != tc.downloads {
				t.Errorf("%d document requests, want %d", n, tc.downloads)
			}
		})
	}
}

// TestConnectionsReused: the client's own transport keeps a connection
// per concurrent caller: 8 workers' requests in rounds, their heartbeats
// served all at once, each followed by a refusal (404 with a body), reuse
// their connections (with Go's default of 2 idle connections per host, 6
// were closed and dialled again every round); sequential requests take
// one.
func TestConnectionsReused(t *testing.T) {
	const workers, rounds = 8, 25
	r := newRig(t)
	cs := newCounted(t, r)
	cs.meet = workers // every worker's heartbeat in flight at once
	c := cs.client(t, r.secret)
	ctx := context.Background()
	lost := agent.Lease{JobID: "999999", Token: "1"}
	for range rounds {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				if err := c.Heartbeat(ctx, core.AgentInfo{Host: "h", Ports: 8}); err != nil {
					t.Error(err)
				}
				if _, err := c.Renew(ctx, lost, time.Minute); !errors.Is(err, agent.ErrNoJob) && !errors.Is(err, agent.ErrLeaseLost) {
					t.Errorf("renew of no job: %v", err)
				}
			})
		}
		wg.Wait()
	}
	// The workers' connections and the long-poll's; a few more may be
	// dialled when a request finds none idle just before one frees.
	if n := cs.conns.Load(); n > 2*workers+1 {
		t.Errorf("%d connections for %d requests of %d workers", n, 2*workers*rounds, workers)
	}
	// Sequential requests, refusals among them, take one connection.
	before := cs.conns.Load()
	for i := range 20 {
		if i%2 == 0 {
			if _, err := c.Self(ctx); err != nil {
				t.Fatal(err)
			}
		} else if _, err := c.Renew(ctx, lost, time.Minute); err == nil {
			t.Fatal("renew of no job accepted")
		}
	}
	if n := cs.conns.Load() - before; n != 0 {
		t.Errorf("%d new connections for 20 sequential requests", n)
	}
}
