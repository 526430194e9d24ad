package soap

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/faxagent/faxagent/core"
)

// FaxCore's protocol trusts IDs: whoever knows a user or message ID may
// use it. A request may also carry HTTP Basic credentials (a .NET proxy's
// Credentials with PreAuthenticate); then the caller is that user, and a
// user who is not an administrator can name no other user and reach no
// other user's messages: they answer as if they did not exist.
// Config.RequireAuth makes the credentials mandatory.

type principalKey struct{}

// principal returns the authenticated caller of a request, if any.
func principal(ctx context.Context) (core.User, bool) {
	u, ok := ctx.Value(principalKey{}).(core.User)
	return u, ok
}

// mayActAs reports whether the caller may name user id.
func mayActAs(ctx context.Context, id int64) bool {
	p, ok := principal(ctx)
	return !ok || p.Admin || p.ID == id
}

// maySee reports whether the caller may reach a message of owner.
func maySee(ctx context.Context, owner int64) bool {
	p, ok := principal(ctx)
	return !ok || p.Admin || owner != 0 && p.ID == owner
}

// credCache remembers recent successful Basic logins for a minute, so
// that a client that authenticates every request does not pay a bcrypt
// comparison each time.
type credCache struct {
	mu sync.Mutex
	m  map[[32]byte]credEntry
}

type credEntry struct {
	userID  int64
	expires time.Time
}

const (
	credTTL        = time.Minute
	maxCredEntries = 1000
)

func credKey(user, pw string) [32]byte {
	return sha256.Sum256([]byte(user + "\x00" + pw))
}

// errUnauthorized answers a request without valid credentials.
var errUnauthorized = errors.New("soap: valid HTTP Basic credentials are required")

// authenticate checks a request's Basic credentials; ok=false without any.
func (h *Handler) authenticate(r *http.Request) (core.User, bool, error) {
	name, pw, ok := r.BasicAuth()
	if !ok {
		return core.User{}, false, nil
	}
	ctx := r.Context()
	now := h.cfg.Now()
	key := credKey(name, pw)
	h.creds.mu.Lock()
	e, hit := h.creds.m[key]
	h.creds.mu.Unlock()
	if hit && now.Before(e.expires) {
		u, err := h.cfg.Store.User(ctx, e.userID)
		if err == nil && u.Active {
			return u, true, nil
		}
	}
	keys := []string{"addr:" + clientAddr(r), "user:" + strings.ToLower(name)}
	for _, k := range keys {
		if !h.auth.allowed(k, now, h.cfg.AuthFailures, h.cfg.AuthWindow) {
			return core.User{}, false, errUnauthorized
		}
	}
	u, err := h.cfg.Store.Authenticate(ctx, name, pw)
	if errors.Is(err, core.ErrAuth) || errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		for _, k := range keys {
			h.auth.failed(k, now, h.cfg.AuthWindow)
		}
		return core.User{}, false, errUnauthorized
	}
	if err != nil {
		return core.User{}, false, err
	}
	h.creds.mu.Lock()
	if len(h.creds.m) >= maxCredEntries {
		for k, v := range h.creds.m {
			if !now.Before(v.expires) || len(h.creds.m) >= maxCredEntries {
				delete(h.creds.m, k)
			}
		}
	}
	h.creds.m[key] = credEntry{userID: u.ID, expires: now.Add(credTTL)}
	h.creds.mu.Unlock()
	return u, true, nil
}
