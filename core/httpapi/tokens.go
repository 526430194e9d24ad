package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/loginlimit"
)

// Users' API tokens. A token acts as its user: a system administrator's
// sees and changes every message, anyone else's only the user's own
// (domain administrators included: the API has no domain scope). A token
// is made by an administrator for anyone, by a user for itself (with a
// token, or with its password as HTTP Basic credentials, limited as every
// password login is), and revoked the same way.

// storeToken authenticates a store token.
func (s *Server) storeToken(ctx context.Context, secret string) (Principal, bool) {
	u, _, err := s.o.Store.TokenUser(ctx, secret)
	if err != nil {
		if !errors.Is(err, core.ErrAuth) {
			s.log.Error("api: token lookup", "err", err)
		}
		return Principal{}, false
	}
	return principalOf(u), true
}

func principalOf(u core.User) Principal {
	return Principal{UserID: u.ID, Admin: u.Admin && u.Role != core.RoleDomainAdmin}
}

// password authenticates HTTP Basic credentials through the login limiter.
func (s *Server) password(r *http.Request) (Principal, bool, error) {
	name, pw, ok := r.BasicAuth()
	if !ok {
		return Principal{}, false, nil
	}
	src, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		src = r.RemoteAddr
	}
	var u core.User
	ok, err = s.logins.Check(r.Context(), name, src, func() (bool, error) {
		var err error
		u, err = s.o.Store.Authenticate(r.Context(), name, pw)
		if errors.Is(err, core.ErrAuth) || errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
			return false, nil
		}
		return err == nil, err
	})
	if errors.Is(err, loginlimit.ErrLimited) {
		s.log.Warn("api: login refused: too many failures", "client", src, "user", name)
		return Principal{}, false, nil
	}
	if err != nil || !ok {
		return Principal{}, false, err
	}
	return principalOf(u), true, nil
}

func (s *Server) tokenJSON(ctx context.Context, t core.APIToken) Token {
	out := Token{ID: t.ID, UserID: t.UserID, Name: t.Name, Created: t.Created}
	if u, err := s.o.Store.User(ctx, t.UserID); err == nil {
		out.User = u.Username
	}
	return out
}

// createToken makes a token: POST /api/v1/tokens {"user": "...", "name": "..."}.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	p, ok := s.auth(r)
	if !ok {
		var err error
		p, ok, err = s.password(r)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
	}
	if !ok {
		w.Header().Add("WWW-Authenticate", `Basic realm="faxagent", charset="UTF-8"`)
		unauthorized(w)
		return
	}
	var req TokenRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad token request: %v", err))
		return
	}
	target := p.UserID
	if req.User != "" {
		u, err := s.o.Store.UserByName(r.Context(), req.User)
		if !p.Admin && (err != nil || u.ID != p.UserID) {
			writeError(w, http.StatusForbidden, "only an administrator makes tokens for other users")
			return
		}
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		target = u.ID
	}
	t, secret, err := s.o.Store.CreateToken(r.Context(), target, req.Name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := s.tokenJSON(r.Context(), t)
	out.Secret = secret
	s.log.Info("api token created", "token", t.ID, "user", t.UserID, "by", p.UserID)
	writeJSON(w, http.StatusCreated, out)
}

// listTokens: GET /api/v1/tokens[?user=NAME]; a user sees its own.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p Principal) {
	uid := p.UserID
	if p.Admin {
		uid = 0
		if name := r.URL.Query().Get("user"); name != "" {
			u, err := s.o.Store.UserByName(r.Context(), name)
			if err != nil {
				s.storeError(w, r, err)
				return
			}
			uid = u.ID
		}
	}
	ts, err := s.o.Store.Tokens(r.Context(), uid)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := Tokens{Tokens: []Token{}}
	for _, t := range ts {
		out.Tokens = append(out.Tokens, s.tokenJSON(r.Context(), t))
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeToken: DELETE /api/v1/tokens/{id}; others' tokens are "not found"
// to non-admins.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p Principal) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad token ID %q", r.PathValue("id")))
		return
	}
	t, err := s.o.Store.Token(r.Context(), id)
	if err == nil && !p.Admin && t.UserID != p.UserID {
		err = fmt.Errorf("token %d: %w", id, core.ErrNotFound)
	}
	if err == nil {
		err = s.o.Store.RevokeToken(r.Context(), id)
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	s.log.Info("api token revoked", "token", id, "user", t.UserID, "by", p.UserID)
	writeJSON(w, http.StatusOK, Revoked{Revoked: id})
}
