package soap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/core"
)

// operations maps every wire name to its implementation.
func (h *Handler) operations() map[string]opFunc {
	return map[string]opFunc{
		"AuthenticateUser":                    h.opAuthenticateUser,
		"ServerStatus":                        h.opServerStatus,
		"SendCompleteMessage":                 h.opSend,
		"SendMixedMode":                       h.opSendMixedMode,
		"BasicSendMessageWithBytes":           h.opSend,
		"SendCompleteMessageWithPresetAgents": h.opSend,
		"SendCompleteMessageWithPresetAgentsAndByPassRender": h.opSend,
		"DelegateMessage":             h.opDelegateMessage,
		"GetMessageDetails1":          h.opGetMessageDetails1,
		"GetMessageDetails2":          h.opGetMessageDetails2,
		"GetMessageStatus":            h.opGetMessageStatus,
		"IsMessageDeleted":            h.opIsMessageDeleted,
		"DeleteMessage":               h.opDeleteMessage,
		"CancelMessage":               h.opCancelMessage,
		"RetryFailed":                 h.opRetryFailed,
		"ForwardToUser":               h.opForwardToUser,
		"AssignMessage":               h.opAssignMessage,
		"GetMessageList1":             h.opGetMessageList,
		"GetMessageList2":             h.opGetMessageList,
		"GetMessageList3":             h.opGetMessageList,
		"GetMessageList4":             h.opGetMessageList,
		"GetMessageList5":             h.opGetMessageList,
		"GetMessageList6":             h.opGetMessageList,
		"GetMessageList7":             h.opGetMessageList,
		"GetMessageList8":             h.opGetMessageList,
		"DownloadMessageByte1":        h.opDownload,
		"DownloadMessageInByte2":      h.opDownload,
		"DownloadMessageInByte3":      h.opDownload,
		"DownloadMessageInByte4":      h.opDownload,
		"MarkMsgAsRead":               h.opMarkRead(true),
		"MarkMsgAsUnread":             h.opMarkRead(false),
		"IsMessageRead":               h.opIsMessageRead,
		"MarkMsgAsDownloaded":         h.opMarkDownloaded,
		"GetTrackRecords":             h.opGetTrackRecords,
		"UpdateTrackRecord":           h.opUpdateTrackRecord,
		"MoveMessage":                 h.opMoveMessage,
		"CreateNewUser1":              h.opCreateUser,
		"CreateNewUser2":              h.opCreateUser,
		"CreateNewUser3":              h.opCreateUser,
		"UpdateUser-basic":            h.opUpdateUser,
		"UpdateUser-extra":            h.opUpdateUser,
		"UpdateUser-advance":          h.opUpdateUser,
		"RemoveUser":                  h.opRemoveUser,
		"DeactivateUser":              h.opSetActive(false),
		"DeactivateUsers":             h.opSetActiveList(false),
		"ActivateUser":                h.opSetActive(true),
		"ActivateUsers":               h.opSetActiveList(true),
		"GetUserListWithDomainID":     h.opUserList,
		"GetUserListWithDomainName":   h.opUserList,
		"GetUserDetailsByUserID":      h.opUserDetails,
		"GetUserDetailsByUserName":    h.opUserDetails,
		"CreateInboundRoute":          h.opCreateInboundRoute,
		"SearchIBRouteRules":          h.opSearchIBRouteRules,
		"DisabledInboudRoute":         h.opDisableInboundRoute,
		"GetMsgFolders":               h.opGetMsgFolders,
		"GetDomainList":               h.opGetDomainList,
		"GetUserFaxSettingByUserID":   h.opUserFaxSetting,
		"GetUserFaxSettingByUserName": h.opUserFaxSetting,
	}
}

// activeUser returns an active user, or ok=false for an unknown or
// inactive one.
func (h *Handler) activeUser(ctx context.Context, id int64) (core.User, bool, error) {
	if id <= 0 {
		return core.User{}, false, nil
	}
	u, err := h.cfg.Store.User(ctx, id)
	if errors.Is(err, core.ErrNotFound) {
		return core.User{}, false, nil
	}
	if err != nil {
		return core.User{}, false, err
	}
	// A user the caller may not act as answers as one that is not there.
	return u, u.Active && mayActAs(ctx, u), nil
}

// manager returns an active administrator, or ok=false.
func (h *Handler) manager(ctx context.Context, id int64) (core.User, bool, error) {
	u, ok, err := h.activeUser(ctx, id)
	return u, ok && u.Admin, err
}

// manages reports whether administrator a may manage the users of a
// domain and give role: a system administrator any, a domain
// administrator only its own domain's and no system administrator role.
func manages(a core.User, domainID int64, role string) bool {
	if a.Role != core.RoleDomainAdmin {
		return true
	}
	return a.DomainID == domainID && role != core.RoleSystemAdmin
}

func parseID(s string) (int64, bool) {
	v, err := parseLong(s)
	return v, err == nil && v > 0
}

// opAuthenticateUser checks a user's password, limited as logins are.
func (h *Handler) opAuthenticateUser(ctx context.Context, c *call) (result, error) {
	name, pw := c.str("userName"), c.str("password")
	if c.err != nil {
		return result{}, nil
	}
	u, err := h.login(ctx, name, pw, c.remote)
	if errors.Is(err, core.ErrAuth) {
		return longResult(authFailed), nil
	}
	if err != nil {
		return result{}, err
	}
	return longResult(u.ID), nil
}

// StatusNamespace is the namespace of the ServerFigures header block that
// ServerStatus answers carry.
const StatusNamespace = "urn:faxagent:wfapi:status"

// agentLive is how recent an agent's last heartbeat must be for
// ServerStatus to count it (serve beats every 10 s: three missed beats).
const agentLive = 30 * time.Second

// opServerStatus answers with the guide's result string and the server's
// real figures.
//
// Wire compatibility: the WSDL's ServerStatusResponse holds one
// xsd:string, ServerStatusResult, and the guide documents one value,
// "OK = success"; FaxCore clients test it for equality with "OK". Putting
// figures into that string ("OK agents=1 ...") would turn every healthy
// server into a failed check for them, and adding elements to the
// response wrapper would step outside the WSDL's schema. So the result
// stays exactly "OK" and the figures go into a SOAP header block in our
// own namespace, without mustUnderstand: SOAP 1.1 (section 4.2) and 1.2
// (part 1, 5.2) let a receiver ignore such a block, which .NET's
// SoapHttpClientProtocol and the npm soap client do, while a script or a
// client that knows StatusNamespace reads
//
//	<soap:Header><ServerFigures xmlns="urn:faxagent:wfapi:status">
//	  <Agents>live agents</Agents><AgentsKnown>all registered</AgentsKnown>
//	  <Ports>ports of live agents</Ports><PortsLicensed>..</PortsLicensed><PortsBusy>..</PortsBusy>
//	  <Held>..</Held><Queued>..</Queued><InCall>leased jobs</InCall>
//	  <Failed>..</Failed><OldestQueuedSeconds>..</OldestQueuedSeconds>
//	</ServerFigures></soap:Header>
//
// A store that cannot answer is a Server fault, not "OK".
func (h *Handler) opServerStatus(ctx context.Context, c *call) (result, error) {
	qs, err := h.cfg.Store.QueueStats(ctx)
	if err != nil {
		return result{}, err
	}
	agents, err := h.cfg.Store.Agents(ctx)
	if err != nil {
		return result{}, err
	}
	now := h.cfg.Now()
	live, ports, licensed, busy := 0, 0, 0, 0
	for _, a := range agents {
		if now.Sub(a.Heartbeat) > agentLive {
			continue
		}
		live++
		ports += a.Ports
		licensed += a.Licensed
		busy += a.Busy
	}
	oldest := int64(0)
	if !qs.OldestQueued.IsZero() && now.After(qs.OldestQueued) {
		oldest = int64(now.Sub(qs.OldestQueued) / time.Second)
	}
	var b strings.Builder
	b.WriteString(`<ServerFigures xmlns="` + StatusNamespace + `">`)
	for _, f := range []struct {
		name string
		n    int64
	}{{"Agents", int64(live)}, {"AgentsKnown", int64(len(agents))}, {"Ports", int64(ports)},
		{"PortsLicensed", int64(licensed)}, {"PortsBusy", int64(busy)}, {"Held", int64(qs.Held)},
		{"Queued", int64(qs.Queued)}, {"InCall", int64(qs.Leased)}, {"Failed", int64(qs.Failed)},
		{"OldestQueuedSeconds", oldest}} {
		b.WriteString("<" + f.name + ">" + strconv.FormatInt(f.n, 10) + "</" + f.name + ">")
	}
	b.WriteString(`</ServerFigures>`)
	r := strResult(resOK)
	r.header = b.String()
	return r, nil
}

// roleAdmin maps a FaxCore role to core's admin flag.
func roleAdmin(role string) (bool, error) {
	switch role {
	case "SystemAdmin", "DomainAdmin":
		return true, nil
	case "SuperUser", "StandardUser", "":
		return false, nil
	}
	return false, clientErrorf("role %q (want SystemAdmin, DomainAdmin, SuperUser or StandardUser)", role)
}

func checkAddrType(t string) error {
	switch t {
	case "Fax", "Email", "FaxRaw", "":
		return nil
	}
	return clientErrorf("preferAddrType %q (want Fax, Email or FaxRaw)", t)
}

func (h *Handler) opCreateUser(ctx context.Context, c *call) (result, error) {
	adminID := c.long("userID")
	nu := core.NewUser{
		Domain:   c.str("domainName"),
		Username: c.str("userName"),
		Password: c.str("password"),
		Email:    c.str("email"),
		Inactive: !c.bool("isActive"),
	}
	p := UserProfile{
		Role: c.str("role"), ExternalAuth: c.bool("isExternalAuth"),
		DisplayName: c.str("displayName"), FirstName: c.str("firstName"), MiddleName: c.str("middleName"),
		LastName: c.str("lastName"), CompanyName: c.str("companyName"), PreferAddrType: c.str("preferAddrType"),
		Fax: c.str("fax"), RawFax: c.str("rawFax"), Description: c.str("desc"),
	}
	if c.declared("NOR") {
		p.NotifyReceive, p.NotifySend = c.bool("NOR"), c.bool("NOS")
	}
	if c.declared("csid") {
		p.LocalCSID, p.CallerID = c.str("csid"), c.str("callerID")
	}
	if c.err != nil {
		return result{}, nil
	}
	mgr, ok, err := h.manager(ctx, adminID)
	if err != nil || !ok {
		return strResult(resInvalidAdmin), err
	}
	if mgr.Role == core.RoleDomainAdmin {
		dom, err := h.domainID(ctx, nu.Domain)
		if err != nil {
			return result{}, err
		}
		if !manages(mgr, dom, p.Role) {
			return strResult(resInvalidAdmin), nil
		}
	}
	admin, err := roleAdmin(p.Role)
	if err != nil {
		return result{}, err
	}
	if err := checkAddrType(p.PreferAddrType); err != nil {
		return result{}, err
	}
	if p.ExternalAuth {
		return result{}, clientErrorf("external authentication is not supported")
	}
	nu.Admin, nu.Profile = admin, p
	nu.FullName = p.DisplayName
	if nu.FullName == "" {
		nu.FullName = strings.Join(strings.Fields(p.FirstName+" "+p.MiddleName+" "+p.LastName), " ")
	}
	u, err := h.cfg.Store.CreateUser(ctx, nu)
	if errors.Is(err, core.ErrExists) {
		return result{}, clientErrorf("user %q already exists", nu.Username)
	}
	if errors.Is(err, core.ErrInvalid) {
		return result{}, clientErrorf("%v", err)
	}
	if err != nil {
		return result{}, err
	}
	return strResult(strconv.FormatInt(u.ID, 10)), nil
}

// domainID is the ID of a domain by name ("" is the default domain), 0
// when there is none yet.
func (h *Handler) domainID(ctx context.Context, name string) (int64, error) {
	if name == "" {
		name = core.DefaultDomain
	}
	ds, err := h.cfg.Store.Domains(ctx)
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		if d.Name == name {
			return d.ID, nil
		}
	}
	return 0, nil
}

func (h *Handler) opUpdateUser(ctx context.Context, c *call) (result, error) {
	adminID, userID := c.long("adminID"), c.long("userID")
	p := UserProfile{
		Role: c.str("role"), ExternalAuth: c.bool("isExternalAuth"),
		DisplayName: c.str("displayName"), FirstName: c.str("firstName"), MiddleName: c.str("middleName"),
		LastName: c.str("lastName"), CompanyName: c.str("companyName"), PreferAddrType: c.str("preferAddrType"),
		Description: c.str("desc"),
	}
	active := c.bool("isActive")
	if c.declared("localCSID") {
		p.LocalCSID, p.CallerID = c.str("localCSID"), c.str("callerID")
	}
	if c.declared("config") {
		p.Config = map[string]string{}
		for _, n := range c.complexItems("config", "tns:ArrayOfUserConfig", "UserConfig") {
			p.Config[fieldStr(n, "ConfigName")] = fieldStr(n, "ConfigValue")
		}
	}
	if c.err != nil {
		return result{}, nil
	}
	mgr, ok, err := h.manager(ctx, adminID)
	if err != nil || !ok {
		return strResult(resInvalidAdmin), err
	}
	u, err := h.cfg.Store.User(ctx, userID)
	if errors.Is(err, core.ErrNotFound) {
		return strResult(resInvalidUser), nil
	}
	if err != nil {
		return result{}, err
	}
	if !manages(mgr, u.DomainID, p.Role) || !manages(mgr, u.DomainID, u.Role) {
		return strResult(resInvalidAdmin), nil
	}
	admin, err := roleAdmin(p.Role)
	if err != nil {
		return result{}, err
	}
	if err := checkAddrType(p.PreferAddrType); err != nil {
		return result{}, err
	}
	ua, ok := h.cfg.Users, h.cfg.Users != nil
	if !ok {
		return result{}, fmt.Errorf("%s needs a store with user profiles (soap.UserAdmin)", c.op)
	}
	u.Admin, u.Active = admin, active
	if p.DisplayName != "" {
		u.FullName = p.DisplayName
	}
	if p.ExternalAuth {
		return result{}, clientErrorf("external authentication is not supported")
	}
	if err := ua.UpdateUser(ctx, u, p); err != nil {
		return userAdminResult(c.op, err)
	}
	return strResult(resOK), nil
}

func (h *Handler) opRemoveUser(ctx context.Context, c *call) (result, error) {
	adminID, userID := c.long("adminID"), c.long("userID")
	if c.err != nil {
		return result{}, nil
	}
	mgr, ok, err := h.manager(ctx, adminID)
	if err != nil || !ok {
		return strResult(resInvalidAdmin), err
	}
	u, err := h.cfg.Store.User(ctx, userID)
	if errors.Is(err, core.ErrNotFound) {
		return strResult(resInvalidUser), nil
	} else if err != nil {
		return result{}, err
	}
	if !manages(mgr, u.DomainID, u.Role) {
		return strResult(resInvalidAdmin), nil
	}
	ua, ok := h.cfg.Users, h.cfg.Users != nil
	if !ok {
		return result{}, fmt.Errorf("RemoveUser needs a store that removes users (soap.UserAdmin)")
	}
	if err := ua.RemoveUser(ctx, userID); err != nil {
		return userAdminResult(c.op, err)
	}
	return strResult(resOK), nil
}

// userAdminResult answers a failed user update or removal: a user gone
// meanwhile is INVALID_USER, bad values and the last administrator's
// removal or demotion a Client fault.
func userAdminResult(op string, err error) (result, error) {
	switch {
	case errors.Is(err, core.ErrNotFound):
		return strResult(resInvalidUser), nil
	case errors.Is(err, core.ErrInvalid), errors.Is(err, core.ErrState):
		return result{}, clientErrorf("%s: %v", op, err)
	}
	return result{}, err
}

// setActive (de)activates a user that mgr manages; ok=false for a user
// that is unknown or not mgr's, or the last administrator.
func (h *Handler) setActive(ctx context.Context, mgr core.User, id int64, active bool) (bool, error) {
	u, err := h.cfg.Store.User(ctx, id)
	if err == nil && !manages(mgr, u.DomainID, u.Role) {
		return false, nil
	}
	if err == nil {
		err = h.cfg.Store.SetUserActive(ctx, id, active)
	}
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) || errors.Is(err, core.ErrState) {
		// ErrState: the last active administrator stays active.
		return false, nil
	}
	return err == nil, err
}

func (h *Handler) opSetActive(active bool) opFunc {
	return func(ctx context.Context, c *call) (result, error) {
		adminID, userID := c.long("adminID"), c.long("userID")
		if c.err != nil {
			return result{}, nil
		}
		mgr, ok, err := h.manager(ctx, adminID)
		if err != nil || !ok {
			return strResult(resInvalidAdmin), err
		}
		u, err := h.cfg.Store.User(ctx, userID)
		if err != nil {
			return userAdminResult(c.op, err)
		}
		if !manages(mgr, u.DomainID, u.Role) {
			return strResult(resInvalidAdmin), nil
		}
		if err := h.cfg.Store.SetUserActive(ctx, userID, active); err != nil {
			return userAdminResult(c.op, err)
		}
		return strResult(resOK), nil
	}
}

func (h *Handler) opSetActiveList(active bool) opFunc {
	return func(ctx context.Context, c *call) (result, error) {
		adminID, ids := c.long("adminID"), c.longs("userIDList")
		if c.err != nil {
			return result{}, nil
		}
		mgr, ok, err := h.manager(ctx, adminID)
		if err != nil || !ok {
			return strResult(resInvalidAdmin), err
		}
		if len(ids) == 0 {
			return strResult(resSomeInvalidUser), nil
		}
		bad := false
		for _, id := range ids {
			ok, err := h.setActive(ctx, mgr, id, active)
			if err != nil {
				return result{}, err
			}
			bad = bad || !ok
		}
		if bad {
			return strResult(resSomeInvalidUser), nil
		}
		return strResult(resOK), nil
	}
}

func (h *Handler) opGetDomainList(ctx context.Context, c *call) (result, error) {
	adminID := c.long("adminID")
	if c.err != nil {
		return result{}, nil
	}
	mgr, ok, err := h.manager(ctx, adminID)
	if err != nil || !ok {
		return stringsResult(nil), err
	}
	ds, err := h.cfg.Store.Domains(ctx)
	if err != nil {
		return result{}, err
	}
	out := []string{}
	for _, d := range ds {
		if manages(mgr, d.ID, "") { // a domain administrator sees its own
			out = append(out, strconv.FormatInt(d.ID, 10)+"||"+d.Name)
		}
	}
	return stringsResult(out), nil
}

func (h *Handler) opUserList(ctx context.Context, c *call) (result, error) {
	adminID := c.long("adminID")
	var domID int64
	var domName string
	if c.declared("domainID") {
		domID = c.long("domainID")
	} else {
		domName = c.str("domainName")
	}
	if c.err != nil {
		return result{}, nil
	}
	mgr, ok, err := h.manager(ctx, adminID)
	if err != nil || !ok {
		return stringsResult(nil), err
	}
	ds, err := h.cfg.Store.Domains(ctx)
	if err != nil {
		return result{}, err
	}
	found := false
	for _, d := range ds {
		if domName != "" && strings.EqualFold(d.Name, domName) || domName == "" && d.ID == domID {
			domID, found = d.ID, true
		}
	}
	out := []string{}
	if !found || !manages(mgr, domID, "") {
		// A domain administrator sees its own domain only.
		return stringsResult(out), nil
	}
	us, err := h.cfg.Store.Users(ctx)
	if err != nil {
		return result{}, err
	}
	for _, u := range us {
		if u.DomainID == domID {
			out = append(out, strconv.FormatInt(u.ID, 10)+"||"+u.Username)
		}
	}
	return stringsResult(out), nil
}

// lookupUser finds the user an admin operation names by ID or name.
func (h *Handler) lookupUser(ctx context.Context, c *call) (core.User, bool, error) {
	var (
		u   core.User
		err error
	)
	if c.declared("userID") {
		u, err = h.cfg.Store.User(ctx, c.long("userID"))
	} else {
		u, err = h.cfg.Store.UserByName(ctx, c.str("userName"))
	}
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return core.User{}, false, nil
	}
	return u, err == nil, err
}

// profile is a user's stored profile.
func (h *Handler) profile(ctx context.Context, userID int64) (core.UserProfile, error) {
	return h.cfg.Store.Profile(ctx, userID)
}

func (h *Handler) opUserDetails(ctx context.Context, c *call) (result, error) {
	return h.managedUser(ctx, c, userDetailsXML)
}

func (h *Handler) opUserFaxSetting(ctx context.Context, c *call) (result, error) {
	return h.managedUser(ctx, c, userFaxSettingXML)
}

// managedUser answers an admin's question about one user of its domain:
// INVALID_ADMIN unless adminID manages that user, INVALID_USER for an
// unknown user, otherwise the user and profile written by render.
func (h *Handler) managedUser(ctx context.Context, c *call, render func(core.User, core.UserProfile) string) (result, error) {
	adminID := c.long("adminID")
	mgr, ok, err := h.manager(ctx, adminID)
	if err != nil || !ok || c.err != nil {
		return strResult(resInvalidAdmin), err
	}
	u, ok, err := h.lookupUser(ctx, c)
	if err != nil || !ok {
		return strResult(resInvalidUser), err
	}
	if !manages(mgr, u.DomainID, "") {
		return strResult(resInvalidAdmin), nil
	}
	p, err := h.profile(ctx, u.ID)
	if err != nil {
		return result{}, err
	}
	return strResult(render(u, p)), nil
}

// declared reports whether the operation's WSDL declares a parameter.
func (c *call) declared(name string) bool {
	for _, p := range c.decl {
		if p.Name == name {
			return true
		}
	}
	return false
}
