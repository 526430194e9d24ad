package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir as NAME.pem and NAME.key.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestRemoteAgentTLS: a core serving HTTPS (--tls-cert, --tls-key) and an
// agent trusting its certificate through --core-ca: the agent's heartbeat
// arrives over TLS. An agent trusting another CA is refused at start
// (certificate), and no request of it reaches the core's handlers.
func TestRemoteAgentTLS(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "core")
	other, _ := selfSigned(t, dir, "other")
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}

	coreOut := &syncBuffer{}
	c := exec.Command(bin, "serve", "--role", "core", "--tls-cert", cert, "--tls-key", key)
	c.Dir = dir
	c.Env = cleanEnv("FAXAGENT_LISTEN=127.0.0.1:0", "FAXAGENT_ADMIN_PASSWORD=e2e-admin-password", "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
	c.Stdout, c.Stderr = coreOut, coreOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	cDone := make(chan error, 1)
	go func() { cDone <- c.Wait() }()
	t.Cleanup(func() {
		c.Process.Kill()
		<-cDone
		if t.Failed() {
			t.Logf("core output:\n%s", coreOut.String())
		}
	})
	var url string
	for i := 0; ; i++ {
		if b, err := os.ReadFile(filepath.Join(dir, "faxagent-data", serverURLFile)); err == nil {
			url = strings.TrimSpace(string(b))
			if resp, err := hc.Get(url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		if i > 300 {
			t.Fatalf("core not ready over TLS (url %q)", url)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("server URL %q", url)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "faxagent-data", tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path string, body, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, url+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %s", method, path, resp.Status)
		}
		json.NewDecoder(resp.Body).Decode(out)
	}
	var cred httpapi.AgentCredential
	api("POST", "/api/v1/agents/credentials", httpapi.AgentCredentialRequest{Agent: "tls-agent"}, &cred)

	runAgent := func(ca string) (*exec.Cmd, *syncBuffer, chan error) {
		out := &syncBuffer{}
		ag := exec.Command(bin, "serve", "--role", "agent", "--agent-id", "tls-agent", "--core", url, "--core-ca", ca,
			"--data", filepath.Join(dir, "agent-"+filepath.Base(ca)), "--pacing", "none")
		ag.Dir = dir
		ag.Env = cleanEnv("FAXAGENT_LISTEN=127.0.0.1:0", envAgentCredential+"="+cred.Secret)
		ag.Stdout, ag.Stderr = out, out
		if err := ag.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- ag.Wait() }()
		t.Cleanup(func() {
			if ag.ProcessState == nil {
				ag.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("agent (CA %s) output:\n%s", ca, out.String())
			}
		})
		return ag, out, done
	}

	// Untrusted: the agent stops at start with the certificate error.
	_, out, done := runAgent(other)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(out.String(), "certificate") {
			t.Fatalf("agent trusting another CA: %v\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("an agent trusting another CA kept running")
	}

	runAgent(cert)
	for i := 0; ; i++ {
		var p httpapi.Ports
		api("GET", "/api/v1/ports", nil, &p)
		if len(p.Agents) == 1 && p.Agents[0].ID == cred.AgentID && p.Agents[0].Ports == 4 {
			break
		}
		if i > 300 {
			t.Fatalf("no heartbeat over TLS: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
