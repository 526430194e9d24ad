package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "faxagent.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	lb := c.Agent.Loopback
	if c.Role != "all" || c.DataDir != "faxagent-data" || c.Database != "" || c.Listen != "127.0.0.1:8080" ||
		len(lb.Ports) != 4 || len(lb.Busy) != 1 || len(lb.NoAnswer) != 1 || lb.Pacing != "demo" || c.Agent.ID == "" {
		t.Fatalf("defaults: %+v", c)
	}
	send, recv := 0, 0
	for _, p := range lb.Ports {
		if p.Send {
			send++
		}
		if p.Receive {
			recv++
		}
	}
	if send == 0 || recv == 0 {
		t.Errorf("default ports: %d send, %d receive", send, recv)
	}
}

// The file overrides defaults, the environment the file, flags the
// environment.
func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `
role: core
listen: 127.0.0.1:9000
data_dir: /var/lib/faxagent
agent:
  id: from-file
  lease: 30s
  retry:
    max_attempts: 5
    later: 10m
  loopback:
    pacing: none
    ports:
      - {number: "100", send: true, receive: true}
`)
	env := map[string]string{"FAXAGENT_CONFIG": file, "FAXAGENT_LISTEN": "127.0.0.1:9001", "FAXAGENT_AGENT_ID": "from-env"}
	c, err := loadConfig([]string{"--agent-id", "from-flag"}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != "core" || c.DataDir != "/var/lib/faxagent" || c.Listen != "127.0.0.1:9001" || c.Agent.ID != "from-flag" ||
		c.Agent.Lease != 30*time.Second || c.Agent.Retry.MaxAttempts != 5 || c.Agent.Retry.Later != 10*time.Minute ||
		c.Agent.Retry.Now != 30*time.Second || c.Agent.Loopback.Pacing != "none" || len(c.Agent.Loopback.Ports) != 1 {
		t.Fatalf("config: %+v", c)
	}
	// A flag names another file and wins over the environment's.
	other := writeConfig(t, "listen: 127.0.0.1:9002\n")
	c, err = loadConfig([]string{"--config", other, "--listen", "127.0.0.1:9003"}, envOf(env))
	if err != nil || c.Role != "all" || c.Listen != "127.0.0.1:9003" {
		t.Fatalf("config: %v %+v", err, c)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, file string
		args       []string
		want       string
	}{
		{"unknown key", "lissen: x\n", nil, "lissen"},
		{"bad yaml", "role: [\n", nil, "faxagent.yaml"},
		{"bad role", "", []string{"--role", "boss"}, "role"},
		{"agent without postgres", "", []string{"--role", "agent"}, "PostgreSQL"},
		{"bad db", "", []string{"--db", "mysql://x"}, "postgres://"},
		{"bad pacing", "", []string{"--pacing", "fast"}, "pacing"},
		{"no ports", "agent: {loopback: {ports: []}}\n", nil, "no ports"},
		{"brooktrout without plugin", "agent: {brooktrout: {service: unix:/tmp/bt.sock}}\n", nil, "needs both plugin"},
		{"brooktrout bad service", "agent: {brooktrout: {plugin: /bin/true, service: /tmp/bt.sock}}\n", nil, "want unix:/path"},
		{"bad log level", "", []string{"--log-level", "loud"}, "log level"},
		{"negative lease", "agent: {lease: -1s}\n", nil, "lease"},
		{"argument", "", []string{"extra"}, "no arguments"},
		{"missing file", "", []string{"--config", "/nonexistent/faxagent.yaml"}, "nonexistent"},
		{"foip without peer", "", []string{"--foip-listen", "127.0.0.1:5060"}, "peer address"},
		{"foip peer without listen", "", []string{"--foip-peer", "127.0.0.1:5062"}, "without a listen"},
		{"foip bad t38 start", "agent: {foip: {t38: {start: early}}}\n", []string{"--foip-listen", "127.0.0.1:5060", "--foip-peer", "127.0.0.1:5062"}, "t38 start"},
		{"foip bad port range", "agent: {foip: {rtp_port_min: 5000, rtp_port_max: 4000}}\n", []string{"--foip-listen", "127.0.0.1:5060", "--foip-peer", "127.0.0.1:5062"}, "port range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.file != "" {
				args = append([]string{"--config", writeConfig(t, c.file)}, args...)
			}
			_, err := loadConfig(args, envOf(nil))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// The SOAP and FoIP settings come from the file, the environment and
// flags like the others; the file's foip section keeps the default
// loopback ports.
func TestConfigSOAPAndFoip(t *testing.T) {
	file := writeConfig(t, `
import_dir: /srv/import
agent:
  foip:
    listen: 127.0.0.1:5070
    peer: 192.0.2.7:5060
    transport: tcp
    channels: 4
    number: "5557000"
    rtp_port_min: 20000
    rtp_port_max: 20099
    udptl_timeout: 15s
    rtp_timeout: -1s
    failed_calls_per_source: 200
    failed_calls_window: 10m
    t38:
      start: invite
      reinvite_out: 1s
      reinvite_timeout: 2500ms
      max_datagram: 300
      fec: true
      no_ecm: true
`)
	c, err := loadConfig([]string{"--config", file, "--foip-peer", "127.0.0.1:5062"},
		envOf(map[string]string{"FAXAGENT_PUBLIC_URL": "https://fax.example.com/webservices/wfapi.asmx", "FAXAGENT_FOIP_LISTEN": "127.0.0.1:5060"}))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Agent.Foip
	if c.ImportDir != "/srv/import" || c.PublicURL != "https://fax.example.com/webservices/wfapi.asmx" ||
		f.Listen != "127.0.0.1:5060" || f.Peer != "127.0.0.1:5062" || f.Transport != "tcp" || f.Channels != 4 ||
		f.Number != "5557000" || f.RTPPortMin != 20000 || f.RTPPortMax != 20099 || f.T38.Start != "invite" ||
		f.UDPTLTimeout != 15*time.Second || f.RTPTimeout != -time.Second ||
		f.FailedCallsPerSource != 200 || f.FailedCallsWindow != 10*time.Minute ||
		f.T38.ReinviteOut != time.Second || f.T38.ReinviteTimeout != 2500*time.Millisecond || f.T38.MaxDatagram != 300 || !f.T38.FEC || !f.T38.NoECM ||
		len(c.Agent.Loopback.Ports) != 4 {
		t.Fatalf("config: %+v", c)
	}
	d, ids, err := newFoip(f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "foip" || strings.Join(ids, " ") != "M1,0 M1,1 M1,2 M1,3" {
		t.Fatalf("foip driver %s with ports %q", d.Name(), ids)
	}
	lic, pub, err := licenseFor(c.Agent, map[string]int{"loopback": 4, "foip": 4})
	if err != nil {
		t.Fatal(err)
	}
	l, err := agent.ParseLicense(lic, pub)
	if err != nil || l.Ports["foip"] != 4 || l.Ports["loopback"] != 4 {
		t.Fatalf("self-issued licence %+v: %v", l, err)
	}
}

func TestTokenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), tokenFile)
	tok, created, err := loadOrCreateToken(p)
	if err != nil || !created || len(tok) < 32 {
		t.Fatalf("first: %q %v %v", tok, created, err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode: %v %v", st.Mode(), err)
	}
	again, created, err := loadOrCreateToken(p)
	if err != nil || created || again != tok {
		t.Fatalf("second: %q %v %v", again, created, err)
	}
	os.WriteFile(p, []byte("short\n"), 0o600)
	if _, _, err := loadOrCreateToken(p); err == nil {
		t.Error("a short token was accepted")
	}
}

// FuzzConfigFile loads arbitrary YAML: an error or a configuration, never
// a panic; a configuration that passes check has a known role and pacing.
func FuzzConfigFile(f *testing.F) {
	f.Add("role: core\nlisten: 127.0.0.1:9000\n")
	f.Add("agent:\n  lease: 30s\n  retry: {max_attempts: 5, later: 10m}\n  loopback:\n    pacing: none\n    ports:\n      - {number: \"100\", send: true}\n")
	f.Add("agent: {loopback: {lines: [{number: \"5\", kind: busy, bit_error_rate: 0.5}]}}\n")
	f.Add("max_upload: -1\n")
	f.Add("role: [\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c := defaultConfig()
		if err := loadConfigFile(&c, p); err != nil {
			return
		}
		if c.check() != nil {
			return
		}
		switch c.Role {
		case "all", "core", "agent":
		default:
			t.Fatalf("role %q passed the check", c.Role)
		}
		if c.Agent.Loopback.Speedup <= 0 || c.MaxUpload <= 0 {
			t.Fatalf("config passed the check: %+v", c)
		}
	})
}

// soap.trusted_networks is empty by default, takes prefixes and single
// addresses, and refuses anything else; login limits come from the file.
func TestConfigTrustedNetworksAndLogin(t *testing.T) {
	c, err := loadConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.SOAP.trustedNetworks(); err != nil || len(n) != 0 {
		t.Fatalf("default trusted networks %v, %v", n, err)
	}
	file := writeConfig(t, `
soap:
  trusted_networks: [10.1.2.0/24, 192.0.2.7, "fd00::1/128"]
login:
  pair_failures: 3
  backoff: 10s
`)
	c, err = loadConfig([]string{"--config", file}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.SOAP.trustedNetworks()
	if err != nil || fmt.Sprint(n) != "[10.1.2.0/24 192.0.2.7/32 fd00::1/128]" {
		t.Fatalf("trusted networks %v, %v", n, err)
	}
	if c.Login.PairFailures != 3 || c.Login.Backoff != 10*time.Second {
		t.Fatalf("login %+v", c.Login)
	}
	for _, bad := range []string{"soap:\n  trusted_networks: [everyone]\n", "login:\n  backoff: -1s\n"} {
		if _, err := loadConfig([]string{"--config", writeConfig(t, bad)}, envOf(nil)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
