// Package core owns the message store and the job queue of faxagent: users
// and domains, messages with one job (FaxCore: transaction) per recipient,
// attempts with the FaxCore eV5 TransmissionDetails fields, documents in a
// content-addressed spool directory, folders and read/downloaded flags,
// inbound routing rules with an unrouted fallback, and agents with their
// heartbeats.
//
// One Store interface has two backends that share their SQL: embedded
// SQLite (modernc.org/sqlite, cgo-free, the default, in a data directory)
// and PostgreSQL (github.com/jackc/pgx/v5), where several agents may share
// one queue. Jobs are claimed with leases; every state change is one
// database transaction, so after a crash at any point each job is held,
// queued, leased, done, failed or cancelled — never lost and never done
// twice. Times come from Options.Now, so tests run leases in virtual time;
// processes that share one PostgreSQL need synchronised clocks.
//
// AgentQueue adapts a Store to agent.Queue and agent.Reporter, so an agent
// in the same process (or sharing the PostgreSQL queue and the spool) works
// from it.
//
// core may import agent (its contract types) and imaging; t30 only for the
// completion-code type in agent.Queue's Fail signature. It must not import
// drivers, t38, cmd or testbench.
package core
