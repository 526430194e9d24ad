package soap

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/core"
)

// xmlDoc builds the XML documents FaxCore returns as strings
// (MessageDetails, UserDetails, ...), in XmlSerializer's shape: an XML
// declaration, xsi/xsd namespace declarations on the root, empty values
// as <Name />.
type xmlDoc struct {
	b     bytes.Buffer
	depth int
}

func newXMLDoc(root string) *xmlDoc {
	d := &xmlDoc{}
	d.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n<" + root +
		` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`)
	d.depth = 1
	return d
}

func (d *xmlDoc) indent() {
	d.b.WriteByte('\n')
	for i := 0; i < d.depth; i++ {
		d.b.WriteString("  ")
	}
}

func (d *xmlDoc) open(name string) {
	d.indent()
	d.b.WriteString("<" + name + ">")
	d.depth++
}

func (d *xmlDoc) close(name string) {
	d.depth--
	d.indent()
	d.b.WriteString("</" + name + ">")
}

func (d *xmlDoc) el(name, v string) {
	d.indent()
	writeString(&d.b, name, v)
}

func (d *xmlDoc) num(name string, v int64) { d.el(name, strconv.FormatInt(v, 10)) }

func (d *xmlDoc) end(root string) string {
	d.b.WriteString("\n</" + root + ">")
	return d.b.String()
}

// dotnetTime formats a time as FaxCore shows it (12/5/2014 4:49:29 PM);
// the zero time is "".
func dotnetTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("1/2/2006 3:04:05 PM")
}

// dotnetBool is .NET's bool.ToString().
func dotnetBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func jobStatusDef(s core.JobState) string {
	switch s {
	case core.JobHeld:
		return "On Hold"
	case core.JobQueued:
		return "Queued"
	case core.JobLeased:
		return "Sending"
	case core.JobDone:
		return "Completed"
	case core.JobFailed:
		return "Failed"
	case core.JobCancelled:
		return "Cancelled"
	}
	return string(s)
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// messageView is what the MessageDetails document needs besides the
// message.
type messageView struct {
	m         core.MessageDetails
	ownerName string
	ownerDom  string
	tracks    []Track
	second    bool // MessageDetails2: CreatedDate spelling and IsRead
	loc       *time.Location
}

func (v *messageView) transmission(d *xmlDoc, t core.Transmission) {
	created := "CreateDate"
	if v.second {
		created = "CreatedDate"
	}
	d.open("TransmissionDetails")
	d.num("TransmissionID", t.ID)
	d.el(created, dotnetTime(t.CreateDate, v.loc))
	d.el("ScheduleDate", dotnetTime(t.ScheduleDate, v.loc))
	d.el("CompleteDate", dotnetTime(t.CompleteDate, v.loc))
	d.el("CallingNumber", t.CallingNumber)
	d.el("CalledNumber", t.CalledNumber)
	d.el("RemoteCSID", t.RemoteCSID)
	d.el("RoutingInfo", t.RoutingInfo)
	d.el("FaxProtocol", t.FaxProtocol)
	d.num("TransmitSpeed", int64(t.TransmitSpeed))
	d.el("CompressionMode", t.CompressionMode)
	d.el("CallDuration", secs(t.CallDuration))
	d.el("TransmitDuration", secs(t.TransmitDuration))
	d.el("FaxResolution", t.FaxResolution)
	d.num("TransmitStatus", int64(t.TransmitStatus))
	d.el("TransmitStatusDef", t.TransmitStatusDef)
	d.num("AttemptNo", int64(t.AttemptNo))
	d.num("MaxAttemptNo", int64(t.MaxAttemptNo))
	d.num("PageCount", int64(t.PageCount))
	d.num("StartPageNo", int64(t.StartPageNo))
	d.num("PageSent", int64(t.PageSent))
	d.el("FaxAgentID", t.FaxAgentID)
	d.num("PortNo", int64(t.PortNo))
	d.el("BoardID", t.BoardID)
	d.el("ServerIP", t.ServerIP)
	d.num("ErrorID", int64(t.ErrorID))
	d.el("ErrorInfo", t.ErrorInfo)
	d.close("TransmissionDetails")
}

type transaction struct {
	id, docID       int64
	seq             int
	errID           int
	errInfo         string
	name, company   string
	address         string
	attempts        []core.Transmission
	pageCount, sent int
	status          string
	remoteCSID      string
	speed           int
	created, done   time.Time
}

func (v *messageView) transaction(d *xmlDoc, t transaction) {
	created := "CreateDate"
	if v.second {
		created = "CreatedDate"
	}
	var total time.Duration
	for _, a := range t.attempts {
		total += a.TransmitDuration
	}
	d.open("TransactionDetails")
	d.num("TransactionID", t.id)
	d.num("DocumentID", t.docID)
	d.num("AddressTypeID", 2)
	d.el("AddressTypeDef", "FAX")
	d.num("TransactionSeq", int64(t.seq))
	d.num("TransactionTypeID", 301)
	d.el("TransactionTypeDef", "To")
	d.num("TransmitErrorID", int64(t.errID))
	d.el("TransmitErrorInfo", t.errInfo)
	d.el("RecipientName", t.name)
	d.el("RecipientCompanyName", t.company)
	d.el("MessageDisplayAddress", t.address)
	d.num("NumberOfAttempts", int64(len(t.attempts)))
	d.num("PageCount", int64(t.pageCount))
	d.num("PageSent", int64(t.sent))
	d.el("TransactionStatusDef", t.status)
	d.el("LocalCSID", "")
	d.el("RemoteCSID", t.remoteCSID)
	d.num("TransmitSpeed", int64(t.speed))
	d.el("TotalTransmitTime", secs(total)+" sec")
	d.el(created, dotnetTime(t.created, v.loc))
	d.el("CompleteDate", dotnetTime(t.done, v.loc))
	d.open("Attempts")
	for _, a := range t.attempts {
		v.transmission(d, a)
	}
	d.close("Attempts")
	d.close("TransactionDetails")
}

// messageDetailsXML is GetMessageDetails1's (and, with second set,
// GetMessageDetails2's) document.
func (v *messageView) xml() string {
	root := "MessageDetails"
	if v.second {
		root = "MessageDetails2"
	}
	m := v.m
	d := newXMLDoc(root)
	d.num("MessageID", m.ID)
	d.num("MessageNo", m.ID)
	d.el("OwnerName", v.ownerName)
	d.el("OwnerDomain", v.ownerDom)
	if m.Direction == core.Inbound {
		d.el("MessageType", "Inbound")
	} else {
		d.el("MessageType", "Outbound")
	}
	d.el("Subject", m.Subject)
	var tr []string
	for _, t := range v.tracks {
		tr = append(tr, t.Label+"="+t.Value)
	}
	d.el("Tracking", strings.Join(tr, ";"))
	d.num("TotalDocuments", int64(len(m.Documents)))
	var docID int64
	pages := 0
	for _, doc := range m.Documents {
		if docID == 0 {
			docID = doc.ID
		}
		pages += doc.Pages
	}
	txs := []transaction{}
	if m.Direction == core.Inbound {
		t := transaction{id: m.ID, docID: docID, seq: 1, name: v.ownerName, address: "FAXCORE",
			attempts: m.Received, pageCount: pages, sent: pages, status: "Completed",
			created: m.Created, done: m.Completed}
		if n := len(m.Received); n > 0 {
			a := m.Received[n-1]
			t.id, t.remoteCSID, t.speed, t.errID, t.errInfo = a.ID, a.RemoteCSID, a.TransmitSpeed, a.ErrorID, a.ErrorInfo
			if a.PageCount > 0 {
				t.pageCount, t.sent = a.PageCount, a.PageSent
			}
		}
		txs = append(txs, t)
	} else {
		for _, j := range m.Jobs {
			pc := j.PageCount
			if pc == 0 {
				pc = pages
			}
			txs = append(txs, transaction{id: j.ID, docID: docID, seq: j.Seq, errID: j.ErrorID, errInfo: j.ErrorText,
				name: j.Recipient.Name, company: j.Recipient.Company, address: j.Recipient.Fax,
				attempts: j.Attempts, pageCount: pc, sent: j.PagesSent, status: jobStatusDef(j.State),
				remoteCSID: j.RemoteCSID, speed: j.Speed, created: j.Created, done: j.Completed})
		}
	}
	d.num("TotalTransactions", int64(len(txs)))
	complete := 0
	for _, t := range txs {
		if t.status == "Completed" || t.status == "Failed" || t.status == "Cancelled" {
			complete++
		}
	}
	d.num("TotalComplete", int64(complete))
	d.num("ProcessCount", int64(len(txs)-complete))
	d.el("CreateDate", dotnetTime(m.Created, v.loc))
	sched := m.Schedule
	if sched.IsZero() {
		sched = m.Created
	}
	d.el("ScheduleDate", dotnetTime(sched, v.loc))
	d.el("CompleteDate", dotnetTime(m.Completed, v.loc))
	d.el("ApprovalRequired", "")
	d.el("ApprovalUsers", "")
	d.el("Barcodes", "")
	d.open("Transactions")
	for _, t := range txs {
		v.transaction(d, t)
	}
	d.close("Transactions")
	d.el("Status", m.Status)
	d.el("BillingCode", m.BillingCode)
	if v.second {
		d.el("IsRead", dotnetBool(m.Read))
	}
	return d.end(root)
}

func roleName(u core.User) string {
	switch u.Role {
	case core.RoleSystemAdmin:
		return "SYSTEM ADMIN"
	case core.RoleDomainAdmin:
		return "DOMAIN ADMIN"
	case core.RoleSuperUser:
		return "SUPER USER"
	case core.RoleStandardUser:
		return "STANDARD USER"
	}
	if u.Admin {
		return "SYSTEM ADMIN"
	}
	return "STANDARD USER"
}

// userDetailsXML is GetUserDetails*'s document; p is the stored profile
// (zero when the store keeps none).
func userDetailsXML(u core.User, p core.UserProfile) string {
	d := newXMLDoc("UserDetails")
	d.num("UserID", u.ID)
	d.el("UserName", u.Username)
	d.el("DisplayName", u.FullName)
	first, middle, last := p.FirstName, p.MiddleName, p.LastName
	if first == "" && middle == "" && last == "" {
		first, last, _ = strings.Cut(u.FullName, " ")
	}
	d.el("FirstName", first)
	d.el("MiddleName", middle)
	d.el("LastName", last)
	prefer := strings.ToUpper(p.PreferAddrType)
	addrs := userAddresses(u, p)
	if prefer == "" && len(addrs) > 0 {
		prefer = addrs[0].typ
	}
	d.el("PreferAddressType", prefer)
	if len(addrs) == 0 {
		d.el("Addresses", "")
	} else {
		primary := 0
		for i, a := range addrs {
			if a.typ == prefer {
				primary = i
				break
			}
		}
		d.open("Addresses")
		for i, a := range addrs {
			d.open("UserAddress")
			d.num("AddressID", a.id)
			d.el("AddressType", a.typ)
			d.el("Address", a.addr)
			d.el("IsPrimary", strconv.FormatBool(i == primary))
			d.el("NotifyOnReceive", strconv.FormatBool(i == primary && p.NotifyReceive))
			d.el("NotifyOnSend", strconv.FormatBool(i == primary && p.NotifySend))
			d.close("UserAddress")
		}
		d.close("Addresses")
	}
	d.el("Role", roleName(u))
	d.el("AuthenticationType", "Internal")
	d.el("IsActive", strconv.FormatBool(u.Active))
	d.el("Description", p.Description)
	return d.end("UserDetails")
}

type userAddress struct {
	id        int64
	typ, addr string
}

// userAddresses are a user's e-mail, fax and raw fax addresses, those that
// are set, with IDs unique per user (the e-mail address keeps the user's
// ID, as before fax addresses were kept).
func userAddresses(u core.User, p core.UserProfile) []userAddress {
	var out []userAddress
	for i, a := range []userAddress{{typ: "EMAIL", addr: u.Email}, {typ: "FAX", addr: p.Fax}, {typ: "FAXRAW", addr: p.RawFax}} {
		if a.addr != "" {
			a.id = u.ID*10 + int64(i)
			if i == 0 {
				a.id = u.ID
			}
			out = append(out, a)
		}
	}
	return out
}

// userFaxSettingXML is GetUserFaxSetting*'s document: the settings every
// user has in faxagent (they are agent-wide, not per user).
func userFaxSettingXML(u core.User, p core.UserProfile) string {
	d := newXMLDoc("UserFaxSetting")
	d.num("UserID", u.ID)
	d.el("CountryCode", "")
	d.el("AreaCode", "")
	d.el("DialPrefix", "")
	d.el("DialPrefixRule", "Use agent configuration only")
	d.el("DialSuffix", "")
	d.el("DialSuffixRule", "Use agent configuration only")
	d.el("LocalCSID", p.LocalCSID)
	d.el("LocalCallerID", p.CallerID)
	d.el("LocalNumber", "")
	d.el("DefaultSendFaxFormat", "Fax")
	d.el("EmailSendNotifyFormat", "")
	d.el("EmailSendAttachMaxSize", "")
	d.el("Resolution", "Standard (204x98dpi)")
	d.el("FaxHeader", "")
	d.el("PageSendLimit", "0")
	d.el("AllowFaxRecvPartially", "Yes")
	d.el("EmailRecvNotifyFormat", "")
	d.el("EmailRecvAttachMaxSize", "")
	d.el("UnassignedMessageUser", "unrouted")
	d.el("DefaultSendCoverPage", "default") // the cover page useDefaultCP puts first
	return d.end("UserFaxSetting")
}

var routeFieldNames = map[core.RouteField]string{
	core.RouteRoutingDigits: "Routing Digit",
	core.RouteRemoteCSID:    "Remote CSID",
	core.RouteCallerID:      "Remote Caller ID",
	core.RoutePortNo:        "Fax Port No",
}

// routeByString renders a rule's conditions as FaxCore does:
// [Remote CSID] = 'ROBOFAX'.
func routeByString(r core.Route) string {
	cond := func(c core.RouteCondition) string {
		name := routeFieldNames[c.Field]
		if name == "" {
			name = string(c.Field)
		}
		return "[" + name + "] = '" + c.Value + "'"
	}
	s := cond(r.Cond1)
	if r.Cond2.Field != "" && r.Cond2.Field != core.RouteNone {
		op := " OR "
		if r.And {
			op = " AND "
		}
		s += op + cond(r.Cond2)
	}
	return s
}

type ruleView struct {
	r       core.Route
	forward string // "NAME (DOMAIN)"
}

func rulesXML(rules []ruleView) string {
	d := newXMLDoc("Rules")
	d.open("IBRouteRules")
	for _, v := range rules {
		d.open("IBRouteRule")
		d.num("RouteID", v.r.ID)
		d.el("RouteByString", routeByString(v.r))
		d.el("ForwardAddress", v.forward)
		d.el("IsTimeBasedRouting", "false")
		d.el("IsLoopBack", "false")
		d.el("IsActive", strconv.FormatBool(v.r.Active))
		d.num("Priority", int64(v.r.Priority))
		d.close("IBRouteRule")
	}
	d.close("IBRouteRules")
	return d.end("Rules")
}
