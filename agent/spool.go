package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/google/uuid"
)

// The receive spool (Config.SpoolDir) holds, per reception, two files
// named after its unique ID:
//
//	<id>.tif   the received pages (TIFF Class F), written page by page
//	<id>.json  its pending report: the InboundRecord, marked "in call"
//	           from the moment the call is answered until it ends
//
// A reception leaves the spool only after Reporter.Inbound has returned
// nil (the store has committed it): the record goes first, then the file.
// Until then the report is retried with back-off, and at the next Start
// every pending record is reported again:
//
//   - a record marked "in call" is a call the agent did not see end (it
//     was killed or the machine stopped): its file holds the pages
//     completed before that (each page's directory is linked as the page
//     ends), so it is reported as a partial fax of those pages with
//     CodeInterrupted, or as a failed call if no page was complete;
//   - a finished record is reported as it is (it may have been stored
//     already but not acknowledged: the store knows it by its ID).
//
// Any other file of this agent in the spool (a file whose record was
// removed a moment before the file itself, a temporary file of a record
// being written) is removed at Start once it is older than
// Config.SpoolGrace; younger ones are left alone. Several agents may share
// one spool directory (--role agent processes on one data directory): an
// agent touches only files named after its own reception IDs, never those
// of another agent, whose calls may be in progress.

// NewInboundID returns a new reception ID for agentID, unique forever: the
// agent ID and a random (version 4) UUID. Reports are idempotent by this
// ID alone; the driver's call ID repeats across restarts and peers.
func NewInboundID(agentID string) string {
	return agentID + "/" + uuid.NewString()
}

// spoolBase is the file name stem of a reception ID.
func spoolBase(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, id)
}

// ownStem reports whether a spool file name is one of this agent's: its
// reception ID's stem (agent prefix and a UUID) and any extensions.
func (a *Agent) ownStem(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	for _, owner := range []string{a.cfg.AgentID, a.cfg.Name} {
		rest, ok := strings.CutPrefix(stem, spoolBase(owner+"/"))
		if !ok {
			continue
		}
		if _, err := uuid.Parse(rest); err == nil && len(rest) == 36 {
			return true
		}
	}
	return false
}

// ownID reports whether a reception ID is this agent's (under its ID, or
// its name from before it had one).
func (a *Agent) ownID(id string) bool {
	return strings.HasPrefix(id, a.cfg.AgentID+"/") || strings.HasPrefix(id, a.cfg.Name+"/")
}

// pending is a reception's pair of files in the spool.
type pending struct {
	file   string // the TIFF
	record string // the pending report
}

func (a *Agent) pendingFor(id string) pending {
	base := filepath.Join(a.cfg.SpoolDir, spoolBase(id))
	return pending{file: base + ".tif", record: base + ".json"}
}

// pendingRecord is the content of a pending report file.
type pendingRecord struct {
	InCall bool          `json:"in_call"`
	Record InboundRecord `json:"record"`
}

// write replaces the pending report atomically (temporary file, sync,
// rename), readable by the owner only.
func (p pending) write(rec InboundRecord, inCall bool) error {
	b, err := json.Marshal(pendingRecord{InCall: inCall, Record: rec})
	if err != nil {
		return err
	}
	return writeDurable(p.record, b)
}

// writeDurable replaces path with b: a temporary file written and synced,
// renamed into place, and the directory synced, so that after a crash the
// file is either the old one or the whole new one.
func writeDurable(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		err = d.Sync()
		d.Close()
		return err
	}
	return nil
}

// done removes a stored reception from the spool: the record first (a
// crash in between leaves a file no record names, removed after the grace
// period), then the file.
func (p pending) done() error {
	var errs []error
	for _, f := range []string{p.record, p.file} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// maxReportDelay caps the back-off between two tries of an inbound report;
// reportTimeout bounds one try (a core that hangs must not hold Shutdown).
const (
	maxReportDelay = time.Minute
	reportTimeout  = 2 * time.Minute
)

// deliver reports a reception until the store has it, then clears it from
// the spool. It gives up only when the agent stops: the report stays
// pending in the spool for the next start.
func (a *Agent) deliver(p pending, rec InboundRecord) {
	defer a.reports.Done()
	delay := 100 * time.Millisecond
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(a.base, reportTimeout)
		err := a.cfg.Reporter.Inbound(ctx, rec)
		cancel()
		if err == nil {
			if err := p.done(); err != nil {
				a.log.Warn("spool: removing a stored reception", "inbound", rec.ID, "err", err)
			}
			return
		}
		select {
		case <-a.stop:
			a.log.Error("report inbound failed; kept in the spool for the next start", "inbound", rec.ID, "file", rec.File, "err", err)
			return
		default:
		}
		a.log.Warn("report inbound failed, retrying", "inbound", rec.ID, "err", err, "try", try)
		if !a.pause(delay) {
			a.log.Error("report inbound failed; kept in the spool for the next start", "inbound", rec.ID, "file", rec.File, "err", err)
			return
		}
		delay = min(2*delay, maxReportDelay)
	}
}

// pause waits d on the agent's clock; false if the agent stops meanwhile.
func (a *Agent) pause(d time.Duration) bool {
	ch := make(chan struct{})
	t := a.cfg.Clock.AfterFunc(d, func() { close(ch) })
	select {
	case <-ch:
		return true
	case <-a.stop:
		t.Stop()
		return false
	}
}

// recoverSpool reports the receptions left pending by an earlier run and
// removes unreferenced files older than the grace period (see above).
func (a *Agent) recoverSpool() {
	entries, err := os.ReadDir(a.cfg.SpoolDir)
	if err != nil {
		a.log.Error("spool: reading", "dir", a.cfg.SpoolDir, "err", err)
		return
	}
	named := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".json") || !a.ownStem(name) {
			continue
		}
		p := pending{record: filepath.Join(a.cfg.SpoolDir, name), file: filepath.Join(a.cfg.SpoolDir, strings.TrimSuffix(name, ".json")+".tif")}
		rec, err := a.loadPending(p)
		if err != nil {
			a.log.Error("spool: unreadable pending report (left for the grace period)", "file", p.record, "err", err)
			continue
		}
		named[name], named[filepath.Base(p.file)] = true, true
		a.log.Info("spool: reporting a reception left pending", "inbound", rec.ID, "pages", rec.Pages, "file", rec.File)
		a.reports.Add(1)
		go a.deliver(p, rec)
	}
	now := a.cfg.Clock.Now()
	for _, e := range entries {
		if !e.Type().IsRegular() || named[e.Name()] || !a.ownStem(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil || now.Sub(fi.ModTime()) < a.cfg.SpoolGrace {
			continue
		}
		path := filepath.Join(a.cfg.SpoolDir, e.Name())
		if err := os.Remove(path); err != nil {
			a.log.Warn("spool: removing an unreferenced file", "file", path, "err", err)
			continue
		}
		a.log.Info("spool: removed an unreferenced file", "file", path, "age", now.Sub(fi.ModTime()).Round(time.Second))
	}
}

// loadPending reads a pending report; a reception the agent did not see
// end becomes a partial fax of its complete pages, or a failed call.
func (a *Agent) loadPending(p pending) (InboundRecord, error) {
	b, err := os.ReadFile(p.record)
	if err != nil {
		return InboundRecord{}, err
	}
	var pr pendingRecord
	if err := json.Unmarshal(b, &pr); err != nil {
		return InboundRecord{}, err
	}
	rec := pr.Record
	if !a.ownID(rec.ID) || a.pendingFor(rec.ID).record != p.record {
		return InboundRecord{}, fmt.Errorf("pending report of reception %q in the file of another", rec.ID)
	}
	if rec.File != "" {
		rec.File = p.file // the spool may have moved; never a path outside it
	}
	if rec.FaxAgentID == a.cfg.Name {
		rec.FaxAgentID = a.cfg.AgentID // spooled before the agent had its ID
	}
	if !pr.InCall {
		if rec.File != "" {
			if _, err := os.Stat(rec.File); err != nil {
				return InboundRecord{}, fmt.Errorf("the received file is gone: %w", err)
			}
		}
		return rec, nil
	}
	rec.File, rec.Pages, rec.Partial = "", 0, false
	if n := completePages(p.file); n > 0 {
		rec.File, rec.Pages, rec.Partial = p.file, n, true
	} else {
		os.Remove(p.file)
	}
	rec.ErrorID, rec.ErrorInfo = int(CodeInterrupted), CodeText(CodeInterrupted)
	if err := p.write(rec, false); err != nil {
		a.log.Warn("spool: rewriting a pending report", "file", p.record, "err", err)
	}
	return rec, nil
}

// completePages counts the pages of a TIFF the agent was writing when it
// stopped (0 if none is readable).
func completePages(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	r, err := tiff.Open(f, fi.Size())
	if err != nil {
		return 0
	}
	return r.NumPages()
}
