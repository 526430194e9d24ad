package main

import (
	"context"
	"crypto/tls"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
)

// TestClientCA: the CLI reaches an HTTPS server whose certificate is
// self-signed only when told to trust it: --ca FILE, FAXAGENT_CA, or the
// CA `login --ca` saved in the user config with its server. Without it,
// or with another CA, the command fails with a hint to --ca.
func TestClientCA(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir, "api")
	otherCA, _ := selfSigned(t, dir, "other")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := core.Open(context.Background(), core.Options{DataDir: t.TempDir(), PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, err := st.UserByName(context.Background(), core.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Options{Store: st, Tokens: map[string]httpapi.Principal{clientToken: {UserID: admin.ID, Admin: true}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// Nothing found from the working directory or the user config.
	t.Setenv("FAXAGENT_DATA", filepath.Join(dir, "no-data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("FAXAGENT_SERVER", "")
	t.Setenv("FAXAGENT_TOKEN", "")
	t.Setenv("FAXAGENT_CA", "")
	list := []string{"list", "--folder", "outbox"}
	flags := []string{"--server", srv.URL, "--token", clientToken}
	for _, tc := range []struct {
		name string
		args []string
		env  string // FAXAGENT_CA
		ok   bool
		err  string
	}{
		{"system CAs", flags, "", false, "certificate not trusted by the system's CAs"},
		{"--ca", append([]string{"--ca", certFile}, flags...), "", true, ""},
		{"FAXAGENT_CA", flags, certFile, true, ""},
		{"--ca over FAXAGENT_CA", append([]string{"--ca", otherCA}, flags...), certFile, false, "certificate not trusted by the CA in " + otherCA},
		{"another CA", flags, otherCA, false, "give its CA's PEM file with --ca FILE or FAXAGENT_CA"},
		{"no such file", append([]string{"--ca", filepath.Join(dir, "none.pem")}, flags...), "", false, "CA file"},
		{"not PEM", append([]string{"--ca", keyFile + ".txt"}, flags...), "", false, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(keyFile+".txt", []byte("not a certificate"), 0o600)
			t.Setenv("FAXAGENT_CA", tc.env)
			code, out, errs := runCLI(t, append(list, tc.args...)...)
			if (code == 0) != tc.ok || (tc.ok && !strings.Contains(out, "outbox: ")) || !strings.Contains(errs, tc.err) {
				t.Fatalf("exit %d, out %q, err %q", code, out, errs)
			}
		})
	}

	// login --ca saves the CA with the server; commands from anywhere
	// then trust it. A login elsewhere without --ca drops it.
	if code, out, errs := runCLI(t, "login", "--server", srv.URL, "--token", clientToken); code == 0 {
		t.Fatalf("login without the CA: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, "login", "--server", srv.URL, "--token", clientToken, "--ca", certFile); code != 0 {
		t.Fatalf("login --ca: %d %q %q", code, out, errs)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config", "faxagent", caFile)); err != nil || !strings.Contains(string(b), "CERTIFICATE") {
		t.Fatalf("saved CA: %q %v", b, err)
	}
	if code, out, errs := runCLI(t, list...); code != 0 || !strings.Contains(out, "outbox: ") {
		t.Fatalf("list through the user config: %d %q %q", code, out, errs)
	}
	plain, _ := apiServer(t)
	if code, out, errs := runCLI(t, "login", "--server", plain, "--token", clientToken); code != 0 {
		t.Fatalf("login to a plain server: %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "config", "faxagent", caFile)); !os.IsNotExist(err) {
		t.Errorf("the CA of the server before is kept: %v", err)
	}
}
