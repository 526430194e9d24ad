package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

// PortSettings are a port's settings, as in FaxCore's FaxAgent port
// settings.
type PortSettings struct {
	Send       bool // outgoing jobs may use the port
	Receive    bool // incoming calls are answered
	ToneDetect bool // fax tone detection on incoming calls (passed to drivers that have it)
	Disabled   bool // the port is not used at all
	// PresetOnly: outgoing jobs use the port only when preset to it or
	// to one of its groups; jobs that may go anywhere never do (serve
	// sets it on the simulated loopback ports when real ports exist).
	PresetOnly bool
	CSID       string
}

// Config configures an Agent. Zero values take the defaults in brackets.
type Config struct {
	// AgentID is the ID the core gave this agent at enrolment (decimal):
	// claims, attempt and inbound records and reception IDs carry it.
	AgentID string
	// Name is the agent's configured name ("": AgentID): its licence is
	// issued for it, and receptions spooled under it before the agent had
	// an ID are still its own.
	Name     string
	ServerIP string
	Drivers  []drivers.Driver

	// License is the signed license file, LicenseKey the public key it
	// must verify with. Without a valid license the agent does not start.
	License    []byte
	LicenseKey ed25519.PublicKey

	// Ports are per-port settings by port ID; ports not listed get
	// DefaultPort (nil: send, receive and tone detection enabled).
	Ports       map[string]PortSettings
	DefaultPort *PortSettings
	// Groups are port groups by name: port IDs.
	Groups map[string][]string

	Queue    Queue
	Reporter Reporter
	Metrics  Metrics      // [NopMetrics]
	Clock    Clock        // [SystemClock]
	Logger   *slog.Logger // [discard]
	Retry    RetryPolicy  // see RetryPolicy
	Memory   MemoryPolicy // see MemoryPolicy
	Dial     DialRules    // [dial as given]
	Header   string       // header-line template for jobs without one [none]
	CSID     string       // our identification [the port's number]
	SpoolDir string       // received faxes and their pending reports [$TMPDIR/faxagent-spool]
	// OutboxDir keeps attempts' outcomes until the queue has them (see
	// outbox.go) [SpoolDir/outbox].
	OutboxDir string
	Document  faxdoc.Options // how job files become pages [fine resolution]

	Lease        time.Duration // job lease [2 min], renewed every third of it
	PollInterval time.Duration // claim poll without a Notifier or idle [5 s]
	// MaxCall bounds a call from dialling to hang-up [1 h]; Stall is how
	// long a call may go without page progress [10 min].
	MaxCall time.Duration
	Stall   time.Duration
	// Grace is how long Shutdown lets calls finish [2 min].
	Grace time.Duration
	// SpoolGrace is the age after which Start removes a file in the spool
	// that no pending report names (see spool.go) [twice MaxCall].
	SpoolGrace time.Duration
	// ProgressInterval is the least time between two page progress
	// reports of a call (see ProgressReporter) [1 s].
	ProgressInterval time.Duration
}

func (c *Config) defaults() {
	if c.Metrics == nil {
		c.Metrics = NopMetrics{}
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SpoolDir == "" {
		c.SpoolDir = filepath.Join(os.TempDir(), "faxagent-spool")
	}
	if c.OutboxDir == "" {
		c.OutboxDir = filepath.Join(c.SpoolDir, "outbox")
	}
	if c.Document.Resolution == 0 {
		c.Document.Resolution = imaging.Fine
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.MaxCall <= 0 {
		c.MaxCall = time.Hour
	}
	if c.Stall <= 0 {
		c.Stall = 10 * time.Minute
	}
	if c.Grace <= 0 {
		c.Grace = 2 * time.Minute
	}
	if c.SpoolGrace <= 0 {
		c.SpoolGrace = 2 * c.MaxCall
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
}

// Agent is the fax agent runtime: it owns licensed ports, turns queued jobs
// into calls and incoming calls into received faxes, and reports every
// attempt.
type Agent struct {
	cfg Config
	lic License
	log *slog.Logger
	mem *destMemory

	ports  []*port
	byID   map[string]*port
	groups map[string][]*port

	base   context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	started  bool
	stopping bool
	active   map[string]*activeJob
	inbound  map[drivers.Call]struct{}
	lastUsed uint64

	wake    chan struct{}
	stop    chan struct{}
	calls   sync.WaitGroup // jobs and inbound calls
	reports sync.WaitGroup // inbound reports being delivered
	loops   sync.WaitGroup // inbound and event readers
	sched   sync.WaitGroup // the scheduler
}

// New checks the configuration and the license. An invalid, expired or
// tampered license is an error here: no port ever sends.
func New(cfg Config) (*Agent, error) {
	cfg.defaults()
	switch {
	case cfg.AgentID == "":
		return nil, errors.New("agent: AgentID is required")
	case cfg.Queue == nil || cfg.Reporter == nil:
		return nil, errors.New("agent: Queue and Reporter are required")
	case len(cfg.Drivers) == 0:
		return nil, errors.New("agent: no drivers")
	}
	if cfg.Name == "" {
		cfg.Name = cfg.AgentID
	}
	lic, err := VerifyLicense(cfg.License, cfg.LicenseKey, cfg.Name, cfg.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.Name, err)
	}
	a := &Agent{
		cfg: cfg, lic: lic, log: cfg.Logger.With("agent", cfg.AgentID),
		mem: newDestMemory(cfg.Memory), byID: map[string]*port{}, groups: map[string][]*port{},
		active: map[string]*activeJob{}, inbound: map[drivers.Call]struct{}{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	a.base, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// License returns the verified license.
func (a *Agent) License() License { return a.lic }

// Start opens the drivers, registers their ports (licensed ones first in
// each driver's order, up to the licence's count) and starts claiming jobs
// and answering calls.
func (a *Agent) Start(ctx context.Context) error {
	a.mu.Lock()
	if a.started {
		a.mu.Unlock()
		return errors.New("agent: already started")
	}
	a.started = true
	a.mu.Unlock()
	if err := os.MkdirAll(a.cfg.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("agent: spool: %w", err)
	}
	if err := os.Chmod(a.cfg.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("agent: spool: %w", err)
	}
	if err := os.MkdirAll(a.cfg.OutboxDir, 0o700); err != nil {
		return fmt.Errorf("agent: outbox: %w", err)
	}
	def := PortSettings{Send: true, Receive: true, ToneDetect: true}
	if a.cfg.DefaultPort != nil {
		def = *a.cfg.DefaultPort
	}
	for _, d := range a.cfg.Drivers {
		if err := d.Open(ctx); err != nil {
			return fmt.Errorf("agent: open driver %s: %w", d.Name(), err)
		}
		licensed := a.lic.Ports[d.Name()]
		for i, info := range d.Ports() {
			p := &port{info: info, drv: d, no: len(a.ports), set: def, licensed: i < licensed, state: drivers.StateIdle}
			if s, ok := a.cfg.Ports[info.ID]; ok {
				p.set = s
			}
			switch {
			case !p.licensed:
				p.state = drivers.StateUnlicensed
			case p.set.Disabled:
				p.state = drivers.StateDisabled
			}
			a.ports = append(a.ports, p)
			a.byID[info.ID] = p
			a.cfg.Metrics.PortState(info.ID, p.state)
		}
	}
	for name, ids := range a.cfg.Groups {
		for _, id := range ids {
			if p := a.byID[id]; p != nil {
				a.groups[name] = append(a.groups[name], p)
				p.groups = append(p.groups, name)
			}
		}
	}
	for _, d := range a.cfg.Drivers {
		a.loops.Add(2)
		go a.inboundLoop(d)
		go a.eventLoop(d)
	}
	// Receptions an earlier run left pending: their IDs are unique, so new
	// calls answered meanwhile never meet them.
	a.recoverSpool()
	a.recoverOutbox()
	a.sched.Add(1)
	go a.schedule()
	a.log.Info("agent started", "ports", len(a.ports), "licensed", a.lic.Ports)
	return nil
}

// ID is the agent's ID (Config.AgentID).
func (a *Agent) ID() string { return a.cfg.AgentID }

// Name is the agent's configured name; its licence is issued for it.
func (a *Agent) Name() string { return a.cfg.Name }

// Shutdown stops claiming jobs and refuses new calls, lets calls in
// progress finish for up to the grace period (or until ctx ends), then
// hangs up the rest: their jobs go back to the queue from the first
// unconfirmed page. It closes the drivers and returns when everything has
// stopped.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	if a.stopping {
		a.mu.Unlock()
		return errors.New("agent: already shut down")
	}
	a.stopping = true
	started := a.started
	a.mu.Unlock()
	close(a.stop)
	if !started {
		a.cancel()
		return nil
	}
	a.sched.Wait()
	done := make(chan struct{})
	go func() {
		a.calls.Wait()
		close(done)
	}()
	grace := make(chan struct{})
	t := a.cfg.Clock.AfterFunc(a.cfg.Grace, func() { close(grace) })
	var err error
	select {
	case <-done:
	case <-grace:
	case <-ctx.Done():
		err = ctx.Err()
	}
	t.Stop()
	select {
	case <-done:
	default:
		a.mu.Lock()
		jobs := make([]*activeJob, 0, len(a.active))
		for _, aj := range a.active {
			jobs = append(jobs, aj)
		}
		calls := make([]drivers.Call, 0, len(a.inbound))
		for c := range a.inbound {
			calls = append(calls, c)
		}
		a.mu.Unlock()
		a.log.Warn("grace period over, hanging up", "jobs", len(jobs), "inbound", len(calls))
		for _, aj := range jobs {
			aj.hangup(drivers.CauseShutdown)
		}
		for _, c := range calls {
			_ = c.Hangup(drivers.CauseShutdown)
		}
		<-done
	}
	for _, d := range a.cfg.Drivers {
		_ = d.Close()
	}
	a.loops.Wait()
	a.reports.Wait()
	a.cancel()
	a.log.Info("agent stopped")
	return err
}
