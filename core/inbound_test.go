package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/faxagent/faxagent/agent"
)

// TestMigrationToVersion5: a version 4 database with a received fax (its
// message and attempt) opens with this build; the rows survive, the
// attempt gets an empty call ID, and failed calls can be stored as call
// records without a message.
func TestMigrationToVersion5(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, o := openTest(t, be, func(o *Options) { o.schemaVersion = 4 })
			ctx := context.Background()
			d := st.read()
			var msg, att int64
			if err := d.row(ctx, `INSERT INTO messages (direction, folder, status, priority, schedule_at, max_attempts,
				inbound_key, created_at) VALUES ('inbound', 'unrouted', 'Received', 60, 0, 1, 'agent-1/call-1', 0) RETURNING id`,
			).Scan(&msg); err != nil {
				t.Fatal(err)
			}
			if err := d.row(ctx, `INSERT INTO attempts (attempt_key, message_id, direction, outcome, create_date, remote_csid)
				VALUES ('agent-1/call-1', ?, 'inbound', 'received', 0, 'OLD') RETURNING id`, msg).Scan(&att); err != nil {
				t.Fatal(err)
			}
			st.Close()
			o.schemaVersion = 0
			st2, _, err := Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			md, err := st2.Message(ctx, msg)
			if err != nil || len(md.Received) != 1 || md.Received[0].Key != "agent-1/call-1" ||
				md.Received[0].RemoteCSID != "OLD" || md.Received[0].CallID != "" || md.Received[0].ID != att {
				t.Fatalf("received fax after the migration %+v %v", md, err)
			}
			c, err := st2.RecordCall(ctx, Transmission{Key: "agent-1/x", AttemptFacts: agent.AttemptFacts{CallID: "c1", ErrorID: 3, ErrorInfo: "no fax tone"}})
			if err != nil || c.MessageID != 0 || c.Outcome != OutcomeFailed {
				t.Fatalf("call record %+v %v", c, err)
			}
			calls, total, err := st2.Calls(ctx, CallQuery{Direction: Inbound})
			if err != nil || total != 2 || calls[0].Key != "agent-1/x" || calls[1].Key != "agent-1/call-1" {
				t.Fatalf("calls %+v %d %v", calls, total, err)
			}
		})
	}
}

// TestInboundReportsByUniqueID: through the agent adapter, a reception
// reported twice (the agent retrying) stores one message; two receptions
// with one driver call ID (a SIP Call-ID) store two; 200 calls that
// brought no page store no message and 200 failed call records with their
// reason; a partial fax is a message marked partial.
func TestInboundReportsByUniqueID(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, clk, _ := openTest(t, be, nil)
			ctx := context.Background()
			q := NewAgentQueue(st)
			file := func(content string) string {
				p := t.TempDir() + "/in.tif"
				if err := writeFile(p, content); err != nil {
					t.Fatal(err)
				}
				return p
			}
			rec := agent.InboundRecord{ID: agent.NewInboundID("A"), CallID: "same@peer", CalledNumber: "5550104",
				Received: clk.Now(), Pages: 1, File: file("II*\x00 fax one")}
			for range 3 {
				if err := q.Inbound(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
			rec2 := rec
			rec2.ID, rec2.File = agent.NewInboundID("A"), file("II*\x00 fax two")
			if err := q.Inbound(ctx, rec2); err != nil {
				t.Fatal(err)
			}
			part := rec
			part.ID, part.File, part.Pages, part.Partial, part.ErrorID, part.ErrorInfo = agent.NewInboundID("A"), file("II*\x00 part"), 2, true, 7, "call dropped"
			if err := q.Inbound(ctx, part); err != nil {
				t.Fatal(err)
			}
			for i := range 200 {
				fail := agent.InboundRecord{ID: agent.NewInboundID("A"), CallID: fmt.Sprintf("flood-%d@peer", i), CalledNumber: "5550104",
					Received: clk.Now(), ErrorID: 3, ErrorInfo: "no fax detected"}
				if err := q.Inbound(ctx, fail); err != nil {
					t.Fatal(err)
				}
				if i == 0 { // repeated: still one record
					if err := q.Inbound(ctx, fail); err != nil {
						t.Fatal(err)
					}
				}
			}
			ms, total, err := st.Messages(ctx, MessageQuery{Folder: FolderUnrouted, Limit: 1000})
			if err != nil || total != 3 {
				t.Fatalf("%d inbound messages, want 3 (%v)", total, err)
			}
			statuses := map[string]int{}
			for _, m := range ms {
				statuses[m.Status]++
			}
			if statuses["Received"] != 2 || statuses["Partial"] != 1 {
				t.Fatalf("statuses %v", statuses)
			}
			if n, _, _ := st.Messages(ctx, MessageQuery{Folder: FolderInbox}); len(n) != 0 {
				t.Fatalf("inbox %+v", n)
			}
			failed, total, err := st.Calls(ctx, CallQuery{Direction: Inbound, Outcome: OutcomeFailed, Limit: 1000})
			if err != nil || total != 201 || len(failed) != 201 {
				t.Fatalf("%d failed call records (%v), want 201 (200 without pages, the partial fax)", total, err)
			}
			for _, c := range failed {
				if c.ErrorInfo == "call dropped" { // the partial fax: failed, its pages kept
					if c.MessageID == 0 || c.ErrorID != 7 {
						t.Fatalf("partial call %+v", c)
					}
					continue
				}
				if c.MessageID != 0 || c.ErrorInfo != "no fax detected" || c.ErrorID != 3 || !strings.HasPrefix(c.CallID, "flood-") {
					t.Fatalf("failed call %+v", c)
				}
			}
			if _, total, _ := st.Calls(ctx, CallQuery{Direction: Inbound, Outcome: OutcomeReceived}); total != 2 {
				t.Fatalf("%d received call records, want 2", total)
			}
			// A reception ID is a message or a call record, never both.
			if err := q.Inbound(ctx, agent.InboundRecord{ID: rec.ID, Received: time.Now()}); err != nil {
				t.Fatalf("repeat of a stored fax without its file: %v", err)
			}
			if _, total, _ := st.Calls(ctx, CallQuery{Direction: Inbound}); total != 203 {
				t.Fatalf("%d call records, want 203", total)
			}
		})
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// TestDataFileModes: the SQLite database, its WAL and SHM files, the data
// directory and the spool are the owner's only (0600 files, 0700
// directories), also for a database an earlier version left readable.
func TestDataFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	o := Options{DataDir: dir, PasswordCost: 4, AdminPassword: testAdminPassword, Logger: discardLogger()}
	ctx := context.Background()
	check := func() {
		t.Helper()
		st, _, err := Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.PutDocument(ctx, DocumentInput{Name: "a.tif", Body: strings.NewReader("II*\x00 secret")}); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(dir, "faxagent.db")
		docs, _ := filepath.Glob(filepath.Join(dir, "spool", "*", "*"))
		subdirs, _ := filepath.Glob(filepath.Join(dir, "spool", "*"))
		docs = append(docs, subdirs...)
		want := map[string]os.FileMode{dir: 0o700, db: 0o600, db + "-wal": 0o600, db + "-shm": 0o600, filepath.Join(dir, "spool"): 0o700}
		for _, d := range docs {
			want[d] = 0o600
			if fi, _ := os.Stat(d); fi != nil && fi.IsDir() {
				want[d] = 0o700
			}
		}
		if len(docs) != 3 {
			t.Fatalf("spool %v: want the tmp directory, a document's and the document", docs)
		}
		for p, mode := range want {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != mode {
				t.Errorf("%s: mode %o, want %o", p, got, mode)
			}
		}
	}
	check()
	for _, p := range []string{"faxagent.db", "faxagent.db-wal", "faxagent.db-shm"} {
		if err := os.Chmod(filepath.Join(dir, p), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	check()
}

// TestInboundConcurrentDuplicateReports: the same reception (and the same
// failed call) reported by several goroutines at once is stored once, and
// every report succeeds.
func TestInboundConcurrentDuplicateReports(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, clk, _ := openTest(t, be, nil)
			ctx := context.Background()
			q := NewAgentQueue(st)
			p := filepath.Join(t.TempDir(), "in.tif")
			if err := writeFile(p, "II*\x00 one fax"); err != nil {
				t.Fatal(err)
			}
			fax := agent.InboundRecord{ID: agent.NewInboundID("A"), Received: clk.Now(), Pages: 1, File: p}
			fail := agent.InboundRecord{ID: agent.NewInboundID("A"), Received: clk.Now(), ErrorID: 3, ErrorInfo: "no fax"}
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := range 16 {
				wg.Go(func() {
					rec := fax
					if i%2 == 1 {
						rec = fail
					}
					errs <- q.Inbound(ctx, rec)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if _, total, _ := st.Messages(ctx, MessageQuery{Folder: FolderUnrouted}); total != 1 {
				t.Fatalf("%d messages, want 1", total)
			}
			if _, total, _ := st.Calls(ctx, CallQuery{}); total != 2 {
				t.Fatalf("%d call records, want 2", total)
			}
		})
	}
}

// TestInboundHostileText: a reception whose peer sent an overlong called
// number and Call-ID and a CSID with invalid UTF-8 and a NUL byte is
// stored (the agent would otherwise retry it for ever), with the text made
// valid and cut to its limits.
func TestInboundHostileText(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, clk, _ := openTest(t, be, nil)
			ctx := context.Background()
			p := filepath.Join(t.TempDir(), "in.tif")
			if err := writeFile(p, "II*\x00 hostile"); err != nil {
				t.Fatal(err)
			}
			rec := agent.InboundRecord{ID: agent.NewInboundID("A"), CallID: strings.Repeat("c", 5000), Received: clk.Now(),
				CalledNumber: strings.Repeat("5", 300), RemoteCSID: "ROBO\xff\xfe\x00FAX", CallerID: strings.Repeat("é", 100),
				Pages: 1, File: p}
			if err := NewAgentQueue(st).Inbound(ctx, rec); err != nil {
				t.Fatalf("hostile text refused: %v", err)
			}
			calls, _, err := st.Calls(ctx, CallQuery{})
			if err != nil || len(calls) != 1 {
				t.Fatalf("calls %+v %v", calls, err)
			}
			c := calls[0]
			if len(c.CalledNumber) != 64 || len(c.CallID) != 256 || c.RemoteCSID != "ROBO\uFFFDFAX" || len(c.CallerID) != 128 ||
				!utf8.ValidString(c.CallerID) || c.MessageID == 0 {
				t.Fatalf("stored %+v", c)
			}
		})
	}
}

// FuzzClampTransmission: whatever text a call brings, the clamped record
// passes the store's checks, is valid UTF-8 without NUL, and keeps text
// that was valid and short enough unchanged.
func FuzzClampTransmission(f *testing.F) {
	f.Add("5550104", "ROBOFAX", "a84b4c76e66710@pc33.example.com")
	f.Add(strings.Repeat("5", 300), "ROBO\xff\xfe\x00FAX", strings.Repeat("é", 200))
	f.Add("", "\x00", "\xc3")
	f.Fuzz(func(t *testing.T, number, csid, callID string) {
		tr := Transmission{Key: "k",
			CallerID: csid, AttemptFacts: agent.AttemptFacts{CalledNumber: number, CallingNumber: number, RemoteCSID: csid, CallID: callID,
				ErrorInfo: callID, RoutingInfo: number}}
		clampTransmission(&tr)
		if err := checkTransmission(&tr); err != nil {
			t.Fatal(err)
		}
		for _, c := range transmissionText(&tr) {
			if !utf8.ValidString(*c.s) || strings.ContainsRune(*c.s, 0) {
				t.Fatalf("%s: %q", c.what, *c.s)
			}
		}
		if utf8.ValidString(csid) && !strings.ContainsRune(csid, 0) && len(csid) <= 64 && tr.RemoteCSID != csid {
			t.Fatalf("valid CSID %q changed to %q", csid, tr.RemoteCSID)
		}
	})
}
