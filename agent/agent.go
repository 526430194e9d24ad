package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/t30"
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

type port struct {
	info     drivers.PortInfo
	drv      drivers.Driver
	no       int
	set      PortSettings
	licensed bool
	groups   []string

	// Guarded by Agent.mu.
	busy     bool
	down     bool
	state    drivers.PortState
	job      string
	lastUsed uint64
	call     *CallProgress // the call in progress, nil when none
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

// PortStatus is a port as the agent sees it.
type PortStatus struct {
	drivers.PortInfo
	No       int
	Settings PortSettings
	Licensed bool
	Groups   []string
	Job      string        // the job in a call on the port
	Call     *CallProgress // the call in progress, nil when none
}

// Ports lists the agent's ports with their state: Unlicensed and Disabled
// ports show as such; the others show the agent's view of the call.
// ID is the agent's ID (Config.AgentID), Name its name (Config.Name).
func (a *Agent) ID() string { return a.cfg.AgentID }

// Name is the agent's configured name; its licence is issued for it.
func (a *Agent) Name() string { return a.cfg.Name }

func (a *Agent) Ports() []PortStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]PortStatus, len(a.ports))
	for i, p := range a.ports {
		info := p.info
		info.State = p.state
		if p.down && p.licensed && !p.set.Disabled {
			info.State = drivers.StateDown
		}
		out[i] = PortStatus{PortInfo: info, No: p.no, Settings: p.set, Licensed: p.licensed, Groups: slices.Clone(p.groups), Job: p.job, Call: p.call}
	}
	return out
}

func (a *Agent) setState(p *port, s drivers.PortState) {
	a.mu.Lock()
	p.state = s
	a.mu.Unlock()
	a.cfg.Metrics.PortState(p.info.ID, s)
}

// signal wakes the scheduler.
func (a *Agent) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Wake tells the agent jobs may be claimable now.
func (a *Agent) Wake() { a.signal() }

// freePorts returns the ports that can take a job now.
func (a *Agent) freePorts() []*port {
	if !a.cfg.Clock.Now().Before(a.lic.Expires) {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var free []*port
	for _, p := range a.ports {
		if p.licensed && p.set.Send && !p.set.Disabled && !p.busy && !p.down {
			free = append(free, p)
		}
	}
	return free
}

// take marks the best free port for job busy; nil if none fits.
func (a *Agent) take(job Job, free []*port) *port {
	a.mu.Lock()
	defer a.mu.Unlock()
	var best *port
	for _, p := range free {
		if p.busy {
			continue
		}
		switch job.Preset.Kind {
		case PresetNone:
			if p.set.PresetOnly {
				continue
			}
		case PresetPort:
			if p.info.ID != job.Preset.Port {
				continue
			}
		case PresetGroup:
			if !slices.Contains(p.groups, job.Preset.Group) {
				continue
			}
		}
		if best == nil || p.lastUsed < best.lastUsed {
			best = p
		}
	}
	if best != nil {
		a.lastUsed++
		best.busy, best.job, best.lastUsed = true, job.ID, a.lastUsed
	}
	return best
}

func (a *Agent) free(p *port) {
	a.mu.Lock()
	p.busy, p.job, p.call = false, "", nil
	p.state = drivers.StateIdle
	if p.set.Disabled {
		p.state = drivers.StateDisabled
	}
	state := p.state
	a.mu.Unlock()
	a.cfg.Metrics.PortState(p.info.ID, state)
	a.signal()
}

// schedule is the claim loop.
func (a *Agent) schedule() {
	defer a.sched.Done()
	var ready <-chan struct{}
	if n, ok := a.cfg.Queue.(Notifier); ok {
		ready = n.Ready()
	}
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		claimed := a.claim()
		if claimed {
			continue
		}
		poll := make(chan struct{})
		t := a.cfg.Clock.AfterFunc(a.cfg.PollInterval, func() { close(poll) })
		select {
		case <-a.stop:
			t.Stop()
			return
		case <-a.wake:
		case <-ready:
		case <-poll:
		}
		t.Stop()
	}
}

// claim claims jobs for the free ports and starts them; it reports
// whether it started any.
func (a *Agent) claim() bool {
	free := a.freePorts()
	if len(free) == 0 {
		return false
	}
	// Ports that take any job claim first, with every free port's
	// presets; then the preset-only ports claim the jobs preset to them.
	var anyJob, presetOnly []*port
	for _, p := range free {
		if p.set.PresetOnly {
			presetOnly = append(presetOnly, p)
		} else {
			anyJob = append(anyJob, p)
		}
	}
	var jobs []Job
	for _, ports := range [][]*port{anyJob, presetOnly} {
		if len(ports) == 0 {
			continue
		}
		req := ClaimRequest{AgentID: a.cfg.AgentID, Max: len(ports), Lease: a.cfg.Lease, PresetOnly: ports[0].set.PresetOnly}
		for _, p := range ports {
			req.Ports = append(req.Ports, p.info.ID)
			for _, g := range p.groups {
				if !slices.Contains(req.Groups, g) {
					req.Groups = append(req.Groups, g)
				}
			}
		}
		js, err := a.cfg.Queue.Claim(a.base, req)
		if err != nil {
			a.log.Warn("claim failed", "err", err)
			break
		}
		jobs = append(jobs, js...)
	}
	started := false
	for _, j := range jobs {
		a.mu.Lock()
		stopping := a.stopping
		a.mu.Unlock()
		var p *port
		if !stopping {
			p = a.take(j, free)
		}
		if p == nil {
			// Shutting down, or a preset port went to another job of
			// this batch.
			if err := a.cfg.Queue.Release(a.base, j.Lease); err != nil {
				a.log.Warn("release failed", "job", j.ID, "err", err)
			}
			continue
		}
		started = true
		aj := &activeJob{job: j, port: p}
		a.mu.Lock()
		a.active[j.ID] = aj
		a.mu.Unlock()
		a.calls.Add(1)
		go a.runJob(aj)
	}
	return started
}

// activeJob is a job in progress on a port.
type activeJob struct {
	job  Job
	port *port

	mu         sync.Mutex
	call       drivers.Call
	cancelDial context.CancelFunc
	ended      bool
	cause      drivers.HangupCause
	hungUp     bool // by us: cancel, watchdog or shutdown
	lease      Lease
}

// hangup ends the job's call (or its dialling) with cause.
func (aj *activeJob) hangup(cause drivers.HangupCause) {
	aj.mu.Lock()
	if aj.ended || aj.hungUp {
		aj.mu.Unlock()
		return
	}
	aj.hungUp, aj.cause = true, cause
	call, cancel := aj.call, aj.cancelDial
	aj.mu.Unlock()
	// The driver learns the cause before the context ends the call.
	if call != nil {
		_ = call.Hangup(cause)
	}
	if cancel != nil {
		cancel()
	}
}

// setCall records the connected call; false if it was hung up meanwhile.
func (aj *activeJob) setCall(c drivers.Call) bool {
	aj.mu.Lock()
	defer aj.mu.Unlock()
	aj.call = c
	return !aj.hungUp
}

// Cancel cancels a job this agent is working on: dialling stops or the
// call is hung up at once, and the job ends as cancelled. It reports
// whether the job was active here. (Queued jobs are cancelled in the
// queue.)
func (a *Agent) Cancel(jobID string) bool {
	a.mu.Lock()
	aj := a.active[jobID]
	a.mu.Unlock()
	if aj == nil {
		return false
	}
	aj.hangup(drivers.CauseCancelled)
	return true
}

// runJob makes one attempt of a job on port p.
func (a *Agent) runJob(aj *activeJob) {
	defer a.calls.Done()
	job, p := aj.job, aj.port
	// deliver, once set, sends the outcome to the queue: after the port
	// is free, so that a job seen ended has its port back.
	var deliver func()
	defer func() {
		a.mu.Lock()
		delete(a.active, job.ID)
		a.mu.Unlock()
		a.free(p)
		if deliver != nil {
			deliver()
		}
	}()
	clk := a.cfg.Clock
	start := clk.Now()
	aj.lease = job.Lease
	attemptNo := job.Attempts + 1
	attemptID := fmt.Sprintf("%s#%d@%s", job.ID, attemptNo, job.Lease.Token)
	dialled := a.cfg.Dial.Apply(job.Number)
	csid := firstNonEmpty(job.CSID, p.set.CSID, a.cfg.CSID, p.info.Number)

	// Keep the lease while we work.
	renew := a.renewer(aj)
	defer renew.Stop()

	maxRate, noECM := a.mem.settings(dialled)
	params := drivers.SendParams{StartPage: job.StartPage, MaxRate: maxRate, CSID: csid}
	if noECM {
		params.ECM = drivers.ECMOff
	}
	var res drivers.Result
	pages := 0
	doc, closeDoc, err := a.document(job, csid, dialled, start)
	if err == nil {
		pages = doc.NumPages()
		if job.StartPage >= pages {
			err = fmt.Errorf("agent: start page %d of %d", job.StartPage+1, pages)
		}
	}
	if err != nil {
		res.Code, res.Err, res.Ended = t30.CodeDocument, err, clk.Now()
		res.Info.CallingNumber = p.info.Number
	} else {
		defer closeDoc()
		fw := a.startProgress(aj, job.StartPage, pages)
		a.callStarted(p, drivers.Outbound, job.StartPage, pages)
		res = a.call(aj, doc, dialled, params, func(ev t30.PageEvent) { a.callPage(p, ev); fw.page(ev) })
		fw.stop()
		if res.Code == t30.CodeInternal && errors.Is(res.Err, drivers.ErrPortBusy) {
			// An incoming call took the port first: not an attempt.
			_ = a.cfg.Queue.Release(a.base, aj.currentLease())
			return
		}
	}
	code := res.Code
	aj.mu.Lock()
	aj.ended = true
	hungUp, cause := aj.hungUp, aj.cause
	aj.mu.Unlock()
	if hungUp {
		switch cause {
		case drivers.CauseWatchdog:
			code = CodeWatchdog
		case drivers.CauseCancelled:
			code = t30.CodeCancelled
		}
	}
	a.mem.learn(dialled, code, res.Retrains, res.Speed.Rate, maxRate)
	end := clk.Now()
	dec := a.cfg.Retry.Decide(job, attemptNo, code, res.PagesConfirmed, res.PagesSent, pages, end)
	status := StatusFailed
	switch {
	case hungUp && cause == drivers.CauseShutdown:
		// Not the job's fault: back to the queue at once.
		dec.Retry, dec.At = true, end
		status = StatusRetry
	case dec.Code == t30.OK:
		status = StatusCompleted
	case dec.Code == t30.CodeCancelled:
		status = StatusCancelled
	case dec.Retry:
		status = StatusRetry
	}
	if dec.Code == CodePageLimit {
		code = CodePageLimit
	}
	rec := a.record(job, p, res, code, status, attemptID, attemptNo, dec, pages, dialled, start, end)
	rec.MaxRate, rec.ECMDisabled = maxRate, noECM
	a.cfg.Metrics.CallEnded(p.info.ID, drivers.Outbound, code, res.PagesConfirmed, end.Sub(start))
	rec.PagesTransmitted = res.PagesSent
	deliver = a.finish(aj.currentLease(), rec)
	a.log.Info("attempt", "job", job.ID, "attempt", attemptNo, "port", p.info.ID, "code", code.ID(), "status", status, "pages", res.PagesConfirmed)
}

func (aj *activeJob) currentLease() Lease {
	aj.mu.Lock()
	defer aj.mu.Unlock()
	return aj.lease
}

// renewer renews the job's lease every third of the lease time; a
// cancelled job or a lost lease hangs the call up.
func (a *Agent) renewer(aj *activeJob) interface{ Stop() bool } {
	r := &renewal{}
	every := a.cfg.Lease / 3
	var tick func()
	tick = func() {
		l, err := a.cfg.Queue.Renew(a.base, aj.currentLease(), a.cfg.Lease)
		switch {
		case errors.Is(err, ErrCancelled):
			aj.hangup(drivers.CauseCancelled)
		case errors.Is(err, ErrLeaseLost):
			a.log.Warn("lease lost", "job", aj.job.ID)
			aj.hangup(drivers.CauseCancelled)
		case err == nil:
			aj.mu.Lock()
			aj.lease = l
			aj.mu.Unlock()
		}
		r.mu.Lock()
		if !r.stopped {
			r.t = a.cfg.Clock.AfterFunc(every, tick)
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.t = a.cfg.Clock.AfterFunc(every, tick)
	r.mu.Unlock()
	return r
}

type renewal struct {
	mu      sync.Mutex
	t       t30.Timer
	stopped bool
}

func (r *renewal) Stop() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	return r.t.Stop()
}

// call dials and sends, under the watchdog.
// pageDone, if not nil, is told of every page event too.
func (a *Agent) call(aj *activeJob, doc drivers.Document, dialled string, params drivers.SendParams, pageDone func(t30.PageEvent)) drivers.Result {
	clk := a.cfg.Clock
	p := aj.port
	ctx, cancel := context.WithCancel(a.base)
	defer cancel()
	aj.mu.Lock()
	aj.cancelDial = cancel
	hung := aj.hungUp
	aj.mu.Unlock()
	if hung {
		cancel()
	}
	wd := a.watchdog(func() { aj.hangup(drivers.CauseWatchdog) })
	defer wd.stop()

	a.cfg.Metrics.Dispatched(clk.Now().Sub(aj.job.ReadyAt))
	a.setState(p, drivers.StateDialling)
	c, err := p.drv.Dial(ctx, p.info.ID, dialled, drivers.DialOptions{})
	if err != nil {
		info := drivers.CallInfo{Port: p.info.ID, Direction: drivers.Outbound, CallingNumber: p.info.Number, CalledNumber: dialled}
		r := drivers.DialResult(err, info, clk.Now())
		if errors.Is(err, drivers.ErrPortBusy) {
			r.Err = err
		}
		return r
	}
	if !aj.setCall(c) {
		_ = c.Hangup(drivers.CauseCancelled)
	}
	a.setState(p, drivers.StateSending)
	progress := wd.progress
	if pageDone != nil {
		progress = func(ev t30.PageEvent) {
			wd.progress(ev)
			pageDone(ev)
		}
	}
	res, _ := c.Send(ctx, doc, params, progress)
	aj.mu.Lock()
	ours := aj.hungUp
	aj.mu.Unlock()
	if !ours {
		_ = c.Hangup(drivers.CauseNormal)
	}
	return res
}

// watchdog fires once when a call exceeds MaxCall or goes Stall without
// page progress.
type watchdog struct {
	a    *Agent
	fire func()

	mu      sync.Mutex
	max     t30.Timer
	stall   t30.Timer
	stopped bool
}

func (a *Agent) watchdog(fire func()) *watchdog {
	w := &watchdog{a: a, fire: fire}
	w.mu.Lock()
	w.max = a.cfg.Clock.AfterFunc(a.cfg.MaxCall, fire)
	w.stall = a.cfg.Clock.AfterFunc(a.cfg.Stall, fire)
	w.mu.Unlock()
	return w
}

// progress restarts the stall timer; it is the calls' progress callback.
func (w *watchdog) progress(t30.PageEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stall.Stop()
	w.stall = w.a.cfg.Clock.AfterFunc(w.a.cfg.Stall, w.fire)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.max.Stop()
	w.stall.Stop()
}

// document opens a job's pages: its in-memory document, or its files
// through faxdoc with the header line stamped.
func (a *Agent) document(job Job, csid, number string, now time.Time) (drivers.Document, func(), error) {
	if job.Doc != nil {
		return job.Doc, func() {}, nil
	}
	if len(job.Documents) == 0 {
		return nil, nil, errors.New("agent: job has no document")
	}
	o := a.cfg.Document
	o.Header = firstNonEmpty(job.Header, a.cfg.Header)
	if o.Header == "-" {
		o.Header = ""
	}
	o.Fields.Time, o.Fields.CSID, o.Fields.Number, o.Fields.Recipient = now, csid, number, job.Recipient
	d, err := openFileDoc(job.Documents, o)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", t30.ErrDocument, err)
	}
	return d, func() { d.Close() }, nil
}

func (a *Agent) record(job Job, p *port, res drivers.Result, code t30.Code, status, attemptID string, attemptNo int, dec Decision, pages int, dialled string, start, end time.Time) AttemptRecord {
	rec := AttemptRecord{
		AttemptID: attemptID, JobID: job.ID, MessageID: job.MessageID, CallID: res.Info.ID,
		CreateDate: job.Created, ScheduleDate: job.ReadyAt, StartDate: start, CompleteDate: end,
		CallingNumber: firstNonEmpty(res.Info.CallingNumber, p.info.Number),
		CalledNumber:  job.Number, DialedNumber: dialled, RoutingInfo: job.Number,
		RemoteCSID:  res.RemoteIdent,
		FaxProtocol: res.Protocol(), TransmitSpeed: res.Speed.Rate,
		CallDuration: res.CallDuration, TransmitDuration: res.TransmitDuration, ECM: res.ECM,
		TransmitStatus: code.ID(), TransmitStatusDef: status,
		AttemptNo: attemptNo, MaxAttemptNo: dec.Max,
		PageCount: pages, StartPageNo: job.StartPage + 1, PageSent: res.PagesConfirmed,
		FaxAgentID: a.cfg.AgentID, PortNo: p.no, BoardID: p.info.ID, ServerIP: a.cfg.ServerIP,
		ErrorID: code.ID(), Cause: res.Cause, CauseCode: res.CauseCode,
		Media: res.Media.Transport, PacketsLost: int(res.Media.Lost), PacketsRecovered: int(res.Media.Recovered),
	}
	if res.Speed.Rate > 0 {
		rec.CompressionMode = res.Compression.String()
		rec.FaxResolution = res.Resolution.String()
	}
	if code != t30.OK {
		rec.ErrorInfo = failureText(code, res.Err)
	}
	if status == StatusRetry {
		rec.NextAttempt, rec.NextPage = dec.At, dec.StartPage+1
	}
	return rec
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// eventLoop follows a driver's port events (a port going down is not
// offered jobs).
func (a *Agent) eventLoop(d drivers.Driver) {
	defer a.loops.Done()
	for ev := range d.Events() {
		a.mu.Lock()
		if p := a.byID[ev.Port]; p != nil {
			p.down = ev.State == drivers.StateDown
		}
		a.mu.Unlock()
		if ev.State == drivers.StateDown {
			a.cfg.Metrics.PortState(ev.Port, drivers.StateDown)
		}
	}
}

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

// destinationNoter is a driver that remembers destinations (a FoIP
// trunk's T.38-less numbers).
type destinationNoter interface {
	Destinations() []drivers.DestinationNote
}

// Destinations lists what the agent's drivers remember about
// destinations, with when each note expires.
func (a *Agent) Destinations() []drivers.DestinationNote {
	var out []drivers.DestinationNote
	for _, d := range a.cfg.Drivers {
		if n, ok := d.(destinationNoter); ok {
			out = append(out, n.Destinations()...)
		}
	}
	return out
}
