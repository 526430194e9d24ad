package foip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/icholy/digest"
)

// authVerdict is the outcome of checking an inbound request.
type authVerdict int

const (
	authOK        authVerdict = iota
	authChallenge             // 401 with a fresh challenge
	authForbidden             // 403
)

// nonceLife is how long a digest nonce we issued stays valid.
const nonceLife = 5 * time.Minute

// guard decides which inbound requests are taken: allowed source prefixes,
// or digest credentials (RFC 2617/3261) with stateless HMAC nonces.
type guard struct {
	allow          []netip.Prefix
	user, password string
	realm          string
	secret         [32]byte
	now            func() time.Time
}

func newGuard(allow []netip.Prefix, user, password, realm string) *guard {
	g := &guard{allow: allow, user: user, password: password, realm: realm, now: time.Now}
	_, _ = rand.Read(g.secret[:])
	return g
}

// check judges a request from src (host:port) with its Authorization
// header value (or "").
func (g *guard) check(src, method, authorization string) authVerdict {
	if ap, err := netip.ParseAddrPort(src); err == nil {
		ip := ap.Addr().Unmap()
		for _, p := range g.allow {
			if p.Contains(ip) {
				return authOK
			}
		}
	}
	if g.password == "" {
		return authForbidden
	}
	if authorization == "" {
		return authChallenge
	}
	cred, err := digest.ParseCredentials(authorization)
	if err != nil || cred.Username != g.user || cred.Realm != g.realm {
		return authForbidden
	}
	if !g.validNonce(cred.Nonce) {
		return authChallenge // stale: challenge again
	}
	chal := &digest.Challenge{Realm: g.realm, Nonce: cred.Nonce, Opaque: cred.Opaque, Algorithm: cred.Algorithm}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: method, URI: cred.URI, Username: g.user,
		Password: g.password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		return authForbidden
	}
	if subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return authForbidden
	}
	return authOK
}

// challenge is a WWW-Authenticate value with a fresh nonce.
func (g *guard) challenge() string {
	c := digest.Challenge{Realm: g.realm, Nonce: g.nonce(g.now()), Algorithm: "MD5", QOP: []string{"auth"}}
	return c.String()
}

func (g *guard) nonce(t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, g.secret[:])
	m.Write([]byte(ts))
	return ts + "." + hex.EncodeToString(m.Sum(nil)[:12])
}

func (g *guard) validNonce(n string) bool {
	ts, _, ok := strings.Cut(n, ".")
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	t := time.Unix(sec, 0)
	if g.now().Sub(t) > nonceLife || t.After(g.now().Add(time.Minute)) {
		return false
	}
	return hmac.Equal([]byte(g.nonce(t)), []byte(n))
}
