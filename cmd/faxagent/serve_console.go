package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/console"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/core/loginlimit"
	"github.com/faxagent/faxagent/core/worklimit"
	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/prommetrics"
)

// newConsole makes the web console over this process's store and agent.
func newConsole(cfg Config, st core.Store, m *prommetrics.Metrics, getAgent func() *agent.Agent, logins *loginlimit.Limiter,
	conversions *worklimit.Semaphore, log *slog.Logger) (*console.Console, error) {
	lim := cfg.Limits.withDefaults()
	// Event streams hold a request slot each for as long as they are open:
	// they may take a quarter of the slots, the rest stay for the API.
	o := console.Options{Store: st, Logins: logins, Logger: log, Conversions: conversions, DocumentLimits: lim.documentLimits(),
		SecureCookie: strings.HasPrefix(cfg.PublicURL, "https://"), MaxStreams: max(1, lim.MaxRequests/4)}
	if getAgent() != nil {
		o.Ports = func() []httpapi.Port { return portList(getAgent(), m) }
		o.SetPort = func(id string, send, receive, disabled bool) error {
			a := getAgent()
			if a == nil {
				return agent.ErrNoPort
			}
			return a.SetPort(id, send, receive, disabled)
		}
		o.License = func() (console.License, bool) {
			a := getAgent()
			if a == nil {
				return console.License{}, false
			}
			return consoleLicense(a.License()), true
		}
	}
	if cfg.Agent.License != "" && cfg.Agent.LicenseKey != "" {
		o.InstallLicense = func(file []byte) (console.License, error) { return installLicense(cfg.Agent, file) }
	}
	return console.New(o)
}

func consoleLicense(l agent.License) console.License {
	return console.License{AgentID: l.AgentID, Customer: l.Customer, Ports: l.Ports, Issued: l.Issued, Expires: l.Expires}
}

// installLicense checks an uploaded licence against the configured key and
// this agent's ID, then replaces the configured licence file (the agent
// reads it at its next start).
func installLicense(ac AgentCfg, file []byte) (console.License, error) {
	k, err := os.ReadFile(ac.LicenseKey)
	if err != nil {
		return console.License{}, fmt.Errorf("licence key: %w", err)
	}
	pub, err := agent.ParsePublicKey(strings.TrimSpace(string(k)))
	if err != nil {
		return console.License{}, err
	}
	l, err := agent.VerifyLicense(file, pub, ac.ID, time.Now())
	if err != nil {
		return console.License{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(ac.License), ".license-*")
	if err != nil {
		return console.License{}, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(file); err != nil {
		tmp.Close()
		return console.License{}, err
	}
	if err := tmp.Close(); err != nil {
		return console.License{}, err
	}
	if err := os.Rename(tmp.Name(), ac.License); err != nil {
		return console.License{}, err
	}
	return consoleLicense(l), nil
}

// portCall is the live call of an agent port for the API and console.
func portCall(c *agent.CallProgress) *httpapi.PortCall {
	if c == nil {
		return nil
	}
	dir := "outbound"
	if c.Direction == drivers.Inbound {
		dir = "inbound"
	}
	return &httpapi.PortCall{Direction: dir, Page: c.Page, Pages: c.Pages, Rate: c.Rate, Modem: c.Modem, ECM: c.ECM}
}
