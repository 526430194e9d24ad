package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// The call journal. The outbox (outbox.go) has an attempt's outcome once
// its call ended; a call that the agent does not see end (SIGKILL, a
// crash, the machine stopped) would leave no outcome: the queue would give
// its job to an agent again only once the lease ran out, with no record of
// the attempt, and every page the remote had already confirmed would be
// sent a second time. So every outbound attempt is journalled in
// OutboxDir/<attempt>.call from before it dials: a first line with the
// lease, the job and the attempt's record as far as it is known then, and
// a line per page the remote confirms. Each line is one write to the file
// (O_APPEND), made as the confirmation reaches the agent and before the
// call goes on, then synced: a process killed at any moment after it
// keeps the line. When the call ends, finish writes the outcome to the
// outbox and then the journal goes. At Start a journal whose outcome is
// not in the outbox is a call the agent did not see end; its outcome is
// made from the journal (every page confirmed: completed; else the retry
// the policy decides from the pages confirmed, as for a dropped call),
// written to the outbox and delivered with the lease of the call, like any
// other. The job is still this agent's if it starts again within the
// lease (the queue keeps an outcome whose lease went to another agent as
// a stale attempt: a dead agent cannot be told from a slow one).

// journalHead is the first line of a call journal.
type journalHead struct {
	Lease  Lease         `json:"lease"`
	Job    Job           `json:"job"`
	Pages  int           `json:"pages"` // in the document
	Record AttemptRecord `json:"record"`
}

// journalPage is a line of a call journal: a page the remote confirmed.
type journalPage struct {
	Page  int           `json:"page"` // 1-based document page
	Speed t30.Speed     `json:"speed"`
	ECM   bool          `json:"ecm"`
	At    time.Duration `json:"at"` // since the call started
	Time  time.Time     `json:"time"`
	// CallID is the driver's ID of the call.
	CallID string `json:"call_id,omitempty"`
	// The page's coding and the remote's CSI, when the driver says.
	Compression string `json:"compression,omitempty"`
	Resolution  string `json:"resolution,omitempty"`
	RemoteCSID  string `json:"remote_csid,omitempty"`
}

func (a *Agent) journalPath(attemptID string) string {
	return filepath.Join(a.cfg.OutboxDir, spoolBase(attemptID)+".call")
}

// callJournal is the journal of one call.
type callJournal struct {
	a    *Agent
	path string
	f    *os.File
	err  error // the journal failed: the call goes on without it
}

// openJournal starts the journal of a call about to be dialled.
func (a *Agent) openJournal(h journalHead) *callJournal {
	j := &callJournal{a: a, path: a.journalPath(h.Record.AttemptID)}
	h.Job.Doc = nil
	b, err := json.Marshal(h)
	if err == nil {
		j.f, err = os.OpenFile(j.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	}
	if err == nil {
		_, err = j.f.Write(append(b, '\n'))
	}
	if err == nil {
		err = j.f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(j.path))
	}
	j.fail(err)
	return j
}

func (j *callJournal) fail(err error) {
	if err != nil && j.err == nil {
		j.err = err
		j.a.log.Error("call journal: not written; were the agent killed in this call, its job would wait for its lease and confirmed pages would be sent again",
			"file", j.path, "err", err)
	}
}

// page journals a confirmed page (other events are ignored).
func (j *callJournal) page(ev t30.PageEvent, callID string) {
	if j == nil || ev.Status != t30.PageConfirmed || j.err != nil {
		return
	}
	line := journalPage{Page: ev.Page, Speed: ev.Speed, ECM: ev.ECM, At: ev.At, Time: j.a.cfg.Clock.Now(), CallID: callID,
		RemoteCSID: ev.RemoteIdent}
	if ev.Compression != 0 {
		line.Compression, line.Resolution = ev.Compression.String(), ev.Resolution.String()
	}
	b, err := json.Marshal(line)
	if err == nil {
		_, err = j.f.Write(append(b, '\n'))
	}
	if err == nil {
		err = j.f.Sync()
	}
	j.fail(err)
}

// done removes the journal once the call's outcome is in the outbox.
func (j *callJournal) done() {
	if j == nil || j.f == nil {
		return
	}
	j.f.Close()
	if err := os.Remove(j.path); err != nil {
		j.a.log.Warn("call journal: removing", "file", j.path, "err", err)
	}
}

// syncDir syncs a directory, so that a file created in it survives a
// crash of the machine.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readJournal reads a call journal: its head and the pages confirmed. A
// last line cut short (the machine stopped while it was written) is
// ignored.
func readJournal(b []byte) (journalHead, []journalPage, error) {
	var h journalHead
	var pages []journalPage
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 0; sc.Scan(); n++ {
		if n == 0 {
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
				return h, nil, fmt.Errorf("head: %w", err)
			}
			continue
		}
		var p journalPage
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			break
		}
		pages = append(pages, p)
	}
	if err := sc.Err(); err != nil {
		return h, nil, err
	}
	if h.Record.AttemptID == "" {
		return h, nil, errors.New("no head")
	}
	return h, pages, nil
}

// journalOutcome is the outcome of a call the agent did not see end, from
// its journal.
func (a *Agent) journalOutcome(h journalHead, pages []journalPage) AttemptRecord {
	rec := h.Record
	confirmed, last := 0, journalPage{}
	for _, p := range pages {
		if n := p.Page - h.Job.StartPage; n > confirmed {
			confirmed, last = n, p
		}
	}
	now := last.Time
	if now.IsZero() {
		now = a.cfg.Clock.Now()
	}
	code := t30.CodeCallDropped
	if h.Job.StartPage+confirmed >= h.Pages {
		code = t30.OK
	}
	dec := a.cfg.Retry.Decide(h.Job, rec.AttemptNo, code, confirmed, confirmed, h.Pages, now)
	status := StatusFailed
	switch {
	case dec.Code == t30.OK:
		status = StatusCompleted
	case dec.Retry:
		status = StatusRetry
	}
	res := drivers.Result{Result: t30.Result{Speed: last.Speed}}
	rec.CompleteDate = now
	if last.CallID != "" {
		rec.CallID = last.CallID
	}
	if last.Compression != "" {
		rec.CompressionMode, rec.FaxResolution = last.Compression, last.Resolution
	}
	if last.RemoteCSID != "" {
		rec.RemoteCSID = last.RemoteCSID
	}
	rec.FaxProtocol, rec.TransmitSpeed, rec.ECM = res.Protocol(), last.Speed.Rate, last.ECM
	rec.CallDuration, rec.TransmitDuration = last.At, last.At
	rec.PageSent, rec.PagesTransmitted = confirmed, confirmed
	rec.TransmitStatus, rec.TransmitStatusDef, rec.ErrorID = dec.Code.ID(), status, dec.Code.ID()
	rec.MaxAttemptNo = dec.Max
	rec.ErrorInfo = ""
	if dec.Code != t30.OK {
		rec.ErrorInfo = failureText(dec.Code, errors.New("the agent stopped during the call"))
	}
	if status == StatusRetry {
		rec.NextAttempt, rec.NextPage = dec.At, dec.StartPage+1
	}
	return rec
}

// recoverJournals turns the journals of calls an earlier run did not see
// end into outcomes in the outbox (recoverOutbox then delivers them).
func (a *Agent) recoverJournals() {
	entries, err := os.ReadDir(a.cfg.OutboxDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".call") {
			continue
		}
		path := filepath.Join(a.cfg.OutboxDir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			a.log.Error("call journal: unreadable, left in place", "file", path, "err", err)
			continue
		}
		h, pages, err := readJournal(b)
		if err == nil && a.journalPath(h.Record.AttemptID) != path {
			err = errors.New("the file name does not match its attempt ID")
		}
		if err != nil {
			a.log.Error("call journal: unreadable, left in place", "file", path, "err", err)
			continue
		}
		out := a.outboxPath(h.Record.AttemptID)
		if _, err := os.Stat(out); err == nil {
			// The call ended and its outcome was written: only the
			// journal's removal was missed.
			os.Remove(path)
			continue
		}
		rec := a.journalOutcome(h, pages)
		b, err = json.Marshal(outboxEntry{Lease: h.Lease, Record: rec})
		if err == nil {
			err = writeDurable(out, b)
		}
		if err != nil {
			a.log.Error("call journal: outcome not written, journal left in place", "file", path, "err", err)
			continue
		}
		a.log.Warn("outbox: a call the agent did not see end, its outcome from the call journal", "job", rec.JobID,
			"attempt", rec.AttemptID, "pages_confirmed", rec.PageSent, "status", rec.TransmitStatusDef)
		os.Remove(path)
	}
}
