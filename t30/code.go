package t30

import (
	"fmt"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

// RetryClass says whether a failed attempt is worth repeating.
type RetryClass int

// Retry classes.
const (
	RetryNever RetryClass = iota // do not retry (success, or a permanent failure)
	RetryNow                     // retry at once (a transient line problem)
	RetryLater                   // retry after the normal back-off
)

func (r RetryClass) String() string {
	switch r {
	case RetryNever:
		return "never"
	case RetryNow:
		return "now"
	case RetryLater:
		return "later"
	}
	return fmt.Sprintf("RetryClass(%d)", int(r))
}

// Code is the completion code every call ends with. Its numeric value is
// the ID that goes into attempt records; it never changes once released.
type Code int

// Completion codes.
const (
	OK                Code = 0  // call completed, all pages confirmed
	CodeNoAnswer      Code = 1  // the remote did not answer (driver)
	CodeBusy          Code = 2  // the remote was busy (driver)
	CodeNoFax         Code = 3  // T1 expired: no fax terminal answered / called
	CodeTrainFailed   Code = 4  // training failed at the lowest speed
	CodeIncompatible  Code = 5  // no common modulation, coding, width or resolution
	CodePageRejected  Code = 6  // page answered RTN too often
	CodeT1Timeout     Code = 7  // T1 expired during phase B
	CodeT2Timeout     Code = 8  // T2 expired waiting for a command
	CodeT5Timeout     Code = 9  // T5 expired: ECM receiver not ready too long
	CodeNoResponse    Code = 10 // a command got no valid response after 3 tries
	CodeDCNUnexpected Code = 11 // the remote disconnected (DCN) in mid-call
	CodeCallDropped   Code = 12 // the line was lost
	CodeCancelled     Code = 13 // cancelled by the caller
	CodeDocument      Code = 14 // the document could not be read or coded
	CodeInternal      Code = 15 // a bug or an unexpected line error
	CodeProtocol      Code = 16 // the remote broke the protocol (invalid frame or sequence)
	CodeInterrupted   Code = 17 // the remote answered PIN (procedure interrupt negative)
	CodeECMFailed     Code = 18 // ECM block could not be corrected (EOR/ERR)
	CodeReceiveFailed Code = 19 // pages were received but not all with good quality
	CodeT38Refused    Code = 20 // the remote refused our T.38 offer (SIP 488/606): FoIP
	CodeBadNumber     Code = 21 // the number does not exist or is incomplete (SIP 404/484)
)

var codeTable = [...]struct {
	text  string
	retry RetryClass
}{
	OK:                {"success", RetryNever},
	CodeNoAnswer:      {"no answer", RetryLater},
	CodeBusy:          {"busy", RetryLater},
	CodeNoFax:         {"no fax terminal detected (T1)", RetryLater},
	CodeTrainFailed:   {"training failed at the lowest speed", RetryLater},
	CodeIncompatible:  {"remote terminal is incompatible", RetryNever},
	CodePageRejected:  {"page rejected by the remote (RTN)", RetryLater},
	CodeT1Timeout:     {"timeout T1 in phase B", RetryLater},
	CodeT2Timeout:     {"timeout T2 waiting for a command", RetryNow},
	CodeT5Timeout:     {"timeout T5: remote not ready (ECM)", RetryLater},
	CodeNoResponse:    {"no response after three tries", RetryNow},
	CodeDCNUnexpected: {"remote disconnected unexpectedly (DCN)", RetryNow},
	CodeCallDropped:   {"call dropped", RetryNow},
	CodeCancelled:     {"cancelled", RetryNever},
	CodeDocument:      {"document error", RetryNever},
	CodeInternal:      {"internal error", RetryLater},
	CodeProtocol:      {"protocol error by the remote", RetryLater},
	CodeInterrupted:   {"procedure interrupted by the remote (PIN)", RetryLater},
	CodeECMFailed:     {"error correction failed", RetryNow},
	CodeReceiveFailed: {"pages received with errors", RetryNow},
	CodeT38Refused:    {"remote refused T.38 (488)", RetryLater},
	CodeBadNumber:     {"invalid number (404/484)", RetryNever},
}

// ID is the numeric identifier of the code.
func (c Code) ID() int { return int(c) }

func (c Code) String() string {
	if c >= 0 && int(c) < len(codeTable) {
		return codeTable[c].text
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Retry is the code's retry class.
func (c Code) Retry() RetryClass {
	if c >= 0 && int(c) < len(codeTable) {
		return codeTable[c].retry
	}
	return RetryLater
}

// Codes lists every defined code.
func Codes() []Code {
	out := make([]Code, len(codeTable))
	for i := range out {
		out[i] = Code(i)
	}
	return out
}

// Timings are the durations of a call's phases (summed over repeats).
type Timings struct {
	PhaseA time.Duration // call establishment: tones until the first DIS
	PhaseB time.Duration // pre-message procedure: DIS/DCS, training
	PhaseC time.Duration // message transmission: page data
	PhaseD time.Duration // post-message procedure: MPS/EOP and responses
	Total  time.Duration
}

// Result is everything about a finished call.
type Result struct {
	Code Code
	Err  error // detail of the failure, wrapping the cause where there is one

	StartPage      int // 0-based document page the session started at
	PagesSent      int // pages whose data was sent in full (resends count once per attempt)
	PagesConfirmed int // pages the remote confirmed (MCF, RTP or PIP)
	PagesReceived  int // pages received and accepted
	FailedPage     int // 1-based document page in progress when the call failed, 0 if none

	Speed       Speed
	Compression imaging.Compression
	Resolution  imaging.Resolution
	Width       int
	ECM         bool
	FrameSize   int // ECM frame size (64 or 256)

	RemoteIdent string // CSI (when sending) or TSI (when receiving)
	Subaddress  string // receiving: the SUB the sender gave (routing digits)
	Password    string // receiving: the SID the sender gave
	RemoteNSF   []byte // raw NSF/NSS FIF, if any
	RemoteCaps  Caps   // the remote's DIS (sender) or DCS (receiver)

	Retrains     int   // DCS+TCF sequences after the first
	PPRs         int   // ECM partial page requests
	BadRows      []int // per received page, rows concealed by the decoder
	Timings      Timings
	VirtualStart time.Time
}

// NSFVendor describes the T.35 country and vendor code at the start of the
// remote's NSF, or "" if there was none.
func (r *Result) NSFVendor() string {
	if len(r.RemoteNSF) < 3 {
		return ""
	}
	return fmt.Sprintf("T.35 country 0x%02X, provider 0x%02X%02X", r.RemoteNSF[0], r.RemoteNSF[1], r.RemoteNSF[2])
}

// PageStatus is what happened to a page, reported by Progress.
type PageStatus int

// Page statuses.
const (
	PageSent      PageStatus = iota + 1 // sender: page data sent, awaiting the response
	PageConfirmed                       // sender: MCF/RTP/PIP received
	PageRejected                        // sender: RTN received (the page will be resent)
	PageReceived                        // receiver: page accepted (MCF/RTP)
	PageBad                             // receiver: page refused (RTN)
)

func (s PageStatus) String() string {
	switch s {
	case PageSent:
		return "sent"
	case PageConfirmed:
		return "confirmed"
	case PageRejected:
		return "rejected"
	case PageReceived:
		return "received"
	case PageBad:
		return "bad"
	}
	return fmt.Sprintf("PageStatus(%d)", int(s))
}

// PageEvent is a per-page progress report.
type PageEvent struct {
	Page    int // 1-based document page (sender) or page in this call (receiver)
	Status  PageStatus
	Bytes   int
	BadRows int
	Speed   Speed
	ECM     bool
	At      time.Duration // since the call started
	// The page's coding as negotiated (Compression 0: the driver does
	// not say) and the remote's CSI (sending) or TSI (receiving), as far
	// as known, so that a record can be made from page events alone.
	Compression imaging.Compression
	Resolution  imaging.Resolution
	RemoteIdent string
}
