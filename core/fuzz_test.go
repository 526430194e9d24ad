package core

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/agent"
)

func FuzzNormalizeFax(f *testing.F) {
	for _, s := range []string{"+1 (303) 555-0100", "0049 30 1234.5", "*67,,5550100#", "++1", "1+2", "", " - ", "١٢٣", "5550100\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeFax(s)
		if err != nil {
			return
		}
		digits := strings.TrimPrefix(n, "+")
		if digits == "" || len(digits) > 32 || strings.Trim(digits, "0123456789*#,") != "" {
			t.Fatalf("NormalizeFax(%q) = %q", s, n)
		}
		if again, err := NormalizeFax(n); err != nil || again != n {
			t.Fatalf("NormalizeFax not idempotent: %q -> %q -> %q, %v", s, n, again, err)
		}
	})
}

func FuzzParseLease(f *testing.F) {
	for _, s := range []string{"1.1", "42.7", "0.1", "1.0", "-1.2", "1.2.3", "+1.2", "1.", ".1", "9223372036854775807.1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLease(s)
		if err != nil {
			return
		}
		if l.JobID <= 0 || l.Epoch <= 0 {
			t.Fatalf("ParseLease(%q) = %+v", s, l)
		}
		if back, err := ParseLease(l.String()); err != nil || back != l {
			t.Fatalf("round trip %q -> %v -> %v, %v", s, l, back, err)
		}
	})
}

// FuzzDocumentName checks that no accepted display name can address a file
// outside the spool.
func FuzzDocumentName(f *testing.F) {
	for _, s := range []string{"letter.pdf", "../x", "a/b", `a\b`, "C:x", ".", "..", ".hidden", "a\x00b", "résumé.tif", "\u202e.tif"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkName(name) != nil {
			return
		}
		if filepath.Base(name) != name || filepath.Clean(name) != name || strings.ContainsAny(name, `/\:`) || strings.HasPrefix(name, ".") {
			t.Fatalf("accepted %q", name)
		}
	})
}

// FuzzRouteMatch checks that rule matching never panics and that an exact
// rule matches its own value.
func FuzzRouteMatch(f *testing.F) {
	f.Add("5550100", "5550100", "ROBOFAX", 3)
	f.Add("555*", "5551", " robofax ", 0)
	f.Add("*", "", "", -1)
	f.Fuzz(func(t *testing.T, rule, digits, csid string, port int) {
		tr := &Transmission{CallerID: digits, AttemptFacts: agent.AttemptFacts{RoutingInfo: digits, RemoteCSID: csid, PortNo: port}}
		for _, c := range []RouteCondition{{RouteRoutingDigits, rule}, {RouteRemoteCSID, rule}, {RouteCallerID, rule}, {RoutePortNo, rule}} {
			r := Route{Cond1: c, Cond2: RouteCondition{RouteRemoteCSID, csid}}
			r.Match(tr)
			r.And = true
			r.Match(tr)
		}
		if !strings.HasSuffix(digits, "*") && !(Route{Cond1: RouteCondition{RouteRoutingDigits, digits}}).Match(tr) {
			t.Fatalf("rule %q does not match its own value", digits)
		}
	})
}
