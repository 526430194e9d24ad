package agentapi

import (
	"time"

	"github.com/faxagent/faxagent/agent"
)

// Prefix is where the core mounts the protocol.
const Prefix = "/agent/v1"

// Paths of the operations under Prefix.
const (
	pathClaim    = "/claim"
	pathWait     = "/wait"
	pathRenew    = "/renew"
	pathProgress = "/progress"
	pathFinish   = "/finish"
	pathRelease  = "/release"
	pathDocument = "/document"
	pathInbound  = "/inbound"
	pathSelf     = "/self"
	pathBeat     = "/heartbeat"
)

// recordHeader carries an inbound upload's record (JSON, base64url).
const recordHeader = "Faxagent-Inbound-Record"

// staleHeader, set on a finish's 200, says the outcome was kept as a stale
// attempt: the lease had moved on and the job was left as it was. (A
// header, so that the body stays the same for every agent.)
const staleHeader = "Faxagent-Attempt-Stale"

// Bounds of a request's work.
const (
	// maxJSONBody bounds every JSON request body (an attempt record with
	// its texts is far smaller).
	maxJSONBody = 64 << 10
	// maxRecordHeader bounds an inbound record header.
	maxRecordHeader = 16 << 10
	// maxWait bounds a long-poll.
	maxWait = 30 * time.Second
	// maxInline bounds the document bytes a claim's answer carries
	// inline (all its jobs together); a document that does not fit is
	// downloaded by its own request.
	maxInline = 512 << 10
)

// claimedJob is a job of a claim's answer: the agent.Job (Documents
// replaced by their indices) and the documents small enough to come
// inline, Inline[n] being document n (empty: not inline, download it).
// A client that knows no Inline downloads every document.
type claimedJob struct {
	agent.Job
	Inline [][]byte `json:",omitempty"`
}

type renewReq struct {
	Lease agent.Lease
	For   time.Duration
}

type progressReq struct {
	Lease      agent.Lease
	PagesSent  int
	PagesTotal int
}

type finishReq struct {
	Lease  agent.Lease
	Record agent.AttemptRecord
}

// errorBody is every refusal's body; Code lets the client give the agent
// its sentinel errors back.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes of errorBody.
const (
	codeLeaseLost = "lease_lost"
	codeCancelled = "cancelled"
	codeNoJob     = "no_job"
	codeRejected  = "rejected"
	codeAuth      = "unauthorized"
	codeBusy      = "busy"
	codeInternal  = "internal"
)
