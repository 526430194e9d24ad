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
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

const (
	sendUsage     = "send --to NUMBER [--to ...] [--priority high|normal|low] [--resolution R] [--header T] [--retries N] [--preset port:ID|group:NAME] [--wait] FILE..."
	statusUsage   = "status [--json] ID"
	listUsage     = "list [--folder F] [--offset N] [--limit N]"
	cancelUsage   = "cancel ID"
	portsUsage    = "ports"
	downloadUsage = "download ID -o FILE(.tif|.pdf)"
)

// client talks to a serve process's HTTP API. The server URL and token
// come from --server/--token, else FAXAGENT_SERVER/FAXAGENT_TOKEN, else the
// files serve writes in its data directory (--data, FAXAGENT_DATA,
// ./faxagent-data).
type client struct {
	base  string
	token string
	http  *http.Client
}

type clientFlags struct {
	server, token, data *string
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		server: fs.String("server", "", "server URL (default: from the data directory, else http://127.0.0.1:8080)"),
		token:  fs.String("token", "", "API token (default: from the data directory)"),
		data:   fs.String("data", "", "serve's data directory (default ./faxagent-data)"),
	}
}

func (f clientFlags) client(getenv func(string) string) (*client, error) {
	data := firstOf(*f.data, getenv("FAXAGENT_DATA"), "faxagent-data")
	readFile := func(name string) string {
		b, err := os.ReadFile(filepath.Join(data, name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	c := &client{
		base:  strings.TrimRight(firstOf(*f.server, getenv("FAXAGENT_SERVER"), readFile(serverURLFile), "http://127.0.0.1:8080"), "/"),
		token: firstOf(*f.token, getenv("FAXAGENT_TOKEN"), readFile(tokenFile)),
		http:  &http.Client{Timeout: 5 * time.Minute},
	}
	if c.token == "" {
		return nil, fmt.Errorf("no API token: give --token, set FAXAGENT_TOKEN, or point --data at serve's data directory (%s has no %s)", data, tokenFile)
	}
	return c, nil
}

// do sends a request and decodes a JSON answer into out (if not nil); a
// non-2xx answer is an error with the server's message.
func (c *client) do(ctx context.Context, method, path, ctype string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e httpapi.Error
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("server: %s (%s)", e.Error, resp.Status)
		}
		return fmt.Errorf("server: %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runSend(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	cf := addClientFlags(fs)
	var to stringList
	fs.Var(&to, "to", "recipient fax number (repeat for more)")
	prio := fs.String("priority", "", "high, normal or low")
	res := fs.String("resolution", "", "standard, fine or superfine")
	header := fs.String("header", "", "header line template, - for none")
	retries := fs.String("retries", "", "attempts after the first (0-9)")
	preset := fs.String("preset", "", "port:ID or group:NAME")
	subject := fs.String("subject", "", "subject")
	wait := fs.Bool("wait", false, "wait for every recipient's result, showing progress")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up waiting after this long")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(to) == 0 || len(files) == 0 {
		return usageError("send needs --to NUMBER and at least one FILE")
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
	for _, f := range []struct{ k, v string }{{"priority", *prio}, {"resolution", *res}, {"header", *header},
		{"retries", *retries}, {"preset", *preset}, {"subject", *subject}} {
		if f.v != "" {
			mw.WriteField(f.k, f.v)
		}
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		w, err := mw.CreateFormFile("file", filepath.Base(path))
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
	fmt.Fprintf(stdout, "message %d queued: %d recipient(s), %d page(s)\n", m.ID, len(m.Jobs), pages)
	if !*wait {
		return nil
	}
	return waitMessage(ctx, c, m.ID, pages, stdout)
}

// waitMessage polls a message until every recipient's job is final,
// showing one progress line per recipient (see progressView) and then the
// message's result.
func waitMessage(ctx context.Context, c *client, id int64, pages int, stdout io.Writer) error {
	view := newProgressView(stdout, isTerminal(stdout))
	for {
		var m httpapi.Message
		if err := c.do(ctx, http.MethodGet, "/api/v1/messages/"+strconv.FormatInt(id, 10), "", nil, &m); err != nil {
			return err
		}
		done, failed := 0, 0
		lines := make([]string, len(m.Jobs))
		for i, j := range m.Jobs {
			lines[i] = progressLine(j, pages)
			switch j.State {
			case "done":
				done++
			case "failed", "cancelled":
				done++
				failed++
			}
		}
		view.draw(lines)
		if done == len(m.Jobs) {
			// The verdict comes from the jobs, which are final now.
			verdict := "Completed"
			switch {
			case failed == len(m.Jobs):
				verdict = "Failed"
			case failed > 0:
				verdict = "Partial"
			}
			fmt.Fprintf(stdout, "message %d: %s, %d of %d recipient(s) sent\n", m.ID, verdict, len(m.Jobs)-failed, len(m.Jobs))
			if failed > 0 {
				return fmt.Errorf("%d recipient(s) not sent", failed)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting: %w", ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressView shows one line per recipient. On a terminal the block of
// lines is redrawn in place (cursor up, clear line); elsewhere (a pipe, a
// log file) a recipient's line is printed again only when it changed.
type progressView struct {
	w     io.Writer
	tty   bool
	lines []string // as last shown, by recipient
}

func newProgressView(w io.Writer, tty bool) *progressView { return &progressView{w: w, tty: tty} }

// draw shows the current lines, one per recipient in a fixed order.
func (v *progressView) draw(lines []string) {
	if !v.tty {
		for i, l := range lines {
			if i >= len(v.lines) || v.lines[i] != l {
				fmt.Fprintln(v.w, l)
			}
		}
		v.lines = slices.Clone(lines)
		return
	}
	if slices.Equal(v.lines, lines) {
		return
	}
	var b strings.Builder
	if n := len(v.lines); n > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", n) // back to the block's first line
	}
	for _, l := range lines {
		b.WriteString("\r\x1b[K" + l + "\n")
	}
	io.WriteString(v.w, b.String())
	v.lines = slices.Clone(lines)
}

// barWidth is the number of cells in a progress bar.
const barWidth = 20

// bar draws n of total as a text bar, "[#####...............]"; n is
// clamped to 0..total.
func bar(n, total int) string {
	k := 0
	if total > 0 {
		k = min(max(n, 0)*barWidth/total, barWidth)
	}
	return "[" + strings.Repeat("#", k) + strings.Repeat(".", barWidth-k) + "]"
}

// progressLine is a recipient's line: number, bar, pages sent of total and
// what is happening. While a call runs the pages come from the agent's
// live progress report.
func progressLine(j httpapi.Job, pages int) string {
	total := j.PageCount
	if total == 0 {
		total = pages
	}
	sent := j.PagesSent
	var what string
	switch j.State {
	case "queued", "held":
		what = j.State
		if j.AttemptCount > 0 && len(j.Attempts) > 0 {
			a := j.Attempts[len(j.Attempts)-1]
			what = fmt.Sprintf("attempt %d/%d failed (%s), retry", a.AttemptNo, j.MaxAttempts, firstOf(a.ErrorInfo, a.TransmitStatusDef))
			if j.NotBefore != nil {
				what += " at " + j.NotBefore.Local().Format("15:04:05")
			}
		}
	case "leased":
		what = fmt.Sprintf("in call (attempt %d/%d)", j.AttemptCount, j.MaxAttempts)
		if p := j.Progress; p.InCall && p.PagesTotal > 0 {
			sent, total = p.PagesSent, p.PagesTotal
		}
	case "done":
		what = "sent"
		sent = max(sent, total)
		if n := len(j.Attempts); n > 0 {
			a := j.Attempts[n-1]
			what = fmt.Sprintf("sent: %s %d bit/s %s, %.1f s, remote %q, port %s", a.FaxProtocol, a.TransmitSpeed,
				a.CompressionMode, a.CallDuration, a.RemoteCSID, a.BoardID)
		}
	default:
		what = j.State
		if j.ErrorText != "" {
			what += ": " + j.ErrorText
		}
	}
	sent = min(max(sent, 0), max(total, 0))
	return fmt.Sprintf("  %-16s %s %d/%d pages  %s", j.Fax, bar(sent, total), sent, total, what)
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

func clientSetup(name string, args []string, extra func(fs *flag.FlagSet)) (*client, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cf := addClientFlags(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, err
	}
	c, err := cf.client(os.Getenv)
	return c, pos, err
}

func runStatus(args []string, stdout, stderr io.Writer) error {
	var asJSON *bool
	c, pos, err := clientSetup("status", args, func(fs *flag.FlagSet) { asJSON = fs.Bool("json", false, "print the JSON") })
	if err != nil {
		return err
	}
	id, err := messageID(pos, "status")
	if err != nil {
		return err
	}
	var m httpapi.Message
	if err := c.do(context.Background(), http.MethodGet, "/api/v1/messages/"+strconv.FormatInt(id, 10), "", nil, &m); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	fmt.Fprintf(stdout, "message %d: %s %s in %s, created %s\n", m.ID, m.Direction, m.Status, m.Folder, m.Created.Local().Format(time.DateTime))
	for _, d := range m.Documents {
		fmt.Fprintf(stdout, "  document %d %q: %d page(s), %d bytes, %s\n", d.Seq, d.Name, d.Pages, d.Size, d.ContentType)
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

func runList(args []string, stdout, stderr io.Writer) error {
	var folder *string
	var offset, limit *int
	c, pos, err := clientSetup("list", args, func(fs *flag.FlagSet) {
		folder = fs.String("folder", "outbox", "inbox, outbox, sent, cancelled, hold, trash, unrouted, processed")
		offset = fs.Int("offset", 0, "skip this many messages")
		limit = fs.Int("limit", 50, "show at most this many")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("list takes no arguments")
	}
	v := url.Values{"folder": {*folder}, "offset": {strconv.Itoa(*offset)}, "limit": {strconv.Itoa(*limit)}}
	var l httpapi.List
	if err := c.do(context.Background(), http.MethodGet, "/api/v1/messages?"+v.Encode(), "", nil, &l); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIRECTION\tSTATUS\tRECIPIENTS\tCREATED\tSUBJECT")
	for _, m := range l.Messages {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\n", m.ID, m.Direction, m.Status, m.JobsComplete, m.JobsTotal,
			m.Created.Local().Format(time.DateTime), m.Subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d-%d of %d\n", l.Folder, min(l.Offset+1, l.Total), l.Offset+len(l.Messages), l.Total)
	return nil
}

func runCancel(args []string, stdout, stderr io.Writer) error {
	c, pos, err := clientSetup("cancel", args, nil)
	if err != nil {
		return err
	}
	id, err := messageID(pos, "cancel")
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

func runPorts(args []string, stdout, stderr io.Writer) error {
	c, pos, err := clientSetup("ports", args, nil)
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
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tPORT\tDRIVER\tNUMBER\tSTATE\tSEND\tRECEIVE\tLICENSED\tCALLS\tBUSY\tJOB")
	for _, x := range p.Ports {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%v\t%v\t%d\t%.1f%%\t%s\n", x.Agent, x.ID, x.Driver, x.Number, x.State,
			x.Send, x.Receive, x.Licensed, x.Calls, 100*x.Utilisation, x.Job)
	}
	for _, a := range p.Agents {
		fmt.Fprintf(tw, "agent %s\ton %s\t%d ports\t%d licensed\t%d busy\theartbeat %s\n", a.ID, a.Host, a.Ports, a.Licensed, a.Busy,
			a.Heartbeat.Local().Format(time.TimeOnly))
	}
	return tw.Flush()
}

func runDownload(args []string, stdout, stderr io.Writer) error {
	var out *string
	c, pos, err := clientSetup("download", args, func(fs *flag.FlagSet) { out = fs.String("o", "", "output file, .tif or .pdf") })
	if err != nil {
		return err
	}
	id, err := messageID(pos, "download")
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

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
