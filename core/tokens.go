package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIToken is a user's bearer token for the JSON API. The store keeps only
// the SHA-256 of the secret, which is shown once, when it is made.
type APIToken struct {
	ID      int64
	UserID  int64
	Name    string
	Created time.Time
}

// TokenPrefix starts every secret CreateToken makes.
const TokenPrefix = "fxu_"

// maxTokenName bounds an APIToken's Name.
const maxTokenName = 100

// MaxTokensPerUser bounds the tokens one user holds: CreateToken refuses
// one more (ErrState) until one is revoked, so a token cannot make rows
// without end. (Requests racing on PostgreSQL may each pass the count.)
const MaxTokensPerUser = 100

func tokenSum(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateToken makes a token for an active user and returns it with its
// secret (TokenPrefix and 32 random bytes in hex).
func (s *sqlStore) CreateToken(ctx context.Context, userID int64, name string) (APIToken, string, error) {
	if len(name) > maxTokenName || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' }) {
		return APIToken{}, "", fmt.Errorf("%w: token name: at most %d printable characters", ErrInvalid, maxTokenName)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return APIToken{}, "", fmt.Errorf("core: token: %w", err)
	}
	secret := TokenPrefix + hex.EncodeToString(raw)
	t := APIToken{UserID: userID, Name: name, Created: fromMS(ms(s.now()))}
	err := s.tx(ctx, func(d q) error {
		u, err := s.userWhere(ctx, d, "id = ?", userID)
		if err != nil {
			return err
		}
		if !u.Active {
			return fmt.Errorf("%w: user %d is not active", ErrState, userID)
		}
		var n int
		if err := d.row(ctx, "SELECT COUNT(*) FROM api_tokens WHERE user_id = ?", userID).Scan(&n); err != nil {
			return fmt.Errorf("core: token: %w", err)
		}
		if n >= MaxTokensPerUser {
			return fmt.Errorf("%w: user %d has %d tokens, the most a user may hold; revoke one first", ErrState, userID, n)
		}
		return d.row(ctx, "INSERT INTO api_tokens (user_id, name, sha256, created_at) VALUES (?, ?, ?, ?) RETURNING id",
			userID, name, tokenSum(secret), ms(t.Created)).Scan(&t.ID)
	})
	if err != nil {
		return APIToken{}, "", err
	}
	return t, secret, nil
}

// Tokens lists the tokens of a user, or of every user for userID 0.
func (s *sqlStore) Tokens(ctx context.Context, userID int64) ([]APIToken, error) {
	where, args := "", []any{}
	if userID != 0 {
		where, args = " WHERE user_id = ?", []any{userID}
	}
	rows, err := s.read().query(ctx, "SELECT id, user_id, name, created_at FROM api_tokens"+where+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("core: tokens: %w", err)
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		var t APIToken
		var c int64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &c); err != nil {
			return nil, err
		}
		t.Created = fromMS(c)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Token returns one token; ErrNotFound when there is none.
func (s *sqlStore) Token(ctx context.Context, id int64) (APIToken, error) {
	var t APIToken
	var c int64
	err := s.read().row(ctx, "SELECT id, user_id, name, created_at FROM api_tokens WHERE id = ?", id).Scan(&t.ID, &t.UserID, &t.Name, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, fmt.Errorf("%w: token %d", ErrNotFound, id)
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("core: token: %w", err)
	}
	t.Created = fromMS(c)
	return t, nil
}

// RevokeToken deletes a token; ErrNotFound when there is none.
func (s *sqlStore) RevokeToken(ctx context.Context, id int64) error {
	return s.tx(ctx, func(d q) error {
		res, err := d.exec(ctx, "DELETE FROM api_tokens WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("core: revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: token %d", ErrNotFound, id)
		}
		return nil
	})
}

// TokenUser returns the active user a secret belongs to, with its token;
// ErrAuth for an unknown or revoked secret or a user no longer active.
func (s *sqlStore) TokenUser(ctx context.Context, secret string) (User, APIToken, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return User{}, APIToken{}, ErrAuth
	}
	var t APIToken
	var c int64
	err := s.read().row(ctx, "SELECT id, user_id, name, created_at FROM api_tokens WHERE sha256 = ?", tokenSum(secret)).
		Scan(&t.ID, &t.UserID, &t.Name, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, APIToken{}, ErrAuth
	}
	if err != nil {
		return User{}, APIToken{}, fmt.Errorf("core: token: %w", err)
	}
	t.Created = fromMS(c)
	u, err := s.User(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) || err == nil && !u.Active {
		return User{}, APIToken{}, ErrAuth
	}
	if err != nil {
		return User{}, APIToken{}, err
	}
	return u, t, nil
}
