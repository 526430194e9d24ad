package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/faxagent/faxagent/core"
)

// calls is the call log for administrators: every call record, newest
// first, optionally by direction (inbound, outbound) and outcome (failed,
// received, done, retry, cancelled). Inbound calls that brought no fax are
// here, with their reason, and in no user's messages.
func (s *Server) calls(w http.ResponseWriter, r *http.Request, p Principal) {
	if !p.Admin {
		writeError(w, http.StatusForbidden, "the call log is for administrators")
		return
	}
	q := r.URL.Query()
	cq := core.CallQuery{Direction: core.Direction(q.Get("direction")), Outcome: core.Outcome(q.Get("outcome"))}
	switch cq.Direction {
	case "", core.Inbound, core.Outbound:
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown direction %q", cq.Direction))
		return
	}
	switch cq.Outcome {
	case "", core.OutcomeDone, core.OutcomeRetry, core.OutcomeFailed, core.OutcomeCancelled, core.OutcomeReceived:
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown outcome %q", cq.Outcome))
		return
	}
	var err1, err2 error
	cq.Offset, err1 = intParam(q.Get("offset"), 0, 0, 1<<30)
	cq.Limit, err2 = intParam(q.Get("limit"), 50, 1, 1000)
	if err := errors.Join(err1, err2); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, total, err := s.o.Store.Calls(r.Context(), cq)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := Calls{Offset: cq.Offset, Limit: cq.Limit, Total: total, Calls: []Attempt{}}
	for _, t := range list {
		out.Calls = append(out.Calls, attemptJSON(t))
	}
	writeJSON(w, http.StatusOK, out)
}
