package agentapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
)

// Config is what the core hands the protocol's server.
type Config struct {
	// Queue and Reporter are the core's (core.AgentQueue).
	Queue    agent.Queue
	Reporter agent.Reporter
	// Ready, if set, fires when jobs may have become claimable (the
	// store's notification); long-polls wake on it. The server is its
	// only reader.
	Ready <-chan struct{}
	// Authenticate returns the agent ID a credential's secret belongs
	// to, or an error saying why it is refused (unknown, revoked).
	Authenticate func(ctx context.Context, secret string) (int64, error)
	// LeaseHolder, if set, returns the agent ID (decimal) holding a
	// job's lease, "" when none does: renew, progress, finish and release
	// by another agent are refused (409 lease_lost) and logged.
	LeaseHolder func(ctx context.Context, jobID string) (string, error)
	// FinishAs ends an attempt for the agent agentID (decimal;
	// core.AgentQueue.FinishAs): the store judges the lease and its
	// holder in one transaction and keeps a late outcome, of a lease that
	// expired or went to another agent, as a stale attempt
	// (agent.ErrStale), the job untouched. The answer is then 200 with
	// the staleHeader. Without it finish goes to Queue.Finish after the
	// LeaseHolder check, and a late outcome is refused (409).
	FinishAs func(ctx context.Context, agentID string, l agent.Lease, r agent.AttemptRecord) error
	// Documents returns the file of document n of a job leased to
	// agentID under l (core.AgentQueue.JobDocument): agent.ErrLeaseLost
	// if the lease is not the agent's, agent.ErrNoJob for no such
	// document. Any core sharing the store answers it.
	Documents func(ctx context.Context, l agent.Lease, agentID string, n int) (string, error)
	// Heartbeats stores the agents' heartbeats (the core's store).
	Heartbeats core.Heartbeater
	// MaxRequests caps the requests served at once (long-polls apart);
	// one more is refused 503. Default 64.
	MaxRequests int
	// MaxWaits caps the long-polls held at once. Default 256.
	MaxWaits int
	// MaxInbound bounds an inbound upload's file. Default 64 MiB.
	MaxInbound int64
	// TempDir holds inbound uploads until stored ("" the system's).
	TempDir string
	Logger  *slog.Logger
}

// Server is the core's side of the protocol, an http.Handler to mount
// at Prefix+"/" (it serves the whole paths).
type Server struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	sem  chan struct{}
	wsem chan struct{}

	mu   sync.Mutex
	wake chan struct{} // closed and replaced on every Ready signal
	gen  uint64        // counts Ready signals, from 1
}

// NewServer returns the server; it follows cfg.Ready until ctx ends.
func NewServer(ctx context.Context, cfg Config) *Server {
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 64
	}
	if cfg.MaxWaits <= 0 {
		cfg.MaxWaits = 256
	}
	if cfg.MaxInbound <= 0 {
		cfg.MaxInbound = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), sem: make(chan struct{}, cfg.MaxRequests),
		wsem: make(chan struct{}, cfg.MaxWaits), wake: make(chan struct{}), gen: 1}
	s.mux.HandleFunc("POST "+Prefix+pathClaim, s.claim)
	s.mux.HandleFunc("POST "+Prefix+pathWait, s.wait)
	s.mux.HandleFunc("POST "+Prefix+pathRenew, s.renew)
	s.mux.HandleFunc("POST "+Prefix+pathProgress, s.progress)
	s.mux.HandleFunc("POST "+Prefix+pathFinish, s.finish)
	s.mux.HandleFunc("POST "+Prefix+pathRelease, s.release)
	s.mux.HandleFunc("GET "+Prefix+pathDocument, s.document)
	s.mux.HandleFunc("POST "+Prefix+pathInbound, s.inbound)
	s.mux.HandleFunc("GET "+Prefix+pathSelf, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, agentOf(r)) })
	s.mux.HandleFunc("POST "+Prefix+pathBeat, s.heartbeat)
	if cfg.Ready != nil {
		go s.follow(ctx)
	}
	return s
}

func (s *Server) follow(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.Ready:
			s.mu.Lock()
			close(s.wake)
			s.wake = make(chan struct{})
			s.gen++
			s.mu.Unlock()
		}
	}
}

type agentKey struct{}

// ServeHTTP authenticates the agent, caps the requests in flight and
// serves the operation (the path below Prefix).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || secret == "" {
		s.log.Warn("agent protocol: request refused: no agent credential", "remote", r.RemoteAddr, "path", r.URL.Path)
		writeError(w, http.StatusUnauthorized, codeAuth, "an agent credential is required (Authorization: Bearer)")
		return
	}
	id, err := s.cfg.Authenticate(r.Context(), secret)
	if err != nil {
		s.log.Warn("agent protocol: agent credential refused", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusUnauthorized, codeAuth, "agent credential refused (unknown or revoked)")
		return
	}
	sem := s.sem
	if r.URL.Path == Prefix+pathWait {
		sem = s.wsem
	}
	select {
	case sem <- struct{}{}:
		defer func() { <-sem }()
	default:
		writeError(w, http.StatusServiceUnavailable, codeBusy, "too many agent requests at once; try again")
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, id)))
}

func agentOf(r *http.Request) int64 { id, _ := r.Context().Value(agentKey{}).(int64); return id }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Message: msg})
}

// queueError answers an error of the queue with its code.
func (s *Server) queueError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, agent.ErrCancelled):
		writeError(w, http.StatusConflict, codeCancelled, err.Error())
	case errors.Is(err, agent.ErrLeaseLost):
		writeError(w, http.StatusConflict, codeLeaseLost, err.Error())
	case errors.Is(err, agent.ErrNoJob):
		writeError(w, http.StatusNotFound, codeNoJob, err.Error())
	case errors.Is(err, agent.ErrRejected), errors.Is(err, core.ErrInvalid), errors.Is(err, core.ErrTooLarge):
		writeError(w, http.StatusUnprocessableEntity, codeRejected, err.Error())
	default:
		s.log.Error("agent protocol: queue", "path", r.URL.Path, "agent", agentOf(r), "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "the core could not do this now; try again")
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, codeRejected, fmt.Sprintf("request body: %v", err))
		return false
	}
	return true
}

func (s *Server) claim(w http.ResponseWriter, r *http.Request) {
	var req agent.ClaimRequest
	if !decode(w, r, &req) {
		return
	}
	id := agentOf(r)
	req.AgentID = strconv.FormatInt(id, 10)
	jobs, err := s.cfg.Queue.Claim(r.Context(), req)
	if err != nil {
		s.queueError(w, r, err)
		return
	}
	out := make([]claimedJob, len(jobs))
	budget := int64(maxInline)
	for i, j := range jobs {
		// The agent fetches the documents by index; no core path leaves.
		// Those that fit come inline: the jobs were just leased to this
		// agent, as the download would check.
		out[i].Job = j
		out[i].Documents = make([]string, len(j.Documents))
		for n, p := range j.Documents {
			out[i].Documents[n] = strconv.Itoa(n)
			if b := readInline(p, budget); b != nil {
				if out[i].Inline == nil {
					out[i].Inline = make([][]byte, len(j.Documents))
				}
				out[i].Inline[n] = b
				budget -= int64(len(b))
			}
		}
	}
	writeJSON(w, out)
}

// readInline returns the file p if it is not empty and at most max bytes
// long, else nil (the agent then downloads it).
func readInline(p string, max int64) []byte {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil || len(b) == 0 || int64(len(b)) > max {
		return nil
	}
	return b
}

// wait holds the request until jobs may have become claimable or the
// asked time (at most maxWait) has passed. It answers the wake-up
// generation: one other than the agent's "seen" means a wake-up the agent
// has not had (also one that came between its polls).
func (s *Server) wait(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := time.ParseDuration(q.Get("for"))
	seen, serr := strconv.ParseUint(q.Get("seen"), 10, 64)
	if err != nil || d < 0 || serr != nil {
		writeError(w, http.StatusBadRequest, codeRejected, "for: a duration such as 25s; seen: a generation")
		return
	}
	s.mu.Lock()
	wake, gen := s.wake, s.gen
	s.mu.Unlock()
	if gen != seen {
		writeJSON(w, gen)
		return
	}
	t := time.NewTimer(min(d, maxWait))
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	gen = s.gen
	s.mu.Unlock()
	writeJSON(w, gen)
}

// holds checks that the asking agent holds l (or that nobody does: the
// store then judges the lease by its epoch); it answers the refusal.
func (s *Server) holds(w http.ResponseWriter, r *http.Request, l agent.Lease) bool {
	if s.cfg.LeaseHolder == nil {
		return true
	}
	h, err := s.cfg.LeaseHolder(r.Context(), l.JobID)
	if errors.Is(err, agent.ErrNoJob) {
		return true // the queue answers for it
	}
	if err != nil {
		s.queueError(w, r, err)
		return false
	}
	if me := strconv.FormatInt(agentOf(r), 10); h != "" && h != me {
		s.log.Warn("agent protocol: a job leased to another agent refused", "agent", me, "job", l.JobID, "holder", h, "path", r.URL.Path)
		writeError(w, http.StatusConflict, codeLeaseLost, "the job is leased to another agent")
		return false
	}
	return true
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	var req renewReq
	if !decode(w, r, &req) || !s.holds(w, r, req.Lease) {
		return
	}
	l, err := s.cfg.Queue.Renew(r.Context(), req.Lease, req.For)
	if err != nil {
		s.queueError(w, r, err)
		return
	}
	writeJSON(w, l)
}

func (s *Server) progress(w http.ResponseWriter, r *http.Request) {
	var req progressReq
	if !decode(w, r, &req) || !s.holds(w, r, req.Lease) {
		return
	}
	pr, ok := s.cfg.Queue.(agent.ProgressReporter)
	if !ok {
		writeJSON(w, true)
		return
	}
	if err := pr.Progress(r.Context(), req.Lease, req.PagesSent, req.PagesTotal); err != nil {
		s.queueError(w, r, err)
		return
	}
	writeJSON(w, true)
}

// finish stores an attempt's outcome. One whose lease moved on (expired,
// or went to another agent) is kept whole as a stale attempt, the job
// untouched, and answered 200 with staleHeader set: the agent may then
// drop it from its outbox.
func (s *Server) finish(w http.ResponseWriter, r *http.Request) {
	var req finishReq
	if !decode(w, r, &req) {
		return
	}
	me := strconv.FormatInt(agentOf(r), 10)
	req.Record.FaxAgentID = me
	var err error
	if s.cfg.FinishAs != nil {
		err = s.cfg.FinishAs(r.Context(), me, req.Lease, req.Record)
	} else if s.holds(w, r, req.Lease) {
		err = s.cfg.Queue.Finish(r.Context(), req.Lease, req.Record)
	} else {
		return
	}
	if errors.Is(err, agent.ErrStale) {
		s.log.Warn("agent protocol: a late outcome kept as a stale attempt (the lease had moved on)", "agent", me,
			"job", req.Lease.JobID, "attempt", req.Record.AttemptID, "status", req.Record.TransmitStatusDef)
		w.Header().Set(staleHeader, "1")
		writeJSON(w, true)
		return
	}
	if err != nil {
		s.queueError(w, r, err)
		return
	}
	writeJSON(w, true)
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	var l agent.Lease
	if !decode(w, r, &l) || !s.holds(w, r, l) {
		return
	}
	if err := s.cfg.Queue.Release(r.Context(), l); err != nil {
		s.queueError(w, r, err)
		return
	}
	writeJSON(w, true)
}

// document streams document n of a job to the agent holding its lease.
func (s *Server) document(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || s.cfg.Documents == nil {
		writeError(w, http.StatusNotFound, codeNoJob, "no such document under this lease")
		return
	}
	path, err := s.cfg.Documents(r.Context(), agent.Lease{JobID: q.Get("job"), Token: q.Get("token")}, strconv.FormatInt(agentOf(r), 10), n)
	if err != nil {
		s.queueError(w, r, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.queueError(w, r, fmt.Errorf("agentapi: document: %w", err))
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, f)
}

// inbound stores a reception: the record in recordHeader, the TIFF (if
// the call brought a page) as the body. 200 means stored for good.
func (s *Server) inbound(w http.ResponseWriter, r *http.Request) {
	h := r.Header.Get(recordHeader)
	raw, err := base64.RawURLEncoding.DecodeString(h)
	var rec agent.InboundRecord
	if err == nil && len(h) <= maxRecordHeader {
		err = json.Unmarshal(raw, &rec)
	}
	if err != nil || len(h) > maxRecordHeader || rec.ID == "" {
		writeError(w, http.StatusBadRequest, codeRejected, "inbound record header missing or malformed")
		return
	}
	rec.FaxAgentID = strconv.FormatInt(agentOf(r), 10)
	if rec.File != "" {
		f, err := os.CreateTemp(s.cfg.TempDir, "agent-inbound-*.tif")
		if err != nil {
			s.queueError(w, r, fmt.Errorf("agentapi: inbound: %w", err))
			return
		}
		defer os.Remove(f.Name())
		_, err = io.Copy(f, http.MaxBytesReader(w, r.Body, s.cfg.MaxInbound))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, codeRejected, fmt.Sprintf("inbound file over %d bytes", s.cfg.MaxInbound))
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, codeInternal, fmt.Sprintf("inbound upload: %v", err))
			return
		}
		rec.File = f.Name()
	}
	if err := s.cfg.Reporter.Inbound(r.Context(), rec); err != nil {
		s.queueError(w, r, err)
		return
	}
	writeJSON(w, true)
}

// heartbeat stores an agent's heartbeat (its port counts) under the
// credential's agent ID.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var info core.AgentInfo
	if !decode(w, r, &info) {
		return
	}
	info.ID = agentOf(r)
	if s.cfg.Heartbeats == nil {
		writeJSON(w, true)
		return
	}
	if err := s.cfg.Heartbeats.Heartbeat(r.Context(), info); err != nil {
		if errors.Is(err, core.ErrInvalid) {
			writeError(w, http.StatusUnprocessableEntity, codeRejected, err.Error())
			return
		}
		s.queueError(w, r, err)
		return
	}
	writeJSON(w, true)
}
