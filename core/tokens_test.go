package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestAPITokens: a token made for a user finds that user until it is
// revoked or the user is deactivated or removed; only its SHA-256 is
// stored, on both backends.
func TestAPITokens(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			alice, err := st.CreateUser(ctx, NewUser{Username: "alice", Password: "alice-password"})
			if err != nil {
				t.Fatal(err)
			}
			tok, secret, err := st.CreateToken(ctx, alice.ID, "laptop")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, TokenPrefix) || len(secret) != len(TokenPrefix)+64 || tok.UserID != alice.ID || tok.Name != "laptop" {
				t.Fatalf("token %+v secret %q", tok, secret)
			}
			var stored string
			if err := st.read().row(ctx, "SELECT sha256 FROM api_tokens WHERE id = ?", tok.ID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(secret))
			if stored != hex.EncodeToString(sum[:]) || strings.Contains(stored, secret[len(TokenPrefix):]) {
				t.Fatalf("stored %q, want the SHA-256 of the secret", stored)
			}
			u, got, err := st.TokenUser(ctx, secret)
			if err != nil || u.ID != alice.ID || got.ID != tok.ID {
				t.Fatalf("TokenUser: %+v %+v %v", u, got, err)
			}
			for _, bad := range []string{"", secret[:len(secret)-1], secret + "0", strings.ToUpper(secret), stored} {
				if _, _, err := st.TokenUser(ctx, bad); !errors.Is(err, ErrAuth) {
					t.Errorf("TokenUser(%q): %v, want ErrAuth", bad, err)
				}
			}
			admin, _ := st.UserByName(ctx, AdminUser)
			other, _, err := st.CreateToken(ctx, admin.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if ts, err := st.Tokens(ctx, alice.ID); err != nil || len(ts) != 1 || ts[0].ID != tok.ID {
				t.Fatalf("alice's tokens %+v %v", ts, err)
			}
			if ts, err := st.Tokens(ctx, 0); err != nil || len(ts) != 2 || ts[1].ID != other.ID {
				t.Fatalf("all tokens %+v %v", ts, err)
			}
			if _, _, err := st.CreateToken(ctx, alice.ID, "bad\nname"); !errors.Is(err, ErrInvalid) {
				t.Errorf("control character in the name: %v", err)
			}
			if _, _, err := st.CreateToken(ctx, 999999, ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown user: %v", err)
			}
			// Deactivated: refused; active again: accepted.
			if err := st.SetUserActive(ctx, alice.ID, false); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.TokenUser(ctx, secret); !errors.Is(err, ErrAuth) {
				t.Errorf("inactive user's token: %v", err)
			}
			if _, _, err := st.CreateToken(ctx, alice.ID, ""); !errors.Is(err, ErrState) {
				t.Errorf("token for an inactive user: %v", err)
			}
			if err := st.SetUserActive(ctx, alice.ID, true); err != nil {
				t.Fatal(err)
			}
			if err := st.RevokeToken(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.TokenUser(ctx, secret); !errors.Is(err, ErrAuth) {
				t.Errorf("revoked token: %v", err)
			}
			if err := st.RevokeToken(ctx, tok.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("revoke twice: %v", err)
			}
			if _, err := st.Token(ctx, tok.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("revoked token read: %v", err)
			}
		})
	}
}

// TestTokensPerUserBounded: a user holds at most MaxTokensPerUser tokens;
// one more is refused (ErrState) until one is revoked, and other users are
// not affected. (Before, a user's token could make tokens without end, a
// row each.)
func TestTokensPerUserBounded(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			alice, err := st.CreateUser(ctx, NewUser{Username: "alice", Password: "alice-password"})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := st.CreateUser(ctx, NewUser{Username: "bob", Password: "bob-password"})
			if err != nil {
				t.Fatal(err)
			}
			var first APIToken
			for i := range MaxTokensPerUser {
				tok, _, err := st.CreateToken(ctx, alice.ID, "t")
				if err != nil {
					t.Fatalf("token %d: %v", i+1, err)
				}
				if i == 0 {
					first = tok
				}
			}
			if _, _, err := st.CreateToken(ctx, alice.ID, "one too many"); !errors.Is(err, ErrState) {
				t.Fatalf("token %d: %v, want ErrState", MaxTokensPerUser+1, err)
			}
			if _, _, err := st.CreateToken(ctx, bob.ID, "bob's"); err != nil {
				t.Fatalf("another user: %v", err)
			}
			if err := st.RevokeToken(ctx, first.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.CreateToken(ctx, alice.ID, "after a revoke"); err != nil {
				t.Fatalf("after a revoke: %v", err)
			}
		})
	}
}
