// Package agentapi owns the agent↔core protocol over HTTP(S): the core's
// handler (Server, mounted under /agent/v1) serves an agent.Queue and
// agent.Reporter to agents that run elsewhere, and Client implements those
// interfaces in the agent over the network, so that an agent needs neither
// the core's database nor its disk.
//
// Every request carries an agent credential (Authorization: Bearer), which
// the core issued and keeps hashed; the agent ID comes from the credential,
// never from the request. Operations are those of agent.Queue, each as
// idempotent as the queue's: claim (with a long-poll wake-up), renew,
// progress, finish (one per attempt, the whole record), release, document
// download (a stream, for the lease holder only; documents up to 512 KiB
// an answer come inline in the claim's answer instead), inbound upload (the
// TIFF as the body, its record in a header; 200 only once stored) and
// heartbeat (the agent's port counts).
//
// It imports agent (the interfaces it carries) and core's types (the
// heartbeat's AgentInfo); the core's adapter, credential check and store
// are handed in, and it must not be imported by core or agent.
package agentapi
