package agent

import (
	"context"
	"errors"
	"time"

	"github.com/faxagent/faxagent/drivers"
)

// Priorities as FaxCore gives them: higher first.
const (
	PriorityHigh   = 70
	PriorityNormal = 60
	PriorityLow    = 50
)

// PresetKind says where a job must be sent from (FaxCore presetType).
type PresetKind int

// Preset kinds.
const (
	PresetNone  PresetKind = 0
	PresetPort  PresetKind = 1 // a given port (Preset.Port, a port ID such as "M0,3")
	PresetGroup PresetKind = 2 // any port of a group (Preset.Group)
)

// Preset pins a job to a port or a port group, of one agent when AgentID
// is set (port IDs repeat across agents).
type Preset struct {
	Kind    PresetKind
	AgentID string
	Port    string
	Group   string
}

// Job is one recipient of a message: what the queue hands an agent.
type Job struct {
	ID        string // transaction ID, unique
	MessageID string
	Number    string // the recipient's fax number as entered
	Recipient string // the recipient's name, for the header's %r
	// Documents are the files to send (TIFF, PDF pictures, ... as
	// imaging/faxdoc opens them), in order.
	Documents []string
	// Doc, if set, is the document itself (in-memory queues and tests);
	// it takes precedence over Documents and is not header-stamped.
	Doc drivers.Document

	Priority int
	Preset   Preset
	// Header is the header-line template (render tokens %d %t %c %n %r
	// %p %s); "" uses the agent's default, "-" sends no header.
	Header string
	CSID   string // "" uses the port's or agent's CSID

	Created time.Time
	// ReadyAt is when the job became claimable (creation, or the retry
	// time of its last attempt).
	ReadyAt time.Time

	// Attempts is the number of attempts made so far; MaxAttempts the
	// limit (0: the agent's retry policy decides).
	Attempts    int
	MaxAttempts int
	// StartPage is the 0-based page the next attempt starts at.
	StartPage int
	// PagesSent counts pages sent over all attempts (page send limit).
	PagesSent int

	// Lease is set by Claim.
	Lease Lease
}

// Lease is an agent's hold on a claimed job. It must be renewed before it
// expires or the queue gives the job to another agent.
type Lease struct {
	JobID   string
	Token   string // changes with every claim
	Expires time.Time
}

// ClaimRequest asks for up to Max jobs that this agent can start now.
type ClaimRequest struct {
	AgentID string
	Max     int
	// Ports and Groups are the free ports (IDs) and the groups with a
	// free port: jobs preset to others are left for other agents.
	Ports  []string
	Groups []string
	// PresetOnly asks only for jobs preset to Ports or Groups: the free
	// ports take no job that may go anywhere (PortSettings.PresetOnly).
	PresetOnly bool
	// Lease is the lease duration.
	Lease time.Duration
}

// Errors a Queue returns.
var (
	// ErrLeaseLost: the lease expired or the job was given to someone
	// else; the agent must stop working on the job.
	ErrLeaseLost = errors.New("agent: job lease lost")
	// ErrStale: Finish stored the attempt's whole record, but as a stale
	// attempt: the lease had expired or gone to another agent, so the
	// job's state was left as it was. The outcome is kept (nothing to
	// retry); such an error also matches ErrLeaseLost.
	ErrStale = errors.New("agent: outcome kept as a stale attempt")
	// ErrCancelled: the job was cancelled; the agent hangs up.
	ErrCancelled = errors.New("agent: job cancelled")
	// ErrNoJob: no such job.
	ErrNoJob = errors.New("agent: no such job")
	// ErrRejected: the queue refuses a report as malformed; sending it
	// again cannot help.
	ErrRejected = errors.New("agent: report rejected")
)

// Queue is the job queue an agent works from; the core implements it
// (SQLite, PostgreSQL). All methods are safe for concurrent use. Every
// operation after Claim names the lease and is idempotent for the same
// lease and attempt ID: a call repeated after a lost answer changes
// nothing.
type Queue interface {
	// Claim leases up to r.Max claimable jobs (ReadyAt reached, not
	// leased, preset to nothing or to one of r.Ports / r.Groups, and to
	// no other agent),
	// highest Priority first, then oldest ReadyAt, then Created.
	Claim(ctx context.Context, r ClaimRequest) ([]Job, error)
	// Renew extends a lease by d from now. ErrCancelled when the job was
	// cancelled, ErrLeaseLost when the lease is no longer ours.
	Renew(ctx context.Context, l Lease, d time.Duration) (Lease, error)
	// Finish ends an attempt: the whole record is stored with the job's
	// new state in one transaction. r.TransmitStatusDef says what the
	// agent asks for: StatusCompleted ends the job as sent, StatusRetry
	// queues it again at r.NextAttempt from 1-based page r.NextPage (the
	// queue owns the attempt budget and ends the job failed when none is
	// left), StatusFailed and StatusCancelled end it. Idempotent by
	// r.AttemptID: a repeat after a lost answer changes nothing. A lease
	// that is no longer ours: ErrStale when the record was kept as a
	// stale attempt, ErrLeaseLost alone when it was not.
	Finish(ctx context.Context, l Lease, r AttemptRecord) error
	// Release gives a job back without an attempt (shutdown, no port
	// after all); it is claimable again at once.
	Release(ctx context.Context, l Lease) error
}

// Notifier is optionally implemented by a Queue that can tell when jobs
// may have become claimable (a new job, a retry time reached): the agent
// claims at once instead of waiting for its poll interval.
type Notifier interface {
	Ready() <-chan struct{}
}

// Attempt statuses (AttemptRecord.TransmitStatusDef).
const (
	StatusCompleted = "Completed"
	StatusRetry     = "Retry"
	StatusFailed    = "Failed"
	StatusCancelled = "Cancelled"
)

// AttemptRecord is the report of one attempt: FaxCore's TransmissionDetails
// (GetMessageDetails) plus what the agent adds about its decisions. Its
// AttemptFacts are stored as they are in the core's transmission record.
type AttemptRecord struct {
	// AttemptID identifies the attempt (job, attempt number, lease):
	// a record reported twice is counted once.
	AttemptID string
	JobID     string
	MessageID string

	CreateDate time.Time // the job's creation
	StartDate  time.Time // when dialling began

	Cause string // the driver's network or board cause, if any
	// CauseCode is the number of Cause (for SIP the final response code
	// of the INVITE or of the refused T.38 re-INVITE), 0 if none.
	CauseCode int

	AttemptFacts
}

// AttemptFacts are the facts of an attempt that the agent reports and
// the core keeps as they are (core.Transmission embeds them).
type AttemptFacts struct {
	// CallID is the driver's call ID (for SIP our Call-ID, on inbound
	// calls the peer's), "" if no call was placed: data for the call log,
	// not a key (peers and restarts repeat it).
	CallID string

	ScheduleDate time.Time // when the attempt became due (Job.ReadyAt)
	CompleteDate time.Time // when the attempt ended

	CallingNumber string
	CalledNumber  string // the number as given in the job
	DialedNumber  string // after dial rules
	RemoteCSID    string
	RoutingInfo   string // DID / routing digits

	FaxProtocol      string // V17, V29, V27, V34 or ""
	TransmitSpeed    int    // bit/s
	CompressionMode  string // MH, MR, MMR
	CallDuration     time.Duration
	TransmitDuration time.Duration
	FaxResolution    string
	ECM              bool

	TransmitStatus    int    // the completion code ID (0: success)
	TransmitStatusDef string // StatusCompleted, StatusRetry, StatusFailed, StatusCancelled

	AttemptNo    int
	MaxAttemptNo int
	PageCount    int // pages in the document
	StartPageNo  int // 1-based first page of this attempt
	PageSent     int // pages the remote confirmed in this attempt

	FaxAgentID string
	PortNo     int    // agent-wide port number, from 0
	BoardID    string // the port ID, "M0,3"
	ServerIP   string

	ErrorID   int
	ErrorInfo string // one line

	// Media is how a call over IP carried the fax ("T.38", "audio"; ""
	// for boards and loopback) and its packet losses and recoveries
	// (UDPTL redundancy/FEC).
	Media            string
	PacketsLost      int
	PacketsRecovered int

	// PagesTransmitted counts the pages transmitted in this attempt,
	// confirmed or not (the page send limit counts them).
	PagesTransmitted int

	// Decisions of the retry policy and destination memory.
	MaxRate     int  // rate cap used for this attempt (0: none)
	ECMDisabled bool // ECM turned off for this attempt by destination memory
	// NextAttempt and NextPage (1-based) say when and where the job goes
	// on: set when the attempt queued the job again, zero otherwise.
	NextAttempt time.Time
	NextPage    int
}

// InboundRecord is the report of a received call.
type InboundRecord struct {
	// ID is the agent's ID of the reception, unique forever (see
	// NewInboundID): reports are idempotent by it and by nothing else.
	ID string
	// CallID is the driver's call ID (for SIP the peer's Call-ID): data,
	// not a key; it repeats after a restart and across peers.
	CallID     string
	FaxAgentID string
	PortNo     int
	BoardID    string
	ServerIP   string

	CallingNumber string
	CalledNumber  string
	DID           string
	RoutingDigits string
	CallerID      string
	RemoteCSID    string

	Received time.Time
	Pages    int
	// File is the TIFF Class F file in the spool ("" if no page came);
	// Partial is set when the call failed after some pages.
	File    string
	Partial bool

	FaxProtocol      string
	TransmitSpeed    int
	CompressionMode  string
	ECM              bool // the pages came with error correction
	FaxResolution    string
	CallDuration     time.Duration
	TransmitDuration time.Duration
	ErrorID          int
	ErrorInfo        string
}

// Reporter takes inbound records; the core stores them. Inbound is
// idempotent by record ID and safe for concurrent use. (Attempt records
// go with the job's new state: Queue.Finish.)
//
// Inbound returns nil only once the reception is stored for good (or was
// already, under the same ID); the agent then removes r.File from its
// spool, so a Reporter keeps its own copy of the content. Any error makes
// the agent keep the file and report again later (see spool.go); a call
// without a page (r.File "") is still reported, as a failed call.
type Reporter interface {
	Inbound(ctx context.Context, r InboundRecord) error
}
