package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
)

const clientToken = "client-test-token-0123456789"

// apiServer runs the HTTP API in-process on a fresh store (no agent: jobs
// stay queued).
func apiServer(t *testing.T) (url string, st core.Store) {
	t.Helper()
	st, _, err := core.Open(context.Background(), core.Options{DataDir: t.TempDir(), AdminPassword: "client-admin-password", PasswordCost: 4})
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
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, st
}

func TestClientCommands(t *testing.T) {
	url, st := apiServer(t)
	flags := []string{"--server", url, "--token", clientToken}
	code, out, errs := runCLI(t, append([]string{"send", "--to", "5550103", "--to", "5550104", "--priority", "high", sample}, flags...)...)
	if code != 0 || !strings.Contains(out, "message 1 queued: 2 recipient(s), 1 page(s)") {
		t.Fatalf("send: %d %q %q", code, out, errs)
	}
	d, err := st.Message(context.Background(), 1)
	if err != nil || d.Priority != core.PriorityHigh || len(d.Jobs) != 2 {
		t.Fatalf("stored: %v %+v", err, d.Message)
	}
	code, out, errs = runCLI(t, append([]string{"status", "1"}, flags...)...)
	if code != 0 || !strings.Contains(out, "message 1: outbound Queued in outbox") || strings.Count(out, "queued") != 2 {
		t.Fatalf("status: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, append([]string{"list", "--folder", "outbox"}, flags...)...)
	if code != 0 || !strings.Contains(out, "outbox: 1-1 of 1") {
		t.Fatalf("list: %d %q", code, out)
	}
	tif := filepath.Join(t.TempDir(), "out.tif")
	code, out, errs = runCLI(t, append([]string{"download", "1", "-o", tif}, flags...)...)
	if b, _ := os.ReadFile(tif); code != 0 || !strings.HasPrefix(string(b), "II*\x00") {
		t.Fatalf("download: %d %q %q", code, out, errs)
	}
	code, out, errs = runCLI(t, append([]string{"cancel", "1"}, flags...)...)
	if code != 0 || !strings.Contains(out, "2 job(s) cancelled") {
		t.Fatalf("cancel: %d %q %q", code, out, errs)
	}
	if d, _ := st.Message(context.Background(), 1); d.Folder != core.FolderCancelled {
		t.Fatalf("after cancel: folder %s", d.Folder)
	}
	code, out, _ = runCLI(t, append([]string{"ports"}, flags...)...)
	if code != 0 || !strings.Contains(out, "PORT") {
		t.Fatalf("ports: %d %q", code, out)
	}
}

func TestClientErrors(t *testing.T) {
	url, st := apiServer(t)
	flags := []string{"--server", url, "--token", clientToken}
	bad := filepath.Join(t.TempDir(), "bad.tif")
	os.WriteFile(bad, []byte("II*\x00garbage"), 0o600)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{append([]string{"send", "--to", "5550103", bad}, flags...), 1, "400"},
		{append([]string{"send", "--to", "nobody", sample}, flags...), 1, "not a fax number"},
		{[]string{"send", "--to", "5550103", sample, "--server", url, "--token", "wrong-token-0123456789"}, 1, "401"},
		{[]string{"send", "--to", "5550103", sample, "--server", url, "--data", t.TempDir()}, 1, "no API token"},
		{append([]string{"send", sample}, flags...), 2, "needs --to"},
		{append([]string{"status", "42"}, flags...), 1, "404"},
		{append([]string{"status", "x"}, flags...), 2, "not a message ID"},
		{append([]string{"cancel"}, flags...), 2, "one message ID"},
		{append([]string{"list", "--folder", "spam"}, flags...), 1, "unknown folder"},
		{append([]string{"download", "1", "-o", "x.png"}, flags...), 2, ".tif"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("%q: %d %q %q, want %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	if _, n, _ := st.Messages(context.Background(), core.MessageQuery{Folder: core.FolderOutbox}); n != 0 {
		t.Errorf("%d messages stored by failed sends", n)
	}
}
