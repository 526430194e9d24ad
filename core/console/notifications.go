package console

import (
	"net/http"

	"github.com/faxagent/faxagent/core"
)

// Notifications are a user's own notification settings.
type Notifications struct {
	WebhookURL   string `json:"webhook_url"`
	EmailResults bool   `json:"email_results"`
	Email        string `json:"email,omitempty"` // where e-mail goes (read-only here)
}

func (c *Console) myNotifications(w http.ResponseWriter, r *http.Request, s *session) {
	n, err := c.o.Store.UserNotify(r.Context(), s.userID)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	out := Notifications{WebhookURL: n.WebhookURL, EmailResults: n.EmailResults}
	if u, err := c.o.Store.User(r.Context(), s.userID); err == nil {
		out.Email = u.Email
	}
	writeJSON(w, http.StatusOK, out)
}

// setMyNotifications: POST /console/api/me/notifications {"webhook_url",
// "email_results"}; the URL must be http(s) (where it may connect is the
// allow-list's decision, when it is called).
func (c *Console) setMyNotifications(w http.ResponseWriter, r *http.Request, s *session) {
	var in struct {
		WebhookURL   string `json:"webhook_url"`
		EmailResults bool   `json:"email_results"`
	}
	if !readJSON(w, r, 4096, &in) {
		return
	}
	if err := c.o.Store.SetUserNotify(r.Context(), s.userID, core.UserNotify{WebhookURL: in.WebhookURL, EmailResults: in.EmailResults}); err != nil {
		c.storeError(w, r, err)
		return
	}
	c.log.Info("console: notification settings", "user", s.user, "webhook", in.WebhookURL != "", "email_results", in.EmailResults)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
