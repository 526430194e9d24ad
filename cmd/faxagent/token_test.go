package main

import (
	"context"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core"
)

// TestTokenCommand makes a token for a user with the admin's, uses it to
// list the user's own messages only, lists and revokes it.
func TestTokenCommand(t *testing.T) {
	url, st := apiServer(t)
	ctx := context.Background()
	if _, err := st.CreateUser(ctx, core.NewUser{Username: "alice", Password: "alice-password"}); err != nil {
		t.Fatal(err)
	}
	admin := []string{"--server", url, "--token", clientToken}
	if code, _, errs := runCLI(t, append([]string{"send", "--to", "5550103", sample}, admin...)...); code != 0 {
		t.Fatalf("admin's send: %q", errs)
	}
	code, out, errs := runCLI(t, append([]string{"token", "create", "--user", "alice", "--name", "ci"}, admin...)...)
	secret := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(secret, core.TokenPrefix) || !strings.Contains(errs, "for alice") {
		t.Fatalf("token create: %d %q %q", code, out, errs)
	}
	alice := []string{"--server", url, "--token", secret}
	if code, out, _ := runCLI(t, append([]string{"list", "--folder", "outbox"}, alice...)...); code != 0 || !strings.Contains(out, "of 0") {
		t.Fatalf("alice's list shows the admin's message: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, append([]string{"status", "1"}, alice...)...); code == 0 || !strings.Contains(errs, "message 1 not found") {
		t.Fatalf("alice's status of the admin's message: %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, append([]string{"token", "list", "--json"}, admin...)...); code != 0 || !strings.Contains(out, `"user": "alice"`) {
		t.Fatalf("token list --json: %d %q", code, out)
	}
	code, out, _ = runCLI(t, append([]string{"token", "list"}, admin...)...)
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "ci") || strings.Contains(out, secret) {
		t.Fatalf("token list: %d %q", code, out)
	}
	if code, out, errs := runCLI(t, append([]string{"token", "revoke", "1"}, alice...)...); code != 0 || !strings.Contains(out, "token 1 revoked") {
		t.Fatalf("alice revokes her token: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, append([]string{"list"}, alice...)...); code == 0 || !strings.Contains(errs, "invalid bearer token") {
		t.Fatalf("revoked token: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, append([]string{"token", "frob"}, admin...)...); code != 2 {
		t.Fatalf("unknown token subcommand: exit %d", code)
	}
}
