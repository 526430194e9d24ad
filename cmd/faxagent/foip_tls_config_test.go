package main

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/drivers/foip"
)

// TestConfigFoipTLS: transport tls with tls_cert, tls_key and tls_ca in
// the file reaches the driver, which loads the files (missing ones are a
// configuration error of the trunk); tls without a certificate and an
// unknown transport are refused by the configuration check.
func TestConfigFoipTLS(t *testing.T) {
	dir := t.TempDir()
	file := writeConfig(t, `
agent:
  foip:
    listen: 127.0.0.1:5061
    peer: 127.0.0.1:5062
    transport: tls
    tls_cert: `+filepath.Join(dir, "cert.pem")+`
    tls_key: `+filepath.Join(dir, "key.pem")+`
    tls_ca: `+filepath.Join(dir, "ca.pem")+`
`)
	c, err := loadConfig([]string{"--config", file}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Agent.Foip
	if f.Transport != "tls" || f.TLSCert != filepath.Join(dir, "cert.pem") || f.TLSKey != filepath.Join(dir, "key.pem") || f.TLSCA != filepath.Join(dir, "ca.pem") {
		t.Fatalf("foip config %+v", f)
	}
	// The files do not exist: the driver says so.
	if _, _, err := newFoip(f, slog.New(slog.DiscardHandler)); !errors.Is(err, foip.ErrConfig) || !strings.Contains(err.Error(), "cert.pem") {
		t.Fatalf("newFoip with missing certificate files: %v", err)
	}

	for _, tc := range []struct{ name, file, want string }{
		{"tls without cert", "agent: {foip: {listen: 127.0.0.1:5061, peer: 127.0.0.1:5062, transport: tls}}\n", "tls_cert"},
		{"bad transport", "agent: {foip: {listen: 127.0.0.1:5061, peer: 127.0.0.1:5062, transport: sctp}}\n", "sctp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig([]string{"--config", writeConfig(t, tc.file)}, envOf(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
