package core

import (
	"context"
	"strconv"
	"testing"
)

// TestMigrationToVersion9 upgrades a store whose agents, presets, leases
// and attempt records name agents by string ("vm"): each name is enrolled
// with an integer ID and every column names the agent by that ID; a
// preset that was all digits already is kept.
func TestMigrationToVersion9(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			st, _, o := openTest(t, be, func(o *Options) { o.schemaVersion = 8 })
			ctx := context.Background()
			d := st.read()
			var msg, job, msg2 int64
			for _, x := range []struct {
				stmt string
				args []any
				id   *int64
			}{
				{`INSERT INTO agents (id, host, ports, licensed, heartbeat_at) VALUES ('vm', 'host-a', 4, 4, 5000)`, nil, nil},
				{`INSERT INTO messages (direction, folder, status, priority, schedule_at, max_attempts, preset_agent, created_at)
					VALUES ('outbound', 'outbox', 'Queued', 60, 0, 3, 'branch', 0) RETURNING id`, nil, &msg},
				{`INSERT INTO messages (direction, folder, status, priority, schedule_at, max_attempts, preset_agent, created_at)
					VALUES ('outbound', 'outbox', 'Queued', 60, 0, 3, '100009', 0) RETURNING id`, nil, &msg2},
			} {
				var err error
				if x.id != nil {
					err = d.row(ctx, x.stmt, x.args...).Scan(x.id)
				} else {
					_, err = d.exec(ctx, x.stmt, x.args...)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := d.row(ctx, `INSERT INTO jobs (message_id, seq, fax, state, priority, not_before, max_attempts, preset_agent,
				lease_agent, created_at) VALUES (?, 0, '5550100', 'leased', 60, 0, 3, 'branch', 'vm', 0) RETURNING id`, msg).Scan(&job); err != nil {
				t.Fatal(err)
			}
			if _, err := d.exec(ctx, `INSERT INTO attempts (attempt_key, job_id, message_id, direction, outcome, create_date, fax_agent_id)
				VALUES ('k1', ?, ?, 'outbound', 'done', 0, 'vm')`, job, msg); err != nil {
				t.Fatal(err)
			}
			st.Close()
			o.schemaVersion = 0
			s2, _, err := Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			as, err := s2.Agents(ctx)
			if err != nil || len(as) != 2 {
				t.Fatalf("agents %+v %v", as, err)
			}
			ids := map[string]AgentInfo{}
			for _, a := range as {
				ids[a.Name] = a
			}
			vm, branch := ids["vm"], ids["branch"]
			if vm.ID < FirstAgentID || branch.ID < FirstAgentID || vm.Host != "host-a" || vm.Ports != 4 || vm.Heartbeat.IsZero() {
				t.Fatalf("agents after the migration: %+v", as)
			}
			jd, err := s2.Job(ctx, job)
			if err != nil || jd.LeaseAgent != strconv.FormatInt(vm.ID, 10) || jd.Preset.Agent != strconv.FormatInt(branch.ID, 10) {
				t.Fatalf("job after the migration: %+v %v", jd, err)
			}
			md, err := s2.Message(ctx, msg)
			if err != nil || md.Preset.Agent != strconv.FormatInt(branch.ID, 10) || len(md.Jobs) != 1 ||
				len(md.Jobs[0].Attempts) != 1 || md.Jobs[0].Attempts[0].FaxAgentID != strconv.FormatInt(vm.ID, 10) {
				t.Fatalf("message after the migration: %+v %v", md, err)
			}
			if m2, err := s2.Message(ctx, msg2); err != nil || m2.Preset.Agent != "100009" {
				t.Fatalf("numeric preset after the migration: %+v %v", m2.Preset, err)
			}
			// New agents continue after the migrated ones.
			if a, err := s2.EnrolAgent(ctx, "new"); err != nil || a.ID <= max(vm.ID, branch.ID) {
				t.Fatalf("enrol after the migration: %+v %v", a, err)
			}
		})
	}
}
