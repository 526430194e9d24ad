package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/faxagent/faxagent/core"
)

// Agent credentials for the agent protocol (core/agentapi): an
// administrator issues one for an agent (enrolling its name the first
// time), lists them and revokes them. The secret is in the answer that
// made it and nowhere else; the store keeps its SHA-256.

// AgentCredentialRequest asks for a credential for an agent, by its ID or
// its name (a new name is enrolled).
type AgentCredentialRequest struct {
	Agent string `json:"agent"`
}

// AgentCredential is an agent credential; Secret only in the answer that
// made it.
type AgentCredential struct {
	ID        int64      `json:"id"`
	AgentID   int64      `json:"agent_id"`
	AgentName string     `json:"agent_name,omitempty"`
	Created   time.Time  `json:"created"`
	Revoked   *time.Time `json:"revoked,omitempty"`
	Secret    string     `json:"credential,omitempty"`
}

// AgentCredentials lists agent credentials.
type AgentCredentials struct {
	Credentials []AgentCredential `json:"credentials"`
}

func agentCredentialJSON(c core.AgentCredential, names map[int64]string) AgentCredential {
	out := AgentCredential{ID: c.ID, AgentID: c.AgentID, AgentName: names[c.AgentID], Created: c.Created}
	if !c.Revoked.IsZero() {
		out.Revoked = timePtr(c.Revoked)
	}
	return out
}

func adminOnly(w http.ResponseWriter, p Principal) bool {
	if !p.Admin {
		writeError(w, http.StatusForbidden, "only an administrator manages agent credentials")
		return false
	}
	return true
}

// createAgentCredential: POST /api/v1/agents/credentials {"agent": "..."}.
func (s *Server) createAgentCredential(w http.ResponseWriter, r *http.Request, p Principal) {
	if !adminOnly(w, p) {
		return
	}
	var req AgentCredentialRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.Agent == "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("want {\"agent\": \"NAME or ID\"} (%v)", err))
		return
	}
	a, err := s.o.Store.ResolveAgent(r.Context(), req.Agent)
	if errors.Is(err, core.ErrNotFound) {
		if _, perr := strconv.ParseInt(req.Agent, 10, 64); perr == nil {
			s.storeError(w, r, err)
			return
		}
		a, err = s.o.Store.EnrolAgent(r.Context(), req.Agent)
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	c, secret, err := s.o.Store.CreateAgentCredential(r.Context(), a.ID)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := agentCredentialJSON(c, map[int64]string{a.ID: a.Name})
	out.Secret = secret
	s.log.Info("agent credential created", "credential", c.ID, "agent", a.ID, "by", p.UserID)
	writeJSON(w, http.StatusCreated, out)
}

// listAgentCredentials: GET /api/v1/agents/credentials.
func (s *Server) listAgentCredentials(w http.ResponseWriter, r *http.Request, p Principal) {
	if !adminOnly(w, p) {
		return
	}
	cs, err := s.o.Store.AgentCredentials(r.Context())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	names := map[int64]string{}
	if agents, err := s.o.Store.Agents(r.Context()); err == nil {
		for _, a := range agents {
			names[a.ID] = a.Name
		}
	}
	out := AgentCredentials{Credentials: []AgentCredential{}}
	for _, c := range cs {
		out.Credentials = append(out.Credentials, agentCredentialJSON(c, names))
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeAgentCredential: DELETE /api/v1/agents/credentials/{id}.
func (s *Server) revokeAgentCredential(w http.ResponseWriter, r *http.Request, p Principal) {
	if !adminOnly(w, p) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "credential ID: a number")
		return
	}
	if err := s.o.Store.RevokeAgentCredential(r.Context(), id); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.log.Info("agent credential revoked", "credential", id, "by", p.UserID)
	writeJSON(w, http.StatusOK, Revoked{Revoked: id})
}
