package localsvc

import "github.com/faxagent/faxagent/t30"

// Status values of DIAL responses and COMPLETION messages (the service's
// call-progress and fax completion codes, PROTOCOL.md section 5).
const (
	StatusOK            = 0
	StatusBusy          = 1
	StatusNoAnswer      = 2
	StatusNoFax         = 3
	StatusTrainFailed   = 4
	StatusIncompatible  = 5
	StatusPageRejected  = 6
	StatusLineDropped   = 7
	StatusRemoteDCN     = 8
	StatusFileError     = 9
	StatusCancelled     = 10
	StatusChannelDown   = 11
	StatusProtocolError = 12
	StatusECMFailed     = 13
	StatusTimeout       = 14
	StatusInternal      = 15
)

// statusTable maps service statuses to completion codes and texts.
var statusTable = [...]struct {
	code t30.Code
	text string
}{
	StatusOK:            {t30.OK, "normal completion"},
	StatusBusy:          {t30.CodeBusy, "busy"},
	StatusNoAnswer:      {t30.CodeNoAnswer, "no answer"},
	StatusNoFax:         {t30.CodeNoFax, "no fax terminal detected"},
	StatusTrainFailed:   {t30.CodeTrainFailed, "training failed at the lowest speed"},
	StatusIncompatible:  {t30.CodeIncompatible, "remote incompatible"},
	StatusPageRejected:  {t30.CodePageRejected, "page rejected (RTN)"},
	StatusLineDropped:   {t30.CodeCallDropped, "line dropped"},
	StatusRemoteDCN:     {t30.CodeDCNUnexpected, "remote disconnected (DCN)"},
	StatusFileError:     {t30.CodeDocument, "file error"},
	StatusCancelled:     {t30.CodeCancelled, "cancelled by local hang-up"},
	StatusChannelDown:   {t30.CodeCallDropped, "channel down"},
	StatusProtocolError: {t30.CodeProtocol, "T.30 protocol error"},
	StatusECMFailed:     {t30.CodeECMFailed, "ECM block not corrected"},
	StatusTimeout:       {t30.CodeT2Timeout, "T.30 timeout"},
	StatusInternal:      {t30.CodeInternal, "board internal error"},
}

// StatusCode maps a service status to its completion code; unknown
// statuses are t30.CodeInternal.
func StatusCode(status int) t30.Code {
	if status < 0 || status >= len(statusTable) {
		return t30.CodeInternal
	}
	return statusTable[status].code
}

// StatusText describes a service status.
func StatusText(status int) string {
	if status < 0 || status >= len(statusTable) {
		return "unknown status"
	}
	return statusTable[status].text
}
