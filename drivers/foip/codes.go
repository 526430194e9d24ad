package foip

import (
	"errors"
	"strconv"

	"github.com/faxagent/faxagent/t30"
)

// ErrT38Refused is wrapped by the error of a call whose T.38 offer the far
// end refused (488 or 606 to our re-INVITE, or to an INVITE that offered
// T.38): the call stayed in audio and ended. The completion code is
// t30.CodeT38Refused (retry later) with CauseCode 488; the destination is
// remembered as T.38-less for Config.T38LessFor.
var ErrT38Refused = errors.New("foip: T.38 refused by the remote")

// T38RefusedCause is the Result.Cause of a call that ended because the far
// end refused T.38.
const T38RefusedCause = "T.38 refused"

// CodeForStatus maps the final SIP status of an INVITE that did not connect
// to a completion code (and with it the retry class):
//
//	486, 600, 603      busy                  retry later
//	500-599            busy (congestion)     retry later
//	480, 408, 487      no answer             retry later
//	404, 484, 410, 604, 485  bad number      never retry
//	488, 606           T.38 (or media) refused  retry later
//	401, 407           internal (credentials) retry later
//	other 4xx          no answer             retry later
func CodeForStatus(status int) t30.Code {
	switch status {
	case 486, 600, 603:
		return t30.CodeBusy
	case 480, 408, 487:
		return t30.CodeNoAnswer
	case 404, 484, 410, 604, 485:
		return t30.CodeBadNumber
	case 488, 606:
		return t30.CodeT38Refused
	case 401, 407, 403:
		return t30.CodeInternal
	}
	switch {
	case status >= 500 && status < 600:
		return t30.CodeBusy
	case status >= 400:
		return t30.CodeNoAnswer
	}
	return t30.CodeInternal
}

// statusCause is the Cause text of a SIP status.
func statusCause(status int, reason string) string {
	if reason == "" {
		return strconv.Itoa(status)
	}
	return strconv.Itoa(status) + " " + reason
}
