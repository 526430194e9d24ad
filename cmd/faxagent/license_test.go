package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLicenseCommand(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "vendor")
	lic := filepath.Join(dir, "license.json")
	if code, _, errOut := runCLI(t, "license", "keygen", "-o", key); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	if st, err := os.Stat(key + ".key"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", st, err)
	}
	if code, _, _ := runCLI(t, "license", "keygen", "-o", key); code == 0 {
		t.Fatal("keygen overwrote an existing key")
	}
	code, out, errOut := runCLI(t, "license", "sign", "-key", key+".key", "-agent", "101009", "-ports", "loopback=4,brooktrout=24", "-expires", "2099-01-01", "-customer", "ACME", "-o", lic)
	if code != 0 || !strings.Contains(out, "brooktrout 24") {
		t.Fatalf("sign: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "license", "show", "-pub", key+".pub", "-agent", "101009", lic)
	if code != 0 || !strings.Contains(out, "signature: valid") || !strings.Contains(out, "loopback 4") || !strings.Contains(out, "2099-01-01") {
		t.Fatalf("show: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "license", "show", "-pub", key+".pub", "-agent", "other", lic); code != 1 || !strings.Contains(errOut, "another agent") {
		t.Fatalf("show for another agent: %d %s", code, errOut)
	}
	b, _ := os.ReadFile(lic)
	if err := os.WriteFile(lic, []byte(strings.Replace(string(b), `"loopback": 4`, `"loopback": 40`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "license", "show", "-pub", key+".pub", lic); code != 1 || !strings.Contains(errOut, "signature is invalid") {
		t.Fatalf("tampered: %d %s", code, errOut)
	}
	for _, args := range [][]string{
		{"license"},
		{"license", "frobnicate"},
		{"license", "sign", "-key", key + ".key"},
		{"license", "sign", "-key", key + ".key", "-agent", "a", "-ports", "loopback", "-expires", "2099-01-01", "-o", lic},
		{"license", "sign", "-key", key + ".key", "-agent", "a", "-ports", "loopback=1", "-expires", "tomorrow", "-o", lic},
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want usage error", args, code)
		}
	}
	if code, _, errOut := runCLI(t, "license", "sign", "-key", key+".pub", "-agent", "a", "-ports", "loopback=1", "-expires", "2099-01-01", "-o", lic); code != 1 || !strings.Contains(errOut, "key is malformed") {
		t.Fatalf("public key used to sign: %d %s", code, errOut)
	}
}
