package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/core/loginlimit"
	"github.com/faxagent/faxagent/core/soap"
	"github.com/faxagent/faxagent/core/worklimit"
	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/internal/dirlock"
	"github.com/faxagent/faxagent/prommetrics"
)

// Files in the data directory that the client subcommands read.
const (
	tokenFile     = "api-token"
	serverURLFile = "server-url"
)

// runServe runs the core and the agent until SIGINT or SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, os.Getenv(core.EnvAdminPassword), stdout, stderr)
}

// serve runs until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg Config, adminPassword string, stdout, stderr io.Writer) error {
	lvl, _ := parseLevel(cfg.LogLevel)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.Level(lvl)}))
	// The address first: a bad or taken one is refused before anything
	// is created, printed or started.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	// One process per data directory: a second would share its SQLite
	// file, agent identity, spool and outbox and overwrite its server URL.
	lock, err := dirlock.Acquire(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	if cfg.Role == "agent" && cfg.Core != "" {
		return serveRemoteAgent(ctx, cfg, ln, stdout, log)
	}
	st, first, err := core.Open(ctx, core.Options{
		DataDir: cfg.DataDir, DatabaseURL: cfg.Database, Schema: cfg.Schema, AdminPassword: adminPassword,
		MaxDocumentSize: cfg.MaxUpload, DefaultLease: cfg.Agent.Lease, DefaultMaxAttempts: cfg.Agent.Retry.MaxAttempts,
		OutageGap: cfg.OutageGap,
		Logger:    log,
	})
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	if first.AdminPassword != "" {
		fmt.Fprintf(stdout, "admin password (generated, shown only now): %s\n", first.AdminPassword)
	}
	admin, err := st.UserByName(ctx, core.AdminUser)
	if err != nil {
		return fmt.Errorf("admin account: %w", err)
	}
	if first.AdminCreated && cfg.Role != "agent" {
		// A fresh system routes every received fax to the admin's inbox;
		// rules made later with a higher priority win over this one.
		if _, err := st.CreateRoute(ctx, core.DefaultRoute(admin.ID)); err != nil {
			log.Warn("default inbound route", "err", err)
		}
	}
	// An agent-only process serves no API: it needs no token, and leaves
	// the data directory's server URL to the core.
	var token string
	var tokenCreated bool
	if cfg.Role != "agent" {
		token, tokenCreated, err = loadOrCreateToken(filepath.Join(cfg.DataDir, tokenFile))
		if err != nil {
			return err
		}
		if tokenCreated {
			fmt.Fprintf(stdout, "API token for the CLI (shown only now; saved in %s): %s\n", filepath.Join(cfg.DataDir, tokenFile), token)
		}
	}

	bi := readBuildInfo()
	m := prommetrics.New(prommetrics.Build{Version: bi.Version, Revision: bi.Revision, GoVersion: bi.GoVersion})
	var (
		ag           *agent.Agent
		q            *agentQueue
		closeDrivers func()
	)
	var agMu sync.Mutex
	getAgent := func() *agent.Agent { agMu.Lock(); defer agMu.Unlock(); return ag }
	if cfg.Role != "core" {
		q = newAgentQueue(core.NewAgentQueue(st), log)
		// The core gives the agent its integer ID the first time it sees
		// its name; claims and records carry the ID, the licence the name.
		self, err := st.EnrolAgent(ctx, cfg.Agent.ID)
		if err != nil {
			return fmt.Errorf("enrolling agent %q: %w", cfg.Agent.ID, err)
		}
		var a *agent.Agent
		a, closeDrivers, err = startAgent(ctx, cfg, q, self.ID, m, log)
		if err != nil {
			return err
		}
		agMu.Lock()
		ag = a
		agMu.Unlock()
		hbDone := make(chan struct{})
		hbCtx, hbCancel := context.WithCancel(context.WithoutCancel(ctx))
		go heartbeats(hbCtx, hbDone, cfg, st, a, log)
		defer func() {
			hbCancel()
			<-hbDone
		}()
		defer closeDrivers()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.Agent.Grace+5*time.Second)
			defer cancel()
			if err := a.Shutdown(sctx); err != nil {
				log.Warn("agent shutdown", "err", err)
			}
		}()
	}
	m.Registry().MustRegister(prommetrics.NewStoreCollector(st, getAgent, log))

	handler, closeHandler, err := apiHandler(cfg, st, m, getAgent, q, token, admin, log)
	if err != nil {
		return err
	}
	if cfg.Role != "agent" {
		handler = withAgentAPI(ctx, cfg, st, handler, log)
	}
	if cfg.Role != "agent" {
		stopNotify, err := startNotifier(ctx, cfg, st, stdout, log)
		if err != nil {
			return err
		}
		defer stopNotify()
		stopGateway, addr, err := startEmailGateway(cfg, st, handler, log)
		if err != nil {
			return err
		}
		defer stopGateway()
		if addr != "" {
			fmt.Fprintf(stdout, "e-mail to fax gateway on %s for NUMBER@%s\n", addr, cfg.Notify.EmailGateway.Domain)
		}
	}
	url := listenURL(cfg, ln)
	if cfg.Role != "agent" {
		if err := os.WriteFile(filepath.Join(cfg.DataDir, serverURLFile), []byte(url+"\n"), 0o600); err != nil {
			return err
		}
		if dir, err := saveUserConfig(url, token, tokenCreated, os.Getenv); err != nil {
			log.Warn("user config not written", "dir", dir, "err", err)
		} else if dir != "" && tokenCreated {
			fmt.Fprintf(stdout, "the CLI finds this server from any directory through %s\n", dir)
		}
	}
	return runHTTP(ctx, cfg, ln, handler, closeHandler, log, func() {
		ports := 0
		if a := getAgent(); a != nil {
			ports = len(a.Ports())
		}
		fmt.Fprintf(stdout, "faxagent serving on %s (role %s, %s store in %s, %d ports, pacing %s)\n",
			url, cfg.Role, st.Backend(), cfg.DataDir, ports, cfg.Agent.Loopback.Pacing)
		log.Info("serving", "url", url, "role", cfg.Role, "backend", st.Backend(), "agent", cfg.Agent.ID, "ports", ports)
	})
}

// listenURL is the URL this process serves on.
func listenURL(cfg Config, ln net.Listener) string {
	if cfg.TLSCert != "" {
		return "https://" + ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}

// runHTTP serves handler on ln, bounded by the configured limits, calls
// serving once it is up, and shuts down gracefully when ctx ends.
func runHTTP(ctx context.Context, cfg Config, ln net.Listener, handler http.Handler, closeHandler func(), log *slog.Logger, serving func()) error {
	lim := cfg.Limits.withDefaults()
	handler = worklimit.Handler(handler, worklimit.Options{MaxRequests: lim.MaxRequests, RetryAfter: lim.RetryAfter,
		BodyGrace: lim.ReadHeaderTimeout, BodyMinRate: lim.BodyMinRate, BodyTimeout: lim.BodyTimeout})
	// ReadTimeout is the backstop; the handler moves the deadline as the
	// body arrives and clears it once the body is read.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: lim.ReadHeaderTimeout, ReadTimeout: lim.ReadHeaderTimeout + lim.BodyTimeout,
		IdleTimeout: lim.IdleTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	srv.RegisterOnShutdown(closeHandler)
	errc := make(chan error, 1)
	conns := worklimit.Listen(ln, worklimit.ConnLimits{Max: lim.MaxConnections, PerSource: lim.MaxConnectionsPerSource})
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("tls_cert/tls_key: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(conns, "", "")
			return
		}
		errc <- srv.Serve(conns)
	}()
	serving()

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	return nil
}

// startAgent builds and starts the agent: the loopback ports (unless
// disabled) and the FoIP trunk (when configured). With real ports beside
// them the simulated loopback ports take only jobs preset to them
// (port:M0,N or group:loopback): a job that may go anywhere never leaves
// on the simulated network.
func startAgent(ctx context.Context, cfg Config, q queueLink, self int64, m *prommetrics.Metrics, log *slog.Logger) (*agent.Agent, func(), error) {
	ac := cfg.Agent
	settings := map[string]agent.PortSettings{}
	groups := map[string][]string{}
	var drvs []drivers.Driver
	counts := map[string]int{}
	closeAll := func() {}
	real := ac.Foip.Listen != "" || ac.Brooktrout.Service != ""
	if ac.Loopback.enabled() {
		drv, closeLoopback, err := newLoopback(ac.Loopback)
		if err != nil {
			return nil, nil, err
		}
		closeAll = closeLoopback
		for i, p := range ac.Loopback.Ports {
			id := drivers.PortID(0, i)
			settings[id] = agent.PortSettings{Send: p.Send, Receive: p.Receive, ToneDetect: true, PresetOnly: real}
			groups["loopback"] = append(groups["loopback"], id)
			m.SetDriver(id, drv.Name())
		}
		drvs = append(drvs, drv)
		counts[drv.Name()] = len(ac.Loopback.Ports)
	}
	fail := func(err error) (*agent.Agent, func(), error) {
		closeAll()
		return nil, nil, err
	}
	if ac.Foip.Listen != "" {
		fd, ids, err := newFoip(ac.Foip, log)
		if err != nil {
			return fail(err)
		}
		fs := ac.Foip
		for _, id := range ids {
			settings[id] = agent.PortSettings{Send: fs.Send == nil || *fs.Send, Receive: fs.Receive == nil || *fs.Receive, ToneDetect: true}
			groups["foip"] = append(groups["foip"], id)
			m.SetDriver(id, fd.Name())
		}
		drvs = append(drvs, fd)
		counts[fd.Name()] = len(ids)
	}
	if bc := ac.Brooktrout; bc.Service != "" {
		taken := map[string]bool{}
		for id := range settings {
			taken[id] = true
		}
		bd, ports, err := newBrooktrout(ctx, bc, cfg.DataDir, taken, log)
		if err != nil {
			return fail(err)
		}
		prev := closeAll
		closeAll = func() { bd.Close(); prev() }
		for _, p := range ports {
			set := agent.PortSettings{Send: bc.Send == nil || *bc.Send, Receive: bc.Receive == nil || *bc.Receive, ToneDetect: true}
			if len(bc.Boards) > 0 && !slices.Contains(bc.Boards, p.Board) {
				set.Disabled = true
			}
			settings[p.ID] = set
			groups["brooktrout"] = append(groups["brooktrout"], p.ID)
			m.SetDriver(p.ID, bd.Name())
		}
		drvs = append(drvs, bd)
		counts[bd.Name()] = len(ports)
	}
	lic, pub, err := licenseFor(ac, counts)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "agent-spool"), 0o700); err != nil {
		return fail(err)
	}
	a, err := agent.New(agent.Config{
		AgentID: strconv.FormatInt(self, 10), Name: ac.ID, ServerIP: ac.ServerIP, Drivers: drvs,
		License: lic, LicenseKey: pub, Ports: settings, Groups: groups,
		Queue: q, Reporter: q, Metrics: m, Logger: log,
		Retry:  ac.Retry.policy(ac.retrySpeedup()),
		Dial:   ac.Dial.rules(),
		Header: ac.Header, CSID: ac.CSID, SpoolDir: filepath.Join(cfg.DataDir, "agent-spool"),
		OutboxDir: filepath.Join(cfg.DataDir, "agent-outbox"),
		Lease:     ac.Lease, PollInterval: ac.Poll, Grace: ac.Grace,
		Document: faxdoc.Options{Limits: cfg.Limits.withDefaults().documentLimits()},
	})
	if err != nil {
		return fail(err)
	}
	if err := a.Start(ctx); err != nil {
		return fail(fmt.Errorf("starting the agent: %w", err))
	}
	return a, closeAll, nil
}

// licenseFor reads the configured licence, or issues one for the
// configured ports (ports by driver name: the loopback ports and the FoIP
// trunk's channels; a simulated network needs no licence, but the agent
// checks one all the same).
func licenseFor(ac AgentCfg, ports map[string]int) ([]byte, []byte, error) {
	if ac.License != "" || ac.LicenseKey != "" {
		lic, err := os.ReadFile(ac.License)
		if err != nil {
			return nil, nil, fmt.Errorf("licence: %w", err)
		}
		k, err := os.ReadFile(ac.LicenseKey)
		if err != nil {
			return nil, nil, fmt.Errorf("licence key: %w", err)
		}
		pub, err := agent.ParsePublicKey(strings.TrimSpace(string(k)))
		if err != nil {
			return nil, nil, fmt.Errorf("licence key %s: %w", ac.LicenseKey, err)
		}
		return lic, pub, nil
	}
	return agent.SelfIssue(ac.ID, ports, time.Now())
}

// apiHandler is the HTTP API for roles all and core; an agent-only
// process serves its health and metrics.
func apiHandler(cfg Config, st core.Store, m *prommetrics.Metrics, getAgent func() *agent.Agent, q *agentQueue,
	token string, admin core.User, log *slog.Logger) (http.Handler, func(), error) {
	metricsH := promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{})
	ready := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if _, err := st.QueueStats(ctx); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	}
	if cfg.Role == "agent" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metricsH)
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, `{"status":"ok"}`) })
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			if err := ready(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, `{"status":"ready"}`)
		})
		return mux, func() {}, nil
	}
	logins := loginlimit.New(loginlimit.Config{PairFailures: cfg.Login.PairFailures, SourceFailures: cfg.Login.SourceFailures,
		UserFailures: cfg.Login.UserFailures, Backoff: cfg.Login.Backoff, MaxBackoff: cfg.Login.MaxBackoff})
	// One conversion cap for the API and the SOAP service.
	lim := cfg.Limits.withDefaults()
	conversions := worklimit.NewSemaphore(lim.MaxConversions)
	conversions.RetryAfter = lim.RetryAfter
	o := httpapi.Options{
		Store: st, Tokens: map[string]httpapi.Principal{token: {UserID: admin.ID, Admin: true}}, Logins: logins,
		MaxUpload: cfg.MaxUpload, Metrics: metricsH, Ready: ready, Logger: log,
		TempDir: filepath.Join(cfg.DataDir, "tmp"), CoverDir: filepath.Join(cfg.DataDir, "covers"),
		Conversions: conversions, ConversionTimeout: lim.ConversionTimeout, DocumentLimits: lim.documentLimits(),
	}
	if err := os.MkdirAll(o.TempDir, 0o700); err != nil {
		return nil, nil, err
	}
	trusted, err := cfg.SOAP.trustedNetworks()
	if err != nil {
		return nil, nil, err
	}
	if len(trusted) > 0 {
		log.Warn("soap: callers from trusted_networks need no credentials and may act as any user", "networks", trusted)
	}
	sh, err := soap.NewHandler(soap.Config{Store: st, ImportDir: cfg.ImportDir, PublicURL: cfg.PublicURL,
		TempDir: o.TempDir, CoverDir: o.CoverDir, Logger: log, Logins: logins, TrustedNetworks: trusted,
		Conversions: conversions, ConversionTimeout: lim.ConversionTimeout, DocumentLimits: lim.documentLimits(),
		Limits: soap.Limits{MaxDocumentBytes: cfg.MaxUpload, MaxAttrs: lim.SOAPMaxAttributes,
			MaxAttrsPerElement: lim.SOAPMaxAttributesPerElement, MaxTokens: lim.SOAPMaxTokens, MaxElements: lim.SOAPMaxElements}})
	if err != nil {
		return nil, nil, fmt.Errorf("soap: %w", err)
	}
	if q != nil {
		o.CancelActive = func(id int64) {
			if a := getAgent(); a != nil {
				a.Cancel(jobKey(id))
			}
		}
		o.Ports = func() []httpapi.Port { return portList(getAgent(), m) }
		o.Destinations = func() []httpapi.Destination {
			a := getAgent()
			if a == nil {
				return nil
			}
			var out []httpapi.Destination
			for _, n := range a.Destinations() {
				out = append(out, httpapi.Destination{Driver: n.Driver, Number: n.Number, Note: n.Note, Until: n.Until})
			}
			return out
		}
		o.CheckPreset = func(ctx context.Context, p core.Preset) error {
			return checkPreset(ctx, p, getAgent(), st)
		}
	}
	o.CheckNumber = cfg.Agent.Dial.rules().Check
	con, err := newConsole(cfg, st, m, getAgent, logins, conversions, log)
	if err != nil {
		return nil, nil, err
	}
	o.Session = con.Session
	api, err := httpapi.New(o)
	if err != nil {
		return nil, nil, err
	}
	return con.Mount(withSOAP(sh, api)), con.Close, nil
}

// withSOAP sends requests for soap.Path, in any letter case (FaxCore's
// clients call /WebServices/wfApi.asmx), to the SOAP handler and all
// others to next.
func withSOAP(sh, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.URL.Path, soap.Path) {
			sh.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func portList(a *agent.Agent, m *prommetrics.Metrics) []httpapi.Port {
	if a == nil {
		return nil
	}
	id, _ := strconv.ParseInt(a.ID(), 10, 64)
	now := time.Now()
	var out []httpapi.Port
	for _, p := range a.Ports() {
		calls, busy, util := m.Usage(p.ID, now)
		out = append(out, httpapi.Port{
			AgentID: id, Agent: a.Name(), ID: p.ID, No: p.No, Driver: p.Driver, Number: p.Number, State: p.State.String(),
			Licensed: p.Licensed, Send: p.Settings.Send, Receive: p.Settings.Receive, Disabled: p.Settings.Disabled,
			Groups: p.Groups, Job: p.Job, Calls: calls, BusySeconds: busy.Seconds(), Utilisation: util, Call: portCall(p.Call),
		})
	}
	return out
}

// heartbeats tells the core this agent is alive (core.Heartbeats).
func heartbeats(ctx context.Context, done chan<- struct{}, cfg Config, st core.Heartbeater, a *agent.Agent, log *slog.Logger) {
	defer close(done)
	host, _ := os.Hostname()
	id, _ := strconv.ParseInt(a.ID(), 10, 64)
	core.Heartbeats(ctx, st, a, core.AgentInfo{ID: id, Host: host, ServerIP: cfg.Agent.ServerIP, Version: "dev", Started: time.Now()},
		core.HeartbeatEvery, log)
}

// loadOrCreateToken reads the API token, creating it (0600) on first start.
func loadOrCreateToken(path string) (string, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return "", false, fmt.Errorf("%s: token too short; delete the file to make a new one", path)
		}
		return tok, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", false, err
	}
	tok := "fxa_" + hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, err
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", false, err
	}
	return tok, true, f.Close()
}

// saveUserConfig points the user config at this server: at the first
// start (the token was just made) when the user config has no token yet,
// and at every start when it holds this server's token (the address may
// have changed). A user config that names another server is left alone.
// It returns the directory written ("" none).
func saveUserConfig(url, token string, created bool, getenv func(string) string) (string, error) {
	dir := userConfigDir(getenv)
	if dir == "" {
		return "", nil
	}
	switch readSetting(dir, tokenFile) {
	case token:
	case "":
		if !created {
			return "", nil
		}
	default:
		return "", nil
	}
	return dir, writeUserConfig(dir, url, token)
}

// checkPreset refuses a preset that no port of this process's agent
// matches, unless it names another agent or other agents share the queue
// (their ports are not known here).
func checkPreset(ctx context.Context, p core.Preset, a *agent.Agent, st core.Store) error {
	if a == nil {
		return nil
	}
	agentID := a.ID()
	if p.Agent != "" && p.Agent != agentID && p.Agent != a.Name() {
		return nil
	}
	if p.Agent == "" {
		agents, err := st.Agents(ctx)
		if err != nil {
			return nil
		}
		for _, x := range agents {
			if strconv.FormatInt(x.ID, 10) != agentID && time.Since(x.Heartbeat) < 5*time.Minute {
				return nil
			}
		}
	}
	var ids, groups []string
	for _, port := range a.Ports() {
		ids = append(ids, port.ID)
		for _, g := range port.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
		if (p.Type == core.PresetPort && port.ID == p.Value) || (p.Type == core.PresetGroup && slices.Contains(port.Groups, p.Value)) {
			return nil
		}
	}
	if p.Type == core.PresetPort {
		return fmt.Errorf("preset port:%s: no such port (ports: %s)", p.Value, strings.Join(ids, " "))
	}
	slices.Sort(groups)
	return fmt.Errorf("preset group:%s: no such port group (groups: %s)", p.Value, strings.Join(groups, ", "))
}
