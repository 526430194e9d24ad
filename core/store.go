package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Store is the message store and job queue. Both backends implement it with
// the same behaviour; every method that changes state does so in one
// transaction.
type Store interface {
	// Backend names the backend: "sqlite" or "postgres".
	Backend() string
	Close() error

	// Users and domains.
	CreateDomain(ctx context.Context, name string) (Domain, error)
	Domains(ctx context.Context) ([]Domain, error)
	CreateUser(ctx context.Context, u NewUser) (User, error)
	User(ctx context.Context, id int64) (User, error)
	UserByName(ctx context.Context, username string) (User, error)
	Users(ctx context.Context) ([]User, error)
	SetPassword(ctx context.Context, userID int64, password string) error
	SetUserActive(ctx context.Context, userID int64, active bool) error
	// Authenticate checks a password; it returns ErrAuth for an unknown
	// user, a wrong password or an inactive account alike.
	Authenticate(ctx context.Context, username, password string) (User, error)

	// API tokens: the store keeps only their SHA-256.
	// CreateToken makes one for an active user and returns its secret,
	// which is shown this once.
	CreateToken(ctx context.Context, userID int64, name string) (APIToken, string, error)
	// Tokens lists a user's tokens, every user's for userID 0.
	Tokens(ctx context.Context, userID int64) ([]APIToken, error)
	Token(ctx context.Context, id int64) (APIToken, error)
	RevokeToken(ctx context.Context, id int64) error
	// TokenUser returns the active user a secret belongs to; ErrAuth for
	// an unknown or revoked secret or an inactive or removed user.
	TokenUser(ctx context.Context, secret string) (User, APIToken, error)

	// Documents.
	PutDocument(ctx context.Context, in DocumentInput) (Document, error)
	Document(ctx context.Context, id int64) (Document, error)
	// OpenDocument opens a document's content from the spool.
	OpenDocument(ctx context.Context, id int64) (Document, io.ReadCloser, error)
	// DocumentFile is the path of a document's content in the spool, for
	// an agent on the same machine; the file must not be changed.
	DocumentFile(ctx context.Context, id int64) (string, error)

	// Messages.
	Submit(ctx context.Context, s Submission) (MessageDetails, error)
	Message(ctx context.Context, id int64) (MessageDetails, error)
	Messages(ctx context.Context, q MessageQuery) (msgs []Message, total int, err error)
	Move(ctx context.Context, msgID int64, f Folder) error
	MarkRead(ctx context.Context, msgID int64, read bool) error
	MarkDownloaded(ctx context.Context, msgID int64) error
	// ReleaseHold queues a held message.
	ReleaseHold(ctx context.Context, msgID int64) error
	// Alter changes a message's waiting (queued or held) recipients:
	// number, priority, earliest dial, hold or release.
	Alter(ctx context.Context, msgID int64, a Alteration) (int, error)
	// Cancel cancels a message's live jobs: queued and held ones at once,
	// ones in a call are flagged so their agent learns it on renew.
	Cancel(ctx context.Context, msgID int64) (CancelResult, error)
	// CancelJob does the same for one job.
	CancelJob(ctx context.Context, jobID int64) (CancelResult, error)
	// RetryFailed queues a message's failed jobs again (FaxCore RetryFailed)
	// with a fresh attempt budget; it returns how many.
	RetryFailed(ctx context.Context, msgID int64) (int, error)
	Job(ctx context.Context, id int64) (JobDetails, error)
	// LeasedDocument is the ID of document n (from 0) of a job leased to
	// agentID under l: ErrLeaseLost when it is not, ErrNotFound for no
	// such job or document. Its work does not grow with the message's
	// recipients.
	LeasedDocument(ctx context.Context, l Lease, agentID string, n int) (int64, error)

	// Queue.
	Claim(ctx context.Context, c Claim) ([]ClaimedJob, error)
	// Renew extends a lease; ErrLeaseLost if the job is no longer held
	// under it.
	Renew(ctx context.Context, l Lease, d time.Duration) (RenewResult, error)
	// Unclaim gives a job back without an attempt.
	Unclaim(ctx context.Context, l Lease) error
	// Progress records the live page progress of a leased job's call
	// (Job.Progress): pagesSent of pagesTotal document pages confirmed.
	// ErrLeaseLost if l is not the job's current lease (the report is
	// ignored), ErrInvalid for counts out of range.
	Progress(ctx context.Context, l Lease, pagesSent, pagesTotal int) error
	// RecordAttempt stores an attempt's record ahead of its Report.
	RecordAttempt(ctx context.Context, t Transmission) (int64, error)
	// Report ends an attempt: if the lease is current its outcome is
	// applied; if the lease was lost the attempt is kept (Stale) and
	// ErrLeaseLost returned. A repeated attempt key changes nothing.
	Report(ctx context.Context, r Report) (ReportResult, error)
	QueueStats(ctx context.Context) (QueueStats, error)

	// Inbound.
	Receive(ctx context.Context, in InboundFax) (MessageDetails, error)
	// RecordCall stores an inbound call that brought no fax as a failed
	// call record (no message); idempotent by Key.
	RecordCall(ctx context.Context, t Transmission) (Transmission, error)
	// Calls lists call records (attempts of both directions), newest first.
	Calls(ctx context.Context, q CallQuery) (calls []Transmission, total int, err error)
	CreateRoute(ctx context.Context, r Route) (Route, error)
	Routes(ctx context.Context) ([]Route, error)
	SetRouteActive(ctx context.Context, id int64, active bool) error
	DeleteRoute(ctx context.Context, id int64) error

	// Agents. EnrolAgent returns the agent of a name, giving it an ID
	// the first time; ResolveAgent finds one by ID (decimal) or name.
	EnrolAgent(ctx context.Context, name string) (AgentInfo, error)
	ResolveAgent(ctx context.Context, ref string) (AgentInfo, error)
	Heartbeat(ctx context.Context, a AgentInfo) error
	Agents(ctx context.Context) ([]AgentInfo, error)
	// Ready returns a channel of the caller's own (once per reader), poked
	// without blocking (one pending signal at most) when jobs may have
	// become claimable; every reader hears every signal.
	Ready() <-chan struct{}
	// Agent credentials for the agent protocol (core/agentapi), kept as
	// their SHA-256; CredentialAgent is ErrAuth for an unknown or revoked
	// secret.
	CreateAgentCredential(ctx context.Context, agentID int64) (AgentCredential, string, error)
	AgentCredentials(ctx context.Context) ([]AgentCredential, error)
	RevokeAgentCredential(ctx context.Context, id int64) error
	CredentialAgent(ctx context.Context, secret string) (AgentCredential, error)

	// FaxCore's user profiles, tracking records and messages given to
	// other users (the SOAP service's operations).
	UpdateUser(ctx context.Context, u User, p UserProfile) error
	Profile(ctx context.Context, userID int64) (UserProfile, error)
	RemoveUser(ctx context.Context, userID int64) error
	SetTracks(ctx context.Context, msgID int64, tracks []Track) error
	Tracks(ctx context.Context, msgID int64) ([]Track, error)
	UpdateTrack(ctx context.Context, msgID, trackID int64, value string) error
	CopyMessage(ctx context.Context, msgID, toUserID int64) (int64, error)
	// GiveMessage copies a message to copyTo's inboxes and, when assignTo
	// is not 0, makes it assignTo's, in one transaction.
	GiveMessage(ctx context.Context, msgID int64, copyTo []int64, assignTo int64) ([]int64, error)
	AssignMessage(ctx context.Context, msgID, toUserID int64) error

	Notifications
}

// EnvAdminPassword is the environment variable the program reads for the
// admin password at first start (see Options.AdminPassword).
const EnvAdminPassword = "FAXAGENT_ADMIN_PASSWORD"

// AdminUser is the name of the account created at first start.
const AdminUser = "admin"

// Options configure Open.
type Options struct {
	// DataDir holds the SQLite database and the spool. Required.
	DataDir string
	// DatabaseURL selects PostgreSQL ("postgres://..."); "" uses SQLite in
	// DataDir.
	DatabaseURL string
	// Schema is the PostgreSQL schema to use (created if missing); "" the
	// server's default search path.
	Schema string
	// AdminPassword is the admin password set at first start; "" generates
	// one and returns it in FirstStart. Never a fixed default.
	AdminPassword string
	// PasswordCost is the bcrypt cost; 0 means 12. Tests use 4.
	PasswordCost int
	// MaxDocumentSize bounds one document; 0 means 64 MiB.
	MaxDocumentSize int64
	// DefaultLease is the lease of a claim that gives none; 0 means 2 min.
	DefaultLease time.Duration
	// OutageGap is the reclaim rule's allowance for outages: when no claim
	// reached the queue for longer than this (the database or every core
	// was down, or no agent was alive), the leases that were valid when
	// the queue was last reached are extended by the whole gap, and to at
	// least OutageGap after it, so that an agent holding a sent fax's
	// outcome in its outbox delivers it before anyone may claim the job
	// again. 0 means 20 s; < 0 turns it off.
	OutageGap time.Duration
	// DefaultMaxAttempts per recipient; 0 means 3.
	DefaultMaxAttempts int
	// MaxConns bounds the PostgreSQL pool; 0 means 16.
	MaxConns int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger

	// schemaVersion, if not 0, stops migrations at that version (tests);
	// such an old schema gets no admin account.
	schemaVersion int
}

// FirstStart reports what Open set up on an empty database.
type FirstStart struct {
	// AdminCreated is set when the admin account was created now.
	AdminCreated bool
	// AdminPassword is the generated password, to be shown once; "" when
	// it came from Options.AdminPassword or the account existed.
	AdminPassword string
}

func (o *Options) defaults() error {
	if o.DataDir == "" {
		return fmt.Errorf("%w: no data directory", ErrInvalid)
	}
	if o.PasswordCost == 0 {
		o.PasswordCost = 12
	}
	if o.MaxDocumentSize == 0 {
		o.MaxDocumentSize = 64 << 20
	}
	if o.DefaultLease == 0 {
		o.DefaultLease = 2 * time.Minute
	}
	if o.DefaultMaxAttempts == 0 {
		o.DefaultMaxAttempts = 3
	}
	if o.OutageGap == 0 {
		o.OutageGap = 20 * time.Second
	}
	if o.MaxConns == 0 {
		o.MaxConns = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Open opens (and on first start creates) the store: PostgreSQL when
// o.DatabaseURL is set, else SQLite in o.DataDir. It runs the schema
// migrations and makes sure the admin account exists.
func Open(ctx context.Context, o Options) (Store, FirstStart, error) {
	if err := o.defaults(); err != nil {
		return nil, FirstStart{}, err
	}
	var s *sqlStore
	var err error
	if o.DatabaseURL != "" {
		if !strings.HasPrefix(o.DatabaseURL, "postgres://") && !strings.HasPrefix(o.DatabaseURL, "postgresql://") {
			return nil, FirstStart{}, fmt.Errorf("%w: database URL must start with postgres://", ErrInvalid)
		}
		s, err = openPostgres(ctx, o)
	} else {
		s, err = openSQLite(ctx, o)
	}
	if err != nil {
		return nil, FirstStart{}, err
	}
	if o.schemaVersion != 0 && o.schemaVersion < SchemaVersion() {
		return s, FirstStart{}, nil
	}
	fs, err := s.bootstrap(ctx)
	if err != nil {
		s.Close()
		return nil, FirstStart{}, err
	}
	return s, fs, nil
}

// generatePassword returns 18 random bytes in URL-safe base64.
func generatePassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
