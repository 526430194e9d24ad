package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Notification events, written in the same transaction as what they tell
// of, so none is lost and none is made twice.
const (
	// EventFinal: an outbound message reached its final state (Completed,
	// Partial, Failed or Cancelled).
	EventFinal = "message.final"
	// EventReceived: a fax was received and stored.
	EventReceived = "fax.received"
)

// Delivery channels and states.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"

	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"  // retries used up
	DeliveryRefused   = "refused" // never tried: not allowed
)

// MaxCallbackURL bounds a callback or webhook URL.
const MaxCallbackURL = 2048

// Notifications is the store's durable notification queue: events, each
// turned into deliveries (one per channel and target) that are claimed,
// tried and logged.
type Notifications interface {
	// NotifyEvents lists up to limit events not yet turned into deliveries,
	// oldest first.
	NotifyEvents(ctx context.Context, limit int) ([]NotifyEvent, error)
	// ExpandEvent stores an event's deliveries and removes the event, in
	// one transaction; an event already expanded (by another process)
	// stores nothing.
	ExpandEvent(ctx context.Context, ev NotifyEvent, ownerID int64, ds []NewDelivery) error
	// ClaimDeliveries takes up to limit pending deliveries due at now and
	// moves their next try lease into the future, so that no other process
	// takes them meanwhile.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// FinishDelivery records a try of a claimed delivery.
	FinishDelivery(ctx context.Context, r DeliveryResult) error
	// Deliveries is the log of a message's deliveries, oldest first.
	Deliveries(ctx context.Context, messageID int64) ([]Delivery, error)
	// UserNotify and SetUserNotify read and change a user's notification
	// settings.
	UserNotify(ctx context.Context, userID int64) (UserNotify, error)
	SetUserNotify(ctx context.Context, userID int64, n UserNotify) error
	// MessageCallback is the callback URL given with a message ("" none).
	MessageCallback(ctx context.Context, messageID int64) (string, error)
}

// NotifyEvent is an event waiting to be turned into deliveries.
type NotifyEvent struct {
	ID        int64
	MessageID int64
	Kind      string
	Created   time.Time
}

// NewDelivery is one delivery of an event.
type NewDelivery struct {
	Channel string // ChannelWebhook or ChannelEmail
	Target  string // URL or e-mail address
	Payload string // what is sent (JSON for webhooks)
	// State is DeliveryPending, or DeliveryRefused for one that is logged
	// but never tried.
	State     string
	LastError string
}

// Delivery is a notification to one target, with the outcome of its tries.
type Delivery struct {
	ID         int64
	EventID    int64
	MessageID  int64
	OwnerID    int64
	Kind       string
	Channel    string
	Target     string
	Payload    string
	State      string
	Attempts   int
	NextAt     time.Time
	LastStatus int
	LastError  string
	Created    time.Time
	Updated    time.Time
}

// DeliveryResult is the outcome of one try.
type DeliveryResult struct {
	ID     int64
	State  string    // DeliveryPending (try again at NextAt), Delivered, Failed or Refused
	Status int       // HTTP status (0 none)
	Error  string    // "" on success
	NextAt time.Time // for DeliveryPending
}

// UserNotify is a user's notification settings.
type UserNotify struct {
	// WebhookURL gets every final state of the user's messages and every
	// fax received for the user ("" none).
	WebhookURL string
	// EmailResults mails the user the result of each sent fax.
	EmailResults bool
}

// CheckCallbackURL accepts "" or an absolute http or https URL with a host
// and no user information, of at most MaxCallbackURL bytes. Where it may
// connect to is decided when it is called (the allow-list), not here.
func CheckCallbackURL(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxCallbackURL {
		return fmt.Errorf("%w: callback URL longer than %d bytes", ErrInvalid, MaxCallbackURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" ||
		strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%w: callback URL %q: want http(s)://host/path", ErrInvalid, s)
	}
	return nil
}

func (s *sqlStore) addEvent(ctx context.Context, d q, msg int64, kind string) error {
	if _, err := d.exec(ctx, "INSERT INTO notify_events (message_id, kind, created_at) VALUES (?, ?, ?)", msg, kind, ms(s.now())); err != nil {
		return fmt.Errorf("core: notification event: %w", err)
	}
	return nil
}

func (s *sqlStore) NotifyEvents(ctx context.Context, limit int) ([]NotifyEvent, error) {
	rows, err := s.read().query(ctx, "SELECT id, message_id, kind, created_at FROM notify_events ORDER BY id LIMIT ?", max(1, limit))
	if err != nil {
		return nil, fmt.Errorf("core: notification events: %w", err)
	}
	defer rows.Close()
	var out []NotifyEvent
	for rows.Next() {
		var e NotifyEvent
		var c int64
		if err := rows.Scan(&e.ID, &e.MessageID, &e.Kind, &c); err != nil {
			return nil, err
		}
		e.Created = fromMS(c)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqlStore) ExpandEvent(ctx context.Context, ev NotifyEvent, ownerID int64, ds []NewDelivery) error {
	now := ms(s.now())
	return s.tx(ctx, func(d q) error {
		res, err := d.exec(ctx, "DELETE FROM notify_events WHERE id = ?", ev.ID)
		if err != nil {
			return fmt.Errorf("core: notification event %d: %w", ev.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another process took it
		}
		for _, nd := range ds {
			state := nd.State
			if state == "" {
				state = DeliveryPending
			}
			if _, err := d.exec(ctx, `INSERT INTO notify_deliveries (event_id, message_id, owner_id, kind, channel, target, payload,
				state, next_at, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				ev.ID, ev.MessageID, ownerID, ev.Kind, nd.Channel, nd.Target, nd.Payload, state, now, nd.LastError, now, now); err != nil {
				return fmt.Errorf("core: notification delivery: %w", err)
			}
		}
		return nil
	})
}

const deliveryColumns = `id, event_id, message_id, owner_id, kind, channel, target, payload, state, attempts, next_at,
	last_status, last_error, created_at, updated_at`

func scanDeliveries(rows *sql.Rows) ([]Delivery, error) {
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var x Delivery
		var next, c, u int64
		if err := rows.Scan(&x.ID, &x.EventID, &x.MessageID, &x.OwnerID, &x.Kind, &x.Channel, &x.Target, &x.Payload, &x.State,
			&x.Attempts, &next, &x.LastStatus, &x.LastError, &c, &u); err != nil {
			return nil, err
		}
		x.NextAt, x.Created, x.Updated = fromMS(next), fromMS(c), fromMS(u)
		out = append(out, x)
	}
	return out, rows.Err()
}

func (s *sqlStore) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error) {
	rows, err := s.read().query(ctx, "SELECT "+deliveryColumns+" FROM notify_deliveries WHERE state = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?",
		DeliveryPending, ms(now), max(1, limit))
	if err != nil {
		return nil, fmt.Errorf("core: due deliveries: %w", err)
	}
	due, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("core: due deliveries: %w", err)
	}
	var out []Delivery
	until := ms(now.Add(lease))
	for _, x := range due {
		// Taken only if nobody moved it since it was read.
		res, err := s.read().exec(ctx, "UPDATE notify_deliveries SET next_at = ? WHERE id = ? AND state = ? AND next_at = ?",
			until, x.ID, DeliveryPending, ms(x.NextAt))
		if err != nil {
			return out, fmt.Errorf("core: claim delivery %d: %w", x.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			x.NextAt = fromMS(until)
			out = append(out, x)
		}
	}
	return out, nil
}

func (s *sqlStore) FinishDelivery(ctx context.Context, r DeliveryResult) error {
	switch r.State {
	case DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryRefused:
	default:
		return fmt.Errorf("%w: delivery state %q", ErrInvalid, r.State)
	}
	if len(r.Error) > 500 {
		r.Error = r.Error[:500]
	}
	_, err := s.read().exec(ctx, `UPDATE notify_deliveries SET state = ?, attempts = attempts + 1, next_at = ?, last_status = ?,
		last_error = ?, updated_at = ? WHERE id = ?`, r.State, ms(r.NextAt), r.Status, r.Error, ms(s.now()), r.ID)
	if err != nil {
		return fmt.Errorf("core: delivery %d: %w", r.ID, err)
	}
	return nil
}

func (s *sqlStore) Deliveries(ctx context.Context, messageID int64) ([]Delivery, error) {
	rows, err := s.read().query(ctx, "SELECT "+deliveryColumns+" FROM notify_deliveries WHERE message_id = ? ORDER BY id", messageID)
	if err != nil {
		return nil, fmt.Errorf("core: deliveries: %w", err)
	}
	return scanDeliveries(rows)
}

func (s *sqlStore) UserNotify(ctx context.Context, userID int64) (UserNotify, error) {
	var n UserNotify
	var email int
	err := s.read().row(ctx, "SELECT webhook_url, email_results FROM user_notify WHERE user_id = ?", userID).Scan(&n.WebhookURL, &email)
	if errors.Is(err, sql.ErrNoRows) {
		return UserNotify{}, nil
	}
	if err != nil {
		return UserNotify{}, fmt.Errorf("core: user %d notifications: %w", userID, err)
	}
	n.EmailResults = email != 0
	return n, nil
}

func (s *sqlStore) SetUserNotify(ctx context.Context, userID int64, n UserNotify) error {
	if err := CheckCallbackURL(n.WebhookURL); err != nil {
		return err
	}
	return s.tx(ctx, func(d q) error {
		if _, err := s.userWhere(ctx, d, "id = ?", userID); err != nil {
			return err
		}
		res, err := d.exec(ctx, "UPDATE user_notify SET webhook_url = ?, email_results = ? WHERE user_id = ?", n.WebhookURL, b2i(n.EmailResults), userID)
		if err != nil {
			return fmt.Errorf("core: user %d notifications: %w", userID, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			if _, err := d.exec(ctx, "INSERT INTO user_notify (user_id, webhook_url, email_results) VALUES (?, ?, ?)",
				userID, n.WebhookURL, b2i(n.EmailResults)); err != nil {
				return fmt.Errorf("core: user %d notifications: %w", userID, err)
			}
		}
		return nil
	})
}

func (s *sqlStore) MessageCallback(ctx context.Context, messageID int64) (string, error) {
	var u string
	err := s.read().row(ctx, "SELECT callback_url FROM messages WHERE id = ?", messageID).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("message %d: %w", messageID, ErrNotFound)
	}
	return u, err
}
