package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIFindsServerAnywhere is the CLI from a directory that is not
// serve's: the user config serve wrote at its first start (token 0600)
// finds the server; the token is printed at the first start only;
// `--server HOST:PORT` works without a scheme; `login` writes a user
// config of its own; a server that is down is one line with a hint; a
// missing message is said without the store's internals.
func TestCLIFindsServerAnywhere(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	xdg := filepath.Join(t.TempDir(), "config")
	env := "XDG_CONFIG_HOME=" + xdg
	cfg := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfg, []byte("agent:\n  loopback:\n    pacing: none\n"), 0o600)
	argv := []string{bin, "serve", "--config", cfg}
	s := startServe(t, dir, argv, env)
	if !strings.Contains(s.out.String(), s.tok) {
		t.Fatalf("first start does not show the token:\n%s", s.out.String())
	}
	for name, mode := range map[string]os.FileMode{tokenFile: 0o600, serverURLFile: 0o600, "": 0o700} {
		st, err := os.Stat(filepath.Join(xdg, "faxagent", name))
		if err != nil || st.Mode().Perm() != mode {
			t.Fatalf("user config %q: %v, mode %v, want %v", name, err, st.Mode().Perm(), mode)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(xdg, "faxagent", tokenFile)); strings.TrimSpace(string(b)) != s.tok {
		t.Fatalf("user config token %q, want serve's", b)
	}

	elsewhere := t.TempDir()
	letter, _ := filepath.Abs(sample)
	out, err := runIn(elsewhere, []string{bin, "send", "--to", "5550199", "--wait", "--timeout", "60s", letter}, env)
	if err != nil || !strings.Contains(out, "message 1: Completed") {
		t.Fatalf("send from another directory: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "faxagent-data")); err == nil {
		t.Fatal("the CLI created a data directory")
	}
	hostPort := strings.TrimPrefix(s.url, "http://")
	out, err = runIn(elsewhere, []string{bin, "status", "1", "--server", hostPort, "--token", s.tok}, "XDG_CONFIG_HOME="+t.TempDir())
	if err != nil || !strings.Contains(out, "outbound Completed in sent") {
		t.Fatalf("--server without a scheme: %v\n%s", err, out)
	}
	out, err = runIn(elsewhere, []string{bin, "status", "9999"}, env)
	if err == nil || strings.TrimSpace(out) != "faxagent status: message 9999 not found" {
		t.Fatalf("missing message: %v %q", err, out)
	}

	// login, into a fresh user config.
	xdg2 := t.TempDir()
	out, err = runIn(elsewhere, []string{bin, "login", "--server", hostPort, "--token", s.tok}, "XDG_CONFIG_HOME="+xdg2)
	if err != nil || !strings.Contains(out, "logged in to "+s.url) {
		t.Fatalf("login: %v\n%s", err, out)
	}
	if st, err := os.Stat(filepath.Join(xdg2, "faxagent", tokenFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("login's token file: %v %v", err, st)
	}
	out, err = runIn(elsewhere, []string{bin, "list", "--folder", "sent"}, "XDG_CONFIG_HOME="+xdg2)
	if err != nil || !strings.Contains(out, "sent: 1-1 of 1") {
		t.Fatalf("list after login: %v\n%s", err, out)
	}
	if out, err := runIn(elsewhere, []string{bin, "login", "--server", hostPort, "--token", "fxa_wrong-token-000000"}, "XDG_CONFIG_HOME="+t.TempDir()); err == nil {
		t.Fatalf("login with a wrong token succeeded: %s", out)
	}

	// A restart does not print the token again.
	s.stop()
	s = startServe(t, dir, argv, env)
	if strings.Contains(s.out.String(), s.tok) {
		t.Fatalf("the token is printed again at a restart:\n%s", s.out.String())
	}
	s.stop()

	// Server down: one line, with the address, where it came from and a hint.
	out, err = runIn(elsewhere, []string{bin, "list"}, env)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err == nil || len(lines) != 1 || !strings.Contains(out, "no server at http://") ||
		!strings.Contains(out, "faxagent serve") || !strings.Contains(out, filepath.Join(xdg, "faxagent")) {
		t.Fatalf("server down: %v\n%s", err, out)
	}
}

// TestServeBadListenCreatesNothing: a bad or taken --listen is refused
// before the data directory is made or a password printed.
func TestServeBadListenCreatesNothing(t *testing.T) {
	bin := faxagentBinary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, addr := range []string{"bogus", "127.0.0.1:99999", taken.Addr().String()} {
		dir := t.TempDir()
		cmd := exec.Command(bin, "serve", "--listen", addr)
		cmd.Dir = dir
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), addr) || strings.Contains(string(out), "password") {
			t.Errorf("--listen %s: %v\n%s", addr, err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "faxagent-data")); err == nil {
			t.Errorf("--listen %s: the data directory was created", addr)
		}
	}
}
