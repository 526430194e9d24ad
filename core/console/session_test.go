package console

import (
	"errors"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core"
)

// TestSessionsPerUser: one user logging in again and again keeps at most
// MaxSessionsPerUser sessions (its least recently used ones end), so it
// cannot fill the session table and lock everyone else out of the
// console; the table's own cap still holds. (Before, any user with a
// password could take all 10000 sessions by logging in.)
func TestSessionsPerUser(t *testing.T) {
	now := time.Unix(1000, 0)
	ss := newSessions(Options{MaxSessions: 5, MaxSessionsPerUser: 2, SessionIdle: time.Hour, SessionMax: time.Hour,
		Now: func() time.Time { return now }})
	mallory, admin := core.User{ID: 7, Username: "mallory"}, core.User{ID: 1, Username: "admin"}
	var secrets []string
	for i := range 10 {
		now = now.Add(time.Second)
		secret, _, err := ss.create(mallory, false)
		if err != nil {
			t.Fatalf("mallory's login %d: %v", i+1, err)
		}
		secrets = append(secrets, secret)
	}
	if _, ok := ss.lookup(secrets[0]); ok {
		t.Error("mallory's oldest session still live")
	}
	if _, ok := ss.lookup(secrets[9]); !ok {
		t.Error("mallory's newest session ended")
	}
	n := 0
	for _, s := range ss.m {
		if s.userID == mallory.ID {
			n++
		}
	}
	if n != 2 {
		t.Errorf("mallory holds %d sessions, want 2", n)
	}
	if _, _, err := ss.create(admin, true); err != nil {
		t.Fatalf("admin locked out: %v", err)
	}
	for i := 2; i <= 4; i++ {
		if _, _, err := ss.create(core.User{ID: int64(10 + i), Username: "u"}, false); err != nil && i < 4 {
			t.Fatalf("user %d: %v", i, err)
		} else if i == 4 && !errors.Is(err, errFull) {
			t.Fatalf("sixth session over MaxSessions: %v", err)
		}
	}
}
