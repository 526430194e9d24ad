package core

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestAgentCredentials: a credential is issued for an enrolled agent only,
// its secret is stored as its SHA-256 alone, it names its agent until it
// is revoked, then it is refused as revoked; an unknown secret is refused.
func TestAgentCredentials(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, _ := openTest(t, be, nil)
			ctx := context.Background()
			if _, _, err := st.CreateAgentCredential(ctx, 999); !errors.Is(err, ErrNotFound) {
				t.Fatalf("credential for an agent never enrolled: %v", err)
			}
			a, err := st.EnrolAgent(ctx, "branch")
			if err != nil {
				t.Fatal(err)
			}
			c, secret, err := st.CreateAgentCredential(ctx, a.ID)
			if err != nil || !strings.HasPrefix(secret, AgentCredentialPrefix) || len(secret) != len(AgentCredentialPrefix)+64 {
				t.Fatalf("create: %+v %q %v", c, secret, err)
			}
			var stored string
			if err := st.read().row(ctx, "SELECT sha256 FROM agent_credentials WHERE id = ?", c.ID).Scan(&stored); err != nil ||
				stored != tokenSum(secret) || strings.Contains(stored, secret[len(AgentCredentialPrefix):]) {
				t.Fatalf("stored %q (%v), want the secret's SHA-256 only", stored, err)
			}
			got, err := st.CredentialAgent(ctx, secret)
			if err != nil || got.AgentID != a.ID || got.ID != c.ID {
				t.Fatalf("credential agent: %+v %v", got, err)
			}
			if _, err := st.CredentialAgent(ctx, secret+"0"); !errors.Is(err, ErrAuth) || errors.Is(err, ErrCredentialRevoked) {
				t.Fatalf("unknown secret: %v", err)
			}
			if err := st.RevokeAgentCredential(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			if err := st.RevokeAgentCredential(ctx, c.ID); err != nil {
				t.Fatalf("revoking again: %v", err)
			}
			if err := st.RevokeAgentCredential(ctx, c.ID+100); !errors.Is(err, ErrNotFound) {
				t.Fatalf("revoking an unknown credential: %v", err)
			}
			if _, err := st.CredentialAgent(ctx, secret); !errors.Is(err, ErrAuth) || !errors.Is(err, ErrCredentialRevoked) {
				t.Fatalf("revoked secret: %v", err)
			}
			list, err := st.AgentCredentials(ctx)
			if err != nil || len(list) != 1 || list[0].Revoked.IsZero() || list[0].AgentID != a.ID {
				t.Fatalf("list: %+v %v", list, err)
			}
		})
	}
}
