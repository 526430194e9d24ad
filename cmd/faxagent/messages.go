package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/imaging/render"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// printJSON writes v indented, as the read commands' --json does.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseSchedule reads --schedule: an RFC 3339 time, "2006-01-02 15:04",
// "15:04" (today, or tomorrow if that has passed) or "+30m" from now.
func parseSchedule(s string, now time.Time) (time.Time, error) {
	if strings.HasPrefix(s, "+") {
		d, err := time.ParseDuration(s[1:])
		if err == nil && d >= 0 {
			return now.Add(d), nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, now.Location()); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("15:04", s, now.Location()); err == nil {
		at := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, now.Location())
		if at.Before(now) {
			at = at.AddDate(0, 0, 1)
		}
		return at, nil
	}
	return time.Time{}, usageError(fmt.Sprintf("--schedule %q: want +DURATION (+30m), HH:MM, \"YYYY-MM-DD HH:MM\" or an RFC 3339 time", s))
}

func runSend(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	cf := addClientFlags(fs)
	var to stringList
	fs.Var(&to, "to", "recipient fax `NUMBER` (repeat, or separate with commas, for more recipients)")
	prio := fs.String("priority", "", "`PRIORITY`: high, normal or low (default normal)")
	res := fs.String("resolution", "", "`RES`: standard, fine or superfine (default fine)")
	header := fs.String("header", "", "header line `TEMPLATE` ("+render.HeaderTokens+"); - for none")
	retries := fs.String("retries", "", "further attempts after the first, `N` from 0 to 9 (default: the server's retry policy)")
	preset := fs.String("preset", "", "send only on `PORT`: port:ID (port:M0,1) or group:NAME (group:foip), optionally AGENT/ in front")
	subject := fs.String("subject", "", "the message's `SUBJECT`")
	note := fs.String("note", "", "a `NOTE` kept with the message, printed on the cover page (--cover)")
	cover := fs.String("cover", "", "put a cover page first: `NAME` default (shipped) or a template NAME.txt in the server's DATA_DIR/covers (fields To, Company, Fax, From, FromCompany, Subject, Note, Pages, Date)")
	schedule := fs.String("schedule", "", "earliest `TIME` to dial: +30m, 15:04, \"2026-01-02 15:04\" or RFC 3339")
	hold := fs.Bool("hold", false, "keep the message on hold (in the hold folder) until faxagent alter ID --release")
	wait := fs.Bool("wait", false, "wait for every recipient's result, showing progress")
	timeout := fs.Duration("timeout", 30*time.Minute, "with --wait, give up waiting after this `DURATION`")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(to) == 0 || len(files) == 0 {
		return usageError("send needs --to NUMBER and at least one FILE (- for standard input)")
	}
	fields := map[string]string{"priority": *prio, "resolution": *res, "header": *header, "retries": *retries,
		"preset": *preset, "subject": *subject, "note": *note, "cover": *cover}
	if *schedule != "" {
		at, err := parseSchedule(*schedule, time.Now())
		if err != nil {
			return err
		}
		fields["schedule"] = at.Format(time.RFC3339)
	}
	if *hold {
		fields["hold"] = "true"
	}
	c, err := cf.client(os.Getenv)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, n := range to {
		mw.WriteField("to", n)
	}
	for _, k := range []string{"priority", "resolution", "header", "retries", "preset", "subject", "note", "cover", "schedule", "hold"} {
		if v := fields[k]; v != "" {
			mw.WriteField(k, v)
		}
	}
	stdinUsed := false
	for _, path := range files {
		var b []byte
		name := filepath.Base(path)
		if path == "-" {
			if stdinUsed {
				return usageError("standard input (-) given twice")
			}
			stdinUsed = true
			if b, err = io.ReadAll(os.Stdin); err != nil {
				return fmt.Errorf("reading standard input: %w", err)
			}
			name = "stdin" + sniffExt(b)
		} else if b, err = os.ReadFile(path); err != nil {
			return err
		}
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			return err
		}
		w.Write(b)
	}
	if err := mw.Close(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var m httpapi.Message
	if err := c.do(ctx, http.MethodPost, "/api/v1/messages", mw.FormDataContentType(), &buf, &m); err != nil {
		return err
	}
	pages := 0
	for _, d := range m.Documents {
		pages += d.Pages
	}
	state := "queued"
	switch {
	case m.Hold:
		state = "on hold"
	case m.Schedule != nil && m.Schedule.After(time.Now()):
		state = "scheduled for " + m.Schedule.Local().Format(time.DateTime)
	}
	fmt.Fprintf(stdout, "message %d %s: %d recipient(s), %s\n", m.ID, state, len(m.Jobs), plural(pages, "page"))
	if !*wait {
		return nil
	}
	return waitMessage(ctx, c, m.ID, pages, stdout)
}

// sniffExt names standard input by its content, so the server's checks
// see the kind of file it is.
func sniffExt(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return ".pdf"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return ".tif"
	case bytes.HasPrefix(b, []byte("\x89PNG")):
		return ".png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return ".jpg"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return ".gif"
	case len(b) > 1 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6':
		return ".pbm"
	}
	return ".txt"
}

// plural is "1 page", "2 pages".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func messageID(pos []string, cmd string) (int64, error) {
	if len(pos) != 1 {
		return 0, usageError(cmd + " needs one message ID")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError(fmt.Sprintf("%q is not a message ID", pos[0]))
	}
	return id, nil
}

// idCommand sets up a command that takes one message ID.
func idCommand(name string, args []string, extra func(fs *flag.FlagSet)) (*client, int64, error) {
	c, pos, err := clientSetup(name, args, extra)
	if err != nil {
		return nil, 0, err
	}
	id, err := messageID(pos, name)
	return c, id, err
}

func (c *client) message(ctx context.Context, id int64) (httpapi.Message, error) {
	var m httpapi.Message
	err := c.do(ctx, http.MethodGet, "/api/v1/messages/"+strconv.FormatInt(id, 10), "", nil, &m)
	return m, err
}

func runStatus(args []string, stdout, stderr io.Writer) error {
	var asJSON *bool
	c, id, err := idCommand("status", args, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print the message as JSON (the API's answer)")
	})
	if err != nil {
		return err
	}
	m, err := c.message(context.Background(), id)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, m)
	}
	fmt.Fprintf(stdout, "message %d: %s %s in %s, created %s\n", m.ID, m.Direction, m.Status, m.Folder, m.Created.Local().Format(time.DateTime))
	if m.Schedule != nil && m.Schedule.After(m.Created.Add(time.Second)) {
		fmt.Fprintf(stdout, "  scheduled for %s\n", m.Schedule.Local().Format(time.DateTime))
	}
	if m.Note != "" {
		fmt.Fprintf(stdout, "  note: %s\n", m.Note)
	}
	for _, d := range m.Documents {
		fmt.Fprintf(stdout, "  document %d %q: %s, %d bytes, %s\n", d.Seq, d.Name, plural(d.Pages, "page"), d.Size, d.ContentType)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	attempts := func(as []httpapi.Attempt) {
		for _, a := range as {
			fmt.Fprintf(tw, "    #%d\t%s\tport %s\t%s\t%d/%d pages\t%s %d\t%.1f s\t%s\n", a.AttemptNo, a.TransmitStatusDef, a.BoardID,
				a.RemoteCSID, a.PageSent, a.PageCount, a.FaxProtocol, a.TransmitSpeed, a.CallDuration, a.ErrorInfo)
		}
	}
	for _, j := range m.Jobs {
		fmt.Fprintf(tw, "  %s\t%s\t%d/%d pages\tattempts %d/%d\t%s\n", j.Fax, j.State, j.PagesSent, j.PageCount, j.AttemptCount, j.MaxAttempts, j.ErrorText)
		attempts(j.Attempts)
	}
	attempts(m.Received)
	return tw.Flush()
}

// listRow is a message as `list` shows it, from its details.
type listRow struct {
	ID         int64  `json:"id"`
	Direction  string `json:"direction"`
	Remote     string `json:"remote"`
	PagesSent  int    `json:"pages_sent"`
	PagesTotal int    `json:"pages_total"`
	Done       int    `json:"recipients_done"`
	Total      int    `json:"recipients_total"`
	Status     string `json:"status"`
	Time       string `json:"time"`
	Subject    string `json:"subject,omitempty"`
}

// rowOf summarises a message: the remote number (outbound: the first
// recipient and how many more; inbound: the remote CSID, else the calling
// number), pages sent (received) of total, recipients sent of total.
func rowOf(m httpapi.Message) listRow {
	r := listRow{ID: m.ID, Direction: m.Direction, Status: m.Status, Subject: m.Subject, Time: m.Created.Local().Format(time.DateTime)}
	if m.Completed != nil {
		r.Time = m.Completed.Local().Format(time.DateTime)
	}
	docPages := 0
	for _, d := range m.Documents {
		docPages += d.Pages
	}
	if m.Direction == "inbound" {
		r.PagesTotal = docPages
		for _, a := range m.Received {
			r.Remote = firstOf(r.Remote, strings.TrimSpace(a.RemoteCSID), a.CallingNumber)
			r.PagesSent = max(r.PagesSent, a.PageSent, a.PageCount)
		}
		r.PagesTotal = max(r.PagesTotal, r.PagesSent)
		r.Remote = firstOf(r.Remote, "-")
		return r
	}
	r.Total = len(m.Jobs)
	for i, j := range m.Jobs {
		if i == 0 {
			r.Remote = j.Fax
		}
		total := max(j.PageCount, docPages)
		r.PagesTotal += total
		if j.State == "done" {
			r.Done++
			r.PagesSent += total
		} else {
			r.PagesSent += min(j.PagesSent, total)
		}
	}
	if len(m.Jobs) > 1 {
		r.Remote += fmt.Sprintf(" +%d", len(m.Jobs)-1)
	}
	return r
}

func runList(args []string, stdout, stderr io.Writer) error {
	var folder *string
	var offset, limit *int
	var asJSON *bool
	c, pos, err := clientSetup("list", args, func(fs *flag.FlagSet) {
		folder = fs.String("folder", "outbox", "`FOLDER`: inbox, outbox, sent, cancelled, hold, trash, unrouted or processed")
		offset = fs.Int("offset", 0, "skip the newest `N` messages")
		limit = fs.Int("limit", 50, "show at most `N` messages")
		asJSON = fs.Bool("json", false, "print the rows as JSON")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("list takes no arguments")
	}
	ctx := context.Background()
	v := url.Values{"folder": {*folder}, "offset": {strconv.Itoa(*offset)}, "limit": {strconv.Itoa(*limit)}}
	var l httpapi.List
	if err := c.do(ctx, http.MethodGet, "/api/v1/messages?"+v.Encode(), "", nil, &l); err != nil {
		return err
	}
	rows := []listRow{}
	for _, lm := range l.Messages {
		m, err := c.message(ctx, lm.ID)
		if err != nil {
			return err
		}
		rows = append(rows, rowOf(m))
	}
	if *asJSON {
		return printJSON(stdout, struct {
			Folder string    `json:"folder"`
			Offset int       `json:"offset"`
			Total  int       `json:"total"`
			Rows   []listRow `json:"messages"`
		}{l.Folder, l.Offset, l.Total, rows})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIR\tREMOTE\tPAGES\tRCPTS\tSTATUS\tTIME\tSUBJECT")
	for _, r := range rows {
		rcpts := "-"
		if r.Direction == "outbound" {
			rcpts = fmt.Sprintf("%d/%d", r.Done, r.Total)
		}
		dir := "out"
		if r.Direction == "inbound" {
			dir = "in"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", r.ID, dir, r.Remote, r.PagesSent, r.PagesTotal, rcpts, r.Status, r.Time, r.Subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d-%d of %d\n", l.Folder, min(l.Offset+1, l.Total), l.Offset+len(l.Messages), l.Total)
	return nil
}

// runLog prints the call log (GET /api/v1/calls), one line per call like
// HylaFAX's xferfaxlog: time, direction, number, remote CSID, pages, rate,
// protocol, compression, duration, result.
func runLog(args []string, stdout, stderr io.Writer) error {
	var dir, outcome *string
	var offset, limit *int
	var asJSON *bool
	c, pos, err := clientSetup("log", args, func(fs *flag.FlagSet) {
		dir = fs.String("direction", "", "only `DIR` calls: inbound or outbound")
		outcome = fs.String("outcome", "", "only calls with `OUTCOME`: done, retry, failed, cancelled or received")
		offset = fs.Int("offset", 0, "skip the newest `N` calls")
		limit = fs.Int("limit", 50, "show at most `N` calls")
		asJSON = fs.Bool("json", false, "print the calls as JSON (the API's answer)")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("log takes no arguments")
	}
	v := url.Values{"offset": {strconv.Itoa(*offset)}, "limit": {strconv.Itoa(*limit)}}
	if *dir != "" {
		v.Set("direction", *dir)
	}
	if *outcome != "" {
		v.Set("outcome", *outcome)
	}
	var cl httpapi.Calls
	if err := c.do(context.Background(), http.MethodGet, "/api/v1/calls?"+v.Encode(), "", nil, &cl); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, cl)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDIR\tNUMBER\tCSID\tPAGES\tRATE\tPROTO\tCOMP\tECM\tDURATION\tPORT\tMSG\tRESULT")
	for _, a := range cl.Calls {
		t := a.Created
		if a.Completed != nil {
			t = *a.Completed
		}
		dir, number := "out", a.CalledNumber
		if a.Direction == "inbound" {
			dir, number = "in", firstOf(a.CallingNumber, "-")
		} else if a.AttemptNo > 0 {
			dir = fmt.Sprintf("out #%d", a.AttemptNo)
		}
		msg := "-"
		if a.MessageID > 0 {
			msg = strconv.FormatInt(a.MessageID, 10)
		}
		result := a.TransmitStatusDef
		if a.ErrorInfo != "" && !strings.EqualFold(a.ErrorInfo, a.TransmitStatusDef) {
			result += ": " + a.ErrorInfo
		}
		ecm := "-"
		if a.TransmitSpeed > 0 {
			ecm = map[bool]string{true: "yes", false: "no"}[a.ECM]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\t%s\t%.1fs\t%s\t%s\t%s\n", t.Local().Format(time.DateTime), dir, firstOf(number, "-"),
			firstOf(strings.TrimSpace(a.RemoteCSID), "-"), a.PageSent, a.PageCount, a.TransmitSpeed, firstOf(a.FaxProtocol, "-"),
			firstOf(a.CompressionMode, "-"), ecm, a.CallDuration, firstOf(a.BoardID, "-"), msg, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "calls: %d-%d of %d\n", min(cl.Offset+1, cl.Total), cl.Offset+len(cl.Calls), cl.Total)
	return nil
}

func runCancel(args []string, stdout, stderr io.Writer) error {
	c, id, err := idCommand("cancel", args, nil)
	if err != nil {
		return err
	}
	var r httpapi.CancelResult
	if err := c.do(context.Background(), http.MethodPost, "/api/v1/messages/"+strconv.FormatInt(id, 10)+"/cancel", "", nil, &r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "message %d: %d job(s) cancelled, %d in a call being hung up\n", id, r.Cancelled, r.Flagged)
	return nil
}

// runRetry is HylaFAX's "resubmit": failed and cancelled recipients are
// queued again with a fresh attempt budget.
func runRetry(args []string, stdout, stderr io.Writer) error {
	c, id, err := idCommand("retry", args, nil)
	if err != nil {
		return err
	}
	var r httpapi.RetryResult
	if err := c.do(context.Background(), http.MethodPost, "/api/v1/messages/"+strconv.FormatInt(id, 10)+"/retry", "", nil, &r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "message %d: %d recipient(s) queued again\n", id, r.Requeued)
	return nil
}

func runPorts(args []string, stdout, stderr io.Writer) error {
	var asJSON *bool
	c, pos, err := clientSetup("ports", args, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print the ports and agents as JSON (the API's answer)")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("ports takes no arguments")
	}
	var p httpapi.Ports
	if err := c.do(context.Background(), http.MethodGet, "/api/v1/ports", "", nil, &p); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, p)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tPORT\tDRIVER\tNETWORK\tNUMBER\tSTATE\tSEND\tRECEIVE\tLICENSED\tCALLS\tBUSY\tJOB")
	simulated := 0
	for _, x := range p.Ports {
		network := "real"
		if x.Driver == "loopback" {
			network = "simulated"
			simulated++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%v\t%v\t%v\t%d\t%.1f%%\t%s\n", x.AgentID, x.ID, x.Driver, network, x.Number, x.State,
			x.Send, x.Receive, x.Licensed, x.Calls, 100*x.Utilisation, x.Job)
	}
	for _, a := range p.Agents {
		fmt.Fprintf(tw, "agent %d (%s)\ton %s\t%d ports\t%d licensed\t%d busy\theartbeat %s\n", a.ID, a.Name, a.Host, a.Ports, a.Licensed, a.Busy,
			a.Heartbeat.Local().Format(time.TimeOnly))
	}
	for _, d := range p.Destinations {
		fmt.Fprintf(tw, "destination %s\t%s\t%s\tuntil %s\n", d.Number, d.Driver, d.Note, d.Until.Local().Format(time.DateTime))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if simulated > 0 {
		fmt.Fprintf(stdout, "%d port(s) on the simulated network: their faxes never leave this machine\n", simulated)
	}
	return nil
}

func runDownload(args []string, stdout, stderr io.Writer) error {
	var out *string
	c, id, err := idCommand("download", args, func(fs *flag.FlagSet) {
		out = fs.String("o", "", "output `FILE`: .tif or .tiff for TIFF Class F, .pdf for PDF")
	})
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError("download needs -o FILE")
	}
	format := "tiff"
	switch strings.ToLower(filepath.Ext(*out)) {
	case ".pdf":
		format = "pdf"
	case ".tif", ".tiff":
	default:
		return usageError("download writes .tif, .tiff or .pdf files")
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = c.do(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/messages/%d/document?format=%s", id, format), "", nil, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bytes\n", *out, st.Size())
	return nil
}

// runAlter is HylaFAX's faxalter: a waiting message's number, priority,
// time to send, hold or release.
func runAlter(args []string, stdout, stderr io.Writer) error {
	var number, prio, schedule *string
	var hold, release *bool
	c, id, err := idCommand("alter", args, func(fs *flag.FlagSet) {
		number = fs.String("number", "", "a new fax `NUMBER` (a message with one waiting recipient)")
		prio = fs.String("priority", "", "a new `PRIORITY`: high, normal or low")
		schedule = fs.String("schedule", "", "a new earliest `TIME` to dial: now, +30m, 15:04, \"2026-01-02 15:04\" or RFC 3339")
		hold = fs.Bool("hold", false, "put the waiting recipients on hold")
		release = fs.Bool("release", false, "release a held message to be sent")
	})
	if err != nil {
		return err
	}
	req := httpapi.AlterRequest{Fax: *number, Priority: *prio}
	switch {
	case *hold && *release:
		return usageError("alter takes --hold or --release, not both")
	case *hold:
		req.Hold = hold
	case *release:
		f := false
		req.Hold = &f
	}
	if *schedule != "" {
		at := time.Now()
		if *schedule != "now" {
			if at, err = parseSchedule(*schedule, at); err != nil {
				return err
			}
		}
		req.NotBefore = &at
	}
	if req.Fax == "" && req.Priority == "" && req.Hold == nil && req.NotBefore == nil {
		return usageError("alter needs --number, --priority, --schedule, --hold or --release")
	}
	b, _ := json.Marshal(req)
	var r httpapi.AlterResult
	if err := c.do(context.Background(), http.MethodPost, "/api/v1/messages/"+strconv.FormatInt(id, 10)+"/alter",
		"application/json", bytes.NewReader(b), &r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "message %d: %d waiting recipient(s) altered\n", id, r.Altered)
	return nil
}
