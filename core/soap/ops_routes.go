package soap

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/faxagent/faxagent/core"
)

// routeField maps a FaxCore ConditionType to core's; BarCode and
// ServerName have no counterpart in the store.
func routeField(s string) (core.RouteField, error) {
	switch s {
	case "None", "":
		return core.RouteNone, nil
	case "RoutingDigits":
		return core.RouteRoutingDigits, nil
	case "RemoteCSID":
		return core.RouteRemoteCSID, nil
	case "RemoteCallerID":
		return core.RouteCallerID, nil
	case "FaxPortNo":
		return core.RoutePortNo, nil
	case "BarCode", "ServerName":
		return "", clientErrorf("routing by %s is not supported", s)
	}
	return "", clientErrorf("condition %q (want None, BarCode, FaxPortNo, RoutingDigits, RemoteCallerID, RemoteCSID or ServerName)", s)
}

func (h *Handler) opCreateInboundRoute(ctx context.Context, c *call) (result, error) {
	uid := c.long("userID")
	fwd := c.str("forwardedUserName")
	c1, e1 := c.str("condition1"), c.str("conditionExp1")
	and := c.bool("isAndOperator")
	c2, e2 := c.str("condition2"), c.str("conditionExp2")
	active := c.bool("isActive")
	prio := c.int("priority")
	if c.err != nil {
		return result{}, nil
	}
	mgr, ok, err := h.manager(ctx, uid)
	if err != nil || !ok {
		return strResult(resInvalidAdmin), err
	}
	to, err := h.cfg.Store.UserByName(ctx, fwd)
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return strResult(resInvalidUser), nil
	}
	if err != nil {
		return result{}, err
	}
	if !manages(mgr, to.DomainID, "") {
		// A domain administrator routes to its own domain's users only.
		return strResult(resInvalidAdmin), nil
	}
	f1, err := routeField(c1)
	if err != nil {
		return result{}, err
	}
	f2, err := routeField(c2)
	if err != nil {
		return result{}, err
	}
	if f2 == core.RouteNone {
		e2 = ""
	}
	_, err = h.cfg.Store.CreateRoute(ctx, core.Route{UserID: to.ID, Cond1: core.RouteCondition{Field: f1, Value: e1},
		And: and, Cond2: core.RouteCondition{Field: f2, Value: e2}, Active: active, Priority: prio})
	if errors.Is(err, core.ErrInvalid) {
		return result{}, clientErrorf("CreateInboundRoute: %v", err)
	}
	if err != nil {
		return result{}, err
	}
	return strResult(""), nil
}

func (h *Handler) opSearchIBRouteRules(ctx context.Context, c *call) (result, error) {
	adminID, input := c.long("adminID"), c.str("input")
	if c.err != nil {
		return result{}, nil
	}
	mgr, ok, err := h.manager(ctx, adminID)
	if err != nil || !ok {
		return strResult(resInvalidAdmin), err
	}
	rs, err := h.cfg.Store.Routes(ctx)
	if err != nil {
		return result{}, err
	}
	needle := strings.ToLower(strings.TrimSpace(input))
	var out []ruleView
	for _, r := range rs {
		fwd := "unrouted"
		u, err := h.cfg.Store.User(ctx, r.UserID)
		if err == nil {
			fwd = u.Username + " (" + h.domainName(ctx, u.DomainID) + ")"
		}
		if !systemAdmin(mgr) && (err != nil || !manages(mgr, u.DomainID, u.Role)) {
			continue // a domain administrator sees its own domain's routes
		}
		v := ruleView{r: r, forward: fwd}
		if needle == "" || strings.Contains(strings.ToLower(routeByString(r)+" "+fwd), needle) {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b ruleView) int {
		if c := cmp.Compare(b.r.Priority, a.r.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.r.ID, b.r.ID)
	})
	return strResult(rulesXML(out)), nil
}

func (h *Handler) opDisableInboundRoute(ctx context.Context, c *call) (result, error) {
	adminID, id := c.long("adminID"), c.int("routeID")
	if c.err != nil {
		return result{}, nil
	}
	mgr, ok, err := h.manager(ctx, adminID)
	if err != nil || !ok {
		return strResult(resInvalidAdmin), err
	}
	if !systemAdmin(mgr) {
		// A domain administrator disables its own domain's routes only.
		mine, err := h.routeOfDomain(ctx, mgr, int64(id))
		if err != nil || !mine {
			return strResult(resInvalidAdmin), err
		}
	}
	err = h.cfg.Store.SetRouteActive(ctx, int64(id), false)
	if errors.Is(err, core.ErrNotFound) {
		return result{}, clientErrorf("DisabledInboudRoute: no route %d", id)
	}
	if err != nil {
		return result{}, err
	}
	return strResult(""), nil
}

// routeOfDomain reports whether route id forwards to a user that domain
// administrator mgr manages.
func (h *Handler) routeOfDomain(ctx context.Context, mgr core.User, id int64) (bool, error) {
	rs, err := h.cfg.Store.Routes(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if r.ID != id {
			continue
		}
		u, err := h.cfg.Store.User(ctx, r.UserID)
		if errors.Is(err, core.ErrNotFound) {
			return false, nil
		}
		return err == nil && manages(mgr, u.DomainID, u.Role), err
	}
	return false, nil
}
