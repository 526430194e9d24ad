package soap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/faxagent/faxagent/core"
)

// priority maps FaxCore's priority to core's three levels; a missing
// (0) priority is normal, as in the guide.
func priority(p int) (int, error) {
	switch {
	case p == 0:
		return core.PriorityNormal, nil
	case p < 0:
		return 0, clientErrorf("priority %d", p)
	case p >= core.PriorityHigh:
		return core.PriorityHigh, nil
	case p >= core.PriorityNormal:
		return core.PriorityNormal, nil
	}
	return core.PriorityLow, nil
}

func at[T any](s []T, i int) T {
	var zero T
	if i < len(s) {
		return s[i]
	}
	return zero
}

// sendRequest is what every send operation reads, whatever its shape.
type sendRequest struct {
	sub      core.Submission
	tracks   []Track
	tiffOnly bool
	cover    bool // useDefaultCP: the default cover page goes first
}

// readSend reads the parameters the operation's WSDL declares and builds a
// submission; nothing is stored here.
func (h *Handler) readSend(ctx context.Context, c *call) (sendRequest, error) {
	var s sendRequest
	get := func(name string) string {
		if c.declared(name) {
			return c.str(name)
		}
		return ""
	}
	s.sub.SenderName = get("senderName")
	s.sub.SenderCompany = get("senderCompName")
	s.sub.Subject = get("subject")
	s.sub.Note = get("note")
	s.sub.BillingCode = get("billingCode")
	sched := get("scheduleDate")
	prio := 0
	if c.declared("priority") {
		prio = c.int("priority")
		s.sub.Hold = c.bool("isOnHold")
		c.bool("mss")
		c.bool("msf")
	}
	labels, values := c.strs("trackLabel"), c.strs("trackValue")
	names, addrs := c.strs("recpName"), c.strs("recpAddress")
	c.bools("recpRawFax")
	var comps []string
	if c.declared("recpCompName") {
		comps = c.strs("recpCompName")
		c.strs("recpNotifyAddr")
		c.bools("recpIsRRFOn")
		c.bools("recpIsRRSOn")
	}
	docNames := c.strs("documentName")
	var docPaths []string
	if c.declared("documentPath") {
		docPaths = c.strs("documentPath")
	}
	docBytes := c.anys("documentBytes")
	c.bools("documentIsMerge")
	if c.declared("agentID") {
		// The agent is an enrolled agent's integer ID; one the core does
		// not know fails the send at once (Submit: a Client fault naming
		// it), rather than queueing a job no agent will ever claim.
		agents, types, values := c.ints("agentID"), c.ints("presetType"), c.ints("presetValue")
		if len(types) > 0 && types[0] != 0 {
			pt := core.PresetType(types[0])
			v := strconv.Itoa(at(values, 0))
			switch pt {
			case core.PresetPort:
				v = "M0," + v // a port number names channel v of the first board
			case core.PresetGroup:
			default:
				return s, clientErrorf("presetType %d (want 1 = port or 2 = port group)", types[0])
			}
			s.sub.Preset = core.Preset{Type: pt, Value: v}
		}
		switch a := at(agents, 0); {
		case a < 0:
			return s, clientErrorf("agentID %d", a)
		case a > 0:
			s.sub.Preset.Agent = strconv.Itoa(a)
		}
	}
	if c.declared("byPassRender") {
		s.tiffOnly = c.bool("byPassRender")
	}
	if c.err != nil {
		return s, nil
	}
	p, err := priority(prio)
	if err != nil {
		return s, err
	}
	s.sub.Priority = p
	if strings.TrimSpace(sched) != "" {
		t, _, err := parseDate(sched, h.cfg.Location)
		if err != nil {
			return s, clientErrorf("scheduleDate: %v", err)
		}
		s.sub.Schedule = t
	}
	for i, l := range labels {
		if l != "" || at(values, i) != "" {
			s.tracks = append(s.tracks, Track{ID: int64(i + 1), Label: l, Value: at(values, i)})
		}
	}
	if len(addrs) == 0 {
		return s, clientErrorf("no recipients (recpAddress is empty)")
	}
	if len(addrs) > core.MaxRecipients {
		return s, clientErrorf("%d recipients (at most %d)", len(addrs), core.MaxRecipients)
	}
	for i, a := range addrs {
		if strings.Contains(a, "@") {
			return s, clientErrorf("recipient %d: e-mail addresses are not supported", i+1)
		}
		n, err := core.NormalizeFax(a)
		if err != nil {
			return s, clientErrorf("recipient %d: %q is not a fax number", i+1, a)
		}
		s.sub.Recipients = append(s.sub.Recipients, core.Recipient{Name: at(names, i), Company: at(comps, i), Fax: n})
	}
	nd := max(len(docNames), len(docPaths), len(docBytes))
	if nd == 0 {
		return s, clientErrorf("no documents")
	}
	if nd > core.MaxDocuments {
		return s, clientErrorf("%d documents (at most %d)", nd, core.MaxDocuments)
	}
	for i := 0; i < nd; i++ {
		d, err := h.document(ctx, i, at(docNames, i), at(docBytes, i), at(docPaths, i), s.tiffOnly)
		if err != nil {
			return s, err
		}
		s.sub.Documents = append(s.sub.Documents, d)
	}
	return s, nil
}

// submit stores a send request for its owner and answers its message ID.
func (h *Handler) submit(ctx context.Context, owner core.User, s sendRequest) (result, error) {
	s.sub.OwnerID = owner.ID
	if s.cover {
		d, err := h.coverPage(ctx, s.sub)
		if err != nil {
			return result{}, err
		}
		s.sub.Documents = append([]core.DocumentInput{d}, s.sub.Documents...)
	}
	// A store that keeps tracking records itself stores them with the
	// message, in one transaction.
	native := h.nativeTracks
	if native {
		s.sub.Tracks = s.tracks
	}
	if err := ctx.Err(); err != nil {
		// The client is gone: it would not learn of the message, and a
		// retry would store it twice.
		return result{}, err
	}
	md, err := h.cfg.Store.Submit(ctx, s.sub)
	if errors.Is(err, core.ErrInvalid) || errors.Is(err, core.ErrTooLarge) {
		return result{}, clientErrorf("%v", err)
	}
	if err != nil {
		return result{}, err
	}
	if len(s.tracks) > 0 && !native {
		if ts, ok := h.cfg.Tracks, h.cfg.Tracks != nil; ok {
			if err := ts.SetTracks(ctx, md.ID, s.tracks); err != nil {
				return result{}, fmt.Errorf("message %d stored, tracking not: %w", md.ID, err)
			}
		} else {
			h.cfg.Logger.Warn("soap: tracking fields not stored: the store keeps no tracking records", "msg", md.ID)
		}
	}
	return strResult(strconv.FormatInt(md.ID, 10)), nil
}

func (h *Handler) opSend(ctx context.Context, c *call) (result, error) {
	uid := c.long("userID")
	s, err := h.readSend(ctx, c)
	if err != nil || c.err != nil {
		return result{}, err
	}
	owner, ok, err := h.activeUser(ctx, uid)
	if err != nil || !ok {
		return strResult(resInvalidUser), err
	}
	return h.submit(ctx, owner, s)
}

func (h *Handler) opDelegateMessage(ctx context.Context, c *call) (result, error) {
	delegate := c.long("delegateUserID")
	ownerName := c.str("userName")
	s, err := h.readSend(ctx, c)
	if err != nil || c.err != nil {
		return result{}, err
	}
	// Only an administrator may send on behalf of another user: core
	// has no per-user delegation lists.
	mgr, ok, err := h.manager(ctx, delegate)
	if err != nil || !ok {
		return strResult(resInvalidDelegate), err
	}
	owner, err := h.cfg.Store.UserByName(ctx, ownerName)
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) || err == nil && !owner.Active {
		return strResult(resInvalidUser), nil
	}
	if err == nil && !manages(mgr, owner.DomainID, owner.Role) {
		// A domain administrator sends for its own domain's users only.
		return strResult(resInvalidDelegate), nil
	}
	if err != nil {
		return result{}, err
	}
	return h.submit(ctx, owner, s)
}

// MsgRecipient address types (SendMixedMode).
const (
	addrEmail  = 1
	addrFax    = 2
	addrRawFax = 9
)

func (h *Handler) opSendMixedMode(ctx context.Context, c *call) (result, error) {
	var s sendRequest
	uidText := c.str("userID")
	s.sub.SenderName, s.sub.SenderCompany = c.str("senderName"), c.str("senderCompName")
	s.sub.Subject, s.sub.Note, s.sub.BillingCode = c.str("subject"), c.str("note"), c.str("billingCode")
	prio, sched := c.int("priority"), c.str("scheduleDate")
	s.sub.Hold = c.bool("isOnHold")
	for _, n := range []string{"mss", "msf", "useDefaultNotify"} {
		c.bool(n)
	}
	s.cover = c.bool("useDefaultCP")
	docs := c.complexItems("documents", "tns:ArrayOfMsgDocument", "MsgDocument")
	recps := c.complexItems("recipients", "tns:ArrayOfMsgRecipient", "MsgRecipient")
	tracks := c.complexItems("trackings", "tns:ArrayOfMsgTracking", "MsgTracking")
	if c.err != nil {
		return result{}, nil
	}
	uid, ok := parseID(uidText)
	if !ok {
		return strResult(resInvalidUser), nil
	}
	p, err := priority(prio)
	if err != nil {
		return result{}, err
	}
	s.sub.Priority = p
	if strings.TrimSpace(sched) != "" {
		t, _, err := parseDate(sched, h.cfg.Location)
		if err != nil {
			return result{}, clientErrorf("scheduleDate: %v", err)
		}
		s.sub.Schedule = t
	}
	for i, n := range tracks {
		s.tracks = append(s.tracks, Track{ID: int64(i + 1), Label: fieldStr(n, "TrackLabel"), Value: fieldStr(n, "TrackValue")})
	}
	if len(recps) == 0 || len(recps) > core.MaxRecipients {
		return result{}, clientErrorf("%d recipients (want 1 to %d)", len(recps), core.MaxRecipients)
	}
	for i, n := range recps {
		t, err := fieldLong(n, "AddressType")
		if err != nil {
			return result{}, clientErrorf("recipient %d: AddressType: %v", i+1, err)
		}
		switch t {
		case addrFax, addrRawFax:
		case addrEmail:
			return result{}, clientErrorf("recipient %d: e-mail recipients are not supported", i+1)
		default:
			return result{}, clientErrorf("recipient %d: AddressType %d (want 2 = fax or 9 = raw fax)", i+1, t)
		}
		fax, err := core.NormalizeFax(fieldStr(n, "Address"))
		if err != nil {
			return result{}, clientErrorf("recipient %d: %q is not a fax number", i+1, fieldStr(n, "Address"))
		}
		s.sub.Recipients = append(s.sub.Recipients, core.Recipient{Name: fieldStr(n, "Name"), Company: fieldStr(n, "CompName"), Fax: fax})
	}
	if len(docs) == 0 || len(docs) > core.MaxDocuments {
		return result{}, clientErrorf("%d documents (want 1 to %d)", len(docs), core.MaxDocuments)
	}
	for i, n := range docs {
		if rm, err := fieldBool(n, "RemoveFirstPage"); err != nil || rm {
			return result{}, clientErrorf("document %d: RemoveFirstPage is not supported", i+1)
		}
		if fieldStr(n, "OverlayTemplateName") != "" {
			return result{}, clientErrorf("document %d: overlay templates are not supported", i+1)
		}
		var body []byte
		if b := n.child("Bytes"); b != nil && !b.Nil {
			body, err = decodeBase64(b.Text)
			if err != nil {
				return result{}, clientErrorf("document %d: Bytes: %v", i+1, err)
			}
		}
		d, err := h.document(ctx, i, fieldStr(n, "Name"), body, fieldStr(n, "Path"), false)
		if err != nil {
			return result{}, err
		}
		s.sub.Documents = append(s.sub.Documents, d)
	}
	owner, ok, err := h.activeUser(ctx, uid)
	if err != nil || !ok {
		return strResult(resInvalidUser), err
	}
	return h.submit(ctx, owner, s)
}

func (h *Handler) opDownload(ctx context.Context, c *call) (result, error) {
	var (
		m   core.MessageDetails
		ok  bool
		err error
		seq int
	)
	var exclude []int
	if c.declared("excludePageList") {
		exclude = c.ints("excludePageList")
	}
	format, start := c.str("downloadType"), c.int("startPageIndex")
	if c.declared("messageID") {
		id, num := c.str("messageID"), c.int("deliveryNum")
		if c.err != nil {
			return result{}, nil
		}
		m, ok, err = h.message(ctx, id)
		seq = max(num, 1) // a missing deliveryNum is the first delivery
	} else {
		jid, good := parseID(c.str("deliveryID"))
		if c.err != nil {
			return result{}, nil
		}
		if good {
			// A delivery ID is a transaction (job) ID; an inbound
			// message's only delivery is the message itself.
			j, jerr := h.cfg.Store.Job(ctx, jid)
			switch {
			case jerr == nil:
				m, ok, err = h.messageByID(ctx, j.MessageID)
				seq = j.Seq
			case errors.Is(jerr, core.ErrNotFound):
				m, ok, err = h.messageByID(ctx, jid)
				ok = ok && m.Direction == core.Inbound
				seq = 1
			default:
				err = jerr
			}
		}
	}
	if err != nil || !ok {
		return result{kind: resString, str: resNotFound, hasOut: true}, err
	}
	if m.Direction == core.Inbound && seq != 1 || m.Direction == core.Outbound && !hasSeq(m, seq) {
		return result{kind: resString, str: resNotFound, hasOut: true}, nil
	}
	b, err := h.render(ctx, m.Documents, format, start, exclude)
	if errors.Is(err, errNoPages) {
		return result{}, clientErrorf("%s: no pages from startPageIndex %d", c.op, start)
	}
	if err != nil {
		return result{}, err
	}
	return result{kind: resString, hasOut: true, output: b}, nil
}

func hasSeq(m core.MessageDetails, seq int) bool {
	for _, j := range m.Jobs {
		if j.Seq == seq {
			return true
		}
	}
	return false
}
