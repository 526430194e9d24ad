package drivers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// Driver is one kind of fax port hardware or network: a set of ports that
// place and take calls.
//
// Life cycle: Open once, then Ports, Dial, Incoming and Events may be used
// from any goroutine; Close ends every call in progress (their Send and
// Receive return CodeCallDropped) and closes the Incoming and Events
// channels. A driver that lives in another process (Brooktrout) is wrapped
// on the host side so that callers never see its transport.
type Driver interface {
	// Name identifies the driver kind ("loopback", "foip",
	// "brooktrout"); licences count ports per driver name.
	Name() string
	// Open brings the ports up.
	Open(ctx context.Context) error
	// Close hangs up everything and releases the ports.
	Close() error
	// Ports lists the driver's ports in a stable order with their current
	// state as the driver sees it (Idle, Dialling, Sending, Receiving or
	// Down; Unlicensed and Disabled are the agent's to set).
	Ports() []PortInfo
	// Dial places a call from port (a PortInfo.ID) to number and returns
	// once the remote answered. A call that never connects returns a
	// *DialError carrying its completion code (CodeBusy, CodeNoAnswer,
	// CodeCallDropped, ...). The context bounds dialling only.
	Dial(ctx context.Context, port, number string, o DialOptions) (Call, error)
	// Incoming delivers calls arriving on the driver's ports. The receiver
	// of a Call must either Receive on it or Hangup(CauseRejected). The
	// channel is closed by Close.
	Incoming() <-chan Call
	// Events reports port state changes for status and metrics. A driver
	// never blocks on it: events nobody reads in time are dropped. Closed
	// by Close.
	Events() <-chan PortEvent
}

// Call is one connected call. Exactly one of Send (outbound calls) or
// Receive (inbound calls) is used, once. Hangup may be called at any time
// from any goroutine, also while Send or Receive runs, and more than once.
type Call interface {
	// Info describes the call.
	Info() CallInfo
	// Send transmits doc from p.StartPage. progress, if not nil, gets a
	// PageEvent per page as it happens (on a driver goroutine; it must
	// not block). The Result is always filled; err is nil exactly when
	// Result.Code is t30.OK, otherwise a *CallError with the same code.
	// Cancelling ctx or Hangup ends the call with t30.CodeCancelled.
	Send(ctx context.Context, doc Document, p SendParams, progress func(t30.PageEvent)) (Result, error)
	// Receive answers the call and receives a document; every page goes
	// to sink as soon as it has been accepted, so a call that fails
	// leaves the pages before the failure in the sink. Result and err as
	// for Send.
	Receive(ctx context.Context, p ReceiveParams, sink t30.PageSink, progress func(t30.PageEvent)) (Result, error)
	// Hangup ends the call with the given cause.
	Hangup(cause HangupCause) error
}

// Document is what a call sends: t30's page source interface, so a
// host-managed driver hands it to the engine as it is and a board-managed
// driver codes the pages itself (or reads its file).
type Document = t30.Document

// PortState is the state of a port.
type PortState int

// Port states. Idle, Dialling, Sending, Receiving and Down come from the
// driver; Unlicensed and Disabled are set by the agent on top.
const (
	StateIdle PortState = iota
	StateDialling
	StateSending
	StateReceiving
	StateDown
	StateUnlicensed
	StateDisabled
)

var stateNames = [...]string{"idle", "dialling", "sending", "receiving", "down", "unlicensed", "disabled"}

func (s PortState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("PortState(%d)", int(s))
}

// Busy reports whether the state is a call in progress.
func (s PortState) Busy() bool {
	return s == StateDialling || s == StateSending || s == StateReceiving
}

// Capabilities are what a port can do.
type Capabilities struct {
	Send    bool
	Receive bool
	// Modems is the set of phase C modulations; MaxRate the highest data
	// signalling rate (14400 for V.17).
	Modems  t30.ModemSet
	MaxRate int
	ECM     bool
	// Compressions and Resolutions the port can send and receive.
	Compressions []imaging.Compression
	Resolutions  []imaging.Resolution
	// T38 is set for ports that carry fax over IP.
	T38 bool
}

// PortInfo describes a port.
type PortInfo struct {
	// ID is the stable port identifier as FaxCore shows it, "M<board>,<channel>"
	// (PortID), e.g. "M0,3".
	ID      string
	Board   int
	Channel int
	// Driver is the Driver.Name the port belongs to.
	Driver string
	// Number is the port's own telephone number (the calling number of
	// its outgoing calls, and the number that reaches it).
	Number string
	Caps   Capabilities
	State  PortState
}

// PortID formats the FaxCore board ID of a port: "M<board>,<channel>".
func PortID(board, channel int) string {
	return "M" + strconv.Itoa(board) + "," + strconv.Itoa(channel)
}

// ErrPortID is wrapped by ParsePortID errors.
var ErrPortID = errors.New("drivers: invalid port ID")

// ParsePortID parses "M<board>,<channel>".
func ParsePortID(s string) (board, channel int, err error) {
	rest, ok := strings.CutPrefix(s, "M")
	if !ok {
		return 0, 0, fmt.Errorf("%w %q: no leading M", ErrPortID, s)
	}
	b, c, ok := strings.Cut(rest, ",")
	if !ok {
		return 0, 0, fmt.Errorf("%w %q: no comma", ErrPortID, s)
	}
	board, err1 := strconv.Atoi(b)
	channel, err2 := strconv.Atoi(c)
	if err1 != nil || err2 != nil || board < 0 || channel < 0 {
		return 0, 0, fmt.Errorf("%w %q", ErrPortID, s)
	}
	return board, channel, nil
}

// PortEvent is a change of a port's state.
type PortEvent struct {
	Port  string // PortInfo.ID
	State PortState
	At    time.Time
	Err   error // why a port went down, if it did
}

// Direction of a call.
type Direction int

// Directions.
const (
	Outbound Direction = iota + 1
	Inbound
)

func (d Direction) String() string {
	switch d {
	case Outbound:
		return "outbound"
	case Inbound:
		return "inbound"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// CallInfo describes a call: the routing information inbound routing uses
// and the attempt record shows.
type CallInfo struct {
	ID        string // driver-unique call ID (SIP Call-ID, board call handle)
	Port      string // PortInfo.ID
	Direction Direction
	// CallingNumber and CalledNumber as signalled on the call (the called
	// number of an inbound call is the DID the caller dialled).
	CallingNumber string
	CalledNumber  string
	// DID is the dialled number the routing uses (often CalledNumber, or
	// its last digits), RoutingDigits the DTMF/DNIS digits collected after
	// answer, if any.
	DID           string
	RoutingDigits string
	// CallerID and CallerName are the presented caller identity.
	CallerID   string
	CallerName string
	// Started is when Dial began (outbound) or the call arrived (inbound),
	// Connected when it was answered.
	Started   time.Time
	Connected time.Time
}

// DialOptions refine Dial.
type DialOptions struct {
	// CallerID to present; "" presents the port's number.
	CallerID string
	// RingTimeout is how long to ring before giving up with
	// t30.CodeNoAnswer; 0 means 60 s.
	RingTimeout time.Duration
}

// ECMMode says whether error correction is used.
type ECMMode int

// ECM modes.
const (
	ECMDefault ECMMode = iota // as the port supports
	ECMOn
	ECMOff
)

// SendParams are the parameters of one transmission.
type SendParams struct {
	// StartPage is the 0-based first page to send (a retry resumes from
	// the first page the remote did not confirm).
	StartPage int
	// MaxRate caps the data signalling rate (0: the port's maximum).
	MaxRate int
	// ECM turns error correction on or off.
	ECM ECMMode
	// CSID is our identification (TSI), up to 20 characters.
	CSID string
	// Header is the header line for drivers that stamp pages themselves
	// (board-managed); host-managed drivers send the document as given
	// (the agent stamps it with imaging/faxdoc) and ignore it.
	Header string
	// Compressions allowed (nil: all the port has).
	Compressions []imaging.Compression
	// MaxPageTries is how often a page rejected with RTN is sent (0: 3).
	MaxPageTries int
	// Timers override the T.30 timers (zero fields: defaults).
	Timers t30.Timers
}

// ReceiveParams are the parameters of one reception.
type ReceiveParams struct {
	// CSID is our identification (CSI).
	CSID    string
	MaxRate int
	ECM     ECMMode
	// Compressions and Resolutions accepted (nil: all the port has).
	Compressions []imaging.Compression
	Resolutions  []imaging.Resolution
	// ToneDetect asks drivers that can tell fax from voice to listen for
	// the caller's CNG before answering with fax tones (FaxCore's port
	// setting); drivers that cannot ignore it.
	ToneDetect bool
	Timers     t30.Timers
}

// HangupCause says why a call is hung up.
type HangupCause int

// Hangup causes.
const (
	CauseNormal    HangupCause = iota // the call is over
	CauseCancelled                    // the job was cancelled
	CauseWatchdog                     // the call ran too long or stalled
	CauseShutdown                     // the agent is stopping
	CauseRejected                     // an incoming call is refused
	CauseBusy                         // an incoming call is refused because the port is in another call
)

var causeNames = [...]string{"normal", "cancelled", "watchdog", "shutdown", "rejected", "busy"}

func (c HangupCause) String() string {
	if c >= 0 && int(c) < len(causeNames) {
		return causeNames[c]
	}
	return fmt.Sprintf("HangupCause(%d)", int(c))
}

// Result is the outcome of a call: the T.30 result (from our engine or
// from a board) and the call-level facts around it.
type Result struct {
	t30.Result

	Info CallInfo
	// Cause is the network or board's own reason ("486 Busy Here",
	// a Brooktrout call-progress code), CauseCode its number; empty and 0
	// for host-managed calls that got through.
	Cause     string
	CauseCode int
	// HangupCause is set when the call ended through Call.Hangup.
	HangupCause HangupCause
	// Media says how a FoIP call carried the fax, with its packet loss
	// figures; zero for boards and loopback.
	Media Media
	// DialDuration is from dialling to answer (or to giving up),
	// CallDuration from dialling (inbound: from arrival) to hang-up and
	// TransmitDuration the time T.30 spent on the call (phases A to E).
	DialDuration     time.Duration
	CallDuration     time.Duration
	TransmitDuration time.Duration
	// Ended is when the call was over.
	Ended time.Time
}

// DestinationNote is what a driver remembers about a destination for a
// while: a FoIP trunk's "T.38-less: audio" for a number that refused T.38.
// Drivers that keep such notes have a method
// Destinations() []DestinationNote.
type DestinationNote struct {
	Driver string
	Number string
	Note   string
	Until  time.Time
}

// Media is how a call over IP carried the fax.
type Media struct {
	// Transport is "T.38" (UDPTL) or "audio" (G.711 RTP through soft
	// modems); "" when no fax phase ran.
	Transport string
	// Lost counts packets given up on (UDPTL) or never received (RTP);
	// Recovered the UDPTL packets rebuilt from redundancy or FEC.
	Lost, Recovered uint64
}

// Protocol names the fax modulation of the result as FaxCore does
// ("V17", "V29", "V27", "V34"), or "" if no page carrier was trained.
func (r *Result) Protocol() string {
	switch r.Speed.Modem {
	case t30.V17:
		return "V17"
	case t30.V29:
		return "V29"
	case t30.V27ter:
		return "V27"
	case t30.V34:
		return "V34"
	}
	return ""
}

// CallError is the error of a call that ended with a completion code other
// than t30.OK (Send, Receive) or never connected (Dial: see DialError).
type CallError struct {
	Code  t30.Code
	Cause string // network or board cause, if any
	Err   error  // detail
}

func (e *CallError) Error() string {
	s := fmt.Sprintf("call failed: %v (code %d)", e.Code, e.Code.ID())
	if e.Cause != "" {
		s += ": " + e.Cause
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CallError) Unwrap() error { return e.Err }

// DialError is returned by Dial for a call that did not connect.
type DialError struct {
	Code      t30.Code // CodeBusy, CodeNoAnswer, CodeCallDropped, CodeCancelled, CodeInternal
	Cause     string
	CauseCode int
	// Duration is how long dialling took before it gave up.
	Duration time.Duration
	Err      error
}

func (e *DialError) Error() string {
	s := fmt.Sprintf("dial failed: %v (code %d)", e.Code, e.Code.ID())
	if e.Cause != "" {
		s += ": " + e.Cause
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *DialError) Unwrap() error { return e.Err }

// DialResult turns an error from Dial into the Result of the attempt: a
// *DialError keeps its code and cause, context errors become
// t30.CodeCancelled and anything else t30.CodeInternal.
func DialResult(err error, info CallInfo, ended time.Time) Result {
	r := Result{Info: info, Ended: ended}
	var de *DialError
	switch {
	case errors.As(err, &de):
		r.Code, r.Cause, r.CauseCode, r.DialDuration = de.Code, de.Cause, de.CauseCode, de.Duration
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		r.Code = t30.CodeCancelled
	default:
		r.Code = t30.CodeInternal
	}
	r.Err = err
	r.CallDuration = r.DialDuration
	r.FailedPage = 0
	return r
}

// AsError returns nil for a successful result and a *CallError otherwise.
func (r *Result) AsError() error {
	if r.Code == t30.OK {
		return nil
	}
	return &CallError{Code: r.Code, Cause: r.Cause, Err: r.Err}
}

// ErrClosed is returned by drivers after Close.
var ErrClosed = errors.New("drivers: driver closed")

// ErrNoPort is wrapped when a port ID is unknown to a driver.
var ErrNoPort = errors.New("drivers: no such port")

// ErrPortBusy is wrapped when Dial finds its port in a call.
var ErrPortBusy = errors.New("drivers: port busy")
