// Package agent is the fax agent runtime. It owns the ports of its drivers
// (a registry with FaxCore's Send / Receive / Tone-detect settings and port
// groups), the Ed25519-signed license that says how many of them may be
// used, the scheduler that claims jobs from a Queue with leases and turns
// them into calls (priority, presets, dial rules, header line), the retry
// policy with per-destination memory, the watchdog, cancel, inbound
// reception into a TIFF Class F spool, attempt and inbound reporting
// through a Reporter with FaxCore's TransmissionDetails fields, metrics and
// graceful shutdown. The small interfaces it needs from a core (Queue,
// Reporter, Metrics) are defined here; in-memory implementations for
// tests are in agent/agenttest.
//
// agent imports drivers (the contract only), t30 (codes, clock) and
// imaging; it must never import core or a concrete driver.
package agent
