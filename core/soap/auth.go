package soap

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/loginlimit"
)

// Every request needs HTTP Basic credentials of an active user (a .NET
// proxy's Credentials with PreAuthenticate, node-soap's BasicAuthSecurity),
// checked against the user store; then the caller is that user. FaxCore's
// operations name their acting user in the body (userID, adminID,
// delegateUserID, userList): a caller may name itself; a system
// administrator anyone; a domain administrator the users of its domain
// except system administrators; anyone else gets the operation's failure
// answer (INVALID_USER, INVALID_ADMIN, MESSAGE_NOT_FOUND, ...) as if the
// user did not exist. Messages are reached on the same terms through their
// owner.
//
// A caller from Config.TrustedNetworks may leave the credentials off; it
// then acts as whoever the request names, as FaxCore's protocol has it.

type principalKey struct{}

// principal returns the authenticated caller of a request; ok=false for
// a trusted network's caller without credentials.
func principal(ctx context.Context) (core.User, bool) {
	u, ok := ctx.Value(principalKey{}).(core.User)
	return u, ok
}

// systemAdmin reports whether u administers every domain.
func systemAdmin(u core.User) bool { return u.Admin && u.Role != core.RoleDomainAdmin }

// mayActAs reports whether the caller may act as user u.
func mayActAs(ctx context.Context, u core.User) bool {
	p, ok := principal(ctx)
	return !ok || p.ID == u.ID || p.Admin && manages(p, u.DomainID, u.Role)
}

// maySee reports whether the caller may reach a message of owner (0: an
// unrouted inbound fax, for system administrators only).
func (h *Handler) maySee(ctx context.Context, owner int64) (bool, error) {
	p, ok := principal(ctx)
	switch {
	case !ok || systemAdmin(p) || owner != 0 && owner == p.ID:
		return true, nil
	case !p.Admin || owner == 0:
		return false, nil
	}
	u, err := h.cfg.Store.User(ctx, owner)
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return manages(p, u.DomainID, u.Role), nil
}

// trusted reports whether r comes from Config.TrustedNetworks.
func (h *Handler) trusted(r *http.Request) bool {
	if len(h.cfg.TrustedNetworks) == 0 {
		return false
	}
	a, err := netip.ParseAddr(clientAddr(r))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range h.cfg.TrustedNetworks {
		if p.Contains(a) {
			return true
		}
	}
	return false
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
	u, err := h.login(ctx, name, pw, clientAddr(r))
	if errors.Is(err, core.ErrAuth) {
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

// login checks a password through the login limiter: core.ErrAuth for a
// wrong one or a refused attempt.
func (h *Handler) login(ctx context.Context, name, pw, source string) (core.User, error) {
	var u core.User
	ok, err := h.cfg.Logins.Check(ctx, name, source, func() (bool, error) {
		var err error
		u, err = h.cfg.Store.Authenticate(ctx, name, pw)
		if errors.Is(err, core.ErrAuth) || errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
			return false, nil
		}
		return err == nil, err
	})
	if errors.Is(err, loginlimit.ErrLimited) {
		h.cfg.Logger.Warn("soap: login refused: too many failures", "client", source, "user", name)
		return core.User{}, core.ErrAuth
	}
	if err != nil {
		return core.User{}, err
	}
	if !ok {
		return core.User{}, core.ErrAuth
	}
	return u, nil
}
