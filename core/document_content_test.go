package core

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/agent"
)

// TestDocumentsReachEveryProcess opens two stores on one PostgreSQL schema
// with separate data directories (two cores, or a core and an agent, on
// machines that share no disk): a document submitted through one and a
// fax received through the other are read whole through either, and a
// spool file lost from disk is fetched again.
func TestDocumentsReachEveryProcess(t *testing.T) {
	be := backends()[1]
	a, _, o := openTest(t, be, nil)
	b, _, _ := openTest(t, backend{name: "postgres", options: func(tb testing.TB) Options {
		return Options{DataDir: tb.TempDir(), DatabaseURL: o.DatabaseURL, Schema: o.Schema}
	}}, nil)
	ctx := context.Background()
	admin, err := a.UserByName(ctx, AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	const sent, got = "II*\x00 the document sent", "II*\x00 the fax received"
	m, err := a.Submit(ctx, Submission{OwnerID: admin.ID, Documents: []DocumentInput{{Name: "letter.tif", Body: strings.NewReader(sent)}},
		Recipients: []Recipient{{Fax: "5550100"}}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := b.Receive(ctx, InboundFax{Key: "rx-1", Pages: 1, Body: strings.NewReader(got), Attempt: Transmission{AttemptFacts: agent.AttemptFacts{CalledNumber: "5550104"}}})
	if err != nil {
		t.Fatal(err)
	}
	read := func(st *sqlStore, id int64) string {
		t.Helper()
		_, rc, err := st.OpenDocument(ctx, id)
		if err != nil {
			t.Fatalf("open document %d: %v", id, err)
		}
		defer rc.Close()
		bs, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(bs)
	}
	sentID, gotID := m.Documents[0].ID, in.Documents[0].ID
	for _, c := range []struct {
		st   *sqlStore
		id   int64
		want string
	}{{a, sentID, sent}, {b, sentID, sent}, {a, gotID, got}, {b, gotID, got}} {
		if s := read(c.st, c.id); s != c.want {
			t.Errorf("document %d: %q, want %q", c.id, s, c.want)
		}
		p, err := c.st.DocumentFile(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if bs, _ := os.ReadFile(p); string(bs) != c.want {
			t.Errorf("document %d file %s: %q", c.id, p, bs)
		}
	}
	// A spool is a cache: its file gone, the content comes back.
	p, _ := b.DocumentFile(ctx, sentID)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if s := read(b, sentID); s != sent {
		t.Errorf("after removing the spool file: %q", s)
	}
}
