package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

func checkCondition(c RouteCondition, first bool) error {
	switch c.Field {
	case RouteNone:
		if c.Value != "" {
			return fmt.Errorf("%w: condition None with a value", ErrInvalid)
		}
		return nil
	case RouteRoutingDigits, RouteRemoteCSID, RouteCallerID:
	case RoutePortNo:
		if _, err := strconv.Atoi(strings.TrimSuffix(c.Value, "*")); err != nil && c.Value != "*" {
			return fmt.Errorf("%w: port number %q", ErrInvalid, c.Value)
		}
	case "":
		if !first {
			return nil
		}
		fallthrough
	default:
		return fmt.Errorf("%w: route condition %q (want None, RoutingDigits, RemoteCSID, RemoteCallerID or FaxPortNo)", ErrInvalid, c.Field)
	}
	if c.Value == "" || len(c.Value) > 64 {
		return fmt.Errorf("%w: route condition %s needs a value of 1 to 64 bytes", ErrInvalid, c.Field)
	}
	return nil
}

// matchValue compares a rule value with a call's value: case-insensitive
// and trimmed; a trailing '*' matches a prefix.
func matchValue(rule, v string) bool {
	rule, v = strings.ToLower(strings.TrimSpace(rule)), strings.ToLower(strings.TrimSpace(v))
	if p, ok := strings.CutSuffix(rule, "*"); ok {
		return strings.HasPrefix(v, p)
	}
	return rule == v
}

func (c RouteCondition) match(t *Transmission) bool {
	switch c.Field {
	case RouteNone, "":
		return true
	case RouteRoutingDigits:
		v := t.RoutingInfo
		if v == "" {
			v = t.CalledNumber
		}
		return matchValue(c.Value, v)
	case RouteRemoteCSID:
		return matchValue(c.Value, t.RemoteCSID)
	case RouteCallerID:
		return matchValue(c.Value, t.CallerID) || t.CallerID == "" && matchValue(c.Value, t.CallingNumber)
	case RoutePortNo:
		return matchValue(c.Value, strconv.Itoa(t.PortNo))
	}
	return false
}

// Match reports whether the rule routes the call described by t.
func (r Route) Match(t *Transmission) bool {
	if r.Cond2.Field == RouteNone || r.Cond2.Field == "" {
		return r.Cond1.match(t)
	}
	if r.And {
		return r.Cond1.match(t) && r.Cond2.match(t)
	}
	return r.Cond1.match(t) || r.Cond2.match(t)
}

func (s *sqlStore) CreateRoute(ctx context.Context, r Route) (Route, error) {
	if err := checkCondition(r.Cond1, true); err != nil {
		return Route{}, err
	}
	if r.Cond2.Field == "" {
		r.Cond2.Field = RouteNone
	}
	if err := checkCondition(r.Cond2, false); err != nil {
		return Route{}, err
	}
	err := s.tx(ctx, func(d q) error {
		var n int
		if err := d.row(ctx, "SELECT COUNT(*) FROM users WHERE id = ?", r.UserID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: user %d", ErrNotFound, r.UserID)
		}
		r.Created = fromMS(ms(s.now()))
		return d.row(ctx, `INSERT INTO routes (user_id, cond1_field, cond1_value, is_and, cond2_field, cond2_value, active,
			priority, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.UserID, string(r.Cond1.Field), r.Cond1.Value, b2i(r.And), string(r.Cond2.Field), r.Cond2.Value,
			b2i(r.Active), r.Priority, ms(r.Created)).Scan(&r.ID)
	})
	if err != nil {
		return Route{}, err
	}
	return r, nil
}

func (s *sqlStore) routes(ctx context.Context, d q, activeOnly bool) ([]Route, error) {
	where := ""
	if activeOnly {
		where = " WHERE active = 1"
	}
	rows, err := d.query(ctx, `SELECT id, user_id, cond1_field, cond1_value, is_and, cond2_field, cond2_value, active,
		priority, created_at FROM routes`+where+" ORDER BY priority DESC, id")
	if err != nil {
		return nil, fmt.Errorf("core: routes: %w", err)
	}
	defer rows.Close()
	var out []Route
	for rows.Next() {
		var r Route
		var f1, f2 string
		var c int64
		if err := rows.Scan(&r.ID, &r.UserID, &f1, &r.Cond1.Value, &r.And, &f2, &r.Cond2.Value, &r.Active, &r.Priority, &c); err != nil {
			return nil, err
		}
		r.Cond1.Field, r.Cond2.Field, r.Created = RouteField(f1), RouteField(f2), fromMS(c)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqlStore) Routes(ctx context.Context) ([]Route, error) {
	return s.routes(ctx, s.read(), false)
}

func (s *sqlStore) SetRouteActive(ctx context.Context, id int64, active bool) error {
	return s.routeExec(ctx, id, "UPDATE routes SET active = ? WHERE id = ?", b2i(active), id)
}

func (s *sqlStore) DeleteRoute(ctx context.Context, id int64) error {
	return s.routeExec(ctx, id, "DELETE FROM routes WHERE id = ?", id)
}

func (s *sqlStore) routeExec(ctx context.Context, id int64, query string, args ...any) error {
	return s.tx(ctx, func(d q) error {
		res, err := d.exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("core: route: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: route %d", ErrNotFound, id)
		}
		return nil
	})
}

func (s *sqlStore) Receive(ctx context.Context, in InboundFax) (MessageDetails, error) {
	t := in.Attempt
	t.Key = in.Key
	if err := checkTransmission(&t); err != nil {
		return MessageDetails{}, err
	}
	if in.Name == "" {
		in.Name = "fax.tif"
	}
	if in.ContentType == "" {
		in.ContentType = "image/tiff"
	}
	if err := checkName(in.Name); err != nil {
		return MessageDetails{}, err
	}
	if in.Pages < 0 || len(in.ContentType) > 100 {
		return MessageDetails{}, fmt.Errorf("%w: pages or content type", ErrInvalid)
	}
	// A repeated report of the same reception stores nothing new.
	var id int64
	err := s.read().row(ctx, "SELECT id FROM messages WHERE inbound_key = ?", in.Key).Scan(&id)
	if err == nil {
		return s.Message(ctx, id)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return MessageDetails{}, fmt.Errorf("core: receive: %w", err)
	}
	var sum string
	var size int64
	cleanup := func() {}
	if in.Body != nil {
		if sum, size, cleanup, err = s.spoolDocument(DocumentInput{Name: in.Name, Body: in.Body}); err != nil {
			return MessageDetails{}, err
		}
	}
	status := "Received"
	switch {
	case in.Partial:
		status = "Partial"
	case in.Body == nil || t.ErrorID != 0:
		status = "Failed"
	}
	if t.TransmitStatusDef == "" {
		t.TransmitStatusDef = status
	}
	err = s.tx(ctx, func(d q) error {
		err := d.row(ctx, "SELECT id FROM messages WHERE inbound_key = ?", in.Key).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var doc Document
		if in.Body != nil {
			if doc, err = s.insertDocument(ctx, d, sum, size, in.ContentType, in.Pages); err != nil {
				return err
			}
		}
		rules, err := s.routes(ctx, d, true)
		if err != nil {
			return err
		}
		owner := sql.NullInt64{}
		folder := FolderUnrouted
		for _, r := range rules {
			if r.Match(&t) {
				owner, folder = sql.NullInt64{Int64: r.UserID, Valid: true}, FolderInbox
				break
			}
		}
		now := s.now()
		err = d.row(ctx, `INSERT INTO messages (owner_id, direction, folder, status, subject, priority, schedule_at,
			max_attempts, inbound_key, created_at, completed_at, sender_name)
			VALUES (?, ?, ?, ?, 'Inbound Message', ?, ?, 1, ?, ?, ?, ?) RETURNING id`,
			owner, string(Inbound), string(folder), status, PriorityNormal, ms(now), in.Key, ms(now), ms(now), t.RemoteCSID).Scan(&id)
		if err != nil {
			return fmt.Errorf("core: receive: %w", err)
		}
		if in.Body != nil {
			if _, err := d.exec(ctx, "INSERT INTO message_documents (message_id, seq, document_id, name) VALUES (?, 1, ?, ?)",
				id, doc.ID, in.Name); err != nil {
				return fmt.Errorf("core: receive: %w", err)
			}
		}
		t.MessageID, t.JobID, t.Direction, t.Outcome, t.Lease = id, 0, Inbound, OutcomeReceived, Lease{}
		if t.CreateDate.IsZero() {
			t.CreateDate = now
		}
		if t.CompleteDate.IsZero() {
			t.CompleteDate = now
		}
		if t.PageCount == 0 {
			t.PageCount = in.Pages
		}
		return s.insertAttempt(ctx, d, &t, true)
	})
	if err != nil {
		cleanup()
		return MessageDetails{}, err
	}
	return s.Message(ctx, id)
}
