package agent

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

func TestDialRules(t *testing.T) {
	r := DialRules{
		Prefix: "9,", CountryCode: "1", AreaCode: "303", LongDistancePrefix: "1", InternationalPrefix: "011",
		Rewrites: []Rewrite{{Match: "555", Replace: "303555"}},
	}
	tests := []struct{ in, want string }{
		{"+1 (303) 555-1234", "9,5551234"},
		{"+1 312 555 1234", "9,13125551234"},
		{"+44 20 7946 0000", "9,011442079460000"},
		{"5551234", "9,3035551234"},
		{"12*34#", "9,12*34#"},
		{"1+2", "9,12"},
		{"", "9,"},
	}
	for _, tc := range tests {
		if got := r.Apply(tc.in); got != tc.want {
			t.Errorf("Apply(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := (DialRules{}).Apply("+1 303 555"); got != "+1303555" {
		t.Errorf("no rules: %q", got)
	}
}

func FuzzDialRules(f *testing.F) {
	for _, s := range []string{"+1 (303) 555-1234", "+44 20", "", "+", "++1", "9,,,*#"} {
		f.Add(s)
	}
	r := DialRules{Prefix: "9", CountryCode: "1", AreaCode: "303", LongDistancePrefix: "1", InternationalPrefix: "011",
		Rewrites: []Rewrite{{Match: "0", Replace: "+"}}}
	f.Fuzz(func(t *testing.T, s string) {
		out := r.Apply(s)
		if !strings.HasPrefix(out, "9") {
			t.Fatalf("%q -> %q lost the prefix", s, out)
		}
		for _, c := range out[1:] {
			if !(c >= '0' && c <= '9' || c == '*' || c == '#' || c == ',' || c == '+') {
				t.Fatalf("%q -> %q has %q", s, out, c)
			}
		}
	})
}

func TestRetryDecide(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := RetryPolicy{
		MaxAttempts: 3,
		Now:         ClassRule{Interval: 10 * time.Second},
		Later:       ClassRule{Interval: 5 * time.Minute},
		Codes:       map[t30.Code]ClassRule{t30.CodeBusy: {MaxAttempts: 5, Interval: time.Minute}},
		PageLimit:   12,
	}
	tests := []struct {
		name      string
		job       Job
		attempt   int
		code      t30.Code
		confirmed int
		sent      int
		retry     bool
		at        time.Duration
		start     int
		max       int
		outCode   t30.Code
	}{
		{name: "success", job: Job{}, attempt: 1, code: t30.OK, confirmed: 5, sent: 5, max: 3, start: 4},
		{name: "busy later", attempt: 1, code: t30.CodeBusy, retry: true, at: time.Minute, max: 3},
		{name: "no answer later", attempt: 2, code: t30.CodeNoAnswer, retry: true, at: 5 * time.Minute, max: 3},
		{name: "dropped now, resume", job: Job{StartPage: 1}, attempt: 1, code: t30.CodeCallDropped, confirmed: 2, sent: 3, retry: true, at: 10 * time.Second, start: 3, max: 3},
		{name: "incompatible never", attempt: 1, code: t30.CodeIncompatible, max: 3},
		{name: "document never", attempt: 1, code: t30.CodeDocument, max: 3},
		{name: "cancelled never", attempt: 1, code: t30.CodeCancelled, max: 3},
		{name: "attempts used", attempt: 3, code: t30.CodeBusy, max: 3},
		{name: "job's own max", job: Job{MaxAttempts: 5}, attempt: 3, code: t30.CodeBusy, retry: true, at: time.Minute, max: 5},
		{name: "page limit", job: Job{PagesSent: 10}, attempt: 1, code: t30.CodeCallDropped, sent: 2, max: 3, outCode: CodePageLimit},
		{name: "watchdog later", attempt: 1, code: CodeWatchdog, retry: true, at: 5 * time.Minute, max: 3},
	}
	for _, tc := range tests {
		d := p.Decide(tc.job, tc.attempt, tc.code, tc.confirmed, tc.sent, 5, now)
		want := tc.outCode
		if want == 0 {
			want = tc.code
		}
		if d.Retry != tc.retry || d.StartPage != tc.start || d.Max != tc.max || d.Code != want || (tc.retry && d.At != now.Add(tc.at)) {
			t.Errorf("%s: %+v", tc.name, d)
		}
	}
}

func TestDestMemory(t *testing.T) {
	m := newDestMemory(MemoryPolicy{TrainFailures: 2})
	m.learn("1", t30.OK, 1, 9600, 0)
	if r, _ := m.settings("1"); r != 0 {
		t.Fatalf("lowered after one failure of two: %d", r)
	}
	m.learn("1", t30.OK, 2, 9600, 0)
	if r, _ := m.settings("1"); r != 9600 {
		t.Fatalf("cap %d, want 9600", r)
	}
	m.learn("1", t30.CodeTrainFailed, 3, 2400, 9600)
	if r, _ := m.settings("1"); r != 2400 {
		t.Fatalf("cap %d after training failure at the lowest rate", r)
	}
	m.learn("2", t30.CodeECMFailed, 0, 14400, 0)
	if _, off := m.settings("2"); !off {
		t.Fatal("ECM still on")
	}
	m.learn("3", t30.CodeBusy, 0, 0, 0)
	if r, off := m.settings("3"); r != 0 || off {
		t.Fatal("busy changed the memory")
	}
	if lowerRate(14400) != 12000 || lowerRate(2400) != 2400 || lowerRate(9600) != 7200 {
		t.Fatal("rate ladder")
	}
}

func TestLicenseRoundTrip(t *testing.T) {
	pub, priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := EncodeKey(pub)
	ks, _ := EncodeKey(priv)
	pub2, err := ParsePublicKey(ps)
	if err != nil || !pub2.Equal(pub) {
		t.Fatalf("public key: %v", err)
	}
	priv2, err := ParsePrivateKey(ks)
	if err != nil || !priv2.Equal(priv) {
		t.Fatalf("private key: %v", err)
	}
	if _, err := ParsePublicKey(ks); !errors.Is(err, ErrLicenseKey) {
		t.Fatalf("private as public: %v", err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	l := License{AgentID: "101009", Customer: "ACME <&>", Ports: map[string]int{"loopback": 4, "brooktrout": 24}, Issued: exp.AddDate(-1, 0, 0), Expires: exp}
	file, err := Sign(l, priv2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyLicense(file, pub2, "101009", exp.Add(-time.Second))
	if err != nil || got.Ports["brooktrout"] != 24 || !got.Expires.Equal(exp) || got.Customer != l.Customer {
		t.Fatalf("verify: %+v %v", got, err)
	}
	if _, err := VerifyLicense(file, pub2, "101009", exp); !errors.Is(err, ErrLicenseExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	// Any change to the license body breaks the signature.
	for i := bytes.Index(file, []byte(`"license"`)) + 12; i < bytes.Index(file, []byte(`"signature"`)); i++ {
		c := file[i]
		if c == ' ' || c == '\n' {
			continue
		}
		bad := bytes.Clone(file)
		bad[i] ^= 0x01
		if _, err := ParseLicense(bad, pub2); err == nil {
			t.Fatalf("flipping byte %d (%q) went unnoticed", i, c)
		}
	}
	if s := got.String(); !strings.Contains(s, "brooktrout 24") || !strings.Contains(s, "101009") {
		t.Fatalf("String: %s", s)
	}
	if _, err := Sign(License{AgentID: "x"}, priv); !errors.Is(err, ErrLicenseFormat) {
		t.Fatalf("no expiry: %v", err)
	}
}

func FuzzParseLicense(f *testing.F) {
	pub, priv, _ := GenerateKey(bytes.NewReader(make([]byte, 64)))
	good, _ := Sign(License{AgentID: "a", Ports: map[string]int{"loopback": 2}, Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, priv)
	f.Add(good)
	f.Add([]byte(`{"license":{},"signature":""}`))
	f.Add([]byte(`{"license":"x","signature":"!!"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLicense(b, pub)
		if err == nil && l.AgentID != "a" {
			t.Fatalf("accepted a license nobody signed: %+v", l)
		}
	})
}

// TestRetryWaits: waits by cause, growing by Backoff per attempt up to
// MaxInterval, spread by Jitter.
func TestRetryWaits(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := 0.5
	p := RetryPolicy{MaxAttempts: 9, Now: ClassRule{Interval: 30 * time.Second}, Later: ClassRule{Interval: 2 * time.Minute},
		Codes:   map[t30.Code]ClassRule{t30.CodeBusy: {Interval: time.Minute}, t30.CodeNoAnswer: {Interval: 3 * time.Minute}},
		Backoff: 2, MaxInterval: 10 * time.Minute, Jitter: 0.2, Rand: func() float64 { return r }}
	tests := []struct {
		code    t30.Code
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{t30.CodeBusy, 1, 0.5, time.Minute},
		{t30.CodeBusy, 2, 0.5, 2 * time.Minute},
		{t30.CodeBusy, 3, 0.5, 4 * time.Minute},
		{t30.CodeBusy, 5, 0.5, 10 * time.Minute}, // capped
		{t30.CodeNoAnswer, 1, 0.5, 3 * time.Minute},
		{t30.CodeCallDropped, 1, 0.5, 30 * time.Second},
		{t30.CodeTrainFailed, 1, 0.5, 2 * time.Minute},
		{t30.CodeBusy, 1, 0, 48 * time.Second},    // -20 %
		{t30.CodeBusy, 1, 1, 72 * time.Second},    // +20 %
		{t30.CodeBusy, 1, 0.75, 66 * time.Second}, // +10 %
	}
	for _, tc := range tests {
		r = tc.rnd
		d := p.Decide(Job{}, tc.attempt, tc.code, 0, 0, 1, now)
		if !d.Retry || d.At.Sub(now) != tc.want {
			t.Errorf("%v attempt %d rand %.2f: retry %v after %v, want %v", tc.code, tc.attempt, tc.rnd, d.Retry, d.At.Sub(now), tc.want)
		}
	}
	// Jobs failing together come back spread out (the real random source).
	p.Rand = nil
	seen := map[time.Time]bool{}
	for range 20 {
		d := p.Decide(Job{}, 1, t30.CodeBusy, 0, 0, 1, now)
		if w := d.At.Sub(now); w < 48*time.Second || w > 72*time.Second {
			t.Fatalf("jittered wait %v outside ±20 %% of 1 min", w)
		}
		seen[d.At] = true
	}
	if len(seen) < 15 {
		t.Errorf("20 busy jobs come back at only %d instants", len(seen))
	}
}

func TestFailureText(t *testing.T) {
	tests := []struct {
		code t30.Code
		err  error
		want string
	}{
		{t30.CodeBusy, &drivers.DialError{Code: t30.CodeBusy, Cause: "busy"}, "busy"},
		{t30.CodeBusy, &drivers.DialError{Code: t30.CodeBusy, Cause: "the called port is in another call"}, "busy: the called port is in another call"},
		{t30.CodeBusy, &drivers.DialError{Code: t30.CodeBusy, Cause: "486 Busy Here", Err: errors.New("sip")}, "busy: 486 Busy Here: sip"},
		{t30.CodeNoAnswer, &drivers.DialError{Code: t30.CodeNoAnswer, Cause: "no answer"}, "no answer"},
		{t30.CodeCallDropped, errors.New("call dropped: remote silent for 20s"), "call dropped: remote silent for 20s"},
		{t30.CodeT2Timeout, nil, "timeout T2 waiting for a command"},
		{t30.CodeCancelled, errors.New("t30: cancelled"), "cancelled"},
	}
	for _, tc := range tests {
		if got := failureText(tc.code, tc.err); got != tc.want {
			t.Errorf("failureText(%v, %v) = %q, want %q", tc.code, tc.err, got, tc.want)
		}
	}
}

func TestDialRulesCheck(t *testing.T) {
	r := DialRules{CountryCode: "1", AreaCode: "303", LongDistancePrefix: "1", InternationalPrefix: "011"}
	tests := []struct {
		in string
		ok bool
	}{
		{"5551234", true},                 // +1 303 5551234: 11 digits
		{"555123456789", false},           // +1 303 555123456789: 16
		{"+44 20 7946 0000", true},        // 12
		{"011 44 20 7946 0000 123", true}, // 15
		{"011 44 20 7946 0000 1234", false},
		{"1 312 555 1234", true},        // +1 312 5551234
		{"1 312 555 1234 56789", false}, // 1 + 15
		{"12345678901", true},           // long-distance prefix 1, then 10: 11
		{"55512345678901", false},       // local: 1+3+14 = 18
		{"*72 5551234567890123", true},  // exchange codes are not checked
	}
	for _, tc := range tests {
		if err := r.Check(tc.in); (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	if err := (DialRules{}).Check("1234567890123456789"); err != nil {
		t.Errorf("without a country code nothing is checked: %v", err)
	}
}
