package httpapi

import (
	"net/http"
	"time"

	"github.com/faxagent/faxagent/core"
)

// Delivery is one notification of a message (a webhook or an e-mail) with
// the outcome of its tries.
type Delivery struct {
	ID         int64      `json:"id"`
	Event      string     `json:"event"`
	Channel    string     `json:"channel"`
	Target     string     `json:"target"`
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	NextTry    *time.Time `json:"next_try,omitempty"`
	LastStatus int        `json:"last_status,omitempty"`
	LastError  string     `json:"last_error,omitempty"`
	Created    time.Time  `json:"created"`
	Updated    time.Time  `json:"updated"`
}

// Deliveries is a message's delivery log.
type Deliveries struct {
	Deliveries []Delivery `json:"deliveries"`
}

// deliveries answers GET /api/v1/messages/{id}/deliveries: the log of the
// message's webhooks and e-mails.
func (s *Server) deliveries(w http.ResponseWriter, r *http.Request, p Principal) {
	d, ok := s.messageFor(w, r, p)
	if !ok {
		return
	}
	ds, err := s.o.Store.Deliveries(r.Context(), d.ID)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := Deliveries{Deliveries: []Delivery{}}
	for _, x := range ds {
		dj := Delivery{ID: x.ID, Event: x.Kind, Channel: x.Channel, Target: x.Target, State: x.State, Attempts: x.Attempts,
			LastStatus: x.LastStatus, LastError: x.LastError, Created: x.Created, Updated: x.Updated}
		if x.State == core.DeliveryPending {
			dj.NextTry = timePtr(x.NextAt)
		}
		out.Deliveries = append(out.Deliveries, dj)
	}
	writeJSON(w, http.StatusOK, out)
}
