package console

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/faxagent/faxagent/core"
)

// MaxLicenseSize bounds an uploaded licence file.
const MaxLicenseSize = 64 << 10

// setPort changes a port's settings: POST /console/api/ports/{id}
// {"send": true, "receive": true, "disabled": false}.
func (c *Console) setPort(w http.ResponseWriter, r *http.Request, s *session) {
	if c.o.SetPort == nil {
		writeError(w, http.StatusNotFound, "this process has no ports")
		return
	}
	var in struct {
		Send     bool `json:"send"`
		Receive  bool `json:"receive"`
		Disabled bool `json:"disabled"`
	}
	if !readJSON(w, r, 1024, &in) {
		return
	}
	id := r.PathValue("id")
	if err := c.o.SetPort(id, in.Send, in.Receive, in.Disabled); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	c.log.Info("console: port settings", "user", s.user, "port", id, "send", in.Send, "receive", in.Receive, "disabled", in.Disabled)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// User is a user as the console lists them.
type User struct {
	ID       int64     `json:"id"`
	Username string    `json:"username"`
	FullName string    `json:"full_name,omitempty"`
	Email    string    `json:"email,omitempty"`
	Admin    bool      `json:"admin"`
	Role     string    `json:"role"`
	Active   bool      `json:"active"`
	Created  time.Time `json:"created"`
}

func userJSON(u core.User) User {
	return User{ID: u.ID, Username: u.Username, FullName: u.FullName, Email: u.Email, Admin: u.Admin, Role: u.Role, Active: u.Active, Created: u.Created}
}

func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session) {
	us, err := c.o.Store.Users(r.Context())
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	out := []User{}
	for _, u := range us {
		out = append(out, userJSON(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

// createUser: POST /console/api/users {"username", "password",
// "full_name", "email", "admin"}.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
		FullName string `json:"full_name"`
		Email    string `json:"email"`
		Admin    bool   `json:"admin"`
	}
	if !readJSON(w, r, 4096, &in) {
		return
	}
	u, err := c.o.Store.CreateUser(r.Context(), core.NewUser{Username: in.Username, Password: in.Password,
		FullName: in.FullName, Email: in.Email, Admin: in.Admin})
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	c.log.Info("console: user created", "by", s.user, "user", u.Username, "admin", u.Admin)
	writeJSON(w, http.StatusCreated, userJSON(u))
}

// updateUser: POST /console/api/users/{id} {"active": bool} and/or
// {"password": "..."}; deactivating a user ends the user's sessions.
func (c *Console) updateUser(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		Active   *bool   `json:"active"`
		Password *string `json:"password"`
	}
	if !readJSON(w, r, 4096, &in) {
		return
	}
	if in.Active != nil && !*in.Active && id == s.userID {
		writeError(w, http.StatusConflict, "you cannot deactivate yourself")
		return
	}
	if in.Password != nil {
		if err := c.o.Store.SetPassword(r.Context(), id, *in.Password); err != nil {
			c.storeError(w, r, err)
			return
		}
	}
	if in.Active != nil {
		if err := c.o.Store.SetUserActive(r.Context(), id, *in.Active); err != nil {
			c.storeError(w, r, err)
			return
		}
		if !*in.Active {
			c.sessions.removeUser(id)
		}
	}
	u, err := c.o.Store.User(r.Context(), id)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	c.log.Info("console: user changed", "by", s.user, "user", u.Username, "active", u.Active, "password", in.Password != nil)
	writeJSON(w, http.StatusOK, userJSON(u))
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad ID %q", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// Route is an inbound routing rule as the console shows it.
type Route struct {
	ID       int64     `json:"id"`
	UserID   int64     `json:"user_id"`
	User     string    `json:"user,omitempty"`
	Field1   string    `json:"field1"`
	Value1   string    `json:"value1"`
	And      bool      `json:"and,omitempty"`
	Field2   string    `json:"field2,omitempty"`
	Value2   string    `json:"value2,omitempty"`
	Active   bool      `json:"active"`
	Priority int       `json:"priority"`
	Created  time.Time `json:"created"`
}

func (c *Console) routes(w http.ResponseWriter, r *http.Request, s *session) {
	rs, err := c.o.Store.Routes(r.Context())
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	names := map[int64]string{}
	if us, err := c.o.Store.Users(r.Context()); err == nil {
		for _, u := range us {
			names[u.ID] = u.Username
		}
	}
	out := []Route{}
	for _, rt := range rs {
		out = append(out, Route{ID: rt.ID, UserID: rt.UserID, User: names[rt.UserID], Field1: string(rt.Cond1.Field), Value1: rt.Cond1.Value,
			And: rt.And, Field2: string(rt.Cond2.Field), Value2: rt.Cond2.Value, Active: rt.Active, Priority: rt.Priority, Created: rt.Created})
	}
	writeJSON(w, http.StatusOK, map[string]any{"routes": out})
}

// createRoute: POST /console/api/routes {"user": "name", "field1",
// "value1", "priority"} (optionally "and", "field2", "value2").
func (c *Console) createRoute(w http.ResponseWriter, r *http.Request, s *session) {
	var in struct {
		User     string `json:"user"`
		Field1   string `json:"field1"`
		Value1   string `json:"value1"`
		And      bool   `json:"and"`
		Field2   string `json:"field2"`
		Value2   string `json:"value2"`
		Priority int    `json:"priority"`
	}
	if !readJSON(w, r, 4096, &in) {
		return
	}
	u, err := c.o.Store.UserByName(r.Context(), in.User)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	rt := core.Route{UserID: u.ID, Cond1: core.RouteCondition{Field: core.RouteField(in.Field1), Value: in.Value1},
		And: in.And, Active: true, Priority: in.Priority}
	if in.Field2 != "" {
		rt.Cond2 = core.RouteCondition{Field: core.RouteField(in.Field2), Value: in.Value2}
	}
	rt, err = c.o.Store.CreateRoute(r.Context(), rt)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	c.log.Info("console: route created", "by", s.user, "route", rt.ID, "user", u.Username)
	writeJSON(w, http.StatusCreated, map[string]int64{"id": rt.ID})
}

// updateRoute: POST /console/api/routes/{id} {"active": bool}.
func (c *Console) updateRoute(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		Active bool `json:"active"`
	}
	if !readJSON(w, r, 1024, &in) {
		return
	}
	if err := c.o.Store.SetRouteActive(r.Context(), id, in.Active); err != nil {
		c.storeError(w, r, err)
		return
	}
	c.log.Info("console: route changed", "by", s.user, "route", id, "active", in.Active)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (c *Console) deleteRoute(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := c.o.Store.DeleteRoute(r.Context(), id); err != nil {
		c.storeError(w, r, err)
		return
	}
	c.log.Info("console: route deleted", "by", s.user, "route", id)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// license: GET /console/api/license, the running licence and one
// installed since the start.
func (c *Console) license(w http.ResponseWriter, r *http.Request, s *session) {
	out := map[string]any{}
	if c.o.License != nil {
		if l, ok := c.o.License(); ok {
			out["current"] = l
		}
	}
	c.mu.Lock()
	if c.pending != nil {
		out["installed"] = *c.pending
	}
	c.mu.Unlock()
	out["upload"] = c.o.InstallLicense != nil
	writeJSON(w, http.StatusOK, out)
}

// installLicense: POST /console/api/license with the signed licence file
// as the body (at most MaxLicenseSize bytes).
func (c *Console) installLicense(w http.ResponseWriter, r *http.Request, s *session) {
	if c.o.InstallLicense == nil {
		writeError(w, http.StatusNotFound, "this process installs no licence")
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxLicenseSize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("licence over %d bytes", MaxLicenseSize))
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	l, err := c.o.InstallLicense(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, "licence refused: "+err.Error())
		return
	}
	l.Pending = true
	c.mu.Lock()
	c.pending = &l
	c.mu.Unlock()
	c.log.Info("console: licence installed", "by", s.user, "agent", l.AgentID, "ports", l.Ports, "expires", l.Expires)
	writeJSON(w, http.StatusOK, l)
}
