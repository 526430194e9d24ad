package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// License grants an agent a number of ports per driver until it expires.
type License struct {
	AgentID  string         `json:"agent_id"`
	Customer string         `json:"customer,omitempty"`
	Ports    map[string]int `json:"ports"` // driver name -> licensed ports
	Issued   time.Time      `json:"issued"`
	Expires  time.Time      `json:"expires"`
}

// licenseFile is the signed license as stored: the license as JSON and an
// Ed25519 signature over exactly those bytes.
type licenseFile struct {
	License   json.RawMessage `json:"license"`
	Signature string          `json:"signature"`
}

// Licence errors; Verify wraps them.
var (
	ErrLicenseFormat    = errors.New("agent: license file is malformed")
	ErrLicenseSignature = errors.New("agent: license signature is invalid (tampered, or signed with another key)")
	ErrLicenseExpired   = errors.New("agent: license has expired")
	ErrLicenseAgent     = errors.New("agent: license is for another agent")
	ErrLicenseKey       = errors.New("agent: license key is malformed")
)

// GenerateKey returns a new key pair; rnd nil means crypto/rand.
func GenerateKey(rnd io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	return ed25519.GenerateKey(rnd)
}

// EncodeKey encodes a public or private key as one line of text:
// "ed25519-public:BASE64" or "ed25519-private:BASE64" (the 32-byte seed).
func EncodeKey(key any) (string, error) {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return "ed25519-public:" + base64.StdEncoding.EncodeToString(k) + "\n", nil
	case ed25519.PrivateKey:
		return "ed25519-private:" + base64.StdEncoding.EncodeToString(k.Seed()) + "\n", nil
	}
	return "", fmt.Errorf("%w: %T", ErrLicenseKey, key)
}

// ParsePublicKey parses EncodeKey's public form.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := parseKey(s, "ed25519-public:", ed25519.PublicKeySize)
	return ed25519.PublicKey(b), err
}

// ParsePrivateKey parses EncodeKey's private form.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := parseKey(s, "ed25519-private:", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(b), nil
}

func parseKey(s, prefix string, size int) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), prefix)
	if !ok {
		return nil, fmt.Errorf("%w: it does not start with %s", ErrLicenseKey, prefix)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("%w: bad base64 or length", ErrLicenseKey)
	}
	return b, nil
}

// Sign returns the signed license file for l.
func Sign(l License, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, ErrLicenseKey
	}
	if l.AgentID == "" || l.Expires.IsZero() {
		return nil, fmt.Errorf("%w: agent ID and expiry are required", ErrLicenseFormat)
	}
	body, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	f := licenseFile{License: body, Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, body))}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ParseLicense checks the signature of a license file and returns the
// license without judging its agent or expiry.
func ParseLicense(file []byte, pub ed25519.PublicKey) (License, error) {
	var f licenseFile
	if err := json.Unmarshal(file, &f); err != nil {
		return License{}, fmt.Errorf("%w: %w", ErrLicenseFormat, err)
	}
	if len(f.License) == 0 || f.Signature == "" {
		return License{}, fmt.Errorf("%w: license or signature missing", ErrLicenseFormat)
	}
	if len(pub) != ed25519.PublicKeySize {
		return License{}, ErrLicenseKey
	}
	sig, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil {
		return License{}, fmt.Errorf("%w: signature: %w", ErrLicenseFormat, err)
	}
	// The signature covers the bytes as stored; MarshalIndent reindents
	// the raw message, so compact it back first.
	var body bytes.Buffer
	if err := json.Compact(&body, f.License); err != nil {
		return License{}, fmt.Errorf("%w: %w", ErrLicenseFormat, err)
	}
	if !ed25519.Verify(pub, body.Bytes(), sig) {
		return License{}, ErrLicenseSignature
	}
	var l License
	if err := json.Unmarshal(body.Bytes(), &l); err != nil {
		return License{}, fmt.Errorf("%w: %w", ErrLicenseFormat, err)
	}
	return l, nil
}

// VerifyLicense parses a license file and checks it is for agentID and
// valid at now.
func VerifyLicense(file []byte, pub ed25519.PublicKey, agentID string, now time.Time) (License, error) {
	l, err := ParseLicense(file, pub)
	if err != nil {
		return l, err
	}
	if l.AgentID != agentID {
		return l, fmt.Errorf("%w: license for %q, agent is %q", ErrLicenseAgent, l.AgentID, agentID)
	}
	if !now.Before(l.Expires) {
		return l, fmt.Errorf("%w: expired %s", ErrLicenseExpired, l.Expires.Format(time.RFC3339))
	}
	return l, nil
}

// String shows a license for people.
func (l License) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "agent:    %s\n", l.AgentID)
	if l.Customer != "" {
		fmt.Fprintf(&b, "customer: %s\n", l.Customer)
	}
	fmt.Fprintf(&b, "issued:   %s\nexpires:  %s\n", l.Issued.Format(time.RFC3339), l.Expires.Format(time.RFC3339))
	names := make([]string, 0, len(l.Ports))
	for n := range l.Ports {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "ports:    %s %d\n", n, l.Ports[n])
	}
	return b.String()
}

// SelfIssue issues a licence for agentID's ports (driver name → ports),
// valid for a year from now and signed with a key made for it alone: a
// process that configures its own ports (the loopback network, a trunk,
// the boards it finds) licenses them itself, and the agent checks the
// licence as any other. It returns the licence file and the public key.
func SelfIssue(agentID string, ports map[string]int, now time.Time) ([]byte, ed25519.PublicKey, error) {
	pub, priv, err := GenerateKey(nil)
	if err != nil {
		return nil, nil, err
	}
	lic, err := Sign(License{AgentID: agentID, Customer: "self-issued for the configured ports",
		Ports: maps.Clone(ports), Issued: now, Expires: now.AddDate(1, 0, 0)}, priv)
	return lic, pub, err
}
