package agent_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"

	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
)

// crashedTIFF writes what a reception leaves when the agent is killed in
// the middle of page complete+1: complete pages, then part of a page.
func crashedTIFF(t *testing.T, path string, complete int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := tiff.NewWriter(f, tiff.WriterOptions{Compression: imaging.MH})
	row := make([]byte, imaging.RowBytes(pageW))
	for i := 0; i <= complete; i++ {
		p, err := w.NewPage(tiff.PageSpec{Width: pageW, Resolution: imaging.Fine})
		if err != nil {
			t.Fatal(err)
		}
		for r := range pageH {
			row[r%len(row)] = 0xF0
			if err := p.WriteRow(row); err != nil {
				t.Fatal(err)
			}
		}
		if i < complete {
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Killed here: the last page's rows, no directory, no Close.
	if _, err := f.Write(bytes.Repeat([]byte{0x55}, 300)); err != nil {
		t.Fatal(err)
	}
}

// TestSpoolRecoveryAtStart: what an earlier run left in the spool is dealt
// with at Start. A reception killed mid-call is reported as a partial fax
// of its complete pages (or, without one, as a failed call); a finished
// reception whose report never got in is reported as it is; files no
// pending report names are removed once older than the grace period and
// kept before. The spool directory is the owner's only.
func TestSpoolRecoveryAtStart(t *testing.T) {
	f := newFixture(t, loopback.Virtual)
	defer f.stop()
	if err := os.Chmod(f.spool, 0o755); err != nil {
		t.Fatal(err)
	}
	type pendingFiles struct{ file, record string }
	pend := func(id string) pendingFiles {
		file, record := agent.SpoolPaths(f.spool, id)
		return pendingFiles{file, record}
	}
	now := time.Now()
	// Killed during page 3 of a call.
	killedID := agent.NewInboundID("A")
	killed := pend(killedID)
	crashedTIFF(t, killed.file, 2)
	if err := agent.WritePending(killed.file, killed.record, agent.InboundRecord{ID: killedID, CallID: "M0,0/1", CalledNumber: "100", Received: now, File: killed.file}, true); err != nil {
		t.Fatal(err)
	}
	// Killed before the first page was complete.
	earlyID := agent.NewInboundID("A")
	early := pend(earlyID)
	crashedTIFF(t, early.file, 0)
	if err := agent.WritePending(early.file, early.record, agent.InboundRecord{ID: earlyID, Received: now, File: early.file}, true); err != nil {
		t.Fatal(err)
	}
	// Finished, not acknowledged by the store.
	doneID := agent.NewInboundID("A")
	done := pend(doneID)
	crashedTIFF(t, done.file, 1)
	if err := agent.WritePending(done.file, done.record, agent.InboundRecord{ID: doneID, Received: now, File: done.file, Pages: 1}, false); err != nil {
		t.Fatal(err)
	}
	// A call of agent "A/B" sharing the spool, in progress: not ours.
	other := pend(agent.NewInboundID("A/B"))
	crashedTIFF(t, other.file, 1)
	if err := agent.WritePending(other.file, other.record, agent.InboundRecord{ID: "A/B/x", Received: now, File: other.file}, true); err != nil {
		t.Fatal(err)
	}
	// Unreferenced files: an old and a young one of ours, an old one of
	// another agent's, an old one of nobody's.
	old := pend(agent.NewInboundID("A")).file
	young := pend(agent.NewInboundID("A")).record + ".tmp"
	foreign := pend(agent.NewInboundID("B")).file
	junk := filepath.Join(f.spool, "notes.txt")
	for _, p := range []string{old, young, foreign, junk} {
		if err := os.WriteFile(p, []byte("left over"), 0o600); err != nil {
			t.Fatal(err)
		}
		age := 3 * time.Hour
		if p == young {
			age = time.Hour
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}

	f.agent("A", 0, []string{"100"}, 1, nil) // MaxCall 1 h: grace 2 h
	deadline := time.Now().Add(30 * time.Second)
	for len(f.rep.InboundRecords()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("reports %+v", f.rep.InboundRecords())
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := map[string]agent.InboundRecord{}
	for _, r := range f.rep.InboundRecords() {
		got[r.ID] = r
	}
	if r := got[killedID]; !r.Partial || r.Pages != 2 || r.ErrorID != int(agent.CodeInterrupted) || r.CallID != "M0,0/1" || len(readTIFF(t, r.File)) != 2 {
		t.Errorf("killed reception reported as %+v", r)
	}
	if r := got[earlyID]; r.Partial || r.Pages != 0 || r.File != "" || r.ErrorID != int(agent.CodeInterrupted) {
		t.Errorf("reception without a complete page reported as %+v", r)
	}
	if r := got[doneID]; r.Partial || r.Pages != 1 || r.ErrorID != 0 || r.File == "" {
		t.Errorf("finished reception reported as %+v", r)
	}
	want := []string{filepath.Base(young), filepath.Base(other.file), filepath.Base(other.record), filepath.Base(foreign), "notes.txt", "outbox", "reported"}
	slices.Sort(want)
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		es, err := os.ReadDir(f.spool)
		if err != nil {
			t.Fatal(err)
		}
		left = left[:0]
		for _, e := range es {
			left = append(left, e.Name())
		}
		if slices.Equal(left, want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(left, want) {
		t.Errorf("spool after start: %v, want %v (the young leftover, the other agents' files, nobody's, the reporter's copies)", left, want)
	}
	if n := len(f.rep.InboundRecords()); n != 3 {
		t.Errorf("%d receptions reported, want 3 (not the other agent's)", n)
	}
	if fi, err := os.Stat(f.spool); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("spool directory mode %v %v", fi.Mode(), err)
	}
}
