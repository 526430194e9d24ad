package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/core/loginlimit"
	"github.com/faxagent/faxagent/internal/testutil"
)

const adminPass = "admin-pass-for-tests"

type env struct {
	t     *testing.T
	store core.Store
	srv   *httptest.Server
	con   *Console

	mu    sync.Mutex
	ports []httpapi.Port
}

// newEnv serves the console in front of the JSON API, as serve does.
func newEnv(t *testing.T, tls bool, lc loginlimit.Config) *env {
	t.Helper()
	dir := t.TempDir()
	st, _, err := core.Open(context.Background(), core.Options{DataDir: dir, AdminPassword: adminPass, PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, ports: []httpapi.Port{
		{ID: "M0,0", Driver: "loopback", State: "idle", Licensed: true, Send: true, Receive: true},
		{ID: "M0,1", Driver: "loopback", State: "idle", Licensed: true, Send: true, Receive: true},
	}}
	logins := loginlimit.New(lc)
	con, err := New(Options{Store: st, Logins: logins, EventInterval: 20 * time.Millisecond,
		Ports: func() []httpapi.Port {
			e.mu.Lock()
			defer e.mu.Unlock()
			return append([]httpapi.Port(nil), e.ports...)
		},
		SetPort: func(id string, send, receive, disabled bool) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			for i := range e.ports {
				if e.ports[i].ID == id {
					p := &e.ports[i]
					p.Send, p.Receive, p.Disabled = send, receive, disabled
					p.State = "idle"
					if disabled {
						p.State = "disabled"
					}
					return nil
				}
			}
			return fmt.Errorf("no port %q", id)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Options{Store: st, Logins: logins, Session: con.Session, MaxUpload: 1 << 20, TempDir: t.TempDir(),
		Ports: con.o.Ports})
	if err != nil {
		t.Fatal(err)
	}
	e.con = con
	if tls {
		e.srv = httptest.NewTLSServer(con.Mount(api))
	} else {
		e.srv = httptest.NewServer(con.Mount(api))
	}
	t.Cleanup(func() { con.Close(); e.srv.Close() })
	return e
}

// client is a browser-like client: a cookie jar and the CSRF token.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	hc := *e.srv.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{e: e, hc: &hc}
}

func (c *client) do(method, path string, body io.Reader, ctype string, csrf bool) (*http.Response, []byte) {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if csrf {
		req.Header.Set(CSRFHeader, c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (c *client) json(method, path string, v any, csrf bool) (*http.Response, []byte) {
	c.e.t.Helper()
	b, _ := json.Marshal(v)
	return c.do(method, path, bytes.NewReader(b), "application/json", csrf)
}

func (c *client) login(user, pass string) *http.Response {
	c.e.t.Helper()
	resp, b := c.json("POST", "/console/login", map[string]string{"username": user, "password": pass}, false)
	if resp.StatusCode == http.StatusOK {
		var s sessionInfo
		if err := json.Unmarshal(b, &s); err != nil {
			c.e.t.Fatal(err)
		}
		c.csrf = s.CSRF
	}
	return resp
}

func (e *env) user(name string, admin bool) {
	e.t.Helper()
	if _, err := e.store.CreateUser(context.Background(), core.NewUser{Username: name, Password: name + "-password", Admin: admin}); err != nil {
		e.t.Fatal(err)
	}
}

func letter(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func submitForm(t *testing.T, to string, file []byte) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("to", to)
	w, _ := mw.CreateFormFile("file", "letter.png")
	w.Write(file)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (c *client) submit(to string) httpapi.Message {
	c.e.t.Helper()
	body, ct := submitForm(c.e.t, to, letter(c.e.t))
	resp, b := c.do("POST", "/api/v1/messages", body, ct, true)
	if resp.StatusCode != http.StatusCreated {
		c.e.t.Fatalf("submit: %d %s", resp.StatusCode, b)
	}
	var m httpapi.Message
	json.Unmarshal(b, &m)
	return m
}

// consoleEndpoints are every console API route, with a valid-looking body.
var consoleEndpoints = []struct{ method, path, body string }{
	{"GET", "/console/api/session", ""},
	{"GET", "/console/api/events", ""},
	{"POST", "/console/api/ports/M0,0", `{"send":false,"receive":false,"disabled":true}`},
	{"GET", "/console/api/messages/1/pages/1", ""},
	{"POST", "/console/api/messages/1/trash", ""},
	{"POST", "/console/api/messages/1/restore", ""},
	{"GET", "/console/api/users", ""},
	{"POST", "/console/api/users", `{"username":"mallory","password":"mallory-password"}`},
	{"POST", "/console/api/users/1000", `{"active":false}`},
	{"GET", "/console/api/routes", ""},
	{"POST", "/console/api/routes", `{"user":"admin","field1":"FaxPortNo","value1":"*"}`},
	{"POST", "/console/api/routes/1", `{"active":false}`},
	{"DELETE", "/console/api/routes/1", ""},
	{"GET", "/console/api/license", ""},
	{"GET", "/console/api/me/notifications", ""},
	{"POST", "/console/api/me/notifications", `{"webhook_url":"https://example.test/hook"}`},
	{"POST", "/console/api/license", `{}`},
	{"POST", "/console/logout", ""},
}

func TestConsoleRefusesWithoutSession(t *testing.T) {
	e := newEnv(t, false, loginlimit.Config{})
	anon := e.client()
	for _, ep := range consoleEndpoints {
		resp, b := anon.do(ep.method, ep.path, strings.NewReader(ep.body), "application/json", false)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d %s", ep.method, ep.path, resp.StatusCode, b)
		}
	}
	// A forged cookie is no session either, and the API refuses it too.
	forged := e.client()
	u, _ := http.NewRequest("GET", e.srv.URL, nil)
	forged.hc.Jar.SetCookies(u.URL, []*http.Cookie{{Name: CookieName, Value: "forged-session-value"}})
	for _, p := range []string{"/console/api/session", "/api/v1/messages", "/api/v1/ports"} {
		if resp, _ := forged.do("GET", p, nil, "", false); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a forged cookie: %d", p, resp.StatusCode)
		}
	}
	if _, n, _ := e.store.Messages(context.Background(), core.MessageQuery{Folder: core.FolderOutbox}); n != 0 {
		t.Fatal("a refused request stored a message")
	}
	if us, _ := e.store.Users(context.Background()); len(us) != 1 {
		t.Fatalf("refused requests made users: %d", len(us))
	}
	// The pages themselves are public (they hold no data) and carry the
	// security headers; "/" leads to them.
	resp, _ := anon.do("GET", "/", nil, "", false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != Prefix {
		t.Fatalf("/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/console/", "/console/static/app.js", "/console/api/session"} {
		resp, _ := anon.do("GET", p, nil, "", false)
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", p, h)
		}
	}
}

func TestConsoleCookieAndCSRF(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%t", tls), func(t *testing.T) {
			e := newEnv(t, tls, loginlimit.Config{})
			c := e.client()
			resp := c.login("admin", adminPass)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("login: %d", resp.StatusCode)
			}
			var ck *http.Cookie
			for _, k := range resp.Cookies() {
				if k.Name == CookieName {
					ck = k
				}
			}
			if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != tls || ck.Path != "/" || len(ck.Value) < 40 {
				t.Fatalf("cookie %+v", ck)
			}
			// State-changing requests need the session's CSRF token, on the
			// console and on the API alike; reads do not.
			for _, ep := range consoleEndpoints {
				if ep.method == "GET" {
					continue
				}
				for _, token := range []string{"", "wrong-token"} {
					req, _ := http.NewRequest(ep.method, e.srv.URL+ep.path, strings.NewReader(ep.body))
					req.Header.Set("Content-Type", "application/json")
					if token != "" {
						req.Header.Set(CSRFHeader, token)
					}
					r, err := c.hc.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					r.Body.Close()
					if r.StatusCode != http.StatusForbidden {
						t.Errorf("%s %s with CSRF token %q: %d", ep.method, ep.path, token, r.StatusCode)
					}
				}
			}
			body, ct := submitForm(t, "5550100", letter(t))
			if r, b := c.do("POST", "/api/v1/messages", body, ct, false); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("API submit without the CSRF token: %d %s", r.StatusCode, b)
			}
			if _, n, _ := e.store.Messages(context.Background(), core.MessageQuery{Folder: core.FolderOutbox}); n != 0 {
				t.Fatal("a submission without the CSRF token was stored")
			}
			m := c.submit("5550100")
			if r, _ := c.do("GET", fmt.Sprintf("/api/v1/messages/%d", m.ID), nil, "", false); r.StatusCode != http.StatusOK {
				t.Fatalf("read with the session: %d", r.StatusCode)
			}
			// A cross-origin login is refused.
			req, _ := http.NewRequest("POST", e.srv.URL+"/console/login", strings.NewReader(`{"username":"admin","password":"`+adminPass+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", "https://evil.example")
			if r, err := e.srv.Client().Do(req); err != nil || r.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-origin login: %v %v", r.StatusCode, err)
			}
			// Logout ends the session for good.
			if r, _ := c.do("POST", "/console/logout", nil, "", true); r.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d", r.StatusCode)
			}
			c.hc.Jar.SetCookies(resp.Request.URL, []*http.Cookie{ck})
			if r, _ := c.do("GET", "/console/api/session", nil, "", false); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("old cookie after logout: %d", r.StatusCode)
			}
		})
	}
}

func TestConsoleStandardUserIsolation(t *testing.T) {
	e := newEnv(t, false, loginlimit.Config{})
	e.user("alice", false)
	e.user("bob", false)
	alice, bob, admin := e.client(), e.client(), e.client()
	for _, c := range []struct {
		c    *client
		u, p string
	}{{alice, "alice", "alice-password"}, {bob, "bob", "bob-password"}, {admin, "admin", adminPass}} {
		if r := c.c.login(c.u, c.p); r.StatusCode != http.StatusOK {
			t.Fatalf("login %s: %d", c.u, r.StatusCode)
		}
	}
	bm := bob.submit("5550100")
	var l httpapi.List
	_, b := alice.do("GET", "/api/v1/messages?folder=outbox", nil, "", false)
	json.Unmarshal(b, &l)
	if l.Total != 0 {
		t.Fatalf("alice lists bob's messages: %s", b)
	}
	for _, p := range []string{fmt.Sprintf("/api/v1/messages/%d", bm.ID), fmt.Sprintf("/console/api/messages/%d/pages/1", bm.ID),
		fmt.Sprintf("/api/v1/messages/%d/document?format=pdf", bm.ID)} {
		if r, _ := alice.do("GET", p, nil, "", false); r.StatusCode != http.StatusNotFound {
			t.Errorf("alice GET %s: %d", p, r.StatusCode)
		}
		if r, _ := bob.do("GET", p, nil, "", false); r.StatusCode != http.StatusOK {
			t.Errorf("bob GET %s: %d", p, r.StatusCode)
		}
		if r, _ := admin.do("GET", p, nil, "", false); r.StatusCode != http.StatusOK {
			t.Errorf("admin GET %s: %d", p, r.StatusCode)
		}
	}
	if r, _ := alice.do("POST", fmt.Sprintf("/api/v1/messages/%d/cancel", bm.ID), nil, "", true); r.StatusCode != http.StatusNotFound {
		t.Errorf("alice cancels bob's message: %d", r.StatusCode)
	}
	if r, _ := alice.do("POST", fmt.Sprintf("/console/api/messages/%d/trash", bm.ID), nil, "", true); r.StatusCode != http.StatusNotFound {
		t.Errorf("alice trashes bob's message: %d", r.StatusCode)
	}
	// Bob moves his message to the trash and back.
	for _, step := range []struct{ action, folder string }{{"trash", "trash"}, {"restore", "outbox"}} {
		r, b := bob.do("POST", fmt.Sprintf("/console/api/messages/%d/%s", bm.ID, step.action), nil, "", true)
		if d, _ := e.store.Message(context.Background(), bm.ID); r.StatusCode != http.StatusOK || string(d.Folder) != step.folder {
			t.Fatalf("bob %s: %d %s, folder %s", step.action, r.StatusCode, b, d.Folder)
		}
	}
	// Administration is for administrators.
	for _, ep := range consoleEndpoints {
		admin := strings.Contains(ep.path, "/users") || strings.Contains(ep.path, "/routes") || strings.Contains(ep.path, "/license") || strings.Contains(ep.path, "/ports/")
		if !admin {
			continue
		}
		r, _ := alice.do(ep.method, ep.path, strings.NewReader(ep.body), "application/json", true)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("alice %s %s: %d", ep.method, ep.path, r.StatusCode)
		}
	}
	if e.ports[0].Disabled {
		t.Fatal("a standard user disabled a port")
	}
	// Deactivating a user ends its sessions at once.
	var users struct{ Users []User }
	_, b = admin.do("GET", "/console/api/users", nil, "", false)
	json.Unmarshal(b, &users)
	var bobID int64
	for _, u := range users.Users {
		if u.Username == "bob" {
			bobID = u.ID
		}
	}
	if r, b := admin.json("POST", fmt.Sprintf("/console/api/users/%d", bobID), map[string]bool{"active": false}, true); r.StatusCode != http.StatusOK {
		t.Fatalf("deactivate bob: %d %s", r.StatusCode, b)
	}
	if r, _ := bob.do("GET", "/console/api/session", nil, "", false); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bob's session after deactivation: %d", r.StatusCode)
	}
}

func TestConsoleLoginLimited(t *testing.T) {
	e := newEnv(t, false, loginlimit.Config{PairFailures: 3, Backoff: time.Hour})
	c := e.client()
	for i := 0; i < 3; i++ {
		if r := c.login("admin", "wrong"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i, r.StatusCode)
		}
	}
	// The pair now backs off: even the right password is not checked.
	if r := c.login("admin", adminPass); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password after 3 failures: %d", r.StatusCode)
	}
	if r, _ := c.do("GET", "/console/api/session", nil, "", false); r.StatusCode != http.StatusUnauthorized {
		t.Fatal("a limited login made a session")
	}
}

func TestConsoleUploadLimits(t *testing.T) {
	e := newEnv(t, false, loginlimit.Config{})
	c := e.client()
	c.login("admin", adminPass)
	big := bytes.Repeat([]byte("x"), 2<<20)
	body, ct := submitForm(t, "5550100", big)
	if r, b := c.do("POST", "/api/v1/messages", body, ct, true); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("submission over the limit: %d %s", r.StatusCode, b)
	}
	bigJSON := append(append([]byte(`{"username":"`), big...), `"}`...)
	if r, _ := c.do("POST", "/console/api/users", bytes.NewReader(bigJSON), "application/json", true); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("JSON body over the limit: %d", r.StatusCode)
	}
	if r, _ := c.do("POST", "/console/login", bytes.NewReader(bigJSON), "application/json", false); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("login body over the limit: %d", r.StatusCode)
	}
	if _, n, _ := e.store.Messages(context.Background(), core.MessageQuery{Folder: core.FolderOutbox}); n != 0 {
		t.Fatal("a refused upload was stored")
	}
}

// TestConsolePageImage checks the page PNG against netpbm's reading of the
// TIFF the API downloads for the same message.
func TestConsolePageImage(t *testing.T) {
	testutil.Tool(t, "tifftopnm")
	e := newEnv(t, false, loginlimit.Config{})
	c := e.client()
	c.login("admin", adminPass)
	m := c.submit("5550100")
	r, pngBytes := c.do("GET", fmt.Sprintf("/console/api/messages/%d/pages/1", m.ID), nil, "", false)
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Page-Count") != "1" {
		t.Fatalf("page 1: %d %v", r.StatusCode, r.Header)
	}
	if r, _ := c.do("GET", fmt.Sprintf("/console/api/messages/%d/pages/2", m.ID), nil, "", false); r.StatusCode != http.StatusNotFound {
		t.Fatalf("page 2 of 1: %d", r.StatusCode)
	}
	for _, bad := range []string{"0", "-1", "x", "99999999999999999999"} {
		if r, _ := c.do("GET", fmt.Sprintf("/console/api/messages/%d/pages/%s", m.ID, bad), nil, "", false); r.StatusCode != http.StatusBadRequest {
			t.Errorf("page %q: %d", bad, r.StatusCode)
		}
	}
	_, tiff := c.do("GET", fmt.Sprintf("/api/v1/messages/%d/document?format=tiff", m.ID), nil, "", false)
	testutil.PNGEqualsTIFF(t, pngBytes, tiff)
}

func TestConsoleEvents(t *testing.T) {
	e := newEnv(t, false, loginlimit.Config{})
	c := e.client()
	c.login("admin", adminPass)
	req, _ := http.NewRequest("GET", e.srv.URL+"/console/api/events", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.hc.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	events := make(chan [2]string, 16)
	go func() {
		defer close(events)
		var ev string
		buf := make([]byte, 0, 4096)
		tmp := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(tmp)
			buf = append(buf, tmp[:n]...)
			for {
				i := bytes.Index(buf, []byte("\n"))
				if i < 0 {
					break
				}
				line := string(buf[:i])
				buf = buf[i+1:]
				switch {
				case strings.HasPrefix(line, "event: "):
					ev = line[7:]
				case strings.HasPrefix(line, "data: "):
					events <- [2]string{ev, line[6:]}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	next := func(kind string) string {
		t.Helper()
		for ev := range events {
			if ev[0] == kind {
				return ev[1]
			}
		}
		t.Fatalf("stream ended before a %q event", kind)
		return ""
	}
	var ports []httpapi.Port
	json.Unmarshal([]byte(next("ports")), &ports)
	if len(ports) != 2 || ports[1].State != "idle" {
		t.Fatalf("first ports event: %+v", ports)
	}
	next("messages")
	if r, b := c.json("POST", "/console/api/ports/M0,1", map[string]bool{"send": true, "receive": true, "disabled": true}, true); r.StatusCode != http.StatusOK {
		t.Fatalf("disable: %d %s", r.StatusCode, b)
	}
	json.Unmarshal([]byte(next("ports")), &ports)
	if ports[1].State != "disabled" || !ports[1].Disabled {
		t.Fatalf("after disabling M0,1: %+v", ports[1])
	}
	c.submit("5550100")
	next("messages")
	// Too many streams for one user are refused, whichever session asks.
	var open []*http.Response
	for i := 0; i < MaxStreamsPerUser; i++ {
		cl := c
		if i%2 == 1 {
			cl = e.client()
			cl.login("admin", adminPass)
		}
		r, err := cl.hc.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, r)
	}
	last := open[len(open)-1]
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("stream %d of a user: %d", MaxStreamsPerUser+1, last.StatusCode)
	}
	for _, r := range open {
		r.Body.Close()
	}
	// Logging out ends the stream, with nothing else changing.
	c.do("POST", "/console/logout", nil, "", true)
	if next("logout") != "{}" {
		t.Fatal("logout event")
	}
	for range events {
	}
}

// TestConsoleEventsPortsForUsers: the ports a standard user's event
// stream shows have no job and no live call (other users' faxes); an
// administrator's have both. (Before, every session got the same ports,
// job IDs and calls in progress included.)
func TestConsoleEventsPortsForUsers(t *testing.T) {
	e := newEnv(t, false, loginlimit.Config{})
	e.mu.Lock()
	e.ports[0].State, e.ports[0].Job = "sending", "17"
	e.ports[0].Call = &httpapi.PortCall{Direction: "outbound", Page: 2, Pages: 5}
	e.mu.Unlock()
	e.user("alice", false)
	firstPorts := func(name, pass string) []httpapi.Port {
		t.Helper()
		c := e.client()
		c.login(name, pass)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/console/api/events", nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		ev := ""
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok && ev == "ports" {
				var ports []httpapi.Port
				if err := json.Unmarshal([]byte(v), &ports); err != nil {
					t.Fatal(err)
				}
				return ports
			}
		}
		t.Fatalf("%s: no ports event: %v", name, sc.Err())
		return nil
	}
	if p := firstPorts("alice", "alice-password"); len(p) != 2 || p[0].Job != "" || p[0].Call != nil || p[0].State != "sending" {
		t.Errorf("standard user sees %+v", p)
	}
	if p := firstPorts("admin", adminPass); len(p) != 2 || p[0].Job != "17" || p[0].Call == nil {
		t.Errorf("administrator sees %+v", p)
	}
}
