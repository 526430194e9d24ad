package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// migration is one schema version: statements run in one transaction. In
// the statements "{{id}}" is the backend's auto-increment primary key.
type migration struct {
	version int
	name    string
	stmts   []string
}

// migrationCode is the Go part of a migration, run after its statements
// in the same transaction; nil for most versions.
func migrationCode(version int) func(ctx context.Context, s *sqlStore, d q) error {
	switch version {
	case 3:
		return renumberUsers
	case 5:
		return inboundCallRecords
	case 8:
		return documentContent
	case 9:
		return agentNumbers
	}
	return nil
}

// migrations are append-only: a released version never changes.
var migrations = []migration{
	{1, "initial schema", []string{
		`CREATE TABLE domains (
			id {{id}},
			name TEXT NOT NULL UNIQUE,
			created_at BIGINT NOT NULL)`,
		`CREATE TABLE users (
			id {{id}},
			username TEXT NOT NULL UNIQUE,
			domain_id BIGINT NOT NULL REFERENCES domains(id),
			password_hash TEXT NOT NULL,
			full_name TEXT NOT NULL DEFAULT '',
			email TEXT NOT NULL DEFAULT '',
			is_admin INTEGER NOT NULL DEFAULT 0,
			active INTEGER NOT NULL DEFAULT 1,
			created_at BIGINT NOT NULL)`,
		`CREATE TABLE documents (
			id {{id}},
			sha256 TEXT NOT NULL UNIQUE,
			size BIGINT NOT NULL,
			content_type TEXT NOT NULL DEFAULT '',
			pages INTEGER NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL)`,
		`CREATE TABLE messages (
			id {{id}},
			owner_id BIGINT REFERENCES users(id),
			direction TEXT NOT NULL,
			folder TEXT NOT NULL,
			status TEXT NOT NULL,
			subject TEXT NOT NULL DEFAULT '',
			note TEXT NOT NULL DEFAULT '',
			sender_name TEXT NOT NULL DEFAULT '',
			sender_company TEXT NOT NULL DEFAULT '',
			billing_code TEXT NOT NULL DEFAULT '',
			priority INTEGER NOT NULL,
			schedule_at BIGINT NOT NULL,
			hold INTEGER NOT NULL DEFAULT 0,
			max_attempts INTEGER NOT NULL,
			preset_agent TEXT NOT NULL DEFAULT '',
			preset_type INTEGER NOT NULL DEFAULT 0,
			preset_value TEXT NOT NULL DEFAULT '',
			resolution TEXT NOT NULL DEFAULT '',
			header TEXT NOT NULL DEFAULT '',
			is_read INTEGER NOT NULL DEFAULT 0,
			downloaded INTEGER NOT NULL DEFAULT 0,
			inbound_key TEXT UNIQUE,
			jobs_total INTEGER NOT NULL DEFAULT 0,
			jobs_final INTEGER NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			completed_at BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX messages_folder ON messages (folder, owner_id, id)`,
		`CREATE TABLE message_documents (
			message_id BIGINT NOT NULL REFERENCES messages(id),
			seq INTEGER NOT NULL,
			document_id BIGINT NOT NULL REFERENCES documents(id),
			name TEXT NOT NULL,
			PRIMARY KEY (message_id, seq))`,
		`CREATE TABLE jobs (
			id {{id}},
			message_id BIGINT NOT NULL REFERENCES messages(id),
			seq INTEGER NOT NULL,
			recipient_name TEXT NOT NULL DEFAULT '',
			recipient_company TEXT NOT NULL DEFAULT '',
			fax TEXT NOT NULL,
			state TEXT NOT NULL,
			priority INTEGER NOT NULL,
			not_before BIGINT NOT NULL,
			start_page INTEGER NOT NULL DEFAULT 0,
			attempts INTEGER NOT NULL DEFAULT 0,
			max_attempts INTEGER NOT NULL,
			preset_agent TEXT NOT NULL DEFAULT '',
			preset_type INTEGER NOT NULL DEFAULT 0,
			preset_value TEXT NOT NULL DEFAULT '',
			lease_epoch BIGINT NOT NULL DEFAULT 0,
			lease_agent TEXT NOT NULL DEFAULT '',
			lease_expires BIGINT NOT NULL DEFAULT 0,
			cancel_requested INTEGER NOT NULL DEFAULT 0,
			error_id INTEGER NOT NULL DEFAULT 0,
			error_text TEXT NOT NULL DEFAULT '',
			page_count INTEGER NOT NULL DEFAULT 0,
			pages_sent INTEGER NOT NULL DEFAULT 0,
			remote_csid TEXT NOT NULL DEFAULT '',
			speed INTEGER NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			completed_at BIGINT NOT NULL DEFAULT 0,
			UNIQUE (message_id, seq))`,
		`CREATE INDEX jobs_claim ON jobs (priority DESC, not_before, id) WHERE state IN ('queued', 'leased')`,
		`CREATE TABLE attempts (
			id {{id}},
			attempt_key TEXT NOT NULL UNIQUE,
			job_id BIGINT REFERENCES jobs(id),
			message_id BIGINT NOT NULL REFERENCES messages(id),
			direction TEXT NOT NULL,
			lease_epoch BIGINT NOT NULL DEFAULT 0,
			stale INTEGER NOT NULL DEFAULT 0,
			applied INTEGER NOT NULL DEFAULT 0,
			outcome TEXT NOT NULL,
			create_date BIGINT NOT NULL,
			schedule_date BIGINT NOT NULL DEFAULT 0,
			complete_date BIGINT NOT NULL DEFAULT 0,
			calling_number TEXT NOT NULL DEFAULT '',
			called_number TEXT NOT NULL DEFAULT '',
			remote_csid TEXT NOT NULL DEFAULT '',
			routing_info TEXT NOT NULL DEFAULT '',
			caller_id TEXT NOT NULL DEFAULT '',
			fax_protocol TEXT NOT NULL DEFAULT '',
			transmit_speed INTEGER NOT NULL DEFAULT 0,
			compression_mode TEXT NOT NULL DEFAULT '',
			call_duration_ms BIGINT NOT NULL DEFAULT 0,
			transmit_duration_ms BIGINT NOT NULL DEFAULT 0,
			fax_resolution TEXT NOT NULL DEFAULT '',
			transmit_status INTEGER NOT NULL DEFAULT 0,
			transmit_status_def TEXT NOT NULL DEFAULT '',
			attempt_no INTEGER NOT NULL DEFAULT 0,
			max_attempt_no INTEGER NOT NULL DEFAULT 0,
			page_count INTEGER NOT NULL DEFAULT 0,
			start_page_no INTEGER NOT NULL DEFAULT 0,
			page_sent INTEGER NOT NULL DEFAULT 0,
			fax_agent_id TEXT NOT NULL DEFAULT '',
			port_no INTEGER NOT NULL DEFAULT 0,
			board_id TEXT NOT NULL DEFAULT '',
			server_ip TEXT NOT NULL DEFAULT '',
			error_id INTEGER NOT NULL DEFAULT 0,
			error_info TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX attempts_job ON attempts (job_id, id)`,
		`CREATE INDEX attempts_message ON attempts (message_id, id)`,
		`CREATE TABLE routes (
			id {{id}},
			user_id BIGINT NOT NULL REFERENCES users(id),
			cond1_field TEXT NOT NULL,
			cond1_value TEXT NOT NULL DEFAULT '',
			is_and INTEGER NOT NULL DEFAULT 0,
			cond2_field TEXT NOT NULL DEFAULT 'None',
			cond2_value TEXT NOT NULL DEFAULT '',
			active INTEGER NOT NULL DEFAULT 1,
			priority INTEGER NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL)`,
		`CREATE TABLE agents (
			id TEXT PRIMARY KEY,
			host TEXT NOT NULL DEFAULT '',
			server_ip TEXT NOT NULL DEFAULT '',
			version TEXT NOT NULL DEFAULT '',
			ports INTEGER NOT NULL DEFAULT 0,
			licensed INTEGER NOT NULL DEFAULT 0,
			busy INTEGER NOT NULL DEFAULT 0,
			started_at BIGINT NOT NULL DEFAULT 0,
			heartbeat_at BIGINT NOT NULL)`,
	}},
	{2, "job state counters on messages (n_queued counts queued and leased jobs)", []string{
		`ALTER TABLE messages ADD COLUMN n_held INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN n_queued INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN n_done INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN n_failed INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE messages ADD COLUMN n_cancelled INTEGER NOT NULL DEFAULT 0`,
		`UPDATE messages SET
			n_held = (SELECT COUNT(*) FROM jobs WHERE jobs.message_id = messages.id AND jobs.state = 'held'),
			n_queued = (SELECT COUNT(*) FROM jobs WHERE jobs.message_id = messages.id AND jobs.state IN ('queued', 'leased')),
			n_done = (SELECT COUNT(*) FROM jobs WHERE jobs.message_id = messages.id AND jobs.state = 'done'),
			n_failed = (SELECT COUNT(*) FROM jobs WHERE jobs.message_id = messages.id AND jobs.state = 'failed'),
			n_cancelled = (SELECT COUNT(*) FROM jobs WHERE jobs.message_id = messages.id AND jobs.state = 'cancelled')`,
	}},
	{3, "user roles, profiles and removal; user IDs from 1000; message tracking records", []string{
		`ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}'`,
		`ALTER TABLE users ADD COLUMN removed_at BIGINT NOT NULL DEFAULT 0`,
		`UPDATE users SET role = CASE WHEN is_admin = 1 THEN 'SystemAdmin' ELSE 'StandardUser' END`,
		`CREATE TABLE message_tracks (
			message_id BIGINT NOT NULL REFERENCES messages(id),
			track_id BIGINT NOT NULL,
			label TEXT NOT NULL,
			value TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (message_id, track_id))`,
	}},
	{4, "live page progress of a job's call (valid for the lease epoch it was reported under)", []string{
		`ALTER TABLE jobs ADD COLUMN progress_epoch BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE jobs ADD COLUMN progress_pages INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE jobs ADD COLUMN progress_total INTEGER NOT NULL DEFAULT 0`,
	}},
	{5, "inbound calls keyed by the agent's unique ID, the driver's call ID kept as data; failed inbound calls as call records without a message", []string{
		`ALTER TABLE attempts ADD COLUMN call_id TEXT NOT NULL DEFAULT ''`,
	}},
	{6, "per-user API tokens, stored as their SHA-256", []string{
		`CREATE TABLE api_tokens (
			id {{id}},
			user_id BIGINT NOT NULL REFERENCES users(id),
			name TEXT NOT NULL DEFAULT '',
			sha256 TEXT NOT NULL UNIQUE,
			created_at BIGINT NOT NULL)`,
		`CREATE INDEX api_tokens_user ON api_tokens (user_id, id)`,
	}},
	{7, "notifications: a webhook URL and e-mail choice per user, a callback URL per message, events written with a message's final state or a reception, deliveries with their log", []string{
		`CREATE TABLE user_notify (
			user_id BIGINT PRIMARY KEY REFERENCES users(id),
			webhook_url TEXT NOT NULL DEFAULT '',
			email_results INTEGER NOT NULL DEFAULT 0)`,
		`ALTER TABLE messages ADD COLUMN callback_url TEXT NOT NULL DEFAULT ''`,
		`CREATE TABLE notify_events (
			id {{id}},
			message_id BIGINT NOT NULL,
			kind TEXT NOT NULL,
			created_at BIGINT NOT NULL)`,
		`CREATE TABLE notify_deliveries (
			id {{id}},
			event_id BIGINT NOT NULL,
			message_id BIGINT NOT NULL,
			owner_id BIGINT NOT NULL DEFAULT 0,
			kind TEXT NOT NULL,
			channel TEXT NOT NULL,
			target TEXT NOT NULL,
			payload TEXT NOT NULL,
			state TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			next_at BIGINT NOT NULL,
			last_status INTEGER NOT NULL DEFAULT 0,
			last_error TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		`CREATE INDEX notify_deliveries_due ON notify_deliveries (state, next_at)`,
		`CREATE INDEX notify_deliveries_message ON notify_deliveries (message_id, id)`,
	}},
	{8, "document content in the database on PostgreSQL, so that every core and agent reaches it without a shared disk", nil},
	{9, "integer agent IDs assigned at enrolment (from 100001), agents' names kept; presets, leases and attempts name agents by their IDs", []string{
		`CREATE TABLE fax_agents (
			id {{id}},
			name TEXT NOT NULL UNIQUE,
			host TEXT NOT NULL DEFAULT '',
			server_ip TEXT NOT NULL DEFAULT '',
			version TEXT NOT NULL DEFAULT '',
			ports INTEGER NOT NULL DEFAULT 0,
			licensed INTEGER NOT NULL DEFAULT 0,
			busy INTEGER NOT NULL DEFAULT 0,
			started_at BIGINT NOT NULL DEFAULT 0,
			heartbeat_at BIGINT NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL)`,
	}},
	{10, "attempt records stored whole: dialled number, ECM, the rate cap and ECM switch-off of destination memory, pages transmitted, next attempt and page", []string{
		`ALTER TABLE attempts ADD COLUMN dialed_number TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE attempts ADD COLUMN ecm INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN max_rate INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN ecm_disabled INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN pages_transmitted INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN next_attempt BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN next_page INTEGER NOT NULL DEFAULT 0`,
	}},
	{11, "attempts keep the media of a call over IP (T.38 or audio) with its packet losses, and the SIP final response", []string{
		`ALTER TABLE attempts ADD COLUMN media TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE attempts ADD COLUMN packets_lost INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN packets_recovered INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN sip_code INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN sip_reason TEXT NOT NULL DEFAULT ''`,
	}},
	{12, "the lease clock: when a claim last reached the queue, so that an outage does not count against leases", []string{
		`CREATE TABLE queue_clock (
			id INTEGER PRIMARY KEY,
			last_seen BIGINT NOT NULL)`,
		`INSERT INTO queue_clock (id, last_seen) VALUES (1, 0)`,
	}},
	{13, "agent credentials for the agent protocol, stored as their SHA-256 and bound to an agent ID", []string{
		`CREATE TABLE agent_credentials (
			id {{id}},
			agent_id BIGINT NOT NULL REFERENCES fax_agents(id),
			sha256 TEXT NOT NULL UNIQUE,
			created_at BIGINT NOT NULL,
			revoked_at BIGINT NOT NULL DEFAULT 0)`,
	}},
	{14, "agents' heartbeats carry each port's state (JSON), so that remote agents' ports show in the port list", []string{
		`ALTER TABLE fax_agents ADD COLUMN port_states TEXT NOT NULL DEFAULT ''`,
	}},
}

// agentNumbers enrols every agent name the store has seen (heartbeats,
// leases, presets, attempt records) and rewrites those columns to the
// agent's integer ID; a value that is all digits already is left alone.
func agentNumbers(ctx context.Context, s *sqlStore, d q) error {
	var names []string
	for _, sel := range []string{"SELECT id FROM agents", "SELECT DISTINCT lease_agent FROM jobs",
		"SELECT DISTINCT preset_agent FROM jobs", "SELECT DISTINCT preset_agent FROM messages",
		"SELECT DISTINCT fax_agent_id FROM attempts"} {
		rows, err := d.query(ctx, sel)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			if n != "" && !allDigits(n) && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, n := range names {
		if _, err := s.enrol(ctx, d, n); err != nil {
			return err
		}
	}
	if _, err := d.exec(ctx, `UPDATE fax_agents SET host = a.host, server_ip = a.server_ip, version = a.version, ports = a.ports,
		licensed = a.licensed, busy = a.busy, started_at = a.started_at, heartbeat_at = a.heartbeat_at
		FROM agents a WHERE a.id = fax_agents.name`); err != nil {
		return err
	}
	for _, c := range []struct{ table, col string }{{"jobs", "lease_agent"}, {"jobs", "preset_agent"},
		{"messages", "preset_agent"}, {"attempts", "fax_agent_id"}} {
		if _, err := d.exec(ctx, `UPDATE `+c.table+` SET `+c.col+` = (SELECT CAST(f.id AS TEXT) FROM fax_agents f WHERE f.name = `+c.table+`.`+c.col+`)
			WHERE `+c.col+` IN (SELECT name FROM fax_agents)`); err != nil {
			return fmt.Errorf("%s.%s: %w", c.table, c.col, err)
		}
	}
	_, err := d.exec(ctx, "DROP TABLE agents")
	return err
}

// documentContent creates, on PostgreSQL, the table that holds every
// document's content by its SHA-256 (the local spool becomes a cache of
// it), and copies the content of documents already in this process's
// spool into it. SQLite keeps the spool alone.
func documentContent(ctx context.Context, s *sqlStore, d q) error {
	if !s.pg {
		return nil
	}
	if _, err := d.exec(ctx, `CREATE TABLE document_content (
			sha256 TEXT PRIMARY KEY,
			content BYTEA NOT NULL)`); err != nil {
		return err
	}
	rows, err := d.query(ctx, "SELECT sha256 FROM documents ORDER BY id")
	if err != nil {
		return err
	}
	var sums []string
	for rows.Next() {
		var sum string
		if err := rows.Scan(&sum); err != nil {
			rows.Close()
			return err
		}
		sums = append(sums, sum)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, sum := range sums {
		// A document whose file is not here was spooled on another
		// disk; it stays readable where it is.
		if err := s.storeContent(ctx, d, sum); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// inboundCallRecords lets an attempt exist without a message (a failed
// inbound call is a call record, not a message for a user). PostgreSQL
// drops the NOT NULL; SQLite cannot, so the table is rebuilt with its rows.
func inboundCallRecords(ctx context.Context, s *sqlStore, d q) error {
	stmts := []string{`ALTER TABLE attempts ALTER COLUMN message_id DROP NOT NULL`}
	if !s.pg {
		stmts = []string{
			`CREATE TABLE attempts_v5 (
			id INTEGER PRIMARY KEY,
			attempt_key TEXT NOT NULL UNIQUE,
			job_id BIGINT REFERENCES jobs(id),
			message_id BIGINT REFERENCES messages(id),
			direction TEXT NOT NULL,
			lease_epoch BIGINT NOT NULL DEFAULT 0,
			stale INTEGER NOT NULL DEFAULT 0,
			applied INTEGER NOT NULL DEFAULT 0,
			outcome TEXT NOT NULL,
			create_date BIGINT NOT NULL,
			schedule_date BIGINT NOT NULL DEFAULT 0,
			complete_date BIGINT NOT NULL DEFAULT 0,
			calling_number TEXT NOT NULL DEFAULT '',
			called_number TEXT NOT NULL DEFAULT '',
			remote_csid TEXT NOT NULL DEFAULT '',
			routing_info TEXT NOT NULL DEFAULT '',
			caller_id TEXT NOT NULL DEFAULT '',
			fax_protocol TEXT NOT NULL DEFAULT '',
			transmit_speed INTEGER NOT NULL DEFAULT 0,
			compression_mode TEXT NOT NULL DEFAULT '',
			call_duration_ms BIGINT NOT NULL DEFAULT 0,
			transmit_duration_ms BIGINT NOT NULL DEFAULT 0,
			fax_resolution TEXT NOT NULL DEFAULT '',
			transmit_status INTEGER NOT NULL DEFAULT 0,
			transmit_status_def TEXT NOT NULL DEFAULT '',
			attempt_no INTEGER NOT NULL DEFAULT 0,
			max_attempt_no INTEGER NOT NULL DEFAULT 0,
			page_count INTEGER NOT NULL DEFAULT 0,
			start_page_no INTEGER NOT NULL DEFAULT 0,
			page_sent INTEGER NOT NULL DEFAULT 0,
			fax_agent_id TEXT NOT NULL DEFAULT '',
			port_no INTEGER NOT NULL DEFAULT 0,
			board_id TEXT NOT NULL DEFAULT '',
			server_ip TEXT NOT NULL DEFAULT '',
			error_id INTEGER NOT NULL DEFAULT 0,
			error_info TEXT NOT NULL DEFAULT '',
			call_id TEXT NOT NULL DEFAULT '')`,
			`INSERT INTO attempts_v5 SELECT * FROM attempts`,
			`DROP TABLE attempts`,
			`ALTER TABLE attempts_v5 RENAME TO attempts`,
			`CREATE INDEX attempts_job ON attempts (job_id, id)`,
			`CREATE INDEX attempts_message ON attempts (message_id, id)`,
		}
	}
	stmts = append(stmts, `CREATE INDEX attempts_calls ON attempts (direction, id)`)
	for _, st := range stmts {
		if _, err := d.exec(ctx, st); err != nil {
			return fmt.Errorf("%.60s: %w", st, err)
		}
	}
	return nil
}

// migrationLock is the PostgreSQL advisory lock key that serialises
// migrations of several processes starting at once.
const migrationLock = 0x66617861 // "faxa"

func (s *sqlStore) migrate(ctx context.Context) error {
	id := "INTEGER PRIMARY KEY"
	if s.pg {
		id = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
	}
	lock := func(d q) error {
		if !s.pg {
			return nil
		}
		_, err := d.exec(ctx, "SELECT pg_advisory_xact_lock(?)", migrationLock)
		return err
	}
	err := s.tx(ctx, func(d q) error {
		if err := lock(d); err != nil {
			return err
		}
		_, err := d.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("core: migrations table: %w", err)
	}
	for _, m := range migrations {
		if s.o.schemaVersion != 0 && m.version > s.o.schemaVersion {
			break
		}
		err := s.tx(ctx, func(d q) error {
			if err := lock(d); err != nil {
				return err
			}
			var n int
			if err := d.row(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, st := range m.stmts {
				if _, err := d.exec(ctx, strings.ReplaceAll(st, "{{id}}", id)); err != nil {
					return fmt.Errorf("%.60s: %w", st, err)
				}
			}
			if run := migrationCode(m.version); run != nil {
				if err := run(ctx, s, d); err != nil {
					return err
				}
			}
			_, err := d.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, ms(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("core: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// SchemaVersion is the newest migration version this build knows.
func SchemaVersion() int { return migrations[len(migrations)-1].version }
