package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/agentapi"
	"github.com/faxagent/faxagent/prommetrics"
)

// envAgentCredential holds an agent's credential for --core (instead of
// core_credential_file); there is no flag, the process list would show it.
const envAgentCredential = "FAXAGENT_AGENT_CREDENTIAL"

// withAgentAPI mounts the agent protocol (core/agentapi) at
// agentapi.Prefix beside next. Its long-polls follow the store's wake-up
// signal beside the agent in this process (--role all): each reads a
// channel of its own.
func withAgentAPI(ctx context.Context, cfg Config, st core.Store, next http.Handler, log *slog.Logger) http.Handler {
	aq := core.NewAgentQueue(st)
	ac := agentapi.Config{Queue: aq, Reporter: aq, Heartbeats: st, LeaseHolder: aq.LeaseHolder, FinishAs: aq.FinishAs, Documents: aq.JobDocument,
		Ready: aq.Ready(), TempDir: filepath.Join(cfg.DataDir, "tmp"), MaxInbound: cfg.MaxUpload, Logger: log,
		Authenticate: func(ctx context.Context, secret string) (int64, error) {
			c, err := st.CredentialAgent(ctx, secret)
			return c.AgentID, err
		}}
	api := agentapi.NewServer(ctx, ac)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, agentapi.Prefix+"/") {
			api.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// agentCredential reads the agent's credential: the file, else the
// environment.
func agentCredential(cfg Config) (string, error) {
	if cfg.CoreCredentialFile != "" {
		b, err := os.ReadFile(cfg.CoreCredentialFile)
		if err != nil {
			return "", fmt.Errorf("agent credential: %w", err)
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("agent credential: %s is empty", cfg.CoreCredentialFile)
	}
	if cfg.AgentCredential != "" {
		return cfg.AgentCredential, nil
	}
	return "", fmt.Errorf("role agent with --core needs its credential: --core-credential-file FILE or %s (faxagent agent-credential create on the core)", envAgentCredential)
}

// serveRemoteAgent runs an agent that reaches its core over the agent
// protocol: no database is opened, documents come from the core and
// received faxes go to it; outcomes wait in the outbox while the core is
// away.
func serveRemoteAgent(ctx context.Context, cfg Config, ln net.Listener, stdout io.Writer, log *slog.Logger) error {
	secret, err := agentCredential(cfg)
	if err != nil {
		return err
	}
	if strings.HasPrefix(cfg.Core, "http://") {
		log.Warn("the core is reached over plain HTTP: the agent credential, documents and received faxes travel unencrypted; use https:// (serve --tls-cert on the core)", "core", cfg.Core)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, err := agentapi.NewClient(cctx, agentapi.ClientConfig{Core: cfg.Core, CAFile: cfg.CoreCA, Credential: secret,
		Spool: filepath.Join(cfg.DataDir, "agent-documents"), Logger: log})
	if err != nil {
		return err
	}
	// The credential names the agent: its ID comes from the core, which
	// must be reachable at start.
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	self, err := c.Self(sctx)
	scancel()
	if err != nil {
		if errors.Is(err, agentapi.ErrRefused) {
			return fmt.Errorf("the core at %s refused this agent's credential (wrong or revoked): %w", cfg.Core, err)
		}
		return fmt.Errorf("reaching the core at %s: %w", cfg.Core, err)
	}
	bi := readBuildInfo()
	m := prommetrics.New(prommetrics.Build{Version: bi.Version, Revision: bi.Revision, GoVersion: bi.GoVersion})
	a, closeDrivers, err := startAgent(ctx, cfg, newAgentQueue(c, log), self, m, log)
	if err != nil {
		return err
	}
	defer closeDrivers()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Agent.Grace+5*time.Second)
		defer cancel()
		if err := a.Shutdown(sctx); err != nil {
			log.Warn("agent shutdown", "err", err)
		}
	}()
	hbDone := make(chan struct{})
	hbCtx, hbCancel := context.WithCancel(context.WithoutCancel(ctx))
	go heartbeats(hbCtx, hbDone, cfg, c, a, log)
	defer func() {
		hbCancel()
		<-hbDone
	}()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, `{"status":"ok"}`) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if _, err := c.Self(ctx); err != nil {
			http.Error(w, "core: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, `{"status":"ready"}`)
	})
	url := listenURL(cfg, ln)
	return runHTTP(ctx, cfg, ln, mux, func() {}, log, func() {
		fmt.Fprintf(stdout, "faxagent serving on %s (role agent, core %s, agent %d, data in %s, %d ports, pacing %s)\n",
			url, cfg.Core, self, cfg.DataDir, len(a.Ports()), cfg.Agent.Loopback.Pacing)
		log.Info("serving", "url", url, "role", cfg.Role, "core", cfg.Core, "agent", self, "ports", len(a.Ports()))
	})
}
