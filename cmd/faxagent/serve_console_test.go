package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// TestInstallLicense: a licence uploaded in the console replaces the
// configured file only if it is signed with the configured key, for this
// agent, and not expired; anything else leaves the file as it was.
func TestInstallLicense(t *testing.T) {
	dir := t.TempDir()
	pub, priv, err := agent.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := agent.GenerateKey(nil)
	enc, _ := agent.EncodeKey(pub)
	ac := AgentCfg{ID: "agent-7", License: filepath.Join(dir, "license.json"), LicenseKey: filepath.Join(dir, "vendor.pub")}
	os.WriteFile(ac.LicenseKey, []byte(enc), 0o600)
	os.WriteFile(ac.License, []byte("the old licence"), 0o600)
	now := time.Now()
	sign := func(l agent.License, k []byte) []byte {
		b, err := agent.Sign(l, k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := agent.License{AgentID: "agent-7", Customer: "ACME", Ports: map[string]int{"loopback": 8}, Issued: now, Expires: now.AddDate(1, 0, 0)}
	for name, file := range map[string][]byte{
		"other key":   sign(good, otherPriv),
		"other agent": sign(agent.License{AgentID: "agent-8", Ports: good.Ports, Issued: now, Expires: good.Expires}, priv),
		"expired":     sign(agent.License{AgentID: "agent-7", Ports: good.Ports, Issued: now.AddDate(-2, 0, 0), Expires: now.AddDate(-1, 0, 0)}, priv),
		"garbage":     []byte("{not a licence"),
	} {
		if _, err := installLicense(ac, file); err == nil {
			t.Errorf("%s: installed", name)
		}
		if b, _ := os.ReadFile(ac.License); string(b) != "the old licence" {
			t.Fatalf("%s: the licence file changed", name)
		}
	}
	file := sign(good, priv)
	l, err := installLicense(ac, file)
	if err != nil || l.AgentID != "agent-7" || l.Ports["loopback"] != 8 || l.Customer != "ACME" {
		t.Fatalf("good licence: %+v %v", l, err)
	}
	if b, _ := os.ReadFile(ac.License); !bytes.Equal(b, file) {
		t.Fatal("the licence file was not replaced")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("files left in the licence directory: %d", len(ents))
	}
}
