package console

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/core/loginlimit"
	"github.com/faxagent/faxagent/core/worklimit"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

//go:embed assets
var assets embed.FS

// Prefix is the path under which the console is served ("/" redirects
// there).
const Prefix = "/console/"

// License is the licence as the console shows it.
type License struct {
	AgentID  string         `json:"agent_id"`
	Customer string         `json:"customer,omitempty"`
	Ports    map[string]int `json:"ports"`
	Issued   time.Time      `json:"issued"`
	Expires  time.Time      `json:"expires"`
	// Pending is set for a licence installed while the agent runs: it
	// takes effect at the next start.
	Pending bool `json:"pending,omitempty"`
}

// Options configure the console.
type Options struct {
	Store core.Store
	// Logins limits password logins; share the process's limiter (the
	// API's and SOAP's) so that every login counts against the same
	// limits. Required.
	Logins *loginlimit.Limiter
	// Ports lists this process's ports (nil: none).
	Ports func() []httpapi.Port
	// SetPort changes a port's settings (nil: ports are read-only).
	SetPort func(id string, send, receive, disabled bool) error
	// License returns the agent's licence (nil or false: none).
	License func() (License, bool)
	// InstallLicense checks a signed licence file and installs it (nil:
	// uploads refused).
	InstallLicense func(file []byte) (License, error)
	// Conversions caps the documents converted at once (shared with the
	// API); nil: no cap.
	Conversions *worklimit.Semaphore
	// DocumentLimits bound the pages and pixels of a document rendered as
	// page images (zero fields: faxdoc's defaults).
	DocumentLimits faxdoc.Limits
	// SecureCookie marks the session cookie Secure on every response
	// (behind a TLS-terminating proxy); under TLS it always is.
	SecureCookie bool
	// SessionIdle ends a session unused this long (default 30 min);
	// SessionMax ends any session this long after login (default 12 h).
	SessionIdle time.Duration
	SessionMax  time.Duration
	// MaxSessions bounds the sessions held (default 10000): logins beyond
	// it are refused until sessions expire.
	MaxSessions int
	// MaxSessionsPerUser bounds one user's sessions (default 20): a
	// further login ends that user's least recently used session, so one
	// user cannot fill MaxSessions and lock everyone out.
	MaxSessionsPerUser int
	// EventInterval is how often live state is compared for the event
	// streams (default 500 ms); MaxStreams bounds the open streams
	// (default 100, at most MaxStreamsPerUser per user).
	EventInterval time.Duration
	MaxStreams    int
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Console is the web console's handler.
type Console struct {
	o        Options
	log      *slog.Logger
	mux      *http.ServeMux
	sessions *sessions
	hub      *hub

	mu      sync.Mutex
	pending *License // a licence installed since the start

	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

// Close ends the open event streams (for http.Server.RegisterOnShutdown:
// a server shutting down waits for its requests).
func (c *Console) Close() {
	c.closeOnce.Do(func() { close(c.done) })
}

// New makes the console.
func New(o Options) (*Console, error) {
	if o.Store == nil || o.Logins == nil {
		return nil, errors.New("console: a store and a login limiter are required")
	}
	if o.MaxSessionsPerUser <= 0 {
		o.MaxSessionsPerUser = 20
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 12 * time.Hour
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 10000
	}
	if o.EventInterval <= 0 {
		o.EventInterval = 500 * time.Millisecond
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Console{o: o, log: o.Logger, mux: http.NewServeMux(), done: make(chan struct{})}
	c.sessions = newSessions(o)
	c.hub = newHub(c)
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	c.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, static, "index.html")
	})
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("POST /console/login", c.login)
	c.api("POST /console/logout", false, c.logout)
	c.api("GET /console/api/session", false, c.session)
	c.api("GET /console/api/events", false, c.events)
	c.api("POST /console/api/ports/{id}", true, c.setPort)
	c.api("GET /console/api/messages/{id}/pages/{n}", false, c.pageImage)
	c.api("POST /console/api/messages/{id}/trash", false, c.trash)
	c.api("POST /console/api/messages/{id}/restore", false, c.restore)
	c.api("GET /console/api/me/notifications", false, c.myNotifications)
	c.api("POST /console/api/me/notifications", false, c.setMyNotifications)
	c.api("GET /console/api/users", true, c.users)
	c.api("POST /console/api/users", true, c.createUser)
	c.api("POST /console/api/users/{id}", true, c.updateUser)
	c.api("GET /console/api/routes", true, c.routes)
	c.api("POST /console/api/routes", true, c.createRoute)
	c.api("POST /console/api/routes/{id}", true, c.updateRoute)
	c.api("DELETE /console/api/routes/{id}", true, c.deleteRoute)
	c.api("GET /console/api/license", true, c.license)
	c.api("POST /console/api/license", true, c.installLicense)
	c.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such page")
	})
	return c, nil
}

// Mount serves the console's paths ("/" and everything under /console)
// and hands every other request to next.
func (c *Console) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, Prefix) {
			c.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP implements http.Handler, with the security headers on every
// response.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.mux.ServeHTTP(w, r)
}

type apiFunc func(w http.ResponseWriter, r *http.Request, s *session)

// api registers a handler that needs a session (and the CSRF token for
// any method but GET and HEAD); admin handlers need a system admin.
func (c *Console) api(pattern string, admin bool, h apiFunc) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		s, err := c.authenticate(r)
		switch {
		case errors.Is(err, errCSRF):
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token")
			return
		case err != nil:
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		case admin && !s.admin:
			writeError(w, http.StatusForbidden, "administrators only")
			return
		}
		h(w, r, s)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// storeError answers a store error with its status.
func (c *Console) storeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, core.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, core.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, core.ErrExists), errors.Is(err, core.ErrState):
		status = http.StatusConflict
	}
	if status == http.StatusInternalServerError {
		c.log.Error("console", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, status, "internal error")
		return
	}
	writeError(w, status, err.Error())
}

// readJSON decodes a small JSON body (at most max bytes) into v.
func readJSON(w http.ResponseWriter, r *http.Request, max int64, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "want application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", max))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	return true
}
