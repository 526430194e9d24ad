package notify

import (
	"encoding/json"
	"time"

	"github.com/faxagent/faxagent/core"
)

// Payload is a webhook's JSON body.
type Payload struct {
	// Event is core.EventFinal or core.EventReceived.
	Event     string    `json:"event"`
	EventID   int64     `json:"event_id"`
	Timestamp time.Time `json:"timestamp"`
	Message   Message   `json:"message"`
}

// Message is the message an event is about, as it was when the event was
// turned into deliveries.
type Message struct {
	ID         int64       `json:"id"`
	Direction  string      `json:"direction"`
	Status     string      `json:"status"`
	Folder     string      `json:"folder"`
	Subject    string      `json:"subject,omitempty"`
	Owner      string      `json:"owner,omitempty"`
	Created    time.Time   `json:"created"`
	Completed  *time.Time  `json:"completed,omitempty"`
	Pages      int         `json:"pages"`
	Recipients []Recipient `json:"recipients,omitempty"`
	Received   *Received   `json:"received,omitempty"`
}

// Recipient is one recipient's outcome.
type Recipient struct {
	Fax       string `json:"fax"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	PagesSent int    `json:"pages_sent"`
	PageCount int    `json:"page_count"`
	ErrorID   int    `json:"error_id"`
	ErrorText string `json:"error_text,omitempty"`
}

// Received describes a received fax's call.
type Received struct {
	CallingNumber string `json:"calling_number,omitempty"`
	CalledNumber  string `json:"called_number,omitempty"`
	RemoteCSID    string `json:"remote_csid,omitempty"`
	Pages         int    `json:"pages"`
	Speed         int    `json:"speed,omitempty"`
	Status        string `json:"status,omitempty"`
}

func payloadOf(ev core.NotifyEvent, d core.MessageDetails, owner string, now time.Time) ([]byte, error) {
	m := Message{ID: d.ID, Direction: string(d.Direction), Status: d.Status, Folder: string(d.Folder), Subject: d.Subject,
		Owner: owner, Created: d.Created}
	if !d.Completed.IsZero() {
		c := d.Completed
		m.Completed = &c
	}
	for _, doc := range d.Documents {
		m.Pages += doc.Pages
	}
	for _, j := range d.Jobs {
		m.Recipients = append(m.Recipients, Recipient{Fax: j.Recipient.Fax, State: string(j.State), Attempts: j.Job.Attempts,
			PagesSent: j.PagesSent, PageCount: j.PageCount, ErrorID: j.ErrorID, ErrorText: j.ErrorText})
	}
	if len(d.Received) > 0 {
		t := d.Received[len(d.Received)-1]
		m.Received = &Received{CallingNumber: t.CallingNumber, CalledNumber: t.CalledNumber, RemoteCSID: t.RemoteCSID,
			Pages: t.PageCount, Speed: t.TransmitSpeed, Status: t.TransmitStatusDef}
	}
	return json.Marshal(Payload{Event: ev.Kind, EventID: ev.ID, Timestamp: now.UTC(), Message: m})
}
