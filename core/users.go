package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// DefaultDomain is the domain of users created without one.
const DefaultDomain = "default"

// maxPassword is bcrypt's input limit.
const maxPassword = 72

func checkUsername(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: user name must have 1 to 64 characters", ErrInvalid)
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || r == '.' || r == '@' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return fmt.Errorf("%w: user name %q: only letters, digits and _-.@", ErrInvalid, name)
		}
	}
	return nil
}

func checkPassword(p string) error {
	if len(p) < 8 {
		return fmt.Errorf("%w: password shorter than 8 characters", ErrInvalid)
	}
	if len(p) > maxPassword {
		return fmt.Errorf("%w: password longer than %d bytes", ErrInvalid, maxPassword)
	}
	return nil
}

func (s *sqlStore) hash(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), s.o.PasswordCost)
	if err != nil {
		return "", fmt.Errorf("core: password hash: %w", err)
	}
	return string(h), nil
}

// bootstrap creates the default domain and the admin account on first
// start (when no account is named admin and no administrator is left).
func (s *sqlStore) bootstrap(ctx context.Context) (FirstStart, error) {
	var n int
	if err := s.read().row(ctx, "SELECT COUNT(*) FROM users WHERE username = ? OR (is_admin = 1 AND removed_at = 0)", AdminUser).Scan(&n); err != nil {
		return FirstStart{}, fmt.Errorf("core: bootstrap: %w", err)
	}
	if n > 0 {
		return FirstStart{}, nil
	}
	var fs FirstStart
	pw := s.o.AdminPassword
	if pw == "" {
		var err error
		if pw, err = generatePassword(); err != nil {
			return FirstStart{}, fmt.Errorf("core: bootstrap: %w", err)
		}
		fs.AdminPassword = pw
	}
	if err := checkPassword(pw); err != nil {
		return FirstStart{}, fmt.Errorf("core: admin password: %w", err)
	}
	_, err := s.CreateUser(ctx, NewUser{Username: AdminUser, Password: pw, FullName: "Administrator", Admin: true})
	if errors.Is(err, ErrExists) {
		// Another process created it at the same time.
		return FirstStart{}, nil
	}
	if err != nil {
		return FirstStart{}, fmt.Errorf("core: bootstrap: %w", err)
	}
	fs.AdminCreated = true
	s.o.Logger.Info("core: admin account created", "user", AdminUser, "generated_password", fs.AdminPassword != "")
	return fs, nil
}

func (s *sqlStore) CreateDomain(ctx context.Context, name string) (Domain, error) {
	if err := checkUsername(name); err != nil {
		return Domain{}, fmt.Errorf("domain: %w", err)
	}
	var dom Domain
	err := s.tx(ctx, func(d q) error {
		var err error
		dom, err = s.domain(ctx, d, name, false)
		return err
	})
	return dom, err
}

// domain finds or (create) makes a domain in a transaction.
func (s *sqlStore) domain(ctx context.Context, d q, name string, orCreate bool) (Domain, error) {
	dom := Domain{Name: name}
	var created int64
	err := d.row(ctx, "SELECT id, created_at FROM domains WHERE name = ?", name).Scan(&dom.ID, &created)
	if err == nil {
		if !orCreate {
			return Domain{}, fmt.Errorf("%w: domain %q", ErrExists, name)
		}
		dom.Created = fromMS(created)
		return dom, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Domain{}, err
	}
	created = ms(s.now())
	if err := d.row(ctx, "INSERT INTO domains (name, created_at) VALUES (?, ?) RETURNING id", name, created).Scan(&dom.ID); err != nil {
		if isUnique(err) {
			return Domain{}, fmt.Errorf("%w: domain %q", ErrExists, name)
		}
		return Domain{}, fmt.Errorf("core: create domain: %w", err)
	}
	dom.Created = fromMS(created)
	return dom, nil
}

func (s *sqlStore) Domains(ctx context.Context) ([]Domain, error) {
	rows, err := s.read().query(ctx, "SELECT id, name, created_at FROM domains ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("core: domains: %w", err)
	}
	defer rows.Close()
	var out []Domain
	for rows.Next() {
		var dom Domain
		var c int64
		if err := rows.Scan(&dom.ID, &dom.Name, &c); err != nil {
			return nil, err
		}
		dom.Created = fromMS(c)
		out = append(out, dom)
	}
	return out, rows.Err()
}

func (s *sqlStore) CreateUser(ctx context.Context, u NewUser) (User, error) {
	if err := checkUsername(u.Username); err != nil {
		return User{}, err
	}
	if err := checkPassword(u.Password); err != nil {
		return User{}, err
	}
	if u.Domain == "" {
		u.Domain = DefaultDomain
	}
	if err := checkUsername(u.Domain); err != nil {
		return User{}, fmt.Errorf("domain: %w", err)
	}
	if len(u.FullName) > 200 || len(u.Email) > 200 {
		return User{}, fmt.Errorf("%w: name or e-mail too long", ErrInvalid)
	}
	role, profile, err := profileJSON(u.Admin, u.Profile)
	if err != nil {
		return User{}, err
	}
	h, err := s.hash(u.Password)
	if err != nil {
		return User{}, err
	}
	var out User
	err = s.tx(ctx, func(d q) error {
		dom, err := s.domain(ctx, d, u.Domain, true)
		if err != nil {
			return err
		}
		now := ms(s.now())
		var id int64
		// PostgreSQL's identity starts at FirstUserID (migration 3);
		// SQLite's rowid has no settable start, so the ID is given.
		idCol, idVal := "", ""
		if !d.pg {
			idCol, idVal = "id, ", fmt.Sprintf("(SELECT MAX(COALESCE(MAX(id), 0) + 1, %d) FROM users), ", FirstUserID)
		}
		err = d.row(ctx, `INSERT INTO users (`+idCol+`username, domain_id, password_hash, full_name, email, is_admin, active, created_at, role, profile)
			VALUES (`+idVal+`?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Username, dom.ID, h, u.FullName, u.Email, b2i(u.Admin), b2i(!u.Inactive), now, role, profile).Scan(&id)
		if err != nil {
			if isUnique(err) {
				return fmt.Errorf("%w: user %q", ErrExists, u.Username)
			}
			return fmt.Errorf("core: create user: %w", err)
		}
		out = User{ID: id, Username: u.Username, DomainID: dom.ID, FullName: u.FullName, Email: u.Email,
			Admin: u.Admin, Active: !u.Inactive, Created: fromMS(now), Role: role}
		return nil
	})
	return out, err
}

const userCols = "id, username, domain_id, full_name, email, is_admin, active, created_at, role"

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var c int64
	err := sc.Scan(&u.ID, &u.Username, &u.DomainID, &u.FullName, &u.Email, &u.Admin, &u.Active, &c, &u.Role)
	u.Created = fromMS(c)
	return u, err
}

func (s *sqlStore) userWhere(ctx context.Context, d q, where string, arg any) (User, error) {
	u, err := scanUser(d.row(ctx, "SELECT "+userCols+" FROM users WHERE removed_at = 0 AND "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: user %v", ErrNotFound, arg)
	}
	if err != nil {
		return User{}, fmt.Errorf("core: user: %w", err)
	}
	return u, nil
}

func (s *sqlStore) User(ctx context.Context, id int64) (User, error) {
	return s.userWhere(ctx, s.read(), "id = ?", id)
}

func (s *sqlStore) UserByName(ctx context.Context, username string) (User, error) {
	return s.userWhere(ctx, s.read(), "username = ?", username)
}

func (s *sqlStore) Users(ctx context.Context) ([]User, error) {
	rows, err := s.read().query(ctx, "SELECT "+userCols+" FROM users WHERE removed_at = 0 ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("core: users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (s *sqlStore) SetPassword(ctx context.Context, userID int64, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	h, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.updateUser(ctx, userID, "password_hash = ?", h, false)
}

// SetUserActive refuses (ErrState) to deactivate the last active
// administrator.
func (s *sqlStore) SetUserActive(ctx context.Context, userID int64, active bool) error {
	return s.updateUser(ctx, userID, "active = ?", b2i(active), !active)
}

// updateUser sets columns of a user; keepAdmin checks that an active
// administrator is left.
func (s *sqlStore) updateUser(ctx context.Context, userID int64, set string, arg any, keepAdmin bool) error {
	return s.tx(ctx, func(d q) error {
		if keepAdmin {
			if err := lockAdmins(ctx, d); err != nil {
				return err
			}
		}
		res, err := d.exec(ctx, "UPDATE users SET "+set+" WHERE id = ? AND removed_at = 0", arg, userID)
		if err != nil {
			return fmt.Errorf("core: update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: user %d", ErrNotFound, userID)
		}
		if keepAdmin {
			return needAdmin(ctx, d)
		}
		return nil
	})
}

// dummyHash is compared against when the user does not exist, so that the
// time taken does not tell whether a user name exists.
func (s *sqlStore) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte("no such user"), s.o.PasswordCost)
	})
	return s.dummy
}

func (s *sqlStore) Authenticate(ctx context.Context, username, password string) (User, error) {
	var u User
	var h string
	var c int64
	err := s.read().row(ctx, "SELECT "+userCols+", password_hash FROM users WHERE removed_at = 0 AND username = ?", username).
		Scan(&u.ID, &u.Username, &u.DomainID, &u.FullName, &u.Email, &u.Admin, &u.Active, &c, &u.Role, &h)
	if errors.Is(err, sql.ErrNoRows) || len(password) > maxPassword || strings.TrimSpace(username) == "" {
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return User{}, ErrAuth
	}
	if err != nil {
		return User{}, fmt.Errorf("core: authenticate: %w", err)
	}
	u.Created = fromMS(c)
	if bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) != nil || !u.Active {
		return User{}, ErrAuth
	}
	return u, nil
}
