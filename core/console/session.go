package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/core/loginlimit"
)

// CookieName is the session cookie; CSRFHeader carries the session's CSRF
// token on every request but GET and HEAD.
const (
	CookieName = "faxagent_session"
	CSRFHeader = "X-CSRF-Token"
)

var (
	errNoSession = errors.New("console: no valid session")
	errCSRF      = errors.New("console: missing or wrong CSRF token")
)

// session is a logged-in user. The store is asked on every request whether
// the user is still active and an administrator.
type session struct {
	key     [32]byte // SHA-256 of the cookie's secret
	csrf    string
	userID  int64
	user    string
	admin   bool
	created time.Time
	used    time.Time
}

type sessions struct {
	o       Options
	mu      sync.Mutex
	m       map[[32]byte]*session
	streams map[int64]int // open event streams by user
}

func newSessions(o Options) *sessions {
	return &sessions{o: o, m: map[[32]byte]*session{}, streams: map[int64]int{}}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// create makes a session; errFull when MaxSessions live sessions exist.
func (ss *sessions) create(u core.User, admin bool) (secret string, s *session, err error) {
	secret, err = randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	now := ss.o.Now()
	s = &session{key: sha256.Sum256([]byte(secret)), csrf: csrf, userID: u.ID, user: u.Username, admin: admin, created: now, used: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.dropOldestOf(u.ID, now)
	if len(ss.m) >= ss.o.MaxSessions {
		for k, old := range ss.m {
			if ss.expired(old, now) {
				delete(ss.m, k)
			}
		}
		if len(ss.m) >= ss.o.MaxSessions {
			return "", nil, errFull
		}
	}
	ss.m[s.key] = s
	cp := *s
	return secret, &cp, nil
}

// dropOldestOf ends user's least recently used session when the user
// holds MaxSessionsPerUser live ones (expired ones go first). ss.mu is
// held.
func (ss *sessions) dropOldestOf(user int64, now time.Time) {
	if ss.o.MaxSessionsPerUser <= 0 {
		return
	}
	n := 0
	var oldest *session
	for k, s := range ss.m {
		if s.userID != user {
			continue
		}
		if ss.expired(s, now) {
			delete(ss.m, k)
			continue
		}
		n++
		if oldest == nil || s.used.Before(oldest.used) {
			oldest = s
		}
	}
	if n >= ss.o.MaxSessionsPerUser && oldest != nil {
		delete(ss.m, oldest.key)
	}
}

var errFull = errors.New("console: too many sessions; try again later")

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.used) >= ss.o.SessionIdle || now.Sub(s.created) >= ss.o.SessionMax
}

// lookup finds the live session of a cookie secret, marks it used and
// returns a copy.
func (ss *sessions) lookup(secret string) (*session, bool) {
	key := sha256.Sum256([]byte(secret))
	now := ss.o.Now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[key]
	if s == nil {
		return nil, false
	}
	if ss.expired(s, now) {
		delete(ss.m, key)
		return nil, false
	}
	s.used = now
	cp := *s
	return &cp, true
}

// alive reports whether s has not ended (logout or expiry), without
// marking it used.
func (ss *sessions) alive(s *session) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	cur := ss.m[s.key]
	return cur != nil && !ss.expired(cur, ss.o.Now())
}

func (ss *sessions) remove(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, s.key)
}

// removeUser ends every session of a user.
func (ss *sessions) removeUser(id int64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, s := range ss.m {
		if s.userID == id {
			delete(ss.m, k)
		}
	}
}

// authenticate finds the request's session: the cookie must name a live
// session of a user still active, and a request other than GET or HEAD
// must carry the session's CSRF token.
func (c *Console) authenticate(r *http.Request) (*session, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return nil, errNoSession
	}
	s, ok := c.sessions.lookup(ck.Value)
	if !ok {
		return nil, errNoSession
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
			return nil, errCSRF
		}
	}
	u, err := c.o.Store.User(r.Context(), s.userID)
	if err != nil || !u.Active {
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			c.log.Error("console: session user", "user", s.userID, "err", err)
			return nil, err
		}
		c.sessions.remove(s)
		return nil, errNoSession
	}
	cp := *s // the shared session is changed only under the lock
	cp.admin = u.Admin && u.Role != core.RoleDomainAdmin
	return &cp, nil
}

// Session authenticates a request by its console session, for the JSON
// API (httpapi.Options.Session): a state-changing request needs the CSRF
// token too.
func (c *Console) Session(r *http.Request) (httpapi.Principal, bool) {
	s, err := c.authenticate(r)
	if err != nil {
		return httpapi.Principal{}, false
	}
	return httpapi.Principal{UserID: s.userID, Admin: s.admin}, true
}

func (c *Console) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || c.o.SecureCookie}
}

type sessionInfo struct {
	User  string `json:"user"`
	ID    int64  `json:"user_id"`
	Admin bool   `json:"admin"`
	CSRF  string `json:"csrf"`
}

// login checks a user name and password through the shared login limiter
// and starts a session: POST /console/login {"username", "password"}.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !c.sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin login refused")
		return
	}
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, 4096, &in) {
		return
	}
	src, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		src = r.RemoteAddr
	}
	var u core.User
	ok, err := c.o.Logins.Check(r.Context(), in.Username, src, func() (bool, error) {
		var err error
		u, err = c.o.Store.Authenticate(r.Context(), in.Username, in.Password)
		if errors.Is(err, core.ErrAuth) || errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
			return false, nil
		}
		return err == nil, err
	})
	switch {
	case errors.Is(err, loginlimit.ErrLimited):
		c.log.Warn("console: login refused: too many failures", "client", src, "user", in.Username)
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusTooManyRequests, "too many failed logins; try again later")
		return
	case errors.Is(err, context.Canceled):
		return
	case err != nil:
		c.storeError(w, r, err)
		return
	case !ok:
		c.log.Info("console: login failed", "client", src, "user", in.Username)
		writeError(w, http.StatusUnauthorized, "wrong user name or password")
		return
	}
	secret, s, err := c.sessions.create(u, u.Admin && u.Role != core.RoleDomainAdmin)
	if errors.Is(err, errFull) {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	http.SetCookie(w, c.cookie(r, secret, int(c.o.SessionMax.Seconds())))
	c.log.Info("console: login", "client", src, "user", u.Username)
	writeJSON(w, http.StatusOK, sessionInfo{User: u.Username, ID: u.ID, Admin: s.admin, CSRF: s.csrf})
}

// sameOrigin refuses a request whose Origin header names another site
// (behind a TLS-terminating proxy, SecureCookie, the origin is https).
func (c *Console) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if o == "https://"+r.Host && (r.TLS != nil || c.o.SecureCookie) {
		return true
	}
	return o == "http://"+r.Host && r.TLS == nil
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.remove(s)
	http.SetCookie(w, c.cookie(r, "", -1))
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (c *Console) session(w http.ResponseWriter, r *http.Request, s *session) {
	writeJSON(w, http.StatusOK, sessionInfo{User: s.user, ID: s.userID, Admin: s.admin, CSRF: s.csrf})
}
