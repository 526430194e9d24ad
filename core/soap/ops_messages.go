package soap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/core"
)

// message loads a message by its wire ID; ok=false when there is none.
func (h *Handler) message(ctx context.Context, id string) (core.MessageDetails, bool, error) {
	n, ok := parseID(id)
	if !ok {
		return core.MessageDetails{}, false, nil
	}
	return h.messageByID(ctx, n)
}

func (h *Handler) messageByID(ctx context.Context, n int64) (core.MessageDetails, bool, error) {
	m, err := h.cfg.Store.Message(ctx, n)
	if errors.Is(err, core.ErrNotFound) {
		return core.MessageDetails{}, false, nil
	}
	if err != nil {
		return core.MessageDetails{}, false, err
	}
	ok, err := h.maySee(ctx, m.OwnerID)
	if err != nil || !ok {
		return core.MessageDetails{}, false, err
	}
	return m, true, nil
}

// owned loads a message for a user: the result string is "" when the user
// owns it, else the guide's answer.
func (h *Handler) owned(ctx context.Context, userID int64, msgID string) (core.MessageDetails, string, error) {
	if _, ok, err := h.activeUser(ctx, userID); err != nil || !ok {
		return core.MessageDetails{}, resInvalidUser, err
	}
	m, ok, err := h.message(ctx, msgID)
	if err != nil || !ok {
		return m, resNotFound, err
	}
	if m.OwnerID != userID {
		return m, resNotOwner, nil
	}
	return m, "", nil
}

func (h *Handler) view(ctx context.Context, m core.MessageDetails, second bool) (*messageView, error) {
	v := &messageView{m: m, second: second, loc: h.cfg.Location}
	if m.OwnerID == 0 {
		v.ownerName, v.ownerDom = "unrouted", ""
	} else if u, err := h.cfg.Store.User(ctx, m.OwnerID); err == nil {
		v.ownerName = u.Username
		v.ownerDom = h.domainName(ctx, u.DomainID)
	} else if !errors.Is(err, core.ErrNotFound) {
		return nil, err
	}
	if ts, ok := h.cfg.Tracks, h.cfg.Tracks != nil; ok {
		t, err := ts.Tracks(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		v.tracks = t
	}
	return v, nil
}

func (h *Handler) domainName(ctx context.Context, id int64) string {
	ds, err := h.cfg.Store.Domains(ctx)
	if err != nil {
		return ""
	}
	for _, d := range ds {
		if d.ID == id {
			return d.Name
		}
	}
	return ""
}

func (h *Handler) opGetMessageDetails1(ctx context.Context, c *call) (result, error) {
	m, ok, err := h.message(ctx, c.str("msgID"))
	if err != nil || !ok {
		return strResult(resNotFound), err
	}
	v, err := h.view(ctx, m, false)
	if err != nil {
		return result{}, err
	}
	return strResult(v.xml()), nil
}

func (h *Handler) opGetMessageDetails2(ctx context.Context, c *call) (result, error) {
	m, res, err := h.owned(ctx, c.long("userID"), c.str("msgID"))
	if err != nil || res != "" {
		return strResult(res), err
	}
	v, err := h.view(ctx, m, true)
	if err != nil {
		return result{}, err
	}
	return strResult(v.xml()), nil
}

func (h *Handler) opGetMessageStatus(ctx context.Context, c *call) (result, error) {
	m, ok, err := h.message(ctx, c.str("msgID"))
	if err != nil || !ok {
		return strResult(resNotFound), err
	}
	return strResult(m.Status), nil
}

func (h *Handler) opIsMessageDeleted(ctx context.Context, c *call) (result, error) {
	msgID := c.str("messageID")
	uid, ok := parseID(c.str("userID"))
	if !ok {
		return strResult(resInvalidUser), nil
	}
	m, res, err := h.owned(ctx, uid, msgID)
	if err != nil || res != "" {
		return strResult(res), err
	}
	return strResult(dotnetBool(m.Folder == core.FolderTrash)), nil
}

func (h *Handler) opDeleteMessage(ctx context.Context, c *call) (result, error) {
	m, res, err := h.owned(ctx, c.long("userID"), c.str("msgID"))
	if err != nil || res != "" {
		return strResult(res), err
	}
	if err := h.cfg.Store.Move(ctx, m.ID, core.FolderTrash); err != nil {
		return result{}, err
	}
	return strResult(resOK), nil
}

func (h *Handler) opCancelMessage(ctx context.Context, c *call) (result, error) {
	m, ok, err := h.message(ctx, c.str("msgID"))
	if err != nil || !ok {
		return strResult(resNotFound), err
	}
	if m.Direction != core.Outbound {
		return strResult(resCancelNotAllow), nil
	}
	cr, err := h.cfg.Store.Cancel(ctx, m.ID)
	if errors.Is(err, core.ErrState) || err == nil && cr.Cancelled+cr.Flagged == 0 {
		return strResult(resCancelNotAllow), nil
	}
	if err != nil {
		return result{}, err
	}
	return strResult(resOK), nil
}

func (h *Handler) opRetryFailed(ctx context.Context, c *call) (result, error) {
	m, ok, err := h.message(ctx, c.str("msgID"))
	if err != nil || !ok || m.Direction != core.Outbound {
		return strResult(resNotFound), err
	}
	if _, err := h.cfg.Store.RetryFailed(ctx, m.ID); err != nil && !errors.Is(err, core.ErrState) {
		return result{}, err
	}
	// A message without failed recipients has nothing to retry: OK, as
	// there is nothing left to do.
	return strResult(resOK), nil
}

// recipients resolves the user names of ForwardToUser/AssignMessage.
func (h *Handler) recipients(ctx context.Context, names []string) ([]core.User, bool, error) {
	if len(names) == 0 {
		return nil, false, nil
	}
	var out []core.User
	for _, n := range names {
		u, err := h.cfg.Store.UserByName(ctx, n)
		if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) || err == nil && !u.Active {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		out = append(out, u)
	}
	return out, true, nil
}

func (h *Handler) giveMessage(ctx context.Context, c *call, assign bool) (result, error) {
	uidText, msgID, names := c.str("userID"), c.str("msgID"), c.strs("usernames")
	if c.err != nil {
		return result{}, nil
	}
	uid, ok := parseID(uidText)
	if !ok {
		return strResult(resInvalidUser), nil
	}
	m, res, err := h.owned(ctx, uid, msgID)
	if err != nil || res != "" {
		return strResult(res), err
	}
	to, ok, err := h.recipients(ctx, names)
	if err != nil || !ok {
		return strResult(resInvalidUser), err
	}
	mc, ok := h.cfg.Copier, h.cfg.Copier != nil
	if !ok {
		return result{}, fmt.Errorf("%s needs a store that copies messages between users (soap.MessageCopier)", c.op)
	}
	// The message itself goes to the last user of an assignment; the
	// others get copies (a message has one owner here).
	if g := h.giver; g != nil {
		var copyTo []int64
		var assignTo int64
		for i, u := range to {
			if assign && i == len(to)-1 {
				assignTo = u.ID
				break
			}
			copyTo = append(copyTo, u.ID)
		}
		if _, err := g.GiveMessage(ctx, m.ID, copyTo, assignTo); err != nil {
			if errors.Is(err, core.ErrNotFound) {
				// A user deactivated or removed meanwhile.
				return strResult(resInvalidUser), nil
			}
			return result{}, err
		}
		return strResult(resOK), nil
	}
	for i, u := range to {
		if assign && i == len(to)-1 {
			// The message itself goes to the last user; the others get
			// copies (a message has one owner here).
			if err := mc.AssignMessage(ctx, m.ID, u.ID); err != nil {
				return result{}, err
			}
			break
		}
		if _, err := mc.CopyMessage(ctx, m.ID, u.ID); err != nil {
			return result{}, err
		}
	}
	return strResult(resOK), nil
}

// messageGiver gives a message to several users in one transaction
// (core's store does).
type messageGiver interface {
	GiveMessage(ctx context.Context, msgID int64, copyTo []int64, assignTo int64) ([]int64, error)
}

func (h *Handler) opForwardToUser(ctx context.Context, c *call) (result, error) {
	return h.giveMessage(ctx, c, false)
}

func (h *Handler) opAssignMessage(ctx context.Context, c *call) (result, error) {
	return h.giveMessage(ctx, c, true)
}

func (h *Handler) opMarkRead(read bool) opFunc {
	return func(ctx context.Context, c *call) (result, error) {
		m, res, err := h.owned(ctx, c.long("userID"), c.str("msgID"))
		if err != nil || res != "" {
			return strResult(res), err
		}
		if err := h.cfg.Store.MarkRead(ctx, m.ID, read); err != nil {
			return result{}, err
		}
		return strResult(resOK), nil
	}
}

func (h *Handler) opIsMessageRead(ctx context.Context, c *call) (result, error) {
	m, res, err := h.owned(ctx, c.long("userID"), c.str("msgID"))
	if err != nil || res != "" {
		// The answer is an xsd:boolean: an unknown message is not read.
		return boolResult(false), err
	}
	return boolResult(m.Read), nil
}

func (h *Handler) opMarkDownloaded(ctx context.Context, c *call) (result, error) {
	m, res, err := h.owned(ctx, c.long("userID"), c.str("msgID"))
	if err != nil || res != "" {
		return strResult(res), err
	}
	if err := h.cfg.Store.MarkDownloaded(ctx, m.ID); err != nil {
		return result{}, err
	}
	return strResult(resOK), nil
}

func (h *Handler) opMoveMessage(ctx context.Context, c *call) (result, error) {
	uid, mid, folder := c.long("userID"), c.long("msgID"), c.str("newFolderName")
	if c.err != nil {
		return result{}, nil
	}
	m, res, err := h.owned(ctx, uid, strconv.FormatInt(mid, 10))
	if err != nil || res != "" {
		return strResult(res), err
	}
	f, err := core.ParseFolder(folder)
	if err != nil {
		return result{}, clientErrorf("MoveMessage: unknown folder %q", folder)
	}
	if err := h.cfg.Store.Move(ctx, m.ID, f); err != nil {
		if errors.Is(err, core.ErrInvalid) || errors.Is(err, core.ErrUnknownFolder) || errors.Is(err, core.ErrState) {
			return result{}, clientErrorf("MoveMessage: %v", err)
		}
		return result{}, err
	}
	return strResult(resOK), nil
}

func (h *Handler) opGetTrackRecords(ctx context.Context, c *call) (result, error) {
	id := c.long("msgID")
	if c.err != nil {
		return result{}, nil
	}
	if _, ok, err := h.messageByID(ctx, id); err != nil || !ok {
		return stringsResult([]string{}), err
	}
	ts, ok := h.cfg.Tracks, h.cfg.Tracks != nil
	if !ok {
		return stringsResult([]string{}), nil
	}
	tracks, err := ts.Tracks(ctx, id)
	if err != nil {
		return result{}, err
	}
	out := []string{}
	for _, t := range tracks {
		out = append(out, strconv.FormatInt(t.ID, 10)+"|"+t.Label+"|"+t.Value)
	}
	return stringsResult(out), nil
}

func (h *Handler) opUpdateTrackRecord(ctx context.Context, c *call) (result, error) {
	id, tid, val := c.long("msgID"), c.long("trackID"), c.str("trackValue")
	if c.err != nil {
		return result{}, nil
	}
	if _, ok, err := h.messageByID(ctx, id); err != nil || !ok {
		return strResult(resNotFound), err
	}
	ts, ok := h.cfg.Tracks, h.cfg.Tracks != nil
	if !ok {
		return result{}, errors.New("UpdateTrackRecord needs a store with tracking records (soap.TrackStore)")
	}
	if err := ts.UpdateTrack(ctx, id, tid, val); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return strResult(resNotFound), nil
		}
		return result{}, err
	}
	return strResult(resOK), nil
}

// folderNames are GetMsgFolders' answer, spelt as the guide shows them.
func folderNames() []string {
	var out []string
	for _, f := range core.Folders() {
		s := string(f)
		if f == core.FolderProcessed {
			s = "Processed"
		}
		out = append(out, s)
	}
	return out
}

func (h *Handler) opGetMsgFolders(ctx context.Context, c *call) (result, error) {
	if _, ok, err := h.activeUser(ctx, c.long("userID")); err != nil || !ok {
		return stringsResult([]string{}), err
	}
	return stringsResult(folderNames()), nil
}

// parseDate reads the dates FaxCore clients send: 20141010, 2014-10-10,
// ISO 8601 date-times and .NET's 10/10/2014 4:49:29 PM.
func parseDate(s string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	for _, f := range []string{"20060102", "2006-01-02", "1/2/2006"} {
		if t, err := time.ParseInLocation(f, s, loc); err == nil {
			return t, true, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, nil
	}
	for _, f := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "1/2/2006 3:04:05 PM", "1/2/2006 15:04:05", "1/2/2006 3:04 PM"} {
		if t, err := time.ParseInLocation(f, s, loc); err == nil {
			return t, false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date", s)
}

// listFilter is what the GetMessageList variants filter on.
type listFilter struct {
	owners     []int64
	folder     core.Folder
	read       *bool
	downloaded *bool
	from, to   time.Time // to is exclusive; zero: open
	descending bool
	max        int
}

const maxListResults = 1000

func (f *listFilter) match(m core.Message) bool {
	if f.read != nil && m.Read != *f.read {
		return false
	}
	if f.downloaded != nil && m.Downloaded != *f.downloaded {
		return false
	}
	if !f.from.IsZero() && m.Created.Before(f.from) {
		return false
	}
	if !f.to.IsZero() && !m.Created.Before(f.to) {
		return false
	}
	return true
}

func (h *Handler) opGetMessageList(ctx context.Context, c *call) (result, error) {
	var f listFilter
	if c.declared("userList") {
		f.owners = c.longs("userList")
	} else {
		f.owners = []int64{c.long("userID")}
	}
	folder := c.str("folderName")
	if c.declared("isRead") {
		b := c.bool("isRead")
		f.read = &b
	}
	if c.declared("isDownloaded") {
		b := c.bool("isDownloaded")
		f.downloaded = &b
	}
	var start, end string
	if c.declared("startDate") {
		start, end = c.str("startDate"), c.str("endDate")
	}
	f.descending = c.bool("sortDescending")
	f.max = c.int("maxResults")
	if c.err != nil {
		return result{}, nil
	}
	if f.max <= 0 || f.max > maxListResults {
		f.max = maxListResults
	}
	fo, err := core.ParseFolder(folder)
	if err != nil {
		return stringsResult([]string{}), nil
	}
	f.folder = fo
	if start != "" {
		t, _, err := parseDate(start, h.cfg.Location)
		if err != nil {
			return result{}, clientErrorf("%s: startDate: %v", c.op, err)
		}
		f.from = t
	}
	if end != "" {
		t, dateOnly, err := parseDate(end, h.cfg.Location)
		if err != nil {
			return result{}, clientErrorf("%s: endDate: %v", c.op, err)
		}
		if dateOnly {
			t = t.AddDate(0, 0, 1) // the whole end day
		}
		f.to = t
	}
	var msgs []core.Message
	for _, owner := range f.owners {
		if _, ok, err := h.activeUser(ctx, owner); err != nil {
			return result{}, err
		} else if !ok {
			continue
		}
		got, err := h.listOwner(ctx, owner, &f)
		if err != nil {
			return result{}, err
		}
		msgs = append(msgs, got...)
	}
	slices.SortFunc(msgs, func(a, b core.Message) int {
		if f.descending {
			return cmp.Compare(b.ID, a.ID)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(msgs) > f.max {
		msgs = msgs[:f.max]
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = strconv.FormatInt(m.ID, 10)
	}
	return stringsResult(out), nil
}

// listScanLimit bounds how many messages of one folder a list request
// scans for matches.
const listScanLimit = 20000

func (h *Handler) listOwner(ctx context.Context, owner int64, f *listFilter) ([]core.Message, error) {
	var out []core.Message
	for off := 0; off < listScanLimit; off += 1000 {
		page, total, err := h.cfg.Store.Messages(ctx, core.MessageQuery{OwnerID: owner, Folder: f.folder, Offset: off, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			if f.match(m) {
				out = append(out, m)
			}
		}
		// Newest first: once descending results are enough, older ones
		// cannot come before them.
		if f.descending && len(out) >= f.max || off+len(page) >= total || len(page) == 0 {
			break
		}
	}
	return out, nil
}
