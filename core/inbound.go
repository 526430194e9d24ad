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

// matchDigits compares a RoutingDigits rule with the routing information
// or the dialled number of a call: as matchValue, or as its last digits
// (a rule "0104" routes 5550104, as DNIS routing digits of a board or a
// trunk that delivers only the last four would). A driver reports the
// digits it has: the whole number (loopback, SIP without RoutingDigits)
// or its configured last N digits; a rule on the whole number matches the
// dialled number in either case.
func matchDigits(rule, v string) bool {
	if matchValue(rule, v) {
		return true
	}
	rule = strings.TrimSpace(rule)
	return rule != "" && !strings.HasSuffix(rule, "*") && strings.HasSuffix(strings.TrimSpace(v), rule)
}

func (c RouteCondition) match(t *Transmission) bool {
	switch c.Field {
	case RouteNone, "":
		return true
	case RouteRoutingDigits:
		return matchDigits(c.Value, t.RoutingInfo) || matchDigits(c.Value, t.CalledNumber)
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

// DefaultRoute is the rule a fresh system starts with: every received fax,
// on any port, to userID's inbox (the admin's), at priority 0, so that any
// rule made later with a higher priority wins over it.
func DefaultRoute(userID int64) Route {
	return Route{UserID: userID, Cond1: RouteCondition{Field: RoutePortNo, Value: "*"}, Active: true, Priority: 0}
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

// Receive stores a received fax (Body required) as a message routed by the
// rules, with its call record. The Key is the agent's ID of the reception,
// unique forever: it alone makes two reports the same fax, and storing a
// Key again stores nothing new and returns the message stored the first
// time. The driver's call ID (Attempt.CallID) is data, never a key.
func (s *sqlStore) Receive(ctx context.Context, in InboundFax) (MessageDetails, error) {
	t := in.Attempt
	t.Key = in.Key
	if err := checkTransmission(&t); err != nil {
		return MessageDetails{}, err
	}
	if in.Body == nil {
		return MessageDetails{}, fmt.Errorf("%w: a received fax without content (a call that brought no page is a call record: RecordCall)", ErrInvalid)
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
	if id, found, err := s.receivedMessage(ctx, s.read(), in.Key); err != nil || found {
		if err != nil {
			return MessageDetails{}, err
		}
		return s.Message(ctx, id)
	}
	sum, size, cleanup, err := s.spoolDocument(DocumentInput{Name: in.Name, Body: in.Body})
	if err != nil {
		return MessageDetails{}, err
	}
	status := "Received"
	if in.Partial {
		status = "Partial"
	}
	if t.TransmitStatusDef == "" {
		t.TransmitStatusDef = status
	}
	var id int64
	err = s.tx(ctx, func(d q) error {
		var found bool
		var err error
		if id, found, err = s.receivedMessage(ctx, d, in.Key); err != nil || found {
			return err
		}
		doc, err := s.insertDocument(ctx, d, sum, size, in.ContentType, in.Pages)
		if err != nil {
			return err
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
		if _, err := d.exec(ctx, "INSERT INTO message_documents (message_id, seq, document_id, name) VALUES (?, 1, ?, ?)",
			id, doc.ID, in.Name); err != nil {
			return fmt.Errorf("core: receive: %w", err)
		}
		if err := s.addEvent(ctx, d, id, EventReceived); err != nil {
			return err
		}
		t.MessageID, t.Outcome = id, OutcomeReceived
		if in.Partial {
			// The call failed after some pages: its record says failed;
			// the pages are kept as a Partial message.
			t.Outcome = OutcomeFailed
		}
		if t.PageCount == 0 {
			t.PageCount = in.Pages
		}
		return s.insertInboundAttempt(ctx, d, &t)
	})
	if err != nil && isUnique(err) {
		// The same reception reported twice at once (PostgreSQL): the
		// other report committed it.
		if mid, found, ferr := s.receivedMessage(ctx, s.read(), in.Key); ferr == nil && found {
			return s.Message(ctx, mid)
		}
	}
	if err != nil {
		cleanup()
		return MessageDetails{}, err
	}
	return s.Message(ctx, id)
}

// receivedMessage finds the message stored under an inbound key.
func (s *sqlStore) receivedMessage(ctx context.Context, d q, key string) (int64, bool, error) {
	var id int64
	err := d.row(ctx, "SELECT id FROM messages WHERE inbound_key = ?", key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("core: receive: %w", err)
	}
	return id, true, nil
}

// insertInboundAttempt stores the call record of an inbound call.
func (s *sqlStore) insertInboundAttempt(ctx context.Context, d q, t *Transmission) error {
	now := s.now()
	t.JobID, t.Direction, t.Lease = 0, Inbound, Lease{}
	if t.CreateDate.IsZero() {
		t.CreateDate = now
	}
	if t.CompleteDate.IsZero() {
		t.CompleteDate = now
	}
	return s.insertAttempt(ctx, d, t, true)
}

// RecordCall stores an inbound call that brought no fax (no page came:
// no fax tone, training failed, the caller hung up, a flood of INVITEs) as
// a call record with outcome failed and its reason, visible in Calls and
// never a message for a user. Recording the same Key again stores nothing
// new and returns the record stored the first time.
func (s *sqlStore) RecordCall(ctx context.Context, t Transmission) (Transmission, error) {
	if err := checkTransmission(&t); err != nil {
		return Transmission{}, err
	}
	t.MessageID, t.Outcome = 0, OutcomeFailed
	if t.ErrorInfo == "" {
		t.ErrorInfo = "no page received"
	}
	if t.TransmitStatusDef == "" {
		t.TransmitStatusDef = "Failed"
	}
	var id int64
	err := s.tx(ctx, func(d q) error {
		p, err := s.attemptByKey(ctx, d, t.Key)
		if err != nil {
			return err
		}
		if p.found {
			id = p.id
			return nil
		}
		if err := s.insertInboundAttempt(ctx, d, &t); err != nil {
			return err
		}
		id = t.ID
		return nil
	})
	if err != nil && (isUnique(err) || errors.Is(err, ErrExists)) { // recorded twice at once: the other won
		if p, perr := s.attemptByKey(ctx, s.read(), t.Key); perr == nil && p.found {
			return s.attemptRow(ctx, s.read(), p.id)
		}
	}
	if err != nil {
		return Transmission{}, err
	}
	return s.attemptRow(ctx, s.read(), id)
}

// Calls lists call records, newest first: every attempt of an outbound
// job and every inbound call, with or without a fax.
func (s *sqlStore) Calls(ctx context.Context, cq CallQuery) ([]Transmission, int, error) {
	if cq.Limit <= 0 {
		cq.Limit = 50
	}
	if cq.Limit > 1000 || cq.Offset < 0 {
		return nil, 0, fmt.Errorf("%w: call list limit or offset", ErrInvalid)
	}
	where, args := []string{"1 = 1"}, []any{}
	if cq.Direction != "" {
		where, args = append(where, "direction = ?"), append(args, string(cq.Direction))
	}
	if cq.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, string(cq.Outcome))
	}
	cond := strings.Join(where, " AND ")
	d := s.read()
	var total int
	if err := d.row(ctx, "SELECT COUNT(*) FROM attempts WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("core: calls: %w", err)
	}
	rows, err := d.query(ctx, "SELECT "+attemptCols+" FROM attempts WHERE "+cond+" ORDER BY id DESC LIMIT ? OFFSET ?",
		append(args, cq.Limit, cq.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("core: calls: %w", err)
	}
	defer rows.Close()
	var out []Transmission
	for rows.Next() {
		t, err := scanAttempt(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}
