package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/loginlimit"
	"github.com/faxagent/faxagent/core/worklimit"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

// DefaultConversionTimeout bounds one request's document conversion.
const DefaultConversionTimeout = 2 * time.Minute

// conversion takes a conversion slot and returns the context the
// conversion runs in: the request's (so that it stops when the client
// goes) with the time budget. Without a slot it answers 503 itself and
// returns ok false.
func (s *Server) conversion(w http.ResponseWriter, r *http.Request) (ctx context.Context, done func(), ok bool) {
	release, err := s.o.Conversions.TryAcquire()
	if err != nil {
		w.Header().Set("Retry-After", s.o.Conversions.RetryAfterSeconds())
		writeError(w, http.StatusServiceUnavailable, "too many documents being converted at once; try again later")
		return nil, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.o.ConversionTimeout)
	return ctx, func() { cancel(); release() }, true
}

// conversionError answers a failed conversion: over a limit or the time
// budget 413, the client gone nothing (it is not listening), anything else
// 400 with prefix.
func (s *Server) conversionError(w http.ResponseWriter, r *http.Request, prefix string, err error) {
	switch {
	case r.Context().Err() != nil:
		s.log.Info("api: client went away during a conversion", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
	case errors.Is(err, faxdoc.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, prefix+err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%sconverting took longer than the budget of %v", prefix, s.o.ConversionTimeout))
	default:
		writeError(w, http.StatusBadRequest, prefix+err.Error())
	}
}

// Principal is who a token belongs to.
type Principal struct {
	UserID int64
	Admin  bool
}

// Options configure the API.
type Options struct {
	Store core.Store
	// Tokens maps static bearer tokens (the one serve writes for the CLI)
	// to their principals; users' tokens are in the store.
	Tokens map[string]Principal
	// Logins limits password logins (POST /api/v1/tokens with Basic
	// credentials); nil makes one with loginlimit's defaults. Share one
	// between the services of a process.
	Logins *loginlimit.Limiter
	// MaxUpload bounds a submission's whole body; 0 means 32 MiB.
	MaxUpload int64
	// Ports lists the ports of this process's agent (nil: none);
	// Destinations its drivers' notes about destinations (nil: none).
	Ports        func() []Port
	Destinations func() []Destination
	// CheckNumber refuses a recipient's number the agent's dial rules
	// cannot dial (nil: numbers are checked by core.NormalizeFax only).
	CheckNumber func(number string) error
	// CheckPreset refuses a submission's preset that names no port or
	// group an agent has (nil: presets are checked for form only).
	CheckPreset func(ctx context.Context, p core.Preset) error
	// Wake is called after a submission or retry (nil: nothing), so an
	// agent claims at once.
	Wake func()
	// CancelActive tells this process's agent to hang up a job it is
	// calling (nil: the agent learns it when it renews its lease).
	CancelActive func(jobID int64)
	// Metrics is served at /metrics without authentication (nil: 404).
	Metrics http.Handler
	// Ready reports whether the service can take work (nil: ready).
	Ready func(ctx context.Context) error
	// TempDir holds uploads while they are checked ("" the system's).
	TempDir string
	// CoverDir holds cover page templates, NAME.txt (faxdoc.CoverTemplate);
	// "" offers only the shipped "default".
	CoverDir string
	// Conversions caps the documents converted at once (uploads and
	// downloads; shared with the SOAP service); over it a request gets
	// 503 with Retry-After. nil: no cap.
	Conversions *worklimit.Semaphore
	// ConversionTimeout bounds one request's conversion; 0 means 2
	// minutes. A conversion also stops when its client goes away.
	ConversionTimeout time.Duration
	// DocumentLimits bound each document's pages and pixels (zero fields:
	// faxdoc's defaults).
	DocumentLimits faxdoc.Limits
	// Session authenticates a request that has no Authorization header by
	// other means (the web console's session cookie, whose handler also
	// checks the CSRF token of a state-changing request); nil: bearer
	// tokens only.
	Session func(r *http.Request) (Principal, bool)
	Logger  *slog.Logger
}

// Server is the HTTP API.
type Server struct {
	o      Options
	log    *slog.Logger
	mux    *http.ServeMux
	tokens []tokenEntry
	logins *loginlimit.Limiter
}

type tokenEntry struct {
	sum [32]byte
	p   Principal
}

// New returns the API handler.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("httpapi: no store")
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = 32 << 20
	}
	if o.ConversionTimeout <= 0 {
		o.ConversionTimeout = DefaultConversionTimeout
	}
	s := &Server{o: o, log: o.Logger, mux: http.NewServeMux(), logins: o.Logins}
	if s.logins == nil {
		s.logins = loginlimit.New(loginlimit.Config{})
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for tok, p := range o.Tokens {
		if len(tok) < 16 {
			return nil, errors.New("httpapi: API tokens must have at least 16 characters")
		}
		s.tokens = append(s.tokens, tokenEntry{sha256.Sum256([]byte(tok)), p})
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	if o.Metrics != nil {
		s.mux.Handle("GET /metrics", o.Metrics)
	}
	s.handle("POST /api/v1/messages", s.submit)
	s.handle("GET /api/v1/messages", s.list)
	s.handle("GET /api/v1/messages/{id}", s.message)
	s.handle("POST /api/v1/messages/{id}/cancel", s.cancel)
	s.handle("POST /api/v1/messages/{id}/retry", s.retry)
	s.handle("POST /api/v1/messages/{id}/alter", s.alter)
	s.handle("GET /api/v1/messages/{id}/document", s.document)
	s.handle("GET /api/v1/messages/{id}/deliveries", s.deliveries)
	s.handle("GET /api/v1/ports", s.ports)
	s.mux.HandleFunc("POST /api/v1/tokens", s.createToken)
	s.handle("GET /api/v1/tokens", s.listTokens)
	s.handle("DELETE /api/v1/tokens/{id}", s.revokeToken)
	s.handle("GET /api/v1/calls", s.calls)
	s.handle("POST /api/v1/agents/credentials", s.createAgentCredential)
	s.handle("GET /api/v1/agents/credentials", s.listAgentCredentials)
	s.handle("DELETE /api/v1/agents/credentials/{id}", s.revokeAgentCredential)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.auth(r); !ok {
			unauthorized(w)
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p Principal)

func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.auth(r)
		if !ok {
			unauthorized(w)
			return
		}
		h(w, r, p)
	})
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="faxagent"`)
	writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
}

type principalKey struct{}

// WithPrincipal marks a request that the program makes itself (the e-mail
// gateway's submission through the API's intake) as made by p. Requests
// from the network never carry it: their contexts come from the server.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// auth checks the bearer token in constant time against every token.
func (s *Server) auth(r *http.Request) (Principal, bool) {
	if p, ok := r.Context().Value(principalKey{}).(Principal); ok {
		return p, true
	}
	h := r.Header.Get("Authorization")
	if h == "" && s.o.Session != nil {
		return s.o.Session(r)
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, false
	}
	tok = strings.TrimSpace(tok)
	sum := sha256.Sum256([]byte(tok))
	var found Principal
	ok = false
	for _, e := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			found, ok = e.p, true
		}
	}
	if !ok && strings.HasPrefix(tok, core.TokenPrefix) {
		return s.storeToken(r.Context(), tok)
	}
	return found, ok
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.o.Ready != nil {
		if err := s.o.Ready(r.Context()); err != nil {
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, Error{Error: msg})
}

// storeError maps a store error to a status.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, core.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, core.ErrInvalid), errors.Is(err, core.ErrUnknownFolder):
		status = http.StatusBadRequest
	case errors.Is(err, core.ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, core.ErrState), errors.Is(err, core.ErrExists):
		status = http.StatusConflict
	}
	if status == http.StatusInternalServerError {
		s.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, status, "internal error")
		return
	}
	writeError(w, status, publicMessage(err))
}

// publicMessage says a store error without the store's package prefix:
// "core: not found: message 9999" is "message 9999 not found".
func publicMessage(err error) string {
	msg := err.Error()
	for _, e := range []struct {
		err    error
		suffix string
	}{{core.ErrNotFound, " not found"}, {core.ErrExists, " already exists"}, {core.ErrState, ""}, {core.ErrInvalid, ""}} {
		if !errors.Is(err, e.err) {
			continue
		}
		if i := strings.Index(msg, e.err.Error()+": "); i >= 0 {
			return msg[:i] + msg[i+len(e.err.Error())+2:] + e.suffix
		}
		if rest, ok := strings.CutSuffix(msg, ": "+e.err.Error()); ok {
			return rest + e.suffix
		}
	}
	return strings.TrimPrefix(msg, "core: ")
}

// messageFor reads a message the principal may see; others' messages are
// "not found" to non-admins.
func (s *Server) messageFor(w http.ResponseWriter, r *http.Request, p Principal) (core.MessageDetails, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad message ID %q", r.PathValue("id")))
		return core.MessageDetails{}, false
	}
	d, err := s.o.Store.Message(r.Context(), id)
	if err == nil && !p.Admin && d.OwnerID != p.UserID {
		err = fmt.Errorf("message %d: %w", id, core.ErrNotFound)
	}
	if err != nil {
		s.storeError(w, r, err)
		return core.MessageDetails{}, false
	}
	return d, true
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, p Principal) {
	d, ok := s.messageFor(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, detailsJSON(d))
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, p Principal) {
	q := r.URL.Query()
	folder := core.FolderOutbox
	if f := q.Get("folder"); f != "" {
		var err error
		if folder, err = core.ParseFolder(f); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown folder %q", f))
			return
		}
	}
	offset, err1 := intParam(q.Get("offset"), 0, 0, 1<<30)
	limit, err2 := intParam(q.Get("limit"), 50, 1, 1000)
	if err := errors.Join(err1, err2); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	mq := core.MessageQuery{Folder: folder, Offset: offset, Limit: limit}
	if !p.Admin {
		mq.OwnerID = p.UserID
	}
	var msgs []core.Message
	var total int
	var err error
	if text := strings.TrimSpace(q.Get("q")); text != "" {
		if len(text) > 200 {
			writeError(w, http.StatusBadRequest, "search text longer than 200 characters")
			return
		}
		msgs, total, err = s.search(r.Context(), mq, text)
	} else {
		msgs, total, err = s.o.Store.Messages(r.Context(), mq)
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := List{Folder: string(folder), Offset: offset, Limit: limit, Total: total, Messages: []Message{}}
	for _, m := range msgs {
		out.Messages = append(out.Messages, messageJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
}

func intParam(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
	}
	return n, nil
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request, p Principal) {
	d, ok := s.messageFor(w, r, p)
	if !ok {
		return
	}
	if d.Direction != core.Outbound {
		writeError(w, http.StatusConflict, "only outbound messages can be cancelled")
		return
	}
	res, err := s.o.Store.Cancel(r.Context(), d.ID)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if res.Flagged > 0 && s.o.CancelActive != nil {
		for _, j := range d.Jobs {
			if j.State == core.JobLeased {
				s.o.CancelActive(j.ID)
			}
		}
	}
	s.log.Info("api cancel", "message", d.ID, "cancelled", res.Cancelled, "flagged", res.Flagged)
	writeJSON(w, http.StatusOK, CancelResult{Cancelled: res.Cancelled, Flagged: res.Flagged})
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request, p Principal) {
	d, ok := s.messageFor(w, r, p)
	if !ok {
		return
	}
	if d.Direction != core.Outbound {
		writeError(w, http.StatusConflict, "only outbound messages can be retried")
		return
	}
	n, err := s.o.Store.RetryFailed(r.Context(), d.ID)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if n > 0 && s.o.Wake != nil {
		s.o.Wake()
	}
	s.log.Info("api retry", "message", d.ID, "requeued", n)
	writeJSON(w, http.StatusOK, RetryResult{Requeued: n})
}

// ports lists this process's agent's ports live and the other agents'
// ports as their last heartbeats reported them.
func (s *Server) ports(w http.ResponseWriter, r *http.Request, p Principal) {
	out := Ports{Ports: []Port{}}
	local := map[int64]bool{}
	if s.o.Ports != nil {
		out.Ports = append(out.Ports, s.o.Ports()...)
		for _, pt := range out.Ports {
			local[pt.AgentID] = true
		}
	}
	agents, err := s.o.Store.Agents(r.Context())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	for _, a := range agents {
		if !local[a.ID] {
			out.Ports = append(out.Ports, remotePorts(a)...)
		}
	}
	out.Ports = PortsFor(p.Admin, out.Ports)
	if !p.Admin {
		writeJSON(w, http.StatusOK, out)
		return
	}
	if s.o.Destinations != nil {
		out.Destinations = s.o.Destinations()
	}
	for _, a := range agents {
		out.Agents = append(out.Agents, Agent{ID: a.ID, Name: a.Name, Host: a.Host, Ports: a.Ports, Licensed: a.Licensed,
			Busy: a.Busy, Started: a.Started, Heartbeat: a.Heartbeat})
	}
	writeJSON(w, http.StatusOK, out)
}

// remotePorts are an agent's ports as its last heartbeat reported them.
func remotePorts(a core.AgentInfo) []Port {
	out := make([]Port, 0, len(a.PortStates))
	for _, ps := range a.PortStates {
		out = append(out, Port{AgentID: a.ID, Agent: a.Name, ID: ps.ID, No: ps.No, Driver: ps.Driver, Number: ps.Number,
			State: ps.State, Status: ps.Status, Licensed: ps.Licensed, Send: ps.Send, Receive: ps.Receive, Disabled: ps.Disabled,
			Remote: true})
	}
	return out
}

// PortsFor is what ps shows to an administrator (everything) or to
// anyone else: the ports' numbers, states, groups and settings (what
// presets name), without the job a port is calling or its live call,
// which belong to other users. It changes ps in place.
func PortsFor(admin bool, ps []Port) []Port {
	if !admin {
		for i := range ps {
			ps[i].Job, ps[i].Call = "", nil
		}
	}
	return ps
}

// shortCtx bounds store work done after the client may have gone.
func shortCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}
