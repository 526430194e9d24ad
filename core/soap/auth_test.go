package soap

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func (e *env) callAs(user, pw, op, inner string) *httptest.ResponseRecorder {
	r := newRequest(e.ver, op, envelope(e.ver, op, inner))
	if user != "" {
		r.SetBasicAuth(user, pw)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func TestBasicAuthScopesRequests(t *testing.T) {
	e := newEnv(t, SOAP11)
	m := e.submit(e.alice, false, "5550101")
	for _, tc := range []struct {
		user, pw, op, body, want string
	}{
		{"", "", "GetMessageStatus", `<msgID>` + id(m) + `</msgID>`, "Queued"},
		{"alice", "alice-password", "GetMessageStatus", `<msgID>` + id(m) + `</msgID>`, "Queued"},
		{"bob", "bob-password", "GetMessageStatus", `<msgID>` + id(m) + `</msgID>`, "MESSAGE_NOT_FOUND"},
		{"bob", "bob-password", "CancelMessage", `<msgID>` + id(m) + `</msgID>`, "MESSAGE_NOT_FOUND"},
		{"bob", "bob-password", "MarkMsgAsRead", `<userID>` + id(e.alice) + `</userID><msgID>` + id(m) + `</msgID>`, "INVALID_USER"},
		{"bob", "bob-password", "ActivateUser", `<adminID>` + id(e.admin) + `</adminID><userID>` + id(e.carol) + `</userID>`, "INVALID_ADMIN"},
		{"admin", adminPassword, "GetMessageStatus", `<msgID>` + id(m) + `</msgID>`, "Queued"},
		{"admin", adminPassword, "MarkMsgAsRead", `<userID>` + id(e.alice) + `</userID><msgID>` + id(m) + `</msgID>`, "OK"},
	} {
		w := e.callAs(tc.user, tc.pw, tc.op, tc.body)
		got := parseResponse(t, SOAP11, tc.op, w).result()
		if got != tc.want {
			t.Errorf("%s as %q: %s, want %s", tc.op, tc.user, got, tc.want)
		}
	}
	w := e.callAs("bob", "wrong", "GetMessageStatus", `<msgID>`+id(m)+`</msgID>`)
	want(t, "status", w.Code, http.StatusUnauthorized)
	if w.Header().Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate")
	}
	parseResponse(t, SOAP11, "GetMessageStatus", w).fault()
	want(t, "messages", e.messageCount(), 1)
	want(t, "still queued", e.message(m).Status, "Queued")
}

func TestRequireAuth(t *testing.T) {
	e := newEnv(t, SOAP12)
	h, err := NewHandler(Config{Store: e.store, RequireAuth: true, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	w := e.callAs("", "", "ServerStatus", ``)
	want(t, "anonymous", w.Code, http.StatusUnauthorized)
	parseResponse(t, SOAP12, "ServerStatus", w).fault()
	w = e.callAs("alice", "alice-password", "ServerStatus", ``)
	want(t, "alice", parseResponse(t, SOAP12, "ServerStatus", w).result(), "OK")
	// A cached login is still checked against the account.
	if err := e.store.SetUserActive(t.Context(), e.alice, false); err != nil {
		t.Fatal(err)
	}
	w = e.callAs("alice", "alice-password", "ServerStatus", ``)
	want(t, "deactivated", w.Code, http.StatusUnauthorized)
}

// TestAuthenticateRateLimitPerUser guesses one user's password from many
// addresses: the account is locked for the window all the same, and other
// users are not.
func TestAuthenticateRateLimitPerUser(t *testing.T) {
	e := newEnv(t, SOAP11)
	auth := func(addr, user, pw string) string {
		r := newRequest(SOAP11, "AuthenticateUser", envelope(SOAP11, "AuthenticateUser", `<userName>`+user+`</userName><password>`+pw+`</password>`))
		r.RemoteAddr = addr + ":1234"
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return parseResponse(t, SOAP11, "AuthenticateUser", w).result()
	}
	for i := range 5 {
		want(t, "guess", auth(fmt.Sprintf("198.51.100.%d", i), "alice", "guess"), "1")
	}
	want(t, "locked", auth("203.0.113.9", "alice", "alice-password"), "1")
	want(t, "bob", auth("203.0.113.9", "bob", "bob-password"), id(e.bob))
	e.clock.t = e.clock.t.Add(time.Minute)
	want(t, "after the window", auth("203.0.113.9", "alice", "alice-password"), id(e.alice))
}
