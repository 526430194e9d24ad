package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/core"
)

// token asks for a token with a bearer token (or Basic credentials when
// bearer is "user:password") and returns the answer's status and body.
func (e *env) token(bearer string, req TokenRequest) (int, Token) {
	e.t.Helper()
	b, _ := json.Marshal(req)
	r, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/tokens", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	if user, pw, basic := strings.Cut(bearer, ":"); basic {
		r.SetBasicAuth(user, pw)
	} else if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var t Token
	json.NewDecoder(resp.Body).Decode(&t)
	return resp.StatusCode, t
}

func (e *env) submitAs(token, to string) Message {
	e.t.Helper()
	body, ct := form(e.t, part{"to", "", []byte(to)}, part{"file", "letter.png", letter(e.t)})
	resp, b := e.do(http.MethodPost, "/api/v1/messages", token, body, ct)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("submit: %d %s", resp.StatusCode, b)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) mkUser(name string) core.User {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), core.NewUser{Username: name, Password: name + "-password"})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// TestUserTokens: a standard user's token reaches only the user's own
// messages; the admin's token every message; a revoked token nothing.
func TestUserTokens(t *testing.T) {
	e := newEnv(t, 0)
	alice, bob := e.mkUser("alice"), e.mkUser("bob")
	status, at := e.token(testToken, TokenRequest{User: "alice", Name: "alice's laptop"})
	if status != http.StatusCreated || at.UserID != alice.ID || at.User != "alice" || !strings.HasPrefix(at.Secret, core.TokenPrefix) {
		t.Fatalf("admin makes alice's token: %d %+v", status, at)
	}
	status, bt := e.token("bob:bob-password", TokenRequest{Name: "bob's script"})
	if status != http.StatusCreated || bt.UserID != bob.ID {
		t.Fatalf("bob makes his own token with his password: %d %+v", status, bt)
	}
	ma := e.submitAs(at.Secret, "5550101")
	mb := e.submitAs(bt.Secret, "5550102")
	if ma.OwnerID != alice.ID || mb.OwnerID != bob.ID {
		t.Fatalf("owners %d %d, want %d %d", ma.OwnerID, mb.OwnerID, alice.ID, bob.ID)
	}
	list := func(token string) []int64 {
		resp, b := e.do("GET", "/api/v1/messages?folder=outbox", token, nil, "")
		if resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, b)
		}
		var l List
		json.Unmarshal(b, &l)
		var ids []int64
		for _, m := range l.Messages {
			ids = append(ids, m.ID)
		}
		return ids
	}
	if got := fmt.Sprint(list(at.Secret)); got != fmt.Sprint([]int64{ma.ID}) {
		t.Errorf("alice's list %s, want only %d", got, ma.ID)
	}
	if got := list(testToken); len(got) != 2 {
		t.Errorf("admin's list %v, want both", got)
	}

	for _, tc := range []struct {
		method, path string
		alice, admin int // status for alice's token, the admin's
	}{
		{"GET", fmt.Sprintf("/api/v1/messages/%d", mb.ID), 404, 200},
		{"GET", fmt.Sprintf("/api/v1/messages/%d/document", mb.ID), 404, 200},
		{"POST", fmt.Sprintf("/api/v1/messages/%d/retry", mb.ID), 404, 409}, // the admin's: nothing failed
		{"POST", fmt.Sprintf("/api/v1/messages/%d/cancel", mb.ID), 404, 200},
		{"GET", fmt.Sprintf("/api/v1/messages/%d", ma.ID), 200, 200},
		{"GET", fmt.Sprintf("/api/v1/messages/%d/document", ma.ID), 200, 200},
	} {
		for _, who := range []struct {
			token string
			want  int
		}{{at.Secret, tc.alice}, {testToken, tc.admin}} {
			if tc.admin == 200 && who.token == testToken && strings.HasSuffix(tc.path, "cancel") {
				// alice's refused cancel left bob's message queued.
				var m Message
				e.getJSON(fmt.Sprintf("/api/v1/messages/%d", mb.ID), 200, &m)
				if m.Status != "Queued" {
					t.Errorf("bob's message after alice's cancel: %s", m.Status)
				}
			}
			resp, b := e.do(tc.method, tc.path, who.token, nil, "")
			if resp.StatusCode != who.want {
				t.Errorf("%s %s with %s's token: %d %s, want %d", tc.method, tc.path,
					map[bool]string{true: "alice", false: "admin"}[who.token == at.Secret], resp.StatusCode, b, who.want)
			}
		}
	}
	// Tokens: alice may not make or revoke bob's, nor list them.
	if status, _ := e.token(at.Secret, TokenRequest{User: "bob"}); status != http.StatusForbidden {
		t.Errorf("alice makes bob's token: %d", status)
	}
	if status, _ := e.token(at.Secret, TokenRequest{User: "nobody"}); status != http.StatusForbidden {
		t.Errorf("alice makes a token for an unknown user: %d", status)
	}
	resp, b := e.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", bt.ID), at.Secret, nil, "")
	if resp.StatusCode != 404 {
		t.Errorf("alice revokes bob's token: %d %s", resp.StatusCode, b)
	}
	resp, b = e.do("GET", "/api/v1/tokens", at.Secret, nil, "")
	var ts Tokens
	json.Unmarshal(b, &ts)
	if resp.StatusCode != 200 || len(ts.Tokens) != 1 || ts.Tokens[0].ID != at.ID || ts.Tokens[0].Secret != "" {
		t.Errorf("alice's token list: %d %s", resp.StatusCode, b)
	}
	resp, b = e.do("GET", "/api/v1/tokens?user=bob", testToken, nil, "")
	ts = Tokens{}
	json.Unmarshal(b, &ts)
	if resp.StatusCode != 200 || len(ts.Tokens) != 1 || ts.Tokens[0].ID != bt.ID {
		t.Errorf("admin lists bob's tokens: %d %s", resp.StatusCode, b)
	}

	// Revoked (bob's by the admin, alice's by herself): refused.
	if resp, b := e.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", bt.ID), testToken, nil, ""); resp.StatusCode != 200 {
		t.Fatalf("admin revokes bob's token: %d %s", resp.StatusCode, b)
	}
	if resp, b := e.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", at.ID), at.Secret, nil, ""); resp.StatusCode != 200 {
		t.Fatalf("alice revokes her token: %d %s", resp.StatusCode, b)
	}
	for _, tok := range []string{at.Secret, bt.Secret} {
		resp, _ := e.do("GET", "/api/v1/messages?folder=outbox", tok, nil, "")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("revoked token: %d", resp.StatusCode)
		}
	}
	// A deactivated user's token is refused too.
	_, ct := e.token(testToken, TokenRequest{User: "alice"})
	if err := e.store.SetUserActive(context.Background(), alice.ID, false); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do("GET", "/api/v1/messages?folder=outbox", ct.Secret, nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("deactivated user's token: %d", resp.StatusCode)
	}
}

// TestTokenPasswordLoginLimited: wrong passwords at the token endpoint
// count as login failures; the right one is refused during the back-off.
func TestTokenPasswordLoginLimited(t *testing.T) {
	e := newEnv(t, 0)
	e.mkUser("alice")
	for i := range 5 {
		if status, _ := e.token("alice:wrong-"+fmt.Sprint(i), TokenRequest{}); status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i, status)
		}
	}
	if status, _ := e.token("alice:alice-password", TokenRequest{}); status != http.StatusUnauthorized {
		t.Fatalf("right password during the back-off: %d", status)
	}
	if status, _ := e.token("", TokenRequest{}); status != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", status)
	}
}

// TestPortsForUsers: a standard user's token lists the ports (numbers,
// states, groups: what presets name) but not which job a port is calling
// nor its live call, nor the agents (hosts, addresses); the admin's sees
// all.
// (Before, any token saw other users' jobs and calls in progress.)
func TestPortsForUsers(t *testing.T) {
	e := newEnv(t, 0)
	e.mkUser("alice")
	_, at := e.token("alice:alice-password", TokenRequest{Name: "laptop"})
	s := limitServer(t, e, func(o *Options) {
		o.Ports = func() []Port {
			return []Port{{Agent: "a1", ID: "M0,0", Number: "5550101", State: "sending", Job: "17",
				Call: &PortCall{Direction: "outbound", Page: 2, Pages: 5}}}
		}
	})
	get := func(token string) Ports {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "/api/v1/ports", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var p Ports
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != http.StatusOK || len(p.Ports) != 1 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		return p
	}
	if p := get(at.Secret); p.Ports[0].Job != "" || p.Ports[0].Call != nil || p.Agents != nil ||
		p.Ports[0].Number != "5550101" || p.Ports[0].State != "sending" {
		t.Errorf("standard user sees %+v", p)
	}
	if p := get(testToken); p.Ports[0].Job != "17" || p.Ports[0].Call == nil {
		t.Errorf("admin sees %+v", p)
	}
}
