package agent

import (
	"errors"
	"testing"
	"time"
)

// TestSelfIssue: the licence verifies with its key for its agent and
// ports, for a year; another agent's name or a later date is refused, and
// another self-issued licence's key does not verify it.
func TestSelfIssue(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ports := map[string]int{"loopback": 4, "brooktrout": 2}
	lic, pub, err := SelfIssue("vm", ports, now)
	if err != nil {
		t.Fatal(err)
	}
	ports["loopback"] = 99 // the licence keeps its own copy
	l, err := VerifyLicense(lic, pub, "vm", now.AddDate(0, 11, 0))
	if err != nil || l.Ports["loopback"] != 4 || l.Ports["brooktrout"] != 2 || len(l.Ports) != 2 || !l.Issued.Equal(now) {
		t.Fatalf("%+v, %v", l, err)
	}
	if _, err := VerifyLicense(lic, pub, "other", now); !errors.Is(err, ErrLicenseAgent) {
		t.Errorf("other agent: %v", err)
	}
	if _, err := VerifyLicense(lic, pub, "vm", now.AddDate(1, 0, 0)); !errors.Is(err, ErrLicenseExpired) {
		t.Errorf("a year on: %v", err)
	}
	_, pub2, err := SelfIssue("vm", ports, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLicense(lic, pub2, "vm", now); !errors.Is(err, ErrLicenseSignature) {
		t.Errorf("another self-issued key: %v", err)
	}
}
