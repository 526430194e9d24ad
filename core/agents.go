package core

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// FirstAgentID is the ID of the first agent enrolled; FaxCore's agent IDs
// look like this (100009).
const FirstAgentID = 100001

// agentLock is the PostgreSQL advisory lock key that serialises the
// allocation of agent IDs.
const agentLock = 0x66786167 // "fxag"

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// checkAgentName accepts an agent's name: 1 to 64 bytes, not all digits
// (those read as an agent ID).
func checkAgentName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: agent name %q (want 1 to 64 bytes)", ErrInvalid, name)
	}
	if allDigits(name) {
		return fmt.Errorf("%w: agent name %q is all digits, which reads as an agent ID", ErrInvalid, name)
	}
	return nil
}

// enrol finds or creates the agent named name in a transaction and
// returns its ID.
func (s *sqlStore) enrol(ctx context.Context, d q, name string) (int64, error) {
	var id int64
	err := d.row(ctx, "SELECT id FROM fax_agents WHERE name = ?", name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if d.pg {
		if _, err := d.exec(ctx, "SELECT pg_advisory_xact_lock(?)", agentLock); err != nil {
			return 0, err
		}
		// Another process may have enrolled the name while we waited.
		err := d.row(ctx, "SELECT id FROM fax_agents WHERE name = ?", name).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	err = d.row(ctx, `INSERT INTO fax_agents (id, name, created_at)
		SELECT COALESCE(MAX(id), ?) + 1, ?, ? FROM fax_agents RETURNING id`, FirstAgentID-1, name, ms(s.now())).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("core: enrol agent %q: %w", name, err)
	}
	return id, nil
}

// EnrolAgent returns the agent named name, enrolling it (a new integer
// ID) the first time the name is seen.
func (s *sqlStore) EnrolAgent(ctx context.Context, name string) (AgentInfo, error) {
	if err := checkAgentName(name); err != nil {
		return AgentInfo{}, err
	}
	var id int64
	err := s.tx(ctx, func(d q) error {
		var err error
		id, err = s.enrol(ctx, d, name)
		if isUnique(err) {
			return fmt.Errorf("%w: %w", errConflict, err)
		}
		return err
	})
	if err != nil {
		return AgentInfo{}, err
	}
	return s.agent(ctx, id)
}

// ResolveAgent finds an enrolled agent by its ID (decimal) or its name.
func (s *sqlStore) ResolveAgent(ctx context.Context, ref string) (AgentInfo, error) {
	if allDigits(ref) {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			return AgentInfo{}, fmt.Errorf("%w: agent %s", ErrNotFound, ref)
		}
		return s.agent(ctx, id)
	}
	var id int64
	err := s.read().row(ctx, "SELECT id FROM fax_agents WHERE name = ?", ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return AgentInfo{}, fmt.Errorf("%w: agent %q", ErrNotFound, ref)
	}
	if err != nil {
		return AgentInfo{}, fmt.Errorf("core: agent: %w", err)
	}
	return s.agent(ctx, id)
}

const agentCols = "id, name, host, server_ip, version, ports, licensed, busy, port_states, started_at, heartbeat_at"

func scanAgent(sc interface{ Scan(...any) error }) (AgentInfo, error) {
	var a AgentInfo
	var st, hb int64
	var ps string
	if err := sc.Scan(&a.ID, &a.Name, &a.Host, &a.ServerIP, &a.Version, &a.Ports, &a.Licensed, &a.Busy, &ps, &st, &hb); err != nil {
		return AgentInfo{}, err
	}
	if ps != "" {
		if err := json.Unmarshal([]byte(ps), &a.PortStates); err != nil {
			return AgentInfo{}, fmt.Errorf("core: agent %d port states: %w", a.ID, err)
		}
	}
	a.Started, a.Heartbeat = fromMS(st), fromMS(hb)
	return a, nil
}

func (s *sqlStore) agent(ctx context.Context, id int64) (AgentInfo, error) {
	a, err := scanAgent(s.read().row(ctx, "SELECT "+agentCols+" FROM fax_agents WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return AgentInfo{}, fmt.Errorf("%w: agent %d", ErrNotFound, id)
	}
	if err != nil {
		return AgentInfo{}, fmt.Errorf("core: agent: %w", err)
	}
	return a, nil
}

// Heartbeat records an enrolled agent's state (a.ID); the name is not
// changed by it.
func (s *sqlStore) Heartbeat(ctx context.Context, a AgentInfo) error {
	if a.ID <= 0 || len(a.Host) > 255 || len(a.ServerIP) > 64 || len(a.Version) > 64 {
		return fmt.Errorf("%w: agent %d", ErrInvalid, a.ID)
	}
	if err := checkPortStates(a.PortStates); err != nil {
		return fmt.Errorf("%w: agent %d: %w", ErrInvalid, a.ID, err)
	}
	ps := ""
	if len(a.PortStates) > 0 {
		b, err := json.Marshal(a.PortStates)
		if err != nil {
			return fmt.Errorf("core: heartbeat: %w", err)
		}
		ps = string(b)
	}
	return s.tx(ctx, func(d q) error {
		res, err := d.exec(ctx, `UPDATE fax_agents SET host = ?, server_ip = ?, version = ?, ports = ?, licensed = ?, busy = ?,
			port_states = ?, started_at = ?, heartbeat_at = ? WHERE id = ?`,
			a.Host, a.ServerIP, a.Version, a.Ports, a.Licensed, a.Busy, ps, ms(a.Started), ms(s.now()), a.ID)
		if err != nil {
			return fmt.Errorf("core: heartbeat: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: agent %d is not enrolled", ErrNotFound, a.ID)
		}
		return nil
	})
}

// Agents lists the enrolled agents by ID.
func (s *sqlStore) Agents(ctx context.Context) ([]AgentInfo, error) {
	rows, err := s.read().query(ctx, "SELECT "+agentCols+" FROM fax_agents ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("core: agents: %w", err)
	}
	defer rows.Close()
	var out []AgentInfo
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// checkPortStates bounds a heartbeat's port states: their number and
// each field's length, and a known status.
func checkPortStates(ps []PortState) error {
	if len(ps) > MaxPortStates {
		return fmt.Errorf("%d port states (at most %d)", len(ps), MaxPortStates)
	}
	for _, p := range ps {
		if p.ID == "" || len(p.ID) > 64 || len(p.Driver) > 64 || len(p.Number) > 64 || len(p.State) > 32 {
			return fmt.Errorf("port %.64q: bad field", p.ID)
		}
		switch p.Status {
		case PortIdle, PortBusy, PortDown:
		default:
			return fmt.Errorf("port %q: status %.32q", p.ID, p.Status)
		}
	}
	return nil
}
