package core

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// FirstUserID is the smallest user ID: FaxCore clients read an
// AuthenticateUser answer of 1 as a failed login, so no account may have
// ID 1 (migration 3 renumbers an existing one).
const FirstUserID = 1000

// FaxCore user roles (User.Role, UserProfile.Role).
const (
	RoleSystemAdmin  = "SystemAdmin"
	RoleDomainAdmin  = "DomainAdmin"
	RoleSuperUser    = "SuperUser"
	RoleStandardUser = "StandardUser"
)

// UserProfile is the part of a FaxCore user profile beyond User's columns.
type UserProfile struct {
	Role           string // a Role constant; "" derives it from User.Admin
	ExternalAuth   bool
	DisplayName    string
	FirstName      string
	MiddleName     string
	LastName       string
	CompanyName    string
	PreferAddrType string // Fax, Email, FaxRaw or ""
	Email          string
	Fax            string
	RawFax         string
	NotifyReceive  bool
	NotifySend     bool
	Description    string
	LocalCSID      string
	CallerID       string
	Config         map[string]string
}

// Track is one tracking record of a message: a label and its value.
type Track struct {
	ID    int64
	Label string
	Value string
}

// Limits of profile and tracking fields.
const (
	maxProfileField = 200
	maxProfileJSON  = 16 << 10
	maxTracks       = 100
	maxTrackValue   = 1000
)

func roleAdmin(role string) (bool, error) {
	switch role {
	case RoleSystemAdmin, RoleDomainAdmin:
		return true, nil
	case RoleSuperUser, RoleStandardUser:
		return false, nil
	}
	return false, fmt.Errorf("%w: role %q", ErrInvalid, role)
}

func checkProfile(p *UserProfile) error {
	switch p.PreferAddrType {
	case "", "Fax", "Email", "FaxRaw":
	default:
		return fmt.Errorf("%w: preferred address type %q", ErrInvalid, p.PreferAddrType)
	}
	for _, f := range []string{p.DisplayName, p.FirstName, p.MiddleName, p.LastName, p.CompanyName, p.Email,
		p.Fax, p.RawFax, p.Description, p.LocalCSID, p.CallerID} {
		if len(f) > maxProfileField {
			return fmt.Errorf("%w: profile field longer than %d bytes", ErrInvalid, maxProfileField)
		}
	}
	if len(p.LocalCSID) > 20 {
		return fmt.Errorf("%w: local CSID %q longer than 20 characters", ErrInvalid, p.LocalCSID)
	}
	return nil
}

// profileJSON checks a profile for a user with the admin flag admin and
// returns its role (derived from admin when p.Role is "") and the JSON
// stored in the profile column (without the role, which has its own).
func profileJSON(admin bool, p UserProfile) (role, js string, err error) {
	if p.Role == "" {
		p.Role = RoleStandardUser
		if admin {
			p.Role = RoleSystemAdmin
		}
	}
	a, err := roleAdmin(p.Role)
	if err != nil {
		return "", "", err
	}
	if a != admin {
		return "", "", fmt.Errorf("%w: role %s with admin flag %v", ErrInvalid, p.Role, admin)
	}
	if err := checkProfile(&p); err != nil {
		return "", "", err
	}
	role, p.Role = p.Role, ""
	b, err := json.Marshal(p)
	if err != nil {
		return "", "", fmt.Errorf("core: profile: %w", err)
	}
	if len(b) > maxProfileJSON {
		return "", "", fmt.Errorf("%w: profile larger than %d bytes", ErrInvalid, maxProfileJSON)
	}
	return role, string(b), nil
}

// UpdateUser stores u's full name, e-mail, admin and active flags and the
// profile p of the user u.ID. p.Role, if set, must agree with u.Admin. It
// refuses (ErrState) to leave no active administrator.
func (s *sqlStore) UpdateUser(ctx context.Context, u User, p UserProfile) error {
	if len(u.FullName) > maxProfileField || len(u.Email) > maxProfileField {
		return fmt.Errorf("%w: name or e-mail too long", ErrInvalid)
	}
	role, js, err := profileJSON(u.Admin, p)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(d q) error {
		if err := lockAdmins(ctx, d); err != nil {
			return err
		}
		res, err := d.exec(ctx, `UPDATE users SET full_name = ?, email = ?, is_admin = ?, active = ?, role = ?, profile = ?
			WHERE id = ? AND removed_at = 0`, u.FullName, u.Email, b2i(u.Admin), b2i(u.Active), role, js, u.ID)
		if err != nil {
			return fmt.Errorf("core: update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: user %d", ErrNotFound, u.ID)
		}
		return needAdmin(ctx, d)
	})
}

// adminLock is the PostgreSQL advisory lock key that serialises the
// transactions that may take away an administrator, so that two of them
// cannot each leave the other's administrator as the last one and both
// succeed (SQLite has one writer at a time anyway).
const adminLock = 0x66617875 // "faxu"

// lockAdmins takes adminLock for the transaction.
func lockAdmins(ctx context.Context, d q) error {
	if !d.pg {
		return nil
	}
	if _, err := d.exec(ctx, "SELECT pg_advisory_xact_lock(?)", adminLock); err != nil {
		return fmt.Errorf("core: admin lock: %w", err)
	}
	return nil
}

// needAdmin fails a transaction that leaves no active administrator; the
// transaction must hold lockAdmins.
func needAdmin(ctx context.Context, d q) error {
	var n int
	if err := d.row(ctx, "SELECT COUNT(*) FROM users WHERE is_admin = 1 AND active = 1 AND removed_at = 0").Scan(&n); err != nil {
		return fmt.Errorf("core: count admins: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: no active administrator would be left", ErrState)
	}
	return nil
}

// Profile returns a user's profile, with Role filled.
func (s *sqlStore) Profile(ctx context.Context, userID int64) (UserProfile, error) {
	var role, js string
	err := s.read().row(ctx, "SELECT role, profile FROM users WHERE id = ? AND removed_at = 0", userID).Scan(&role, &js)
	if errors.Is(err, sql.ErrNoRows) {
		return UserProfile{}, fmt.Errorf("%w: user %d", ErrNotFound, userID)
	}
	if err != nil {
		return UserProfile{}, fmt.Errorf("core: profile: %w", err)
	}
	var p UserProfile
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		return UserProfile{}, fmt.Errorf("core: profile of user %d: %w", userID, err)
	}
	p.Role = role
	return p, nil
}

// RemoveUser removes a user softly: the account can no longer be found,
// log in or be changed, its name is free again (the row keeps it with a
// "#removed-<id>" suffix), its inbound routes are disabled, and its
// messages and their history stay. It refuses (ErrState) to remove the
// last active administrator.
func (s *sqlStore) RemoveUser(ctx context.Context, userID int64) error {
	return s.tx(ctx, func(d q) error {
		if err := lockAdmins(ctx, d); err != nil {
			return err
		}
		res, err := d.exec(ctx, `UPDATE users SET removed_at = ?, active = 0, username = username || ?
			WHERE id = ? AND removed_at = 0`, ms(s.now()), "#removed-"+strconv.FormatInt(userID, 10), userID)
		if err != nil {
			return fmt.Errorf("core: remove user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: user %d", ErrNotFound, userID)
		}
		if _, err := d.exec(ctx, "UPDATE routes SET active = 0 WHERE user_id = ?", userID); err != nil {
			return fmt.Errorf("core: remove user's routes: %w", err)
		}
		return needAdmin(ctx, d)
	})
}

// checkTracks validates tracking records and numbers those without an ID.
func checkTracks(ts []Track) ([]Track, error) {
	if len(ts) > maxTracks {
		return nil, fmt.Errorf("%w: %d tracking records (at most %d)", ErrInvalid, len(ts), maxTracks)
	}
	out := make([]Track, len(ts))
	seen := map[int64]bool{}
	for i, t := range ts {
		if t.ID == 0 {
			t.ID = int64(i + 1)
		}
		if t.ID < 0 || seen[t.ID] {
			return nil, fmt.Errorf("%w: tracking record ID %d", ErrInvalid, t.ID)
		}
		seen[t.ID] = true
		if len(t.Label) > maxProfileField || len(t.Value) > maxTrackValue {
			return nil, fmt.Errorf("%w: tracking record %d too long", ErrInvalid, t.ID)
		}
		out[i] = t
	}
	return out, nil
}

func insertTracks(ctx context.Context, d q, msgID int64, ts []Track) error {
	for _, t := range ts {
		if _, err := d.exec(ctx, "INSERT INTO message_tracks (message_id, track_id, label, value) VALUES (?, ?, ?, ?)",
			msgID, t.ID, t.Label, t.Value); err != nil {
			return fmt.Errorf("core: insert tracking record: %w", err)
		}
	}
	return nil
}

// SetTracks replaces a message's tracking records.
func (s *sqlStore) SetTracks(ctx context.Context, msgID int64, tracks []Track) error {
	ts, err := checkTracks(tracks)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(d q) error {
		if _, err := s.message(ctx, d, msgID); err != nil {
			return err
		}
		if _, err := d.exec(ctx, "DELETE FROM message_tracks WHERE message_id = ?", msgID); err != nil {
			return fmt.Errorf("core: delete tracking records: %w", err)
		}
		return insertTracks(ctx, d, msgID, ts)
	})
}

// Tracks returns a message's tracking records in ID order.
func (s *sqlStore) Tracks(ctx context.Context, msgID int64) ([]Track, error) {
	return tracks(ctx, s.read(), msgID)
}

func tracks(ctx context.Context, d q, msgID int64) ([]Track, error) {
	rows, err := d.query(ctx, "SELECT track_id, label, value FROM message_tracks WHERE message_id = ? ORDER BY track_id", msgID)
	if err != nil {
		return nil, fmt.Errorf("core: tracking records: %w", err)
	}
	defer rows.Close()
	var out []Track
	for rows.Next() {
		var t Track
		if err := rows.Scan(&t.ID, &t.Label, &t.Value); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTrack changes the value of one tracking record; ErrNotFound if the
// message has no record trackID.
func (s *sqlStore) UpdateTrack(ctx context.Context, msgID, trackID int64, value string) error {
	if len(value) > maxTrackValue {
		return fmt.Errorf("%w: tracking value longer than %d bytes", ErrInvalid, maxTrackValue)
	}
	return s.tx(ctx, func(d q) error {
		res, err := d.exec(ctx, "UPDATE message_tracks SET value = ? WHERE message_id = ? AND track_id = ?", value, msgID, trackID)
		if err != nil {
			return fmt.Errorf("core: update tracking record: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: tracking record %d of message %d", ErrNotFound, trackID, msgID)
		}
		return nil
	})
}

// activeUserTx checks that a user exists, is active and not removed.
func activeUserTx(ctx context.Context, d q, userID int64) error {
	var active bool
	err := d.row(ctx, "SELECT active FROM users WHERE id = ? AND removed_at = 0", userID).Scan(&active)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !active {
		return fmt.Errorf("%w: active user %d", ErrNotFound, userID)
	}
	if err != nil {
		return fmt.Errorf("core: user: %w", err)
	}
	return nil
}

// CopyMessage puts a copy of a message in another user's inbox (FaxCore
// ForwardToUser) and returns the copy's ID. The copy shares the documents
// and the tracking records' values of the moment, is unread, and has no
// jobs or attempts of its own: the sending history stays with the
// original.
func (s *sqlStore) CopyMessage(ctx context.Context, msgID, toUserID int64) (int64, error) {
	var id int64
	err := s.tx(ctx, func(d q) error {
		var err error
		id, err = s.copyMessage(ctx, d, msgID, toUserID)
		return err
	})
	return id, err
}

// GiveMessage copies a message to the users copyTo (as CopyMessage) and
// then, if assignTo is not 0, assigns it to assignTo (as AssignMessage),
// all in one transaction: either every user gets it or none. It returns
// the copies' IDs.
func (s *sqlStore) GiveMessage(ctx context.Context, msgID int64, copyTo []int64, assignTo int64) ([]int64, error) {
	var ids []int64
	err := s.tx(ctx, func(d q) error {
		ids = ids[:0]
		for _, u := range copyTo {
			id, err := s.copyMessage(ctx, d, msgID, u)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if assignTo != 0 {
			return assignMessage(ctx, d, msgID, assignTo)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func (s *sqlStore) copyMessage(ctx context.Context, d q, msgID, toUserID int64) (int64, error) {
	var id int64
	err := func() error {
		if err := activeUserTx(ctx, d, toUserID); err != nil {
			return err
		}
		if _, err := s.message(ctx, d, msgID); err != nil {
			return err
		}
		err := d.row(ctx, `INSERT INTO messages (owner_id, direction, folder, status, subject, note, sender_name,
			sender_company, billing_code, priority, schedule_at, hold, max_attempts, preset_agent, preset_type,
			preset_value, resolution, header, created_at, completed_at)
			SELECT ?, direction, ?, status, subject, note, sender_name, sender_company, billing_code, priority,
			schedule_at, 0, max_attempts, preset_agent, preset_type, preset_value, resolution, header, ?, completed_at
			FROM messages WHERE id = ? RETURNING id`, toUserID, string(FolderInbox), ms(s.now()), msgID).Scan(&id)
		if err != nil {
			return fmt.Errorf("core: copy message: %w", err)
		}
		if _, err := d.exec(ctx, `INSERT INTO message_documents (message_id, seq, document_id, name)
			SELECT ?, seq, document_id, name FROM message_documents WHERE message_id = ?`, id, msgID); err != nil {
			return fmt.Errorf("core: copy message documents: %w", err)
		}
		if _, err := d.exec(ctx, `INSERT INTO message_tracks (message_id, track_id, label, value)
			SELECT ?, track_id, label, value FROM message_tracks WHERE message_id = ?`, id, msgID); err != nil {
			return fmt.Errorf("core: copy tracking records: %w", err)
		}
		return nil
	}()
	return id, err
}

// AssignMessage gives a message itself to another user (FaxCore
// AssignMessage): the owner changes, it is unread again, and its folder,
// jobs and attempts stay as they are.
func (s *sqlStore) AssignMessage(ctx context.Context, msgID, toUserID int64) error {
	return s.tx(ctx, func(d q) error { return assignMessage(ctx, d, msgID, toUserID) })
}

func assignMessage(ctx context.Context, d q, msgID, toUserID int64) error {
	if err := activeUserTx(ctx, d, toUserID); err != nil {
		return err
	}
	res, err := d.exec(ctx, "UPDATE messages SET owner_id = ?, is_read = 0 WHERE id = ?", toUserID, msgID)
	if err != nil {
		return fmt.Errorf("core: assign message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: message %d", ErrNotFound, msgID)
	}
	return nil
}

// renumberUsers (migration 3) gives the user with ID 1, if any, a new ID
// of at least FirstUserID, moving its messages and routes along, and makes
// new PostgreSQL IDs start there. SQLite's new IDs are chosen by
// CreateUser.
func renumberUsers(ctx context.Context, s *sqlStore, d q) error {
	var maxID int64
	var name string
	err := d.row(ctx, "SELECT username, (SELECT MAX(id) FROM users) FROM users WHERE id = 1").Scan(&name, &maxID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("user 1: %w", err)
	}
	if err == nil {
		newID := max(maxID+1, FirstUserID)
		stmts := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO users (id, username, domain_id, password_hash, full_name, email, is_admin, active, created_at,
				role, profile, removed_at) SELECT ?, username || '#renumbering', domain_id, password_hash, full_name, email,
				is_admin, active, created_at, role, profile, removed_at FROM users WHERE id = 1`, []any{newID}},
			{"UPDATE messages SET owner_id = ? WHERE owner_id = 1", []any{newID}},
			{"UPDATE routes SET user_id = ? WHERE user_id = 1", []any{newID}},
			{"DELETE FROM users WHERE id = 1", nil},
			{"UPDATE users SET username = ? WHERE id = ?", []any{name, newID}},
		}
		for _, st := range stmts {
			if _, err := d.exec(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("renumber user 1: %.40s: %w", st.q, err)
			}
		}
		s.o.Logger.Info("core: user renumbered (ID 1 reads as a failed login to FaxCore clients)", "user", name, "id", newID)
	}
	if d.pg {
		if _, err := d.exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'),
			GREATEST(?, COALESCE((SELECT MAX(id) FROM users), 0)))`, FirstUserID-1); err != nil {
			return fmt.Errorf("user ID sequence: %w", err)
		}
	}
	return nil
}
