package main

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzClientInputs feeds arbitrary text to the CLI's own parsers of user
// input: --schedule and --server. Each gives a value or an error, never a
// panic; a schedule is never before now minus a day, a server URL is
// http(s) with a host.
func FuzzClientInputs(f *testing.F) {
	for _, s := range []string{"+30m", "15:04", "2026-01-02 15:04", "2026-01-02T15:04:05Z", "+-1h", "25:99", "",
		"127.0.0.1:8081", "http://h:1/", "https://fax.example.com", "ftp://x", "http://", "::1", "h:1?x=1", "%zz"} {
		f.Add(s)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if at, err := parseSchedule(s, now); err == nil && strings.HasPrefix(s, "+") && at.Before(now) {
			t.Fatalf("schedule %q = %v, before now", s, at)
		}
		if u, err := normalizeServer(s); err == nil {
			p, perr := url.Parse(u)
			if perr != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				t.Fatalf("server %q normalised to %q (%v)", s, u, perr)
			}
		}
	})
}
