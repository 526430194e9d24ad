package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/loginlimit"
)

// TestConsoleAdmin: an administrator adds a user (who can then log in),
// adds, deactivates and deletes an inbound route, and sees that no
// licence can be uploaded without InstallLicense; bad input changes
// nothing.
func TestConsoleAdmin(t *testing.T) {
	e := newEnv(t, false, loginlimit.Config{})
	admin := e.client()
	admin.login("admin", adminPass)
	if r, b := admin.json("POST", "/console/api/users", map[string]any{"username": "carol", "password": "carol-password-1", "email": "carol@example.test"}, true); r.StatusCode != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.StatusCode, b)
	}
	if r, _ := admin.json("POST", "/console/api/users", map[string]any{"username": "carol", "password": "carol-password-1"}, true); r.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate user: %d", r.StatusCode)
	}
	carol := e.client()
	if r := carol.login("carol", "carol-password-1"); r.StatusCode != http.StatusOK {
		t.Fatalf("new user's login: %d", r.StatusCode)
	}
	ctx := context.Background()
	before, _ := e.store.Routes(ctx)
	for _, bad := range []map[string]any{
		{"user": "nobody", "field1": "FaxPortNo", "value1": "*"},
		{"user": "carol", "field1": "Bogus", "value1": "*"},
	} {
		if r, _ := admin.json("POST", "/console/api/routes", bad, true); r.StatusCode < 400 || r.StatusCode >= 500 {
			t.Errorf("bad route %v: %d", bad, r.StatusCode)
		}
	}
	if r, _ := admin.json("POST", "/console/api/routes", map[string]any{"user": "carol", "field1": "FaxPortNo", "value1": "*", "extra": 1}, true); r.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown field: %d", r.StatusCode)
	}
	if after, _ := e.store.Routes(ctx); len(after) != len(before) {
		t.Fatalf("refused routes were stored: %d -> %d", len(before), len(after))
	}
	r, b := admin.json("POST", "/console/api/routes", map[string]any{"user": "carol", "field1": "RoutingDigits", "value1": "555*", "priority": 7}, true)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create route: %d %s", r.StatusCode, b)
	}
	var created struct{ ID int64 }
	json.Unmarshal(b, &created)
	var list struct{ Routes []Route }
	_, b = admin.do("GET", "/console/api/routes", nil, "", false)
	json.Unmarshal(b, &list)
	found := false
	for _, rt := range list.Routes {
		if rt.ID == created.ID {
			found = rt.User == "carol" && rt.Field1 == "RoutingDigits" && rt.Value1 == "555*" && rt.Priority == 7 && rt.Active
		}
	}
	if !found {
		t.Fatalf("route not listed as made: %s", b)
	}
	path := fmt.Sprintf("/console/api/routes/%d", created.ID)
	if r, _ := admin.json("POST", path, map[string]bool{"active": false}, true); r.StatusCode != http.StatusOK {
		t.Fatalf("deactivate route: %d", r.StatusCode)
	}
	rs, _ := e.store.Routes(ctx)
	for _, rt := range rs {
		if rt.ID == created.ID && rt.Active {
			t.Fatal("route still active")
		}
	}
	if r, _ := admin.do("DELETE", path, nil, "", true); r.StatusCode != http.StatusOK {
		t.Fatalf("delete route: %d", r.StatusCode)
	}
	if r, _ := admin.do("DELETE", path, nil, "", true); r.StatusCode != http.StatusNotFound {
		t.Fatalf("delete again: %d", r.StatusCode)
	}
	if r, _ := admin.do("POST", "/console/api/license", strings.NewReader("{}"), "application/json", true); r.StatusCode != http.StatusNotFound {
		t.Fatalf("licence upload without an installer: %d", r.StatusCode)
	}
	// An administrator cannot lock itself out.
	adminUser, _ := e.store.UserByName(ctx, core.AdminUser)
	if r, _ := admin.json("POST", fmt.Sprintf("/console/api/users/%d", adminUser.ID), map[string]bool{"active": false}, true); r.StatusCode != http.StatusConflict {
		t.Fatalf("self-deactivation: %d", r.StatusCode)
	}
	// Notification settings are one's own.
	if r, _ := carol.json("POST", "/console/api/me/notifications", map[string]any{"webhook_url": "gopher://x/"}, true); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad webhook URL: %d", r.StatusCode)
	}
	if r, _ := carol.json("POST", "/console/api/me/notifications", map[string]any{"webhook_url": "https://hooks.example.test/carol", "email_results": true}, true); r.StatusCode != http.StatusOK {
		t.Fatalf("carol's settings: %d", r.StatusCode)
	}
	var n Notifications
	_, b = carol.do("GET", "/console/api/me/notifications", nil, "", false)
	json.Unmarshal(b, &n)
	if n.WebhookURL != "https://hooks.example.test/carol" || !n.EmailResults || n.Email != "carol@example.test" {
		t.Fatalf("carol's settings read back: %s", b)
	}
	if an, _ := e.store.UserNotify(ctx, adminUser.ID); an.WebhookURL != "" {
		t.Fatal("carol's settings reached the admin")
	}
}
