package core

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// AgentCredentialPrefix starts every agent credential's secret, so that one
// is told from an API token at a glance.
const AgentCredentialPrefix = "fxg_"

// MaxAgentCredentials bounds the credentials (revoked ones included) the
// store keeps for one agent.
const MaxAgentCredentials = 100

// AgentCredential is an agent's credential for the agent protocol: the
// store keeps only the SHA-256 of its secret.
type AgentCredential struct {
	ID      int64
	AgentID int64
	Created time.Time
	Revoked time.Time // zero while valid
}

// CreateAgentCredential issues a credential for the enrolled agent agentID
// and returns it with its secret (AgentCredentialPrefix and 32 random bytes
// in hex), which is shown once and never stored.
func (s *sqlStore) CreateAgentCredential(ctx context.Context, agentID int64) (AgentCredential, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return AgentCredential{}, "", fmt.Errorf("core: agent credential: %w", err)
	}
	secret := AgentCredentialPrefix + hex.EncodeToString(raw)
	c := AgentCredential{AgentID: agentID, Created: fromMS(ms(s.now()))}
	err := s.tx(ctx, func(d q) error {
		var n int
		if err := d.row(ctx, "SELECT COUNT(*) FROM fax_agents WHERE id = ?", agentID).Scan(&n); err != nil {
			return fmt.Errorf("core: agent credential: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%w: agent %d", ErrNotFound, agentID)
		}
		if err := d.row(ctx, "SELECT COUNT(*) FROM agent_credentials WHERE agent_id = ?", agentID).Scan(&n); err != nil {
			return fmt.Errorf("core: agent credential: %w", err)
		}
		if n >= MaxAgentCredentials {
			return fmt.Errorf("%w: agent %d has %d credentials, the most kept", ErrState, agentID, n)
		}
		return d.row(ctx, "INSERT INTO agent_credentials (agent_id, sha256, created_at) VALUES (?, ?, ?) RETURNING id",
			agentID, tokenSum(secret), ms(c.Created)).Scan(&c.ID)
	})
	if err != nil {
		return AgentCredential{}, "", err
	}
	return c, secret, nil
}

// AgentCredentials lists every credential, oldest first.
func (s *sqlStore) AgentCredentials(ctx context.Context) ([]AgentCredential, error) {
	rows, err := s.read().query(ctx, "SELECT id, agent_id, created_at, revoked_at FROM agent_credentials ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("core: agent credentials: %w", err)
	}
	defer rows.Close()
	var out []AgentCredential
	for rows.Next() {
		var c AgentCredential
		var created, revoked int64
		if err := rows.Scan(&c.ID, &c.AgentID, &created, &revoked); err != nil {
			return nil, fmt.Errorf("core: agent credentials: %w", err)
		}
		c.Created = fromMS(created)
		if revoked != 0 {
			c.Revoked = fromMS(revoked)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeAgentCredential revokes a credential: the agent protocol refuses
// it from then on. Revoking a revoked one changes nothing.
func (s *sqlStore) RevokeAgentCredential(ctx context.Context, id int64) error {
	return s.tx(ctx, func(d q) error {
		var revoked int64
		err := d.row(ctx, "SELECT revoked_at FROM agent_credentials WHERE id = ?", id).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: agent credential %d", ErrNotFound, id)
		}
		if err != nil || revoked != 0 {
			return err
		}
		_, err = d.exec(ctx, "UPDATE agent_credentials SET revoked_at = ? WHERE id = ?", ms(s.now()), id)
		return err
	})
}

// ErrCredentialRevoked is returned (wrapped in ErrAuth) for a credential
// that was revoked.
var ErrCredentialRevoked = errors.New("core: agent credential revoked")

// CredentialAgent returns the agent a credential's secret belongs to:
// ErrAuth for an unknown secret, ErrAuth and ErrCredentialRevoked for a
// revoked one.
func (s *sqlStore) CredentialAgent(ctx context.Context, secret string) (AgentCredential, error) {
	var c AgentCredential
	var created, revoked int64
	err := s.read().row(ctx, "SELECT id, agent_id, created_at, revoked_at FROM agent_credentials WHERE sha256 = ?", tokenSum(secret)).
		Scan(&c.ID, &c.AgentID, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return AgentCredential{}, fmt.Errorf("%w: unknown agent credential", ErrAuth)
	}
	if err != nil {
		return AgentCredential{}, fmt.Errorf("core: agent credential: %w", err)
	}
	c.Created = fromMS(created)
	if revoked != 0 {
		c.Revoked = fromMS(revoked)
		return c, fmt.Errorf("%w: %w: credential %d of agent %d", ErrAuth, ErrCredentialRevoked, c.ID, c.AgentID)
	}
	return c, nil
}
