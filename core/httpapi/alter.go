package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/faxagent/faxagent/core"
)

// alter changes a message's waiting recipients (POST
// /api/v1/messages/{id}/alter with an AlterRequest): the owner or an
// administrator.
func (s *Server) alter(w http.ResponseWriter, r *http.Request, p Principal) {
	d, ok := s.messageFor(w, r, p)
	if !ok {
		return
	}
	if d.Direction != core.Outbound {
		writeError(w, http.StatusConflict, "only outbound messages can be altered")
		return
	}
	var req AlterRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "want a JSON body with fax, priority, not_before or hold: "+err.Error())
		return
	}
	a := core.Alteration{Fax: strings.TrimSpace(req.Fax), Hold: req.Hold}
	if req.NotBefore != nil {
		a.NotBefore = *req.NotBefore
	}
	switch strings.ToLower(req.Priority) {
	case "":
	case "high":
		a.Priority = core.PriorityHigh
	case "normal":
		a.Priority = core.PriorityNormal
	case "low":
		a.Priority = core.PriorityLow
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("priority %q: want high, normal or low", req.Priority))
		return
	}
	if a.Fax == "" && a.Priority == 0 && a.NotBefore.IsZero() && a.Hold == nil {
		writeError(w, http.StatusBadRequest, "nothing to alter: give fax, priority, not_before or hold")
		return
	}
	n, err := s.o.Store.Alter(r.Context(), d.ID, a)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if s.o.Wake != nil {
		s.o.Wake()
	}
	s.log.Info("api alter", "message", d.ID, "altered", n)
	writeJSON(w, http.StatusOK, AlterResult{Altered: n})
}
