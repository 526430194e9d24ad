package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// finalStatus reports whether a message's status is one it keeps.
func finalStatus(s string) bool {
	switch s {
	case "Queued", "Held", "Sending", "":
		return false
	}
	return true
}

// waitMessage polls a message until every recipient's job and the message
// itself are final, showing one progress line per recipient (see
// progressView) and then the message's status, the one `status` shows.
func waitMessage(ctx context.Context, c *client, id int64, pages int, stdout io.Writer) error {
	view := newProgressView(stdout, isTerminal(stdout))
	for {
		var m httpapi.Message
		if err := c.do(ctx, http.MethodGet, "/api/v1/messages/"+strconv.FormatInt(id, 10), "", nil, &m); err != nil {
			return err
		}
		live, sent := 0, 0
		lines := make([]string, len(m.Jobs))
		for i, j := range m.Jobs {
			lines[i] = progressLine(j, pages)
			switch j.State {
			case "done":
				sent++
			case "failed", "cancelled":
			default:
				live++
			}
		}
		view.draw(lines)
		if live == 0 && finalStatus(m.Status) {
			fmt.Fprintf(stdout, "message %d: %s, %d of %d recipient(s) sent\n", m.ID, m.Status, sent, len(m.Jobs))
			if sent < len(m.Jobs) {
				return fmt.Errorf("%d recipient(s) not sent", len(m.Jobs)-sent)
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
		if j.ErrorText != "" && !strings.HasPrefix(j.ErrorText, j.State) {
			what += ": " + j.ErrorText
		} else if j.ErrorText != "" {
			what = j.ErrorText
		}
	}
	sent = min(max(sent, 0), max(total, 0))
	return fmt.Sprintf("  %-16s %s %d/%d pages  %s", j.Fax, bar(sent, total), sent, total, what)
}
