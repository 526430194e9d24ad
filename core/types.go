package core

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/agent"
)

// Sentinel errors callers branch on. Errors returned by a Store wrap one of
// these where it applies.
var (
	ErrNotFound      = errors.New("core: not found")
	ErrInvalid       = errors.New("core: invalid input")
	ErrExists        = errors.New("core: already exists")
	ErrTooLarge      = errors.New("core: document too large")
	ErrAuth          = errors.New("core: authentication failed")
	ErrLeaseLost     = errors.New("core: lease lost")
	ErrState         = errors.New("core: not allowed in this state")
	ErrUnknownFolder = errors.New("core: unknown folder")
)

// Folder is a message folder as FaxCore names them (GetMsgFolders).
type Folder string

// Folders.
const (
	FolderInbox     Folder = "inbox"
	FolderOutbox    Folder = "outbox"
	FolderSent      Folder = "sent"
	FolderCancelled Folder = "cancelled"
	FolderHold      Folder = "hold"
	FolderTrash     Folder = "trash"
	FolderUnrouted  Folder = "unrouted"
	FolderProcessed Folder = "processed"
)

// Folders lists every folder in FaxCore's order.
func Folders() []Folder {
	return []Folder{FolderInbox, FolderOutbox, FolderSent, FolderCancelled, FolderHold, FolderTrash, FolderUnrouted, FolderProcessed}
}

// ParseFolder accepts a folder name in any letter case ("Processed").
func ParseFolder(s string) (Folder, error) {
	for _, f := range Folders() {
		if equalFold(string(f), s) {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknownFolder, s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Priorities of FaxCore messages (SendCompleteMessage priority).
const (
	PriorityHigh   = 70
	PriorityNormal = 60
	PriorityLow    = 50
)

// Direction of a message or attempt.
type Direction string

// Directions.
const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// JobState is the state of one recipient's job (FaxCore transaction).
type JobState string

// Job states. Held, Queued and Leased are live; Done, Failed and Cancelled
// are final.
const (
	JobHeld      JobState = "held"
	JobQueued    JobState = "queued"
	JobLeased    JobState = "leased"
	JobDone      JobState = "done"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
)

// Final reports whether the state is an end state.
func (s JobState) Final() bool {
	return s == JobDone || s == JobFailed || s == JobCancelled
}

// PresetType says what a message is pinned to (SendCompleteMessageWithPresetAgents).
type PresetType int

// Preset types: FaxCore's 1 = port, 2 = port group.
const (
	PresetNone  PresetType = 0
	PresetPort  PresetType = 1
	PresetGroup PresetType = 2
)

// Preset pins a job to an agent and a port or port group.
type Preset struct {
	// Agent is the agent's ID as decimal ("" any agent); Submit also
	// takes an enrolled agent's name and stores its ID.
	Agent string
	Type  PresetType
	Value string // port ID ("M0,3") or group name
}

// Domain is a user domain (GetDomainList).
type Domain struct {
	ID      int64
	Name    string
	Created time.Time
}

// User is an account. The password hash never leaves the store.
type User struct {
	ID       int64
	Username string
	DomainID int64
	FullName string
	Email    string
	Admin    bool
	Active   bool
	Created  time.Time
	// Role is the FaxCore role: RoleSystemAdmin, RoleDomainAdmin,
	// RoleSuperUser or RoleStandardUser. Admin is set for the first two.
	Role string
}

// NewUser creates a user.
type NewUser struct {
	Username string
	Password string
	Domain   string // "" the default domain
	FullName string
	Email    string
	Admin    bool
	// Inactive creates the account deactivated.
	Inactive bool
	// Profile is stored with the user; its Role, if set, must agree with
	// Admin ("" derives it from Admin).
	Profile UserProfile
}

// Document is a stored file: its content lives in the spool under its
// SHA-256; Name is a display name only, never a path.
type Document struct {
	ID          int64
	SHA256      string // lower-case hex
	Size        int64
	ContentType string
	Pages       int
	Created     time.Time
}

// DocumentInput is a document of a submission: either an existing document
// (ID) or new content (Body).
type DocumentInput struct {
	ID          int64
	Name        string // display name, e.g. "letter.pdf"; no path
	ContentType string
	Pages       int
	Body        io.Reader
}

// MessageDocument is a document attached to a message.
type MessageDocument struct {
	Document
	Seq  int
	Name string
}

// Recipient of a submission.
type Recipient struct {
	Name    string
	Company string
	Fax     string // number to dial: digits, optional leading +, spaces, -, (), .
}

// Submission is a message to send: one job per recipient.
type Submission struct {
	OwnerID       int64
	SenderName    string
	SenderCompany string
	Subject       string
	Note          string
	BillingCode   string
	// Priority is PriorityHigh, PriorityNormal or PriorityLow; 0 means normal.
	Priority int
	// Schedule is the earliest dial time; zero means now.
	Schedule time.Time
	// Hold puts the message in the hold folder until Release.
	Hold bool
	// MaxAttempts per recipient; 0 means Options.DefaultMaxAttempts.
	MaxAttempts int
	Preset      Preset
	// Resolution and Header are send options the agent reads.
	Resolution string
	Header     string
	Recipients []Recipient
	Documents  []DocumentInput
	// Tracks are the message's tracking records, stored with it; an ID of
	// 0 is numbered by position (1, 2, ...).
	Tracks []Track
	// CallbackURL gets a webhook when the message reaches its final state
	// ("" none; see CheckCallbackURL).
	CallbackURL string
}

// Message is a stored message without its jobs.
type Message struct {
	ID            int64
	OwnerID       int64 // 0: nobody (unrouted inbound)
	Direction     Direction
	Folder        Folder
	Status        string // Queued, Held, Sending, Completed, Failed, Partial, Cancelled, Received
	Subject       string
	Note          string
	SenderName    string
	SenderCompany string
	BillingCode   string
	Priority      int
	Schedule      time.Time
	Hold          bool
	MaxAttempts   int
	Preset        Preset
	Resolution    string
	Header        string
	Read          bool
	Downloaded    bool
	Created       time.Time
	Completed     time.Time
	JobsTotal     int
	JobsComplete  int
}

// Job is one recipient of a message (FaxCore: a transaction), as the queue
// sees it.
type Job struct {
	ID          int64
	MessageID   int64
	Seq         int
	Recipient   Recipient
	State       JobState
	Priority    int
	NotBefore   time.Time
	StartPage   int // 0-based page the next attempt starts from
	Attempts    int // attempts started (claims)
	MaxAttempts int
	Preset      Preset
	// Lease of a leased job.
	Lease           Lease
	LeaseAgent      string
	LeaseExpires    time.Time
	CancelRequested bool
	// Outcome of the last attempt.
	ErrorID    int
	ErrorText  string
	PageCount  int
	PagesSent  int
	RemoteCSID string
	Speed      int
	Created    time.Time
	Completed  time.Time
	// Progress is the live progress of the job's current attempt.
	Progress JobProgress
}

// JobProgress is the live page progress of a job's attempt, as its lease
// holder reports it while the call runs (see Store.Progress).
type JobProgress struct {
	// InCall is set while the job is leased to an agent (dialling or in a
	// call).
	InCall bool
	// PagesSent are the document's pages the remote has confirmed so far
	// (those before the attempt's start page included), PagesTotal the
	// document's pages; both 0 until the agent reports, and when not in
	// a call.
	PagesSent  int
	PagesTotal int
}

// Lease identifies one claim of a job: the job and the claim's epoch (the
// job's claim counter at the time).
type Lease struct {
	JobID int64
	Epoch int64
}

// String formats the lease as "<job>.<epoch>".
func (l Lease) String() string { return fmt.Sprintf("%d.%d", l.JobID, l.Epoch) }

// ParseLease parses Lease.String.
func ParseLease(s string) (Lease, error) {
	j, e, ok := strings.Cut(s, ".")
	job, err1 := strconv.ParseInt(j, 10, 64)
	epoch, err2 := strconv.ParseInt(e, 10, 64)
	if !ok || err1 != nil || err2 != nil || job <= 0 || epoch <= 0 || strings.HasPrefix(j, "+") || strings.HasPrefix(e, "+") {
		return Lease{}, fmt.Errorf("%w: lease %q", ErrInvalid, s)
	}
	return Lease{JobID: job, Epoch: epoch}, nil
}

// ClaimedJob is a job handed to an agent with everything it needs to send.
type ClaimedJob struct {
	Job
	Message   Message
	Documents []MessageDocument
}

// Claim asks for up to Max jobs for an agent.
type Claim struct {
	Agent string
	Max   int           // 0 means 1
	Lease time.Duration // 0 means Options.DefaultLease
	// Ports and Groups are the free port IDs and the port groups with a
	// free port; jobs preset to other ports or groups are left for later.
	Ports  []string
	Groups []string
	// PresetOnly claims only jobs preset to Ports or Groups, none that
	// may go anywhere.
	PresetOnly bool
}

// RenewResult tells an agent about its lease.
type RenewResult struct {
	Expires time.Time
	// Cancel is set when the job was cancelled during the call: the agent
	// should hang up and report.
	Cancel bool
}

// Outcome of an attempt as the agent reports it.
type Outcome string

// Outcomes.
const (
	OutcomeDone      Outcome = "done"
	OutcomeRetry     Outcome = "retry"
	OutcomeFailed    Outcome = "failed"
	OutcomeCancelled Outcome = "cancelled"
	OutcomeReceived  Outcome = "received" // inbound attempts
)

// Transmission is one attempt with the fields of FaxCore eV5's
// TransmissionDetails: the agent's attempt facts as it reported them
// (agent.AttemptFacts) and what the core adds.
type Transmission struct {
	ID        int64  // TransmissionID
	Key       string // the agent's attempt ID; reports are idempotent by it
	JobID     int64  // 0 for inbound
	MessageID int64  // 0 for an inbound call that brought no fax
	Direction Direction
	Lease     Lease
	// Stale is set on an attempt reported for a lease that was lost; it is
	// kept, but did not change the job.
	Stale   bool
	Outcome Outcome

	CreateDate time.Time // when the call started
	CallerID   string    // presented caller ID (routing by RemoteCallerID)
	// SIPCode and SIPReason are the network's final answer that ended or
	// shaped the call (a refused INVITE, a 488 to a T.38 re-INVITE), 0 and
	// "" if none.
	SIPCode   int
	SIPReason string

	agent.AttemptFacts
}

// Report ends an attempt of a leased job: done, retry, failed or
// cancelled. Reports are idempotent by Key: a repeat changes nothing.
type Report struct {
	Lease   Lease
	Key     string // the agent's attempt ID
	Outcome Outcome
	// RetryAt and ResumePage (0-based) apply to OutcomeRetry.
	RetryAt    time.Time
	ResumePage int
	// PagesSent is added to the job's count of pages sent.
	PagesSent int
	ErrorID   int
	ErrorText string
	// Attempt, if not nil, is the attempt's record, stored in the same
	// transaction (else a record stored with RecordAttempt is used, or a
	// minimal one is made).
	Attempt *Transmission
	// Agent, if set, is the agent reporting: a job whose lease another
	// agent holds (whatever the lease token says) takes the report as a
	// stale attempt, judged in the same transaction.
	Agent string
}

// ReportResult says what a report did.
type ReportResult struct {
	AttemptID int64
	// Duplicate is set when the attempt key was reported before; nothing
	// changed.
	Duplicate bool
	// Stale is set when the lease was lost: the attempt is kept, the job
	// is unchanged.
	Stale bool
	State JobState
}

// JobDetails is a job with its attempts.
type JobDetails struct {
	Job
	Attempts []Transmission
}

// MessageDetails is a message with documents, jobs and attempts
// (GetMessageDetails).
type MessageDetails struct {
	Message
	Documents []MessageDocument
	Jobs      []JobDetails
	// Attempts of an inbound message (it has no jobs).
	Received []Transmission
}

// MessageQuery lists messages.
type MessageQuery struct {
	OwnerID int64 // 0: all owners
	Folder  Folder
	Offset  int
	Limit   int // 0: 50; at most 1000
}

// CallQuery selects call records (Store.Calls).
type CallQuery struct {
	Direction Direction // "": both
	Outcome   Outcome   // "": any
	Offset    int
	Limit     int // 0: 50; at most 1000
}

// CancelResult counts what Cancel did.
type CancelResult struct {
	Cancelled int // queued or held jobs cancelled at once
	Flagged   int // jobs in a call, flagged for their agent
}

// RouteField is what an inbound rule condition tests (CreateInboundRoute).
type RouteField string

// Route fields.
const (
	RouteNone          RouteField = "None"
	RouteRoutingDigits RouteField = "RoutingDigits"
	RouteRemoteCSID    RouteField = "RemoteCSID"
	RouteCallerID      RouteField = "RemoteCallerID"
	RoutePortNo        RouteField = "FaxPortNo"
)

// RouteCondition is one condition: Field equals Value; a Value ending in
// '*' matches a prefix.
type RouteCondition struct {
	Field RouteField
	Value string
}

// Route is an inbound routing rule. Active rules are tried by descending
// Priority (then ascending ID); the first that matches decides the owner.
type Route struct {
	ID       int64
	UserID   int64 // whose inbox
	Cond1    RouteCondition
	And      bool // Cond1 AND Cond2, else OR
	Cond2    RouteCondition
	Active   bool
	Priority int
	Created  time.Time
}

// InboundFax is a received fax to store.
type InboundFax struct {
	// Key is the agent's ID of the reception, unique forever (not the
	// driver's call ID, which restarts and peers repeat); storing the same
	// key twice stores one message.
	Key         string
	Name        string // display name of the document, "" for "fax.tif"
	ContentType string // "" for image/tiff
	Pages       int
	// Body is the received TIFF (required: a call that brought no page is
	// a call record, Store.RecordCall).
	Body io.Reader
	// Partial is set when the call failed after some pages.
	Partial bool
	Attempt Transmission
}

// AgentInfo is an agent as the core sees it.
type AgentInfo struct {
	// ID is assigned by the core at enrolment (FirstAgentID on); jobs,
	// presets and attempt records name the agent by it (as decimal).
	ID int64
	// Name is the agent's configured name (serve --agent-id, the host
	// name by default), unique; its licence is issued for it.
	Name     string
	Host     string
	ServerIP string
	Version  string
	Ports    int
	Licensed int
	Busy     int
	// PortStates are the agent's ports as its last heartbeat reported
	// them (at most MaxPortStates).
	PortStates []PortState
	Started    time.Time
	Heartbeat  time.Time
}

// MaxPortStates bounds the ports one heartbeat may report.
const MaxPortStates = 1024

// Port statuses of a PortState.
const (
	PortIdle = "idle"
	PortBusy = "busy"
	PortDown = "down"
)

// PortState is one of an agent's ports as its heartbeat reports it.
type PortState struct {
	ID       string `json:"id"`
	No       int    `json:"no"`
	Driver   string `json:"driver,omitempty"`
	Number   string `json:"number,omitempty"`
	State    string `json:"state"`  // the port's state (drivers.PortState's name)
	Status   string `json:"status"` // PortIdle, PortBusy or PortDown
	Licensed bool   `json:"licensed"`
	Send     bool   `json:"send"`
	Receive  bool   `json:"receive"`
	Disabled bool   `json:"disabled,omitempty"`
}

// QueueStats summarises the queue.
type QueueStats struct {
	Held, Queued, Leased, Done, Failed, Cancelled int
	// OldestQueued is the not-before time of the oldest claimable job.
	OldestQueued time.Time
}
