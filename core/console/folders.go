package console

import (
	"net/http"

	"github.com/faxagent/faxagent/core"
)

// trash moves a message the user may see to the trash folder.
func (c *Console) trash(w http.ResponseWriter, r *http.Request, s *session) {
	c.move(w, r, s, func(core.MessageDetails) core.Folder { return core.FolderTrash })
}

// restore moves a message out of the trash to the folder its direction and
// status give it.
func (c *Console) restore(w http.ResponseWriter, r *http.Request, s *session) {
	c.move(w, r, s, homeFolder)
}

func (c *Console) move(w http.ResponseWriter, r *http.Request, s *session, to func(core.MessageDetails) core.Folder) {
	d, ok := c.messageFor(w, r, s)
	if !ok {
		return
	}
	f := to(d)
	if err := c.o.Store.Move(r.Context(), d.ID, f); err != nil {
		c.storeError(w, r, err)
		return
	}
	c.log.Info("console: message moved", "user", s.user, "message", d.ID, "from", d.Folder, "to", f)
	writeJSON(w, http.StatusOK, map[string]string{"folder": string(f)})
}

// homeFolder is where a message belongs when nobody moved it.
func homeFolder(d core.MessageDetails) core.Folder {
	if d.Direction == core.Inbound {
		if d.OwnerID == 0 {
			return core.FolderUnrouted
		}
		return core.FolderInbox
	}
	switch d.Status {
	case "Completed", "Partial", "Failed":
		return core.FolderSent
	case "Cancelled":
		return core.FolderCancelled
	case "Held":
		return core.FolderHold
	}
	return core.FolderOutbox
}
