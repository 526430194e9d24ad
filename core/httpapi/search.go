package httpapi

import (
	"context"
	"strconv"
	"strings"

	"github.com/faxagent/faxagent/core"
)

// SearchScan is how many of a folder's newest messages a search looks at:
// a search loads each one's details, so its work is bounded here.
const SearchScan = 200

// search returns the messages of mq's folder among its SearchScan newest
// that match text (case-insensitive, in the subject, note, sender, status,
// ID, recipients' numbers and names, remote CSIDs and callers' numbers),
// paged by mq's offset and limit, and how many matched.
func (s *Server) search(ctx context.Context, mq core.MessageQuery, text string) ([]core.Message, int, error) {
	offset, limit := mq.Offset, mq.Limit
	mq.Offset, mq.Limit = 0, SearchScan
	msgs, _, err := s.o.Store.Messages(ctx, mq)
	if err != nil {
		return nil, 0, err
	}
	text = strings.ToLower(text)
	var hits []core.Message
	for _, m := range msgs {
		ok := matches(text, strconv.FormatInt(m.ID, 10), m.Subject, m.Note, m.SenderName, m.SenderCompany, m.BillingCode, m.Status)
		if !ok {
			d, err := s.o.Store.Message(ctx, m.ID)
			if err != nil {
				return nil, 0, err
			}
			ok = detailsMatch(text, d)
		}
		if ok {
			hits = append(hits, m)
		}
	}
	total := len(hits)
	hits = hits[min(offset, total):]
	return hits[:min(limit, len(hits))], total, nil
}

func detailsMatch(text string, d core.MessageDetails) bool {
	for _, j := range d.Jobs {
		if matches(text, j.Recipient.Fax, j.Recipient.Name, j.Recipient.Company, j.RemoteCSID) {
			return true
		}
	}
	for _, t := range d.Received {
		if matches(text, t.CallingNumber, t.CalledNumber, t.RemoteCSID, t.CallerID) {
			return true
		}
	}
	return false
}

func matches(text string, fields ...string) bool {
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), text) {
			return true
		}
	}
	return false
}
