package soap

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core"
)

// memHooks keeps tracking records and records copies and profile updates
// in memory: the operations' side of the Config hooks.
type memHooks struct {
	mu      sync.Mutex
	tracks  map[int64][]Track
	copies  [][2]int64 // msg, user
	assigns [][2]int64
	updated []UserProfile
	users   []core.User
	removed []int64
}

func (m *memHooks) SetTracks(_ context.Context, msg int64, t []Track) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tracks[msg] = slices.Clone(t)
	return nil
}

func (m *memHooks) Tracks(_ context.Context, msg int64) ([]Track, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.tracks[msg]), nil
}

func (m *memHooks) UpdateTrack(_ context.Context, msg, id int64, v string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.tracks[msg] {
		if m.tracks[msg][i].ID == id {
			m.tracks[msg][i].Value = v
			return nil
		}
	}
	return core.ErrNotFound
}

func (m *memHooks) CopyMessage(_ context.Context, msg, user int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.copies = append(m.copies, [2]int64{msg, user})
	return 1000 + int64(len(m.copies)), nil
}

func (m *memHooks) AssignMessage(_ context.Context, msg, user int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.assigns = append(m.assigns, [2]int64{msg, user})
	return nil
}

func (m *memHooks) UpdateUser(_ context.Context, u core.User, p UserProfile) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users = append(m.users, u)
	m.updated = append(m.updated, p)
	return nil
}

func (m *memHooks) RemoveUser(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removed = append(m.removed, id)
	return nil
}

func TestConfigHooks(t *testing.T) {
	e := newEnv(t, SOAP11)
	hk := &memHooks{tracks: map[int64][]Track{}}
	h, err := NewHandler(Config{Store: e.store, Tracks: hk, Copier: hk, Users: hk, Now: e.clock.Now, Location: time.UTC,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h

	got := e.call("SendCompleteMessage", sendXML(e.alice, fixture(t, "three.tif"), "5550101")).result()
	m, err := strconv.ParseInt(got, 10, 64)
	if err != nil {
		t.Fatalf("send: %s", got)
	}
	recs := e.call("GetTrackRecords", `<msgID>`+id(m)+`</msgID>`).strings()
	if !slices.Equal(recs, []string{"1|Label 1|Value 1"}) {
		t.Errorf("GetTrackRecords = %v", recs)
	}
	want(t, "update", e.call("UpdateTrackRecord", `<msgID>`+id(m)+`</msgID><trackID>1</trackID><trackValue>new value</trackValue>`).result(), "OK")
	want(t, "update missing", e.call("UpdateTrackRecord", `<msgID>`+id(m)+`</msgID><trackID>9</trackID><trackValue>x</trackValue>`).result(), "MESSAGE_NOT_FOUND")
	d := parseDoc(t, e.call("GetMessageDetails1", `<msgID>`+id(m)+`</msgID>`).result())
	want(t, "Tracking", d.path("Tracking"), "Label 1=new value")

	want(t, "forward", e.call("ForwardToUser", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>bob</string><string>admin</string></usernames>`).result(), "OK")
	want(t, "assign", e.call("AssignMessage", `<userID>`+id(e.alice)+`</userID><msgID>`+id(m)+`</msgID><usernames><string>bob</string><string>admin</string></usernames>`).result(), "OK")
	hk.mu.Lock()
	if !slices.Equal(hk.copies, [][2]int64{{m, e.bob}, {m, e.admin}, {m, e.bob}}) || !slices.Equal(hk.assigns, [][2]int64{{m, e.admin}}) {
		t.Errorf("copies %v assigns %v", hk.copies, hk.assigns)
	}
	hk.mu.Unlock()

	body := `<adminID>` + id(e.admin) + `</adminID><userID>` + id(e.alice) + `</userID><role>DomainAdmin</role><isExternalAuth>false</isExternalAuth><isActive>false</isActive><displayName>Alice A</displayName><firstName>Alice</firstName><lastName>A</lastName><companyName>Co</companyName><preferAddrType>Fax</preferAddrType><desc>d</desc><localCSID>ALICE</localCSID><callerID>5550100</callerID>`
	want(t, "update user", e.call("UpdateUser-extra", body).result(), "OK")
	want(t, "remove user", e.call("RemoveUser", `<adminID>`+id(e.admin)+`</adminID><userID>`+id(e.bob)+`</userID>`).result(), "OK")
	hk.mu.Lock()
	defer hk.mu.Unlock()
	if len(hk.updated) != 1 {
		t.Fatalf("updates %v", hk.updated)
	}
	p, u := hk.updated[0], hk.users[0]
	want(t, "csid", p.LocalCSID, "ALICE")
	want(t, "caller", p.CallerID, "5550100")
	want(t, "company", p.CompanyName, "Co")
	want(t, "admin", u.Admin, true)
	want(t, "active", u.Active, false)
	want(t, "full name", u.FullName, "Alice A")
	if !slices.Equal(hk.removed, []int64{e.bob}) {
		t.Errorf("removed %v", hk.removed)
	}
}
