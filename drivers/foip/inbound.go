package foip

import (
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t38"
)

// ringLimit is how long an inbound call may ring before nobody answering
// it gets 480.
const ringLimit = 60 * time.Second

// onInvite handles new INVITEs (inbound calls) and re-INVITEs.
func (d *Driver) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if hasToTag(req) {
		d.onReinvite(req, tx)
		return
	}
	d.n.invitesIn.Add(1)
	d.mu.Lock()
	closed := d.closed || !d.open
	d.mu.Unlock()
	if closed {
		respond(tx, req, 503, "Service Unavailable", nil)
		return
	}
	src := sourceAddr(req.Source())
	if ok, wait := d.fails.allow(src); !ok {
		d.n.floodRefused.Add(1)
		respond(tx, req, 503, "Service Unavailable", nil,
			sip.NewHeader("Retry-After", strconv.Itoa(int(wait/time.Second)+1)))
		return
	}
	auth := ""
	if h := req.GetHeader("Authorization"); h != nil {
		auth = h.Value()
	}
	switch d.guard.check(req.Source(), "INVITE", auth) {
	case authChallenge:
		d.n.challenged.Add(1)
		respond(tx, req, 401, "Unauthorized", nil, sip.NewHeader("WWW-Authenticate", d.guard.challenge()))
		return
	case authForbidden:
		d.n.forbidden.Add(1)
		if auth != "" {
			d.fails.failed(src) // a wrong password guess
		}
		respond(tx, req, 403, "Forbidden", nil)
		return
	}
	respond(tx, req, 100, "Trying", nil)
	offer, err := t38.ParseSession(req.Body())
	if err != nil {
		d.n.noMedia.Add(1)
		d.fails.failed(src)
		respond(tx, req, 488, "Not Acceptable Here", nil, sip.NewHeader("Warning", `399 faxagent "SDP offer missing or malformed"`))
		return
	}
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	if callID == "" || req.Contact() == nil || req.From() == nil {
		d.fails.failed(src)
		respond(tx, req, 400, "Bad Request", nil)
		return
	}
	// A new INVITE with the Call-ID of a call in progress (a merged or
	// looped request, or a peer reusing Call-IDs) is refused: calls are
	// found by Call-ID, and it must not take over the other call's BYE.
	// (Sequential calls with one Call-ID are fine: the agent keys every
	// reception by an ID of its own.)
	if d.lookup(callID) != nil {
		d.n.busy.Add(1)
		respond(tx, req, 482, "Loop Detected", nil)
		return
	}
	p, err := d.acquire(nil, drivers.StateReceiving)
	if err != nil {
		d.n.busy.Add(1)
		respond(tx, req, 486, "Busy Here", nil)
		return
	}
	c, err := d.newCall(p, false, callID)
	if err != nil {
		d.release(p, callID)
		respond(tx, req, 503, "Service Unavailable", nil)
		return
	}
	// Answer SDP: T.38 if offered, else G.711 audio.
	c.policy = d.cfg.policyFor(callerOf(req))
	raddr, op, hasT38, t38err := t38Of(offer)
	switch {
	case hasT38 && t38err == nil && c.policy != T38Never:
		ans, ap, err := t38.Answer(offer, d.cfg.t38Caps(localPort(c.udptlConn)))
		if err != nil {
			break
		}
		ans.Origin = c.org.next()
		body := d.sdp(ans.Marshal())
		c.setT38Locked(&t38Setup{params: ap, remoteMax: op.MaxDatagram, remote: raddr}, body)
	}
	if !c.inT38 {
		ra, err := audioOf(offer)
		if err != nil {
			d.n.noMedia.Add(1)
			d.fails.failed(src)
			c.endDialog()
			c.finish()
			respond(tx, req, 488, "Not Acceptable Here", nil, sip.NewHeader("Warning", `399 faxagent "no G.711 audio or T.38 in offer"`))
			return
		}
		c.pendingAudio = ra
		c.local = d.sdp(audioSDP(c.org.next(), d.cfg.MediaIP, localPort(c.rtpConn), ra.pt))
	}
	c.info = d.inboundInfo(req, p.info.ID, callID)
	c.source = src
	srv, err := d.dsc.ReadInvite(req, tx)
	if err != nil {
		c.endDialog()
		c.finish()
		respond(tx, req, 400, "Bad Request", nil)
		return
	}
	c.mu.Lock()
	c.srv, c.inviteReq, c.inviteTx = srv, srv.InviteRequest, tx
	c.mu.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		c.endDialog()
		c.finish()
		respond(tx, req, 503, "Service Unavailable", nil)
		return
	}
	d.calls[callID] = c
	d.mu.Unlock()
	_ = srv.Respond(180, "Ringing", nil)
	select {
	case d.incoming <- c:
	default:
		d.n.busy.Add(1)
		respond(tx, srv.InviteRequest, 486, "Busy Here", nil)
		c.endDialog()
		c.finish()
		return
	}
	// The transaction must stay until the final response: wait for the
	// answer (Receive), a rejection (Hangup), a CANCEL or the ring limit.
	t := time.NewTimer(ringLimit)
	defer t.Stop()
	select {
	case <-c.answer:
	case <-srv.Context().Done():
		c.endDialog() // CANCEL
		_ = c.Hangup(drivers.CauseCancelled)
	case <-t.C:
		respond(tx, srv.InviteRequest, 480, "Temporarily Unavailable", nil)
		c.endDialog()
		_ = c.Hangup(drivers.CauseWatchdog)
	}
}

// inboundInfo reads the routing information of an inbound INVITE.
//
// The called number is the first telephone number found in RoutingHeader
// (if configured), the Request-URI's user part, the To URI's user part.
// When none holds one (a trunk that calls "fax-sales@..." or
// "ext2002a@..."), the rule is: the called number and DID are that
// Request-URI user (else To user) as written (printable characters, at
// most 64), so inbound routes can match it as text, and the routing
// digits are the digits it contains, in order ("fax-2002" gives 2002; the
// last RoutingDigits of them when set), "" if it has none.
func (d *Driver) inboundInfo(req *sip.Request, portID, callID string) drivers.CallInfo {
	info := drivers.CallInfo{ID: callID, Port: portID, Direction: drivers.Inbound, Started: time.Now()}
	called := ""
	if d.cfg.RoutingHeader != "" {
		if h := req.GetHeader(d.cfg.RoutingHeader); h != nil {
			called, _ = NumberFromHeader(h.Value())
		}
	}
	if called == "" {
		called, _ = NumberFromHeader(req.Recipient.String())
	}
	if called == "" {
		if to := req.To(); to != nil {
			called, _ = NumberFromHeader(to.Address.String())
		}
	}
	info.CalledNumber, info.DID = called, called
	info.RoutingDigits = routingDigits(called, d.cfg.RoutingDigits)
	if called == "" {
		user := req.Recipient.User
		if to := req.To(); user == "" && to != nil {
			user = to.Address.User
		}
		user = printable(user, 64)
		info.CalledNumber, info.DID = user, user
		if digits := onlyDigits(user); digits != "" {
			info.RoutingDigits = routingDigits(digits, d.cfg.RoutingDigits)
		}
	}
	if from := req.From(); from != nil {
		info.CallingNumber, _ = NumberFromHeader(from.Address.String())
		info.CallerName = from.DisplayName
	}
	info.CallerID = info.CallingNumber
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		if n, err := NumberFromHeader(h.Value()); err == nil {
			info.CallerID = n
		}
		if name := DisplayName(h.Value()); name != "" {
			info.CallerName = name
		}
	}
	return info
}

// onReinvite answers an in-dialog INVITE: a T.38 offer switches the call,
// anything else (session-timer refresh, hold, unchanged media) is answered
// with our current SDP without touching the media.
func (d *Driver) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := d.lookup(callIDOf(req))
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	if d.beforeOffer != nil {
		d.beforeOffer()
	}
	code, reason, body := c.offered(req.Body())
	if d.beforeAnswer != nil {
		d.beforeAnswer()
	}
	respond(tx, req, code, reason, body)
}

// onUpdate answers UPDATE (RFC 3311), used for session timers.
func (d *Driver) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c := d.lookup(callIDOf(req))
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	code, reason, body := c.offered(req.Body())
	respond(tx, req, code, reason, body)
}

// offered judges an in-dialog offer and returns the response to send.
func (c *call) offered(body []byte) (int, string, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reinviting {
		c.d.n.glare.Add(1)
		return 491, "Request Pending", nil
	}
	if len(body) == 0 {
		c.d.n.refreshes.Add(1)
		return 200, "OK", c.local
	}
	offer, err := t38.ParseSession(body)
	if err != nil {
		return 488, "Not Acceptable Here", nil
	}
	raddr, op, hasT38, err := t38Of(offer)
	switch {
	case hasT38 && err != nil:
		return 488, "Not Acceptable Here", nil
	case hasT38 && c.inT38:
		c.d.n.refreshes.Add(1)
		return 200, "OK", c.local
	case hasT38 && c.policy == T38Never:
		return 488, "Not Acceptable Here", nil
	case hasT38:
		ans, ap, err := t38.Answer(offer, c.d.cfg.t38Caps(localPort(c.udptlConn)))
		if err != nil {
			return 488, "Not Acceptable Here", nil
		}
		ans.Origin = c.org.next()
		local := c.d.sdp(ans.Marshal())
		setup := &t38Setup{params: ap, remoteMax: op.MaxDatagram, remote: raddr}
		if c.t38Signal || c.inAudioFax {
			// Ours was refused, or the fax went on in audio: switch
			// if no page is under way yet.
			if !c.acceptLateT38Locked(setup, local) {
				return 488, "Not Acceptable Here", nil
			}
			return 200, "OK", local
		}
		c.setT38Locked(setup, local)
		return 200, "OK", local
	case c.inT38:
		// Back to audio is not supported during a fax.
		return 488, "Not Acceptable Here", nil
	}
	c.d.n.refreshes.Add(1)
	return 200, "OK", c.local
}

func (d *Driver) onAck(req *sip.Request, tx sip.ServerTransaction) {
	c := d.lookup(callIDOf(req))
	if c == nil {
		return
	}
	c.mu.Lock()
	srv := c.srv
	c.mu.Unlock()
	if srv != nil {
		_ = srv.ReadAck(req, tx)
	}
}

func (d *Driver) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := d.lookup(callIDOf(req))
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	c.mu.Lock()
	cli, srv := c.cli, c.srv
	c.mu.Unlock()
	var err error
	switch {
	case cli != nil:
		err = cli.ReadBye(req, tx)
	case srv != nil:
		err = srv.ReadBye(req, tx)
	}
	if err != nil || (cli == nil && srv == nil) {
		respond(tx, req, 200, "OK", nil)
	}
	c.endDialog()
}

func callIDOf(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

// callerOf is the calling number of an INVITE (From user), for the T.38
// policy by destination.
func callerOf(req *sip.Request) string {
	if from := req.From(); from != nil {
		return from.Address.User
	}
	return ""
}
