package soap

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core"
)

func (e *env) callAs(user, pw, op, inner string) *httptest.ResponseRecorder {
	return e.callFrom("192.0.2.1", user, pw, op, inner)
}

// callFrom posts op from a client address with Basic credentials (none
// when user is "").
func (e *env) callFrom(addr, user, pw, op, inner string) *httptest.ResponseRecorder {
	r := newRequest(e.ver, op, envelope(e.ver, op, inner))
	r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(addr), 4711).String()
	r.Header.Del("Authorization")
	if user != "" {
		r.SetBasicAuth(user, pw)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// wsdlOperations reads the wire operation names from the WSDL file, apart
// from the handler's own parser: the soapAction of every SOAP 1.1
// binding operation.
func wsdlOperations(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("wfapi.wsdl")
	if err != nil {
		t.Fatal(err)
	}
	var doc xnode
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	var walk func(n xnode)
	walk = func(n xnode) {
		if n.XMLName == (xml.Name{Space: "http://schemas.xmlsoap.org/wsdl/soap/", Local: "operation"}) {
			for _, a := range n.Attrs {
				if a.Name.Local == "soapAction" {
					ops = append(ops, strings.TrimPrefix(a.Value, Namespace))
				}
			}
		}
		for _, k := range n.Kids {
			walk(k)
		}
	}
	walk(doc)
	slices.Sort(ops)
	return slices.Compact(ops)
}

func (e *env) userCount() int {
	us, err := e.store.Users(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return len(us)
}

// TestEveryOperationNeedsCredentials posts each of the WSDL's operations
// without credentials and with a wrong password: 401 with a Basic
// challenge and a fault, nothing stored; with the right ones the request
// reaches the operation.
func TestEveryOperationNeedsCredentials(t *testing.T) {
	for _, ver := range []Version{SOAP11, SOAP12} {
		e := newEnv(t, ver)
		m := e.submit(e.alice, false, "5550101")
		ops := wsdlOperations(t)
		if len(ops) != 58 {
			t.Fatalf("%d operations in the WSDL, want 58", len(ops))
		}
		users, msgs := e.userCount(), e.messageCount()
		for i, op := range ops {
			// The probes: a system administrator made, users listed,
			// anyone's fax read, all without a login.
			inner := `<userID>` + id(e.admin) + `</userID><adminID>` + id(e.admin) + `</adminID><msgID>` + id(m) +
				`</msgID><messageID>` + id(m) + `</messageID><domainName>default</domainName><userName>eve</userName>` +
				`<password>eve-password</password><role>SystemAdmin</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive>`
			for _, cred := range []struct{ user, pw string }{{"", ""}, {"alice", "wrong-password"}, {"nobody", "x"}} {
				addr := fmt.Sprintf("198.51.100.%d", i%250+1)
				w := e.callFrom(addr, cred.user, cred.pw, op, inner)
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("SOAP%d %s as %q: HTTP %d, want 401:\n%s", ver, op, cred.user, w.Code, w.Body)
				}
				if c := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(c, "Basic ") {
					t.Errorf("%s: WWW-Authenticate %q", op, c)
				}
				parseResponse(t, ver, op, w).fault()
			}
			w := e.callFrom("203.0.113.1", "admin", adminPassword, op, ``)
			if w.Code == http.StatusUnauthorized {
				t.Errorf("SOAP%d %s with credentials: 401", ver, op)
			}
		}
		want(t, "users", e.userCount(), users)
		want(t, "messages", e.messageCount(), msgs)
		want(t, "message untouched", e.message(m).Status, "Queued")
	}
}

func TestCachedLoginStillChecksTheAccount(t *testing.T) {
	e := newEnv(t, SOAP12)
	w := e.callAs("alice", "alice-password", "ServerStatus", ``)
	want(t, "alice", parseResponse(t, SOAP12, "ServerStatus", w).result(), "OK")
	if err := e.store.SetUserActive(t.Context(), e.alice, false); err != nil {
		t.Fatal(err)
	}
	w = e.callAs("alice", "alice-password", "ServerStatus", ``)
	want(t, "deactivated", w.Code, http.StatusUnauthorized)
}

// TestTrustedNetworks: only callers in the listed ranges may leave the
// credentials off, and then act as the user a request names.
func TestTrustedNetworks(t *testing.T) {
	e := newEnv(t, SOAP11)
	h, err := NewHandler(Config{Store: e.store, Now: e.clock.Now,
		TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("fd00::/8")}})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	m := e.submit(e.alice, false, "5550101")
	body := `<msgID>` + id(m) + `</msgID><userID>` + id(e.alice) + `</userID>`
	for _, tc := range []struct {
		addr, user, pw string
		status         int
	}{
		{"127.0.0.2", "", "", 200},
		{"::ffff:127.0.0.2", "", "", 200},
		{"fd00::17", "", "", 200},
		{"127.0.0.1", "", "", 401},
		{"127.0.0.3", "", "", 401},
		{"::1", "", "", 401},
		{"127.0.0.2", "alice", "wrong-password", 401}, // credentials sent are checked
		{"127.0.0.1", "alice", "alice-password", 200},
	} {
		w := e.callFrom(tc.addr, tc.user, tc.pw, "GetMessageDetails2", body)
		if w.Code != tc.status {
			t.Errorf("from %s as %q: HTTP %d, want %d", tc.addr, tc.user, w.Code, tc.status)
		}
		if w.Code == 200 && !strings.Contains(parseResponse(t, SOAP11, "GetMessageDetails2", w).result(), "<Subject>direct</Subject>") {
			t.Errorf("from %s: not the message", tc.addr)
		}
	}
	// A trusted caller with credentials is that user, not anyone.
	w := e.callFrom("127.0.0.2", "bob", "bob-password", "GetMessageDetails2", body)
	want(t, "bob from a trusted network", parseResponse(t, SOAP11, "GetMessageDetails2", w).result(), "INVALID_USER")
}

// scopeCase is an operation that names a user (or reaches a message):
// body names user u and message m; as the named user itself (or an
// administrator for admin operations) the answer is allowed, as a user
// who may not act for u it is refused, stores nothing, and is the same as
// for a user that does not exist.
type scopeCase struct {
	op      string
	admin   bool // u is an administrator (adminID-style parameter)
	body    func(e *env, u, m int64) string
	refused string // the result; "[]" an empty list
}

func scopeCases(t *testing.T) []scopeCase {
	tif := b64(fixture(t, "three.tif"))
	send := func(e *env, u, m int64) string { return sendXML(u, fixture(t, "three.tif"), "5550101") }
	userMsg := func(e *env, u, m int64) string { return `<userID>` + id(u) + `</userID><msgID>` + id(m) + `</msgID>` }
	adminUser := func(e *env, u, m int64) string {
		return `<adminID>` + id(u) + `</adminID><userID>` + id(e.bob) + `</userID>`
	}
	list := func(folder string) func(e *env, u, m int64) string {
		return func(e *env, u, m int64) string {
			return `<userID>` + id(u) + `</userID><folderName>` + folder + `</folderName><isRead>true</isRead><isDownloaded>false</isDownloaded><sortDescending>false</sortDescending><maxResults>10</maxResults>`
		}
	}
	multi := func(e *env, u, m int64) string {
		return `<userList><long>` + id(u) + `</long></userList><folderName>outbox</folderName><isRead>true</isRead><isDownloaded>false</isDownloaded><sortDescending>false</sortDescending><maxResults>10</maxResults>`
	}
	newUser := func(e *env, u, m int64) string {
		return `<userID>` + id(u) + `</userID><domainName>default</domainName><userName>eve</userName><password>eve-password</password><role>SystemAdmin</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive>`
	}
	update := func(e *env, u, m int64) string {
		return adminUser(e, u, m) + `<role>SystemAdmin</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive><preferAddrType>Fax</preferAddrType>`
	}
	cs := []scopeCase{
		{op: "SendCompleteMessage", body: send, refused: "INVALID_USER"},
		{op: "SendCompleteMessageWithPresetAgents", body: send, refused: "INVALID_USER"},
		{op: "SendCompleteMessageWithPresetAgentsAndByPassRender", body: send, refused: "INVALID_USER"},
		{op: "BasicSendMessageWithBytes", refused: "INVALID_USER", body: func(e *env, u, m int64) string {
			return `<userID>` + id(u) + `</userID><recpAddress><string>5550101</string></recpAddress><documentBytes><anyType xsi:type="xsd:base64Binary">` + tif + `</anyType></documentBytes>`
		}},
		{op: "SendMixedMode", refused: "INVALID_USER", body: func(e *env, u, m int64) string {
			return `<userID>` + id(u) + `</userID><priority>60</priority><isOnHold>false</isOnHold><mss>false</mss><msf>false</msf><useDefaultNotify>false</useDefaultNotify><useDefaultCP>false</useDefaultCP><documents><MsgDocument><Bytes>` + tif + `</Bytes><IsMerge>false</IsMerge><RemoveFirstPage>false</RemoveFirstPage></MsgDocument></documents><recipients><MsgRecipient><Address>5550101</Address><AddressType>2</AddressType><IsRRFOn>false</IsRRFOn><IsRRSOn>false</IsRRSOn></MsgRecipient></recipients>`
		}},
		{op: "DelegateMessage", admin: true, refused: "INVALID_DELEGATOR", body: func(e *env, u, m int64) string {
			return strings.Replace(send(e, u, m), `<userID>`+id(u)+`</userID>`, `<delegateUserID>`+id(u)+`</delegateUserID><userName>bob</userName>`, 1)
		}},
		{op: "GetMessageDetails2", body: userMsg, refused: "INVALID_USER"},
		{op: "IsMessageDeleted", refused: "INVALID_USER", body: func(e *env, u, m int64) string {
			return `<userID>` + id(u) + `</userID><messageID>` + id(m) + `</messageID>`
		}},
		{op: "DeleteMessage", body: userMsg, refused: "INVALID_USER"},
		{op: "ForwardToUser", body: func(e *env, u, m int64) string {
			return userMsg(e, u, m) + `<usernames><string>bob</string></usernames>`
		}, refused: "INVALID_USER"},
		{op: "AssignMessage", body: func(e *env, u, m int64) string {
			return userMsg(e, u, m) + `<usernames><string>bob</string></usernames>`
		}, refused: "INVALID_USER"},
		{op: "MarkMsgAsRead", body: userMsg, refused: "INVALID_USER"},
		{op: "MarkMsgAsUnread", body: userMsg, refused: "INVALID_USER"},
		{op: "IsMessageRead", body: userMsg, refused: "false"}, // an xsd:boolean; the message is read
		{op: "MarkMsgAsDownloaded", body: userMsg, refused: "INVALID_USER"},
		{op: "MoveMessage", body: func(e *env, u, m int64) string { return userMsg(e, u, m) + `<newFolderName>hold</newFolderName>` }, refused: "INVALID_USER"},
		{op: "GetMsgFolders", body: list("outbox"), refused: "[]"},
		{op: "CreateNewUser1", admin: true, body: newUser, refused: "INVALID_ADMIN"},
		{op: "CreateNewUser2", admin: true, body: newUser, refused: "INVALID_ADMIN"},
		{op: "CreateNewUser3", admin: true, body: newUser, refused: "INVALID_ADMIN"},
		{op: "UpdateUser-basic", admin: true, body: update, refused: "INVALID_ADMIN"},
		{op: "UpdateUser-extra", admin: true, body: update, refused: "INVALID_ADMIN"},
		{op: "UpdateUser-advance", admin: true, body: update, refused: "INVALID_ADMIN"},
		{op: "RemoveUser", admin: true, body: adminUser, refused: "INVALID_ADMIN"},
		{op: "DeactivateUser", admin: true, body: adminUser, refused: "INVALID_ADMIN"},
		{op: "ActivateUser", admin: true, body: adminUser, refused: "INVALID_ADMIN"},
		{op: "DeactivateUsers", admin: true, refused: "INVALID_ADMIN", body: func(e *env, u, m int64) string {
			return `<adminID>` + id(u) + `</adminID><userIDList><long>` + id(e.bob) + `</long></userIDList>`
		}},
		{op: "ActivateUsers", admin: true, refused: "INVALID_ADMIN", body: func(e *env, u, m int64) string {
			return `<adminID>` + id(u) + `</adminID><userIDList><long>` + id(e.carol) + `</long></userIDList>`
		}},
		{op: "GetUserListWithDomainID", admin: true, refused: "[]", body: func(e *env, u, m int64) string {
			return `<adminID>` + id(u) + `</adminID><domainID>` + id(e.salesID) + `</domainID>`
		}},
		{op: "GetUserListWithDomainName", admin: true, refused: "[]", body: func(e *env, u, m int64) string {
			return `<adminID>` + id(u) + `</adminID><domainName>default</domainName>`
		}},
		{op: "GetUserDetailsByUserID", admin: true, body: adminUser, refused: "INVALID_ADMIN"},
		{op: "GetUserDetailsByUserName", admin: true, refused: "INVALID_ADMIN", body: func(e *env, u, m int64) string {
			return `<adminID>` + id(u) + `</adminID><userName>alice</userName>`
		}},
		{op: "GetUserFaxSettingByUserID", admin: true, body: adminUser, refused: "INVALID_ADMIN"},
		{op: "GetUserFaxSettingByUserName", admin: true, refused: "INVALID_ADMIN", body: func(e *env, u, m int64) string {
			return `<adminID>` + id(u) + `</adminID><userName>alice</userName>`
		}},
		{op: "CreateInboundRoute", admin: true, refused: "INVALID_ADMIN", body: func(e *env, u, m int64) string {
			return `<userID>` + id(u) + `</userID><forwardedUserName>bob</forwardedUserName><condition1>RoutingDigits</condition1><conditionExp1>0327268805</conditionExp1><isAndOperator>false</isAndOperator><condition2>None</condition2><conditionExp2 /><isActive>true</isActive><priority>100</priority>`
		}},
		{op: "SearchIBRouteRules", admin: true, refused: "INVALID_ADMIN", body: func(e *env, u, m int64) string {
			return `<adminID>` + id(u) + `</adminID><input></input>`
		}},
		{op: "DisabledInboudRoute", admin: true, refused: "INVALID_ADMIN", body: func(e *env, u, m int64) string {
			return `<adminID>` + id(u) + `</adminID><routeID>` + id(e.route) + `</routeID>`
		}},
		{op: "GetDomainList", admin: true, refused: "[]", body: func(e *env, u, m int64) string { return `<adminID>` + id(u) + `</adminID>` }},
	}
	for _, op := range []string{"GetMessageList1", "GetMessageList2", "GetMessageList3", "GetMessageList8"} {
		cs = append(cs, scopeCase{op: op, body: list("outbox"), refused: "[]"})
	}
	for _, op := range []string{"GetMessageList4", "GetMessageList5", "GetMessageList6", "GetMessageList7"} {
		cs = append(cs, scopeCase{op: op, body: multi, refused: "[]"})
	}
	// Operations that reach a message by its ID only: its owner's.
	msg := func(name string) func(e *env, u, m int64) string {
		return func(e *env, u, m int64) string { return `<` + name + `>` + id(m) + `</` + name + `>` }
	}
	for _, op := range []string{"GetMessageDetails1", "GetMessageStatus", "CancelMessage", "RetryFailed"} {
		cs = append(cs, scopeCase{op: op, body: msg("msgID"), refused: "MESSAGE_NOT_FOUND"})
	}
	cs = append(cs,
		scopeCase{op: "GetTrackRecords", body: msg("msgID"), refused: "[]"},
		scopeCase{op: "UpdateTrackRecord", body: func(e *env, u, m int64) string {
			return msg("msgID")(e, u, m) + `<trackID>1</trackID><trackValue>x</trackValue>`
		}, refused: "MESSAGE_NOT_FOUND"},
	)
	dl := func(e *env, u, m int64) string {
		return msg("messageID")(e, u, m) + `<deliveryNum>1</deliveryNum><downloadType>TIF</downloadType><startPageIndex>1</startPageIndex><excludePageList />`
	}
	byJob := func(e *env, u, m int64) string {
		job := int64(999999)
		if m != 999999 {
			job = e.message(m).Jobs[0].ID
		}
		return `<deliveryID>` + id(job) + `</deliveryID><downloadType>TIF</downloadType><startPageIndex>1</startPageIndex><excludePageList />`
	}
	cs = append(cs,
		scopeCase{op: "DownloadMessageByte1", body: dl, refused: "MESSAGE_NOT_FOUND"},
		scopeCase{op: "DownloadMessageInByte2", body: dl, refused: "MESSAGE_NOT_FOUND"},
		scopeCase{op: "DownloadMessageInByte3", body: byJob, refused: "MESSAGE_NOT_FOUND"},
		scopeCase{op: "DownloadMessageInByte4", body: byJob, refused: "MESSAGE_NOT_FOUND"},
	)
	return cs
}

// answer is an operation's result as a comparable string: the result
// text, or a list as "[a b]".
func answer(t *testing.T, ver Version, op string, w *httptest.ResponseRecorder) string {
	t.Helper()
	r := parseResponse(t, ver, op, w)
	k := r.kids()
	if len(k) == 0 {
		return "[]"
	}
	if len(k[0].Kids) > 0 || strings.HasPrefix(op, "GetMessageList") || op == "GetTrackRecords" || op == "GetDomainList" ||
		op == "GetMsgFolders" || strings.HasPrefix(op, "GetUserList") {
		return fmt.Sprint(r.strings())
	}
	return k[0].Text
}

// snapshot is what the scoped operations could change.
func (e *env) snapshot(m int64) string {
	ctx := context.Background()
	us, _ := e.store.Users(ctx)
	rs, _ := e.store.Routes(ctx)
	md := e.message(m)
	md.Documents = nil
	return fmt.Sprintf("%d %v %v %+v", e.messageCount(), us, rs, md)
}

// TestActingUserScoped runs every operation that names a user or reaches
// a message without credentials (401, nothing changed), and as a standard
// user (bob) naming someone else: refused with the
// operation's failure answer, the same as for a user that does not exist,
// and nothing changed; as the user named (or the system administrator)
// the same request is answered otherwise.
func TestActingUserScoped(t *testing.T) {
	cases := scopeCases(t)
	// Every operation with a user-naming parameter, or a message ID, has a case.
	ct, err := parseContract(wsdlText)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.op] = true
	}
	for _, op := range wsdlOperations(t) {
		for _, p := range ct.Params[op] {
			switch p.Name {
			case "userID", "adminID", "delegateUserID", "userList", "msgID", "messageID", "deliveryID":
				if !covered[op] {
					t.Errorf("%s names a user or message (%s) and has no scope case", op, p.Name)
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, SOAP11)
			e.addRoute()
			// alice's message, with a tracking record, read.
			w := e.callAs("alice", "alice-password", "SendCompleteMessage", sendXML(e.alice, fixture(t, "three.tif"), "5550101"))
			m := mustID(t, parseResponse(t, SOAP11, "SendCompleteMessage", w).result())
			if err := e.store.MarkRead(context.Background(), m, true); err != nil {
				t.Fatal(err)
			}
			owner, ownerName, ownerPW := e.alice, "alice", "alice-password"
			if c.admin {
				owner, ownerName, ownerPW = e.admin, "admin", adminPassword
			}
			before := e.snapshot(m)
			// Without credentials: refused before the operation.
			if w := e.callAs("", "", c.op, c.body(e, owner, m)); w.Code != http.StatusUnauthorized {
				t.Errorf("without credentials: HTTP %d", w.Code)
			}
			want(t, "nothing changed without credentials", e.snapshot(m), before)
			refused := answer(t, SOAP11, c.op, e.callAs("bob", "bob-password", c.op, c.body(e, owner, m)))
			want(t, "refused", refused, c.refused)
			want(t, "nothing changed", e.snapshot(m), before)
			missing := answer(t, SOAP11, c.op, e.callAs("admin", adminPassword, c.op, c.body(e, 999999, 999999)))
			if !strings.HasPrefix(c.op, "Download") && !strings.HasSuffix(c.op, "TrackRecord") && !strings.HasSuffix(c.op, "TrackRecords") {
				want(t, "as for a user that does not exist", refused, missing)
			}
			allowed := answer(t, SOAP11, c.op, e.callAs(ownerName, ownerPW, c.op, c.body(e, owner, m)))
			if allowed == c.refused {
				t.Errorf("as %s: %q, the refusal", ownerName, allowed)
			}
		})
	}
}

// addRoute stores a route to bob for DisabledInboudRoute.
func (e *env) addRoute() {
	r, err := e.store.CreateRoute(context.Background(), core.Route{UserID: e.bob, Active: true, Priority: 1,
		Cond1: core.RouteCondition{Field: core.RouteRoutingDigits, Value: "77"}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.route = r.ID
}

// TestDomainAdminScope: a domain administrator acts for the users of its
// domain, not for others and not for a system administrator in it.
func TestDomainAdminScope(t *testing.T) {
	e := newEnv(t, SOAP11)
	ctx := context.Background()
	mk := func(name string, admin bool, role string) int64 {
		u, err := e.store.CreateUser(ctx, core.NewUser{Username: name, Password: name + "-password", Domain: "sales",
			Admin: admin, Profile: core.UserProfile{Role: role}})
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	dana := mk("dana", true, core.RoleDomainAdmin)
	sid := mk("sid", false, "")
	sysop := mk("sysop", true, core.RoleSystemAdmin)
	ms := e.submit(sid, false, "5550101")
	ma := e.submit(e.alice, false, "5550102")
	mo := e.submit(sysop, false, "5550103")
	as := func(op, body string) string {
		t.Helper()
		return answer(t, SOAP11, op, e.callAs("dana", "dana-password", op, body))
	}
	for _, tc := range []struct{ what, op, body, want string }{
		{"own domain's message", "GetMessageStatus", `<msgID>` + id(ms) + `</msgID>`, "Queued"},
		{"another domain's message", "GetMessageStatus", `<msgID>` + id(ma) + `</msgID>`, "MESSAGE_NOT_FOUND"},
		{"a system admin's message in the domain", "GetMessageStatus", `<msgID>` + id(mo) + `</msgID>`, "MESSAGE_NOT_FOUND"},
		{"list for sid", "GetMessageList8", `<userID>` + id(sid) + `</userID><folderName>outbox</folderName><sortDescending>false</sortDescending><maxResults>10</maxResults>`, "non-empty"},
		{"list for alice", "GetMessageList8", `<userID>` + id(e.alice) + `</userID><folderName>outbox</folderName><sortDescending>false</sortDescending><maxResults>10</maxResults>`, "[]"},
		{"send as sid", "BasicSendMessageWithBytes", `<userID>` + id(sid) + `</userID><recpAddress><string>5550101</string></recpAddress><documentBytes><anyType xsi:type="xsd:base64Binary">` + b64(fixture(t, "three.tif")) + `</anyType></documentBytes>`, "a message ID"},
		{"send as alice", "BasicSendMessageWithBytes", `<userID>` + id(e.alice) + `</userID><recpAddress><string>5550101</string></recpAddress><documentBytes><anyType xsi:type="xsd:base64Binary">` + b64(fixture(t, "three.tif")) + `</anyType></documentBytes>`, "INVALID_USER"},
		{"act as the system admin", "CreateNewUser1", `<userID>` + id(e.admin) + `</userID><domainName>default</domainName><userName>eve</userName><password>eve-password</password><role>SystemAdmin</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive>`, "INVALID_ADMIN"},
		{"act as sales' system admin", "CreateNewUser1", `<userID>` + id(sysop) + `</userID><domainName>sales</domainName><userName>eve</userName><password>eve-password</password><role>SystemAdmin</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive>`, "INVALID_ADMIN"},
		{"delegate for alice", "DelegateMessage", strings.Replace(sendXML(dana, fixture(t, "three.tif"), "5550101"), `<userID>`+id(dana)+`</userID>`, `<delegateUserID>`+id(dana)+`</delegateUserID><userName>alice</userName>`, 1), "INVALID_DELEGATOR"},
		{"users of sales", "GetUserListWithDomainName", `<adminID>` + id(dana) + `</adminID><domainName>sales</domainName>`, "non-empty"},
		{"users of default", "GetUserListWithDomainName", `<adminID>` + id(dana) + `</adminID><domainName>default</domainName>`, "[]"},
		{"routes of other domains", "SearchIBRouteRules", `<adminID>` + id(dana) + `</adminID><input></input>`, "no alice"},
		{"activate carol (sales)", "ActivateUser", `<adminID>` + id(dana) + `</adminID><userID>` + id(e.carol) + `</userID>`, "OK"},
	} {
		if tc.what == "routes of other domains" {
			if _, err := e.store.CreateRoute(ctx, core.Route{UserID: e.alice, Active: true, Priority: 1,
				Cond1: core.RouteCondition{Field: core.RouteRoutingDigits, Value: "4242"}}); err != nil {
				t.Fatal(err)
			}
		}
		got := as(tc.op, tc.body)
		switch tc.want {
		case "non-empty":
			if got == "[]" {
				t.Errorf("%s: empty", tc.what)
			}
		case "a message ID":
			if _, err := parseLong(got); err != nil {
				t.Errorf("%s: %q", tc.what, got)
			}
		case "no alice":
			if strings.Contains(got, "4242") || strings.Contains(got, "alice") {
				t.Errorf("%s: %s", tc.what, got)
			}
		default:
			if got != tc.want {
				t.Errorf("%s: %q, want %q", tc.what, got, tc.want)
			}
		}
	}
	if _, err := e.store.UserByName(ctx, "eve"); err == nil {
		t.Error("eve was created")
	}
}

// gatedStore counts password checks (the bcrypt comparisons) and holds
// each until the gate opens.
type gatedStore struct {
	core.Store
	checks atomic.Int32
	gate   chan struct{}
}

func (s *gatedStore) Authenticate(ctx context.Context, name, pw string) (core.User, error) {
	s.checks.Add(1)
	<-s.gate
	return s.Store.Authenticate(ctx, name, pw)
}

// TestParallelWrongLogins sends 20 wrong Basic logins for admin at once
// from one address: at most 5 (the pair limit) reach the password check;
// the right password sent after them is refused until the back-off has
// passed, while the admin logs in from another address at once.
func TestParallelWrongLogins(t *testing.T) {
	e := newEnv(t, SOAP11)
	gs := &gatedStore{Store: e.store, gate: make(chan struct{})}
	h, err := NewHandler(Config{Store: gs, Now: e.clock.Now, Logger: e.h.cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	status := func(addr, pw string) int {
		return e.callFrom(addr, "admin", pw, "ServerStatus", ``).Code
	}
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range 19 {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = status("127.0.0.2", fmt.Sprintf("guess-%d", i)) }()
	}
	// Each guess is in the password check or waiting for those that are.
	for int(gs.checks.Load())+h.cfg.Logins.Waiting() < 19 {
		time.Sleep(time.Millisecond)
	}
	wg.Add(1)
	go func() { defer wg.Done(); codes[19] = status("127.0.0.2", adminPassword) }()
	for int(gs.checks.Load())+h.cfg.Logins.Waiting() < 20 {
		time.Sleep(time.Millisecond)
	}
	close(gs.gate)
	wg.Wait()
	if n := gs.checks.Load(); n > 5 {
		t.Fatalf("%d of 20 parallel logins reached the password check, want at most 5", n)
	}
	for i, c := range codes {
		if c != http.StatusUnauthorized {
			t.Errorf("login %d: HTTP %d", i, c)
		}
	}
	checks := gs.checks.Load()
	want(t, "right password during the back-off", status("127.0.0.2", adminPassword), http.StatusUnauthorized)
	want(t, "not checked", gs.checks.Load(), checks)
	want(t, "admin from another address", status("127.0.0.1", adminPassword), http.StatusOK)
	e.clock.t = e.clock.t.Add(30 * time.Second)
	want(t, "after the back-off", status("127.0.0.2", adminPassword), http.StatusOK)
}

// TestGuessesElsewhereDoNotLockOutAdmin: guesses at admin's password
// from many addresses, by Basic credentials and AuthenticateUser, leave
// the admin's own address able to log in.
func TestGuessesElsewhereDoNotLockOutAdmin(t *testing.T) {
	e := newEnv(t, SOAP11)
	for i := range 40 {
		addr := fmt.Sprintf("127.0.0.%d", 2+i%20)
		w := e.callFrom(addr, "admin", "guess", "ServerStatus", ``)
		want(t, "guess", w.Code, http.StatusUnauthorized)
		w = e.callFrom(addr, "bob", "bob-password", "AuthenticateUser", `<userName>admin</userName><password>guess</password>`)
		want(t, "AuthenticateUser guess", parseResponse(t, SOAP11, "AuthenticateUser", w).result(), "1")
	}
	w := e.callFrom("127.0.0.2", "admin", adminPassword, "ServerStatus", ``)
	want(t, "a guessing address", w.Code, http.StatusUnauthorized)
	w = e.callFrom("127.0.0.1", "admin", adminPassword, "ServerStatus", ``)
	want(t, "admin's address", parseResponse(t, SOAP11, "ServerStatus", w).result(), "OK")
	w = e.callFrom("127.0.0.1", "bob", "bob-password", "AuthenticateUser", `<userName>admin</userName><password>`+adminPassword+`</password>`)
	want(t, "AuthenticateUser from admin's address", parseResponse(t, SOAP11, "AuthenticateUser", w).result(), id(e.admin))
}
