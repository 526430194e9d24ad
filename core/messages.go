package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/faxagent/faxagent/imaging/render"
)

// Limits on a submission.
const (
	MaxRecipients = 1000
	MaxDocuments  = 50
	maxText       = 500
	maxNote       = 4000
)

// NormalizeFax strips the separators people write in fax numbers (spaces,
// '-', '.', '(' and ')') and checks what is left: an optional leading '+'
// and 1 to 32 of 0-9 * # and ',' (pause).
func NormalizeFax(s string) (string, error) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		case '0' <= r && r <= '9' || r == '*' || r == '#' || r == ',':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0 && strings.TrimLeft(s[:i], " ") == "":
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("%w: fax number %q: unexpected %q", ErrInvalid, s, r)
		}
	}
	n := strings.TrimPrefix(b.String(), "+")
	if n == "" || len(n) > 32 {
		return "", fmt.Errorf("%w: fax number %q must have 1 to 32 digits", ErrInvalid, s)
	}
	if d := subscriberDigits(b.String()); d > MaxNumberDigits {
		return "", fmt.Errorf("%w: fax number %q has %d digits; a telephone number has at most %d (E.164)", ErrInvalid, s, d, MaxNumberDigits)
	}
	return b.String(), nil
}

// MaxNumberDigits is E.164's longest telephone number: country code and
// national number.
const MaxNumberDigits = 15

// subscriberDigits counts the digits of the number a normalised fax
// number dials: after the last pause (an access code such as "9," comes
// before it) and after an international prefix ("+", "00", "011").
func subscriberDigits(n string) int {
	if i := strings.LastIndexByte(n, ','); i >= 0 {
		n = n[i+1:]
	}
	switch {
	case strings.HasPrefix(n, "+"):
		n = n[1:]
	case strings.HasPrefix(n, "011"):
		n = n[3:]
	case strings.HasPrefix(n, "00"):
		n = n[2:]
	}
	d := 0
	for _, r := range n {
		if '0' <= r && r <= '9' {
			d++
		}
	}
	return d
}

func checkLen(what, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, max)
	}
	return nil
}

func (s *sqlStore) checkSubmission(sub *Submission) error {
	switch sub.Priority {
	case 0:
		sub.Priority = PriorityNormal
	case PriorityHigh, PriorityNormal, PriorityLow:
	default:
		return fmt.Errorf("%w: priority %d (want 70, 60 or 50)", ErrInvalid, sub.Priority)
	}
	if sub.MaxAttempts == 0 {
		sub.MaxAttempts = s.o.DefaultMaxAttempts
	}
	if sub.MaxAttempts < 1 || sub.MaxAttempts > 100 {
		return fmt.Errorf("%w: max attempts %d", ErrInvalid, sub.MaxAttempts)
	}
	ts, err := checkTracks(sub.Tracks)
	if err != nil {
		return err
	}
	sub.Tracks = ts
	if len(sub.Recipients) == 0 || len(sub.Recipients) > MaxRecipients {
		return fmt.Errorf("%w: %d recipients (want 1 to %d)", ErrInvalid, len(sub.Recipients), MaxRecipients)
	}
	if len(sub.Documents) == 0 || len(sub.Documents) > MaxDocuments {
		return fmt.Errorf("%w: %d documents (want 1 to %d)", ErrInvalid, len(sub.Documents), MaxDocuments)
	}
	for _, c := range []struct {
		what string
		s    string
		max  int
	}{
		{"subject", sub.Subject, maxText}, {"note", sub.Note, maxNote}, {"sender name", sub.SenderName, maxText},
		{"sender company", sub.SenderCompany, maxText}, {"billing code", sub.BillingCode, maxText},
		{"resolution", sub.Resolution, 32}, {"header", sub.Header, maxText}, {"preset agent", sub.Preset.Agent, 64},
	} {
		if err := checkLen(c.what, c.s, c.max); err != nil {
			return err
		}
	}
	if sub.Header != "" && sub.Header != "-" {
		if err := render.CheckHeader(sub.Header); err != nil {
			return fmt.Errorf("%w: header: %w", ErrInvalid, err)
		}
	}
	if sub.Preset.Type < PresetNone || sub.Preset.Type > PresetGroup || len(sub.Preset.Value) > 64 ||
		(sub.Preset.Type == PresetNone) != (sub.Preset.Value == "") {
		return fmt.Errorf("%w: preset %+v", ErrInvalid, sub.Preset)
	}
	for i := range sub.Recipients {
		r := &sub.Recipients[i]
		n, err := NormalizeFax(r.Fax)
		if err != nil {
			return fmt.Errorf("recipient %d: %w", i+1, err)
		}
		r.Fax = n
		if err := checkLen("recipient name", r.Name, maxText); err != nil {
			return err
		}
		if err := checkLen("recipient company", r.Company, maxText); err != nil {
			return err
		}
	}
	for i, d := range sub.Documents {
		if err := checkName(d.Name); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		if (d.ID == 0) == (d.Body == nil) || d.ID < 0 || d.Pages < 0 {
			return fmt.Errorf("%w: document %d needs either an ID or content", ErrInvalid, i+1)
		}
		if err := checkLen("content type", d.ContentType, 100); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) Submit(ctx context.Context, sub Submission) (MessageDetails, error) {
	if err := s.checkSubmission(&sub); err != nil {
		return MessageDetails{}, err
	}
	if err := CheckCallbackURL(sub.CallbackURL); err != nil {
		return MessageDetails{}, err
	}
	owner, err := s.User(ctx, sub.OwnerID)
	if err != nil {
		return MessageDetails{}, err
	}
	if !owner.Active {
		return MessageDetails{}, fmt.Errorf("%w: user %d is not active", ErrInvalid, owner.ID)
	}
	if sub.Preset.Agent != "" {
		// A job for an agent the core never enrolled would wait forever.
		a, err := s.ResolveAgent(ctx, sub.Preset.Agent)
		if errors.Is(err, ErrNotFound) {
			return MessageDetails{}, fmt.Errorf("%w: preset agent %s: no such agent", ErrInvalid, sub.Preset.Agent)
		}
		if err != nil {
			return MessageDetails{}, err
		}
		sub.Preset.Agent = strconv.FormatInt(a.ID, 10)
	}
	// Spool new content first; the transaction refers to it by hash.
	type spooled struct {
		sum  string
		size int64
	}
	sp := make([]spooled, len(sub.Documents))
	var cleanups []func()
	undo := func() {
		for _, c := range cleanups {
			c()
		}
	}
	for i, d := range sub.Documents {
		if d.Body == nil {
			continue
		}
		sum, size, cleanup, err := s.spoolDocument(d)
		if err != nil {
			undo()
			return MessageDetails{}, fmt.Errorf("document %d: %w", i+1, err)
		}
		cleanups = append(cleanups, cleanup)
		sp[i] = spooled{sum, size}
	}
	now := s.now()
	sched := sub.Schedule
	if sched.IsZero() || sched.Before(now) {
		sched = now
	}
	folder, status, state := FolderOutbox, "Queued", JobQueued
	if sub.Hold {
		folder, status, state = FolderHold, "Held", JobHeld
	}
	var id int64
	err = s.tx(ctx, func(d q) error {
		err := d.row(ctx, `INSERT INTO messages (owner_id, direction, folder, status, subject, note, sender_name,
			sender_company, billing_code, priority, schedule_at, hold, max_attempts, preset_agent, preset_type,
			preset_value, resolution, header, jobs_total, n_`+string(state)+`, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			sub.OwnerID, string(Outbound), string(folder), status, sub.Subject, sub.Note, sub.SenderName,
			sub.SenderCompany, sub.BillingCode, sub.Priority, ms(sched), b2i(sub.Hold), sub.MaxAttempts,
			sub.Preset.Agent, int(sub.Preset.Type), sub.Preset.Value, sub.Resolution, sub.Header,
			len(sub.Recipients), len(sub.Recipients), ms(now)).Scan(&id)
		if err != nil {
			return fmt.Errorf("core: insert message: %w", err)
		}
		if sub.CallbackURL != "" {
			if _, err := d.exec(ctx, "UPDATE messages SET callback_url = ? WHERE id = ?", sub.CallbackURL, id); err != nil {
				return fmt.Errorf("core: message callback: %w", err)
			}
		}
		for i, doc := range sub.Documents {
			docID := doc.ID
			if doc.Body != nil {
				dd, err := s.insertDocument(ctx, d, sp[i].sum, sp[i].size, doc.ContentType, doc.Pages)
				if err != nil {
					return err
				}
				docID = dd.ID
			} else if _, err := s.document(ctx, d, docID); err != nil {
				return fmt.Errorf("document %d: %w", i+1, err)
			}
			if _, err := d.exec(ctx, "INSERT INTO message_documents (message_id, seq, document_id, name) VALUES (?, ?, ?, ?)",
				id, i+1, docID, doc.Name); err != nil {
				return fmt.Errorf("core: insert message document: %w", err)
			}
		}
		if err := insertTracks(ctx, d, id, sub.Tracks); err != nil {
			return err
		}
		for i, r := range sub.Recipients {
			if _, err := d.exec(ctx, `INSERT INTO jobs (message_id, seq, recipient_name, recipient_company, fax, state,
				priority, not_before, max_attempts, preset_agent, preset_type, preset_value, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, i+1, r.Name, r.Company, r.Fax, string(state), sub.Priority, ms(sched), sub.MaxAttempts,
				sub.Preset.Agent, int(sub.Preset.Type), sub.Preset.Value, ms(now)); err != nil {
				return fmt.Errorf("core: insert job: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		undo()
		return MessageDetails{}, err
	}
	s.o.Logger.Debug("core: message submitted", "message", id, "recipients", len(sub.Recipients), "hold", sub.Hold)
	if !sub.Hold {
		s.announce(ctx)
		if sched.After(now) {
			s.wakeAt(sched) // announce poked for a job due now
		}
	}
	return s.Message(ctx, id)
}

const messageCols = `id, COALESCE(owner_id, 0), direction, folder, status, subject, note, sender_name, sender_company,
	billing_code, priority, schedule_at, hold, max_attempts, preset_agent, preset_type, preset_value, resolution,
	header, is_read, downloaded, created_at, completed_at, jobs_total, jobs_final`

func scanMessage(sc interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var dir, folder string
	var sched, created, completed int64
	err := sc.Scan(&m.ID, &m.OwnerID, &dir, &folder, &m.Status, &m.Subject, &m.Note, &m.SenderName, &m.SenderCompany,
		&m.BillingCode, &m.Priority, &sched, &m.Hold, &m.MaxAttempts, &m.Preset.Agent, &m.Preset.Type, &m.Preset.Value,
		&m.Resolution, &m.Header, &m.Read, &m.Downloaded, &created, &completed, &m.JobsTotal, &m.JobsComplete)
	m.Direction, m.Folder = Direction(dir), Folder(folder)
	m.Schedule, m.Created, m.Completed = fromMS(sched), fromMS(created), fromMS(completed)
	return m, err
}

func (s *sqlStore) message(ctx context.Context, d q, id int64) (Message, error) {
	m, err := scanMessage(d.row(ctx, "SELECT "+messageCols+" FROM messages WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("%w: message %d", ErrNotFound, id)
	}
	if err != nil {
		return Message{}, fmt.Errorf("core: message: %w", err)
	}
	return m, nil
}

func (s *sqlStore) messageDocuments(ctx context.Context, d q, id int64) ([]MessageDocument, error) {
	rows, err := d.query(ctx, `SELECT md.seq, md.name, d.id, d.sha256, d.size, d.content_type, d.pages, d.created_at
		FROM message_documents md JOIN documents d ON d.id = md.document_id WHERE md.message_id = ? ORDER BY md.seq`, id)
	if err != nil {
		return nil, fmt.Errorf("core: message documents: %w", err)
	}
	defer rows.Close()
	var out []MessageDocument
	for rows.Next() {
		var md MessageDocument
		var c int64
		if err := rows.Scan(&md.Seq, &md.Name, &md.ID, &md.SHA256, &md.Size, &md.ContentType, &md.Pages, &c); err != nil {
			return nil, err
		}
		md.Created = fromMS(c)
		out = append(out, md)
	}
	return out, rows.Err()
}

const jobCols = `id, message_id, seq, recipient_name, recipient_company, fax, state, priority, not_before, start_page,
	attempts, max_attempts, preset_agent, preset_type, preset_value, lease_epoch, lease_agent, lease_expires,
	cancel_requested, error_id, error_text, page_count, pages_sent, remote_csid, speed, created_at, completed_at,
	progress_epoch, progress_pages, progress_total`

func scanJob(sc interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var state string
	var nb, le, created, completed, pe int64
	var pp, pt int
	err := sc.Scan(&j.ID, &j.MessageID, &j.Seq, &j.Recipient.Name, &j.Recipient.Company, &j.Recipient.Fax, &state,
		&j.Priority, &nb, &j.StartPage, &j.Attempts, &j.MaxAttempts, &j.Preset.Agent, &j.Preset.Type, &j.Preset.Value,
		&j.Lease.Epoch, &j.LeaseAgent, &le, &j.CancelRequested, &j.ErrorID, &j.ErrorText, &j.PageCount, &j.PagesSent,
		&j.RemoteCSID, &j.Speed, &created, &completed, &pe, &pp, &pt)
	j.State = JobState(state)
	j.NotBefore, j.LeaseExpires, j.Created, j.Completed = fromMS(nb), fromMS(le), fromMS(created), fromMS(completed)
	if j.State == JobLeased {
		j.Lease.JobID = j.ID
		// Progress counts only when reported under the current lease.
		j.Progress.InCall = true
		if pe == j.Lease.Epoch {
			j.Progress.PagesSent, j.Progress.PagesTotal = pp, pt
		}
	} else {
		j.Lease = Lease{}
	}
	return j, err
}

const attemptCols = `id, attempt_key, COALESCE(job_id, 0), COALESCE(message_id, 0), direction, lease_epoch, stale, outcome,
	create_date, schedule_date, complete_date, calling_number, called_number, remote_csid, routing_info, caller_id,
	fax_protocol, transmit_speed, compression_mode, call_duration_ms, transmit_duration_ms, fax_resolution,
	transmit_status, transmit_status_def, attempt_no, max_attempt_no, page_count, start_page_no, page_sent,
	fax_agent_id, port_no, board_id, server_ip, error_id, error_info, call_id,
	dialed_number, ecm, max_rate, ecm_disabled, pages_transmitted, next_attempt, next_page,
	media, packets_lost, packets_recovered, sip_code, sip_reason`

func scanAttempt(sc interface{ Scan(...any) error }) (Transmission, error) {
	var t Transmission
	var dir, outcome string
	var cd, sd, xd, calld, txd, na int64
	err := sc.Scan(&t.ID, &t.Key, &t.JobID, &t.MessageID, &dir, &t.Lease.Epoch, &t.Stale, &outcome,
		&cd, &sd, &xd, &t.CallingNumber, &t.CalledNumber, &t.RemoteCSID, &t.RoutingInfo, &t.CallerID,
		&t.FaxProtocol, &t.TransmitSpeed, &t.CompressionMode, &calld, &txd, &t.FaxResolution,
		&t.TransmitStatus, &t.TransmitStatusDef, &t.AttemptNo, &t.MaxAttemptNo, &t.PageCount, &t.StartPageNo, &t.PageSent,
		&t.FaxAgentID, &t.PortNo, &t.BoardID, &t.ServerIP, &t.ErrorID, &t.ErrorInfo, &t.CallID,
		&t.DialedNumber, &t.ECM, &t.MaxRate, &t.ECMDisabled, &t.PagesTransmitted, &na, &t.NextPage,
		&t.Media, &t.PacketsLost, &t.PacketsRecovered, &t.SIPCode, &t.SIPReason)
	t.NextAttempt = fromMS(na)
	t.Direction, t.Outcome = Direction(dir), Outcome(outcome)
	t.CreateDate, t.ScheduleDate, t.CompleteDate = fromMS(cd), fromMS(sd), fromMS(xd)
	t.CallDuration, t.TransmitDuration = time.Duration(calld)*time.Millisecond, time.Duration(txd)*time.Millisecond
	if t.JobID != 0 {
		t.Lease.JobID = t.JobID
	}
	return t, err
}

// attemptDetailCols are the TransmissionDetails columns of attempts, in
// the order of attemptDetails.
var attemptDetailCols = []string{"create_date", "schedule_date", "complete_date", "calling_number", "called_number",
	"remote_csid", "routing_info", "caller_id", "fax_protocol", "transmit_speed", "compression_mode",
	"call_duration_ms", "transmit_duration_ms", "fax_resolution", "transmit_status", "transmit_status_def",
	"attempt_no", "max_attempt_no", "page_count", "start_page_no", "page_sent", "fax_agent_id", "port_no",
	"board_id", "server_ip", "error_id", "error_info", "call_id",
	"dialed_number", "ecm", "max_rate", "ecm_disabled", "pages_transmitted", "next_attempt", "next_page",
	"media", "packets_lost", "packets_recovered", "sip_code", "sip_reason"}

func attemptDetails(t *Transmission) []any {
	return []any{ms(t.CreateDate), ms(t.ScheduleDate), ms(t.CompleteDate), t.CallingNumber, t.CalledNumber,
		t.RemoteCSID, t.RoutingInfo, t.CallerID, t.FaxProtocol, t.TransmitSpeed, t.CompressionMode,
		t.CallDuration.Milliseconds(), t.TransmitDuration.Milliseconds(), t.FaxResolution, t.TransmitStatus,
		t.TransmitStatusDef, t.AttemptNo, t.MaxAttemptNo, t.PageCount, t.StartPageNo, t.PageSent, t.FaxAgentID,
		t.PortNo, t.BoardID, t.ServerIP, t.ErrorID, t.ErrorInfo, t.CallID,
		t.DialedNumber, b2i(t.ECM), t.MaxRate, b2i(t.ECMDisabled), t.PagesTransmitted, ms(t.NextAttempt), t.NextPage,
		t.Media, t.PacketsLost, t.PacketsRecovered, t.SIPCode, t.SIPReason}
}

func (s *sqlStore) insertAttempt(ctx context.Context, d q, t *Transmission, applied bool) error {
	cols := "attempt_key, job_id, message_id, direction, lease_epoch, stale, applied, outcome, " + strings.Join(attemptDetailCols, ", ")
	args := append([]any{t.Key, sql.NullInt64{Int64: t.JobID, Valid: t.JobID != 0},
		sql.NullInt64{Int64: t.MessageID, Valid: t.MessageID != 0}, string(t.Direction),
		t.Lease.Epoch, b2i(t.Stale), b2i(applied), string(t.Outcome)}, attemptDetails(t)...)
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
	err := d.row(ctx, "INSERT INTO attempts ("+cols+") VALUES ("+ph+") RETURNING id", args...).Scan(&t.ID)
	if err != nil {
		if isUnique(err) {
			return fmt.Errorf("%w: attempt %q", ErrExists, t.Key)
		}
		return fmt.Errorf("core: insert attempt: %w", err)
	}
	return nil
}

// updateAttemptDetails overwrites the TransmissionDetails of attempt id.
func (s *sqlStore) updateAttemptDetails(ctx context.Context, d q, id int64, t *Transmission) error {
	set := strings.Join(attemptDetailCols, " = ?, ") + " = ?"
	if _, err := d.exec(ctx, "UPDATE attempts SET "+set+" WHERE id = ?", append(attemptDetails(t), id)...); err != nil {
		return fmt.Errorf("core: update attempt: %w", err)
	}
	return nil
}

// textField is a free-text field of an attempt and its limit in bytes.
type textField struct {
	what string
	s    *string
	max  int
}

// transmissionText lists the free-text fields of an attempt but its key.
func transmissionText(t *Transmission) []textField {
	return []textField{
		{"calling number", &t.CallingNumber, 64}, {"called number", &t.CalledNumber, 64},
		{"remote CSID", &t.RemoteCSID, 64}, {"routing info", &t.RoutingInfo, 64}, {"caller ID", &t.CallerID, 128},
		{"fax protocol", &t.FaxProtocol, 16}, {"compression", &t.CompressionMode, 16}, {"resolution", &t.FaxResolution, 32},
		{"status text", &t.TransmitStatusDef, maxText}, {"agent ID", &t.FaxAgentID, 64}, {"board ID", &t.BoardID, 32},
		{"server IP", &t.ServerIP, 64}, {"error text", &t.ErrorInfo, maxNote}, {"call ID", &t.CallID, 256}, {"dialled number", &t.DialedNumber, 64},
	}
}

// checkTransmission bounds the free-text fields of an attempt and puts
// its error text and SIP reason on one line.
func checkTransmission(t *Transmission) error {
	t.ErrorInfo, t.SIPReason = oneLine(t.ErrorInfo), oneLine(t.SIPReason)
	if t.Key == "" {
		return fmt.Errorf("%w: attempt without an ID", ErrInvalid)
	}
	if err := checkLen("attempt ID", t.Key, 128); err != nil {
		return err
	}
	for _, c := range transmissionText(t) {
		if err := checkLen(c.what, *c.s, c.max); err != nil {
			return err
		}
	}
	return nil
}

// clampTransmission makes what a call brought from the network storable
// rather than refused: each free-text field becomes valid UTF-8 without
// NUL bytes, cut to its limit on a character boundary. A peer's overlong
// number or CSID must not keep a received fax out of the store.
func clampTransmission(t *Transmission) {
	t.ErrorInfo, t.SIPReason = oneLine(t.ErrorInfo), oneLine(t.SIPReason)
	for _, c := range transmissionText(t) {
		s := strings.ReplaceAll(strings.ToValidUTF8(*c.s, "\uFFFD"), "\x00", "")
		for len(s) > c.max {
			_, n := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-n]
		}
		*c.s = s
	}
}

func (s *sqlStore) Message(ctx context.Context, id int64) (MessageDetails, error) {
	d := s.read()
	m, err := s.message(ctx, d, id)
	if err != nil {
		return MessageDetails{}, err
	}
	md := MessageDetails{Message: m}
	if md.Documents, err = s.messageDocuments(ctx, d, id); err != nil {
		return MessageDetails{}, err
	}
	rows, err := d.query(ctx, "SELECT "+jobCols+" FROM jobs WHERE message_id = ? ORDER BY seq", id)
	if err != nil {
		return MessageDetails{}, fmt.Errorf("core: jobs: %w", err)
	}
	byID := map[int64]int{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return MessageDetails{}, err
		}
		byID[j.ID] = len(md.Jobs)
		md.Jobs = append(md.Jobs, JobDetails{Job: j})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return MessageDetails{}, err
	}
	rows, err = d.query(ctx, "SELECT "+attemptCols+" FROM attempts WHERE message_id = ? ORDER BY id", id)
	if err != nil {
		return MessageDetails{}, fmt.Errorf("core: attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanAttempt(rows)
		if err != nil {
			return MessageDetails{}, err
		}
		if i, ok := byID[t.JobID]; ok {
			md.Jobs[i].Attempts = append(md.Jobs[i].Attempts, t)
		} else {
			md.Received = append(md.Received, t)
		}
	}
	return md, rows.Err()
}

func (s *sqlStore) Job(ctx context.Context, id int64) (JobDetails, error) {
	d := s.read()
	j, err := scanJob(d.row(ctx, "SELECT "+jobCols+" FROM jobs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return JobDetails{}, fmt.Errorf("%w: job %d", ErrNotFound, id)
	}
	if err != nil {
		return JobDetails{}, fmt.Errorf("core: job: %w", err)
	}
	jd := JobDetails{Job: j}
	rows, err := d.query(ctx, "SELECT "+attemptCols+" FROM attempts WHERE job_id = ? ORDER BY id", id)
	if err != nil {
		return JobDetails{}, fmt.Errorf("core: attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanAttempt(rows)
		if err != nil {
			return JobDetails{}, err
		}
		jd.Attempts = append(jd.Attempts, t)
	}
	return jd, rows.Err()
}

func (s *sqlStore) Messages(ctx context.Context, mq MessageQuery) ([]Message, int, error) {
	f, err := ParseFolder(string(mq.Folder))
	if err != nil {
		return nil, 0, err
	}
	if mq.Limit == 0 {
		mq.Limit = 50
	}
	if mq.Limit < 0 || mq.Limit > 1000 || mq.Offset < 0 {
		return nil, 0, fmt.Errorf("%w: paging offset %d limit %d", ErrInvalid, mq.Offset, mq.Limit)
	}
	where := "folder = ?"
	args := []any{string(f)}
	if mq.OwnerID != 0 {
		where += " AND owner_id = ?"
		args = append(args, mq.OwnerID)
	}
	d := s.read()
	var total int
	if err := d.row(ctx, "SELECT COUNT(*) FROM messages WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("core: messages: %w", err)
	}
	rows, err := d.query(ctx, "SELECT "+messageCols+" FROM messages WHERE "+where+" ORDER BY id DESC LIMIT ? OFFSET ?",
		append(args, mq.Limit, mq.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("core: messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, m)
	}
	return out, total, rows.Err()
}

func (s *sqlStore) updateMessage(ctx context.Context, id int64, set string, args ...any) error {
	return s.tx(ctx, func(d q) error {
		res, err := d.exec(ctx, "UPDATE messages SET "+set+" WHERE id = ?", append(args, id)...)
		if err != nil {
			return fmt.Errorf("core: update message: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: message %d", ErrNotFound, id)
		}
		return nil
	})
}

func (s *sqlStore) Move(ctx context.Context, msgID int64, f Folder) error {
	f, err := ParseFolder(string(f))
	if err != nil {
		return err
	}
	return s.updateMessage(ctx, msgID, "folder = ?", string(f))
}

func (s *sqlStore) MarkRead(ctx context.Context, msgID int64, read bool) error {
	return s.updateMessage(ctx, msgID, "is_read = ?", b2i(read))
}

func (s *sqlStore) MarkDownloaded(ctx context.Context, msgID int64) error {
	return s.updateMessage(ctx, msgID, "downloaded = 1")
}

// lockJobs locks a message's jobs (in id order, before the message row, as
// every transaction here does) and returns their ids and states.
func (s *sqlStore) lockJobs(ctx context.Context, d q, where string, arg any) (ids []int64, states []JobState, msg int64, err error) {
	rows, err := d.query(ctx, "SELECT id, state, message_id FROM jobs WHERE "+where+" ORDER BY id"+d.forUpdate(), arg)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("core: lock jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st, &msg); err != nil {
			return nil, nil, 0, err
		}
		ids, states = append(ids, id), append(states, JobState(st))
	}
	return ids, states, msg, rows.Err()
}

func (s *sqlStore) cancel(ctx context.Context, where string, arg any, what string) (CancelResult, error) {
	var res CancelResult
	err := s.tx(ctx, func(d q) error {
		res = CancelResult{}
		ids, states, msg, err := s.lockJobs(ctx, d, where, arg)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, what)
		}
		now := ms(s.now())
		dl := delta{}
		for i, id := range ids {
			switch states[i] {
			case JobQueued, JobHeld:
				_, err = d.exec(ctx, `UPDATE jobs SET state = ?, completed_at = ?, error_text = 'cancelled' WHERE id = ?`,
					string(JobCancelled), now, id)
				res.Cancelled++
				dl.move(states[i], JobCancelled)
			case JobLeased:
				_, err = d.exec(ctx, "UPDATE jobs SET cancel_requested = 1 WHERE id = ?", id)
				res.Flagged++
			}
			if err != nil {
				return fmt.Errorf("core: cancel: %w", err)
			}
		}
		if res.Cancelled+res.Flagged == 0 {
			return fmt.Errorf("%w: %s has nothing left to cancel", ErrState, what)
		}
		return s.adjustMessage(ctx, d, msg, dl)
	})
	return res, err
}

func (s *sqlStore) Cancel(ctx context.Context, msgID int64) (CancelResult, error) {
	return s.cancel(ctx, "message_id = ?", msgID, fmt.Sprintf("message %d", msgID))
}

func (s *sqlStore) CancelJob(ctx context.Context, jobID int64) (CancelResult, error) {
	return s.cancel(ctx, "id = ?", jobID, fmt.Sprintf("job %d", jobID))
}

func (s *sqlStore) ReleaseHold(ctx context.Context, msgID int64) error {
	defer s.announce(ctx)
	return s.tx(ctx, func(d q) error {
		ids, states, _, err := s.lockJobs(ctx, d, "message_id = ?", msgID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("%w: message %d", ErrNotFound, msgID)
		}
		n := 0
		dl := delta{}
		for i, id := range ids {
			if states[i] != JobHeld {
				continue
			}
			if _, err := d.exec(ctx, "UPDATE jobs SET state = ? WHERE id = ?", string(JobQueued), id); err != nil {
				return fmt.Errorf("core: release: %w", err)
			}
			n++
			dl.move(JobHeld, JobQueued)
		}
		if n == 0 {
			return fmt.Errorf("%w: message %d is not on hold", ErrState, msgID)
		}
		if _, err := d.exec(ctx, "UPDATE messages SET hold = 0 WHERE id = ?", msgID); err != nil {
			return err
		}
		return s.adjustMessage(ctx, d, msgID, dl)
	})
}

func (s *sqlStore) RetryFailed(ctx context.Context, msgID int64) (int, error) {
	defer s.announce(ctx)
	n := 0
	err := s.tx(ctx, func(d q) error {
		n = 0
		ids, states, _, err := s.lockJobs(ctx, d, "message_id = ?", msgID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("%w: message %d", ErrNotFound, msgID)
		}
		now := ms(s.now())
		dl := delta{}
		for i, id := range ids {
			if states[i] != JobFailed {
				continue
			}
			// A fresh budget of the message's attempts after those made:
			// attempt numbers go on (#4 after #3), they never restart.
			if _, err := d.exec(ctx, `UPDATE jobs SET state = ?, not_before = ?, completed_at = 0, cancel_requested = 0,
				max_attempts = attempts + (SELECT m.max_attempts FROM messages m WHERE m.id = jobs.message_id)
				WHERE id = ?`, string(JobQueued), now, id); err != nil {
				return fmt.Errorf("core: retry: %w", err)
			}
			n++
			dl.move(JobFailed, JobQueued)
		}
		if n == 0 {
			return fmt.Errorf("%w: message %d has no failed recipients", ErrState, msgID)
		}
		return s.adjustMessage(ctx, d, msgID, dl)
	})
	return n, err
}

// delta counts job state changes of one message. Queued and leased jobs
// are counted together (n_queued): a claim and a retry change no counter,
// so they need not lock the message row, which would make it a hot spot
// for messages with many recipients.
type delta map[JobState]int

func (dl delta) move(from, to JobState) {
	if from == JobLeased {
		from = JobQueued
	}
	if to == JobLeased {
		to = JobQueued
	}
	dl[from]--
	dl[to]++
}

// moved is the delta of one job moving.
func moved(from, to JobState) delta {
	dl := delta{}
	dl.move(from, to)
	return dl
}

// counterStates are the states with a counter column n_<state>, in the
// order of messageStatus's argument.
var counterStates = [...]JobState{JobHeld, JobQueued, JobDone, JobFailed, JobCancelled}

// messageStatus derives an outbound message's status and system folder from
// the number of its jobs in each counted state and its current status (a
// live message that was claimed once stays "Sending").
func messageStatus(n [5]int, cur string) (status string, f Folder, final bool) {
	held, live, done, failed := n[0], n[1], n[2], n[3]
	total := 0
	for _, c := range n {
		total += c
	}
	switch {
	case live > 0 && cur == "Sending":
		return "Sending", FolderOutbox, false
	case live > 0:
		return "Queued", FolderOutbox, false
	case held > 0:
		return "Held", FolderHold, false
	case done == total:
		return "Completed", FolderSent, true
	case done > 0:
		return "Partial", FolderSent, true
	case failed > 0:
		return "Failed", FolderSent, true
	}
	return "Cancelled", FolderCancelled, true
}

// adjustMessage applies job state changes to a message's counters and, if
// that changes them, its status, system folder and completion time. The
// counters change with one UPDATE each (which takes the row lock and reads
// the newest row), so concurrent transactions never lose a change; callers
// lock job rows before the message row.
func (s *sqlStore) adjustMessage(ctx context.Context, d q, msg int64, dl delta) error {
	var set []string
	var args []any
	fin := 0
	for _, st := range counterStates {
		if n := dl[st]; n != 0 {
			set = append(set, "n_"+string(st)+" = n_"+string(st)+" + ?")
			args = append(args, n)
			if st.Final() {
				fin += n
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	set = append(set, "jobs_final = jobs_final + ?")
	args = append(args, fin, msg)
	var folder, status string
	var completed int64
	var n [5]int
	err := d.row(ctx, "UPDATE messages SET "+strings.Join(set, ", ")+` WHERE id = ?
		RETURNING folder, status, completed_at, n_held, n_queued, n_done, n_failed, n_cancelled`, args...).
		Scan(&folder, &status, &completed, &n[0], &n[1], &n[2], &n[3], &n[4])
	if err != nil {
		return fmt.Errorf("core: message %d counters: %w", msg, err)
	}
	st, f, final := messageStatus(n, status)
	switch Folder(folder) {
	case FolderOutbox, FolderHold, FolderSent, FolderCancelled:
	default:
		f = Folder(folder) // the user moved it; leave it there
	}
	c := completed
	if !final {
		c = 0
	} else if c == 0 {
		c = ms(s.now())
	}
	if st == status && string(f) == folder && c == completed {
		return nil
	}
	_, err = d.exec(ctx, "UPDATE messages SET status = ?, folder = ?, completed_at = ? WHERE id = ?", st, string(f), c, msg)
	if err != nil {
		return fmt.Errorf("core: message %d status: %w", msg, err)
	}
	if final && completed == 0 {
		return s.addEvent(ctx, d, msg, EventFinal)
	}
	return nil
}

// oneLine makes a text a single line: line breaks and tabs become spaces,
// runs of spaces one, the ends trimmed (error texts from drivers and
// networks may hold several lines; the attempt keeps one).
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t\v\f") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
