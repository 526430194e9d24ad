package notify

import (
	"testing"
	"time"
)

// FuzzVerify: any header and body give a clear answer, never a panic, and
// only a signature made with the secret verifies.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"message.final"}`)
	f.Add(Sign(secret, now, body), body)
	f.Add("t=1800000000,v1=00", body)
	f.Add("t=,v1=", []byte{})
	f.Add("v1=zz,t=-1,t=2", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, b []byte) {
		err := Verify(secret, header, b, now, 5*time.Minute)
		if err == nil && Verify([]byte("some-other-secret-entirely"), header, b, now, 5*time.Minute) == nil {
			t.Fatalf("%q verifies for %q under two secrets", header, b)
		}
	})
}

// FuzzParseAllowList never panics, and what it accepts it can answer for.
func FuzzParseAllowList(f *testing.F) {
	f.Add("10.0.0.0/8")
	f.Add("::1")
	f.Add("127.0.0.1")
	f.Add("1.2.3.4/33")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseAllowList([]string{s})
		if err == nil && len(l) != 1 {
			t.Fatalf("%q: %v", s, l)
		}
	})
}
