package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/agent/agenttest"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/t30"
)

const (
	pageW = imaging.WidthA4
	pageH = 120
)

// fixture is a loopback network with a queue and reporter that agents
// share, and a license key.
type fixture struct {
	t      *testing.T
	net    *loopback.Network
	q      *agenttest.MemQueue
	rep    *agenttest.MemReporter
	pub    ed25519.PublicKey
	priv   ed25519.PrivateKey
	agents []*agent.Agent
	spool  string
}

func newFixture(t *testing.T, mode loopback.Mode) *fixture {
	t.Helper()
	pub, priv, err := agent.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, net: loopback.NewNetwork(loopback.Options{Mode: mode, Seed: 42}), q: agenttest.NewMemQueue(nil), rep: agenttest.NewMemReporter(), pub: pub, priv: priv, spool: t.TempDir()}
	return f
}

func (f *fixture) license(agentID string, ports int, expires time.Time) []byte {
	f.t.Helper()
	b, err := agent.Sign(agent.License{AgentID: agentID, Ports: map[string]int{"loopback": ports}, Issued: time.Now(), Expires: expires}, f.priv)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// agent starts an agent with a loopback driver with the given numbers,
// `licensed` of them licensed.
func (f *fixture) agent(id string, board int, numbers []string, licensed int, mod func(*agent.Config)) *agent.Agent {
	f.t.Helper()
	d := loopback.New(f.net, loopback.DriverOptions{Board: board, Numbers: numbers})
	cfg := agent.Config{
		AgentID: id, ServerIP: "10.0.0." + fmt.Sprint(board+1), Drivers: []drivers.Driver{d},
		License: f.license(id, licensed, time.Now().Add(24*time.Hour)), LicenseKey: f.pub,
		Queue: f.q, Reporter: f.rep, SpoolDir: f.spool,
		Retry: agent.RetryPolicy{Now: agent.ClassRule{Interval: 10 * time.Second}, Later: agent.ClassRule{Interval: time.Minute}},
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := agent.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.agents = append(f.agents, a)
	return a
}

// wait waits until every job is final (in virtual time, bounded).
func (f *fixture) wait(limit time.Duration) {
	f.t.Helper()
	select {
	case <-f.q.AllFinal():
	case <-time.After(limit):
		f.t.Fatalf("jobs not final after %v: %v", limit, f.q.Ops())
	}
}

func (f *fixture) stop() {
	for _, a := range f.agents {
		if err := a.Shutdown(context.Background()); err != nil {
			f.t.Errorf("shutdown: %v", err)
		}
	}
	f.agents = nil
	f.net.Close()
}

func doc(n int, seed uint64) t30.PagesDocument {
	return drivertest.Doc(n, pageW, pageH, imaging.Fine, seed)
}

// readTIFF decodes every page of a TIFF file.
func readTIFF(t *testing.T, path string) []*imaging.Page {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []*imaging.Page
	for i := 0; i < r.NumPages(); i++ {
		pr, err := r.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		info := pr.Info()
		p, err := imaging.ReadPage(pr, info.Width, info.Resolution, 0)
		if err != nil {
			t.Fatalf("%s page %d: %v", path, i+1, err)
		}
		out = append(out, p)
	}
	return out
}

// decodeReceived decodes pages the loopback's built-in fax machine got.
func decodeReceived(t *testing.T, ps []*t30.ReceivedPage) []*imaging.Page {
	t.Helper()
	var out []*imaging.Page
	for _, p := range ps {
		dec, err := imaging.NewDecoder(bytes.NewReader(p.Data), p.DecodeOptions())
		if err != nil {
			t.Fatal(err)
		}
		pg, err := imaging.ReadPage(dec, p.Width, p.Resolution, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pg)
	}
	return out
}

// countMetrics counts what the agent measures.
type countMetrics struct {
	mu       sync.Mutex
	calls    int
	pages    int
	latency  []time.Duration
	states   map[string]drivers.PortState
	busy     int
	maxBusy  int
	stateLog int
}

func (m *countMetrics) PortState(port string, s drivers.PortState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.states == nil {
		m.states = map[string]drivers.PortState{}
	}
	old := m.states[port]
	m.states[port] = s
	m.stateLog++
	if !old.Busy() && s.Busy() {
		m.busy++
		m.maxBusy = max(m.maxBusy, m.busy)
	} else if old.Busy() && !s.Busy() {
		m.busy--
	}
}

func (m *countMetrics) CallEnded(port string, dir drivers.Direction, code t30.Code, pages int, d time.Duration) {
	m.mu.Lock()
	m.calls++
	m.pages += pages
	m.mu.Unlock()
}

func (m *countMetrics) Dispatched(l time.Duration) {
	m.mu.Lock()
	m.latency = append(m.latency, l)
	m.mu.Unlock()
}

// libtiffPages decodes a TIFF with libtiff (tiffcp -c none) and reads the
// uncompressed result: an independent decoder for our spool files.
func libtiffPages(t *testing.T, tool, path string) []*imaging.Page {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plain.tif")
	if msg, err := exec.Command(tool, "-c", "none", path, out).CombinedOutput(); err != nil || len(msg) > 0 {
		t.Fatalf("tiffcp %s: %v %s", path, err, msg)
	}
	return readTIFF(t, out)
}
