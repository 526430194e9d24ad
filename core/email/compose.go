package email

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/notify"
)

// compose builds the mail of a delivery: its payload (the message as it
// was when the event happened) as text, and the PDF if there is one.
func compose(from, to string, dl core.Delivery, d core.MessageDetails, pdf []byte) ([]byte, error) {
	var p notify.Payload
	if err := json.Unmarshal([]byte(dl.Payload), &p); err != nil {
		return nil, fmt.Errorf("delivery payload: %w", err)
	}
	m := p.Message
	var subject string
	var text strings.Builder
	switch dl.Kind {
	case core.EventReceived:
		who := "an unknown number"
		if m.Received != nil && m.Received.CallingNumber != "" {
			who = m.Received.CallingNumber
		}
		subject = fmt.Sprintf("Fax received from %s (%d %s)", who, m.Pages, plural(m.Pages, "page"))
		fmt.Fprintf(&text, "A fax was received for you (message %d).\r\n\r\n", m.ID)
		if r := m.Received; r != nil {
			fmt.Fprintf(&text, "From:        %s\r\nTo:          %s\r\nRemote CSID: %s\r\nPages:       %d\r\nSpeed:       %d bit/s\r\nStatus:      %s\r\n",
				r.CallingNumber, r.CalledNumber, r.RemoteCSID, r.Pages, r.Speed, r.Status)
		}
		text.WriteString("\r\nThe fax is attached as a PDF.\r\n")
	default:
		var nums []string
		for _, r := range m.Recipients {
			nums = append(nums, r.Fax)
		}
		subject = fmt.Sprintf("Fax to %s: %s", strings.Join(nums, ", "), m.Status)
		if m.Subject != "" {
			subject += " (" + m.Subject + ")"
		}
		fmt.Fprintf(&text, "Your fax (message %d) ended: %s.\r\n\r\n", m.ID, m.Status)
		for _, r := range m.Recipients {
			fmt.Fprintf(&text, "%-20s %-10s %d of %d pages, %d %s", r.Fax, r.State, r.PagesSent, r.PageCount, r.Attempts, plural(r.Attempts, "attempt"))
			if r.ErrorText != "" && r.State != string(core.JobDone) {
				fmt.Fprintf(&text, ", %s", r.ErrorText)
			}
			text.WriteString("\r\n")
		}
	}
	var h gomail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*gomail.Address{{Name: "faxagent", Address: from}})
	h.SetAddressList("To", []*gomail.Address{{Address: to}})
	h.SetSubject(subject)
	if err := h.GenerateMessageID(); err != nil {
		return nil, err
	}
	h.Set("Auto-Submitted", "auto-generated")
	var buf bytes.Buffer
	mw, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th gomail.InlineHeader
	th.Set("Content-Type", "text/plain; charset=utf-8")
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	io.WriteString(tw, text.String())
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if pdf != nil {
		var ah gomail.AttachmentHeader
		ah.Set("Content-Type", "application/pdf")
		ah.SetFilename(fmt.Sprintf("fax-%d.pdf", m.ID))
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := aw.Write(pdf); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
