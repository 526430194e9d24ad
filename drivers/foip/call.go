package foip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/t38"
)

// Errors a call ends with besides ErrT38Refused.
var (
	ErrNoT38       = errors.New("foip: no T.38 switch before the timeout")
	ErrRemoteBye   = errors.New("foip: the remote hung up (BYE)")
	ErrHungUp      = errors.New("foip: call hung up")
	ErrCallUsed    = errors.New("foip: Send or Receive already used on this call")
	errNotAnswered = errors.New("foip: call was not answered")
)

// t38Setup is a negotiated T.38 session.
type t38Setup struct {
	params    t38.T38Params // what configures our terminal
	remoteMax int           // far end's T38FaxMaxDatagram
	remote    netip.AddrPort
}

// CallStats are a call's media counters, logged at the end of the call and
// summed into Driver.Stats. A drivers.Call from this driver has a method
// Stats() CallStats (see MediaStats).
type CallStats struct {
	UDPTL       t38.Stats // lost, recovered (redundancy/FEC), late, duplicates
	UDPTLStray  uint64    // datagrams from another address than the latched one
	UDPTLBad    uint64    // datagrams that were not UDPTL
	RTPReceived uint64
	RTPSent     uint64
	RTPStray    uint64
	RTPJitter   JitterStats // the audio phase's reordering buffer
	HeardCNG    bool
	HeardCED    bool
	T38Version  int
	T38EC       t38.ECMode
	// AudioFax is set when the fax itself ran as G.711 audio through the
	// soft modems (T.38 refused, or policy never); Audio counts its RTP.
	AudioFax bool
	Audio    AudioStats
}

// MediaStats is implemented by the calls of this driver:
//
//	if m, ok := call.(foip.MediaStats); ok { st := m.Stats() }
type MediaStats interface {
	Stats() CallStats
}

var _ MediaStats = (*call)(nil)

type call struct {
	d        *Driver
	port     *port
	info     drivers.CallInfo
	outbound bool
	callID   string
	number   string // dialled number (outbound)
	policy   T38Policy

	rtpConn, udptlConn net.PacketConn
	rtcpConn           net.PacketConn // nil without a port range
	org                origin

	// inbound: the INVITE and its transaction, for refusing the call
	// without waiting for the ACK.
	inviteReq *sip.Request
	inviteTx  sip.ServerTransaction
	source    netip.Addr // the INVITE's source address (failLimit)

	mu         sync.Mutex
	cli        *sipgo.DialogClientSession
	srv        *sipgo.DialogServerSession
	local      []byte // current local SDP
	audio      *audio
	setup      *t38Setup
	inT38      bool
	inAudioFax bool // the fax was settled on audio (awaitMedia)
	refused    bool
	reinviting bool
	// reinviteWound is closed when our last re-INVITE's transaction is
	// over (nil before the first).
	reinviteWound chan struct{}
	t38Signal     bool
	// pendingAudio is the caller's audio stream of an inbound call,
	// started when it is answered.
	pendingAudio remoteAudio
	stats        CallStats
	cause        drivers.HangupCause
	hungUp       bool

	t38ch chan struct{} // closed once T.38 is negotiated or refused
	// lateT38 is closed when the far end switches the call to T.38 after
	// ours was refused, while the audio fax has not got to its first page
	// (committed): the audio session stops and T.30 starts over on T.38.
	lateT38   chan struct{}
	lateOnce  sync.Once
	committed atomic.Bool
	ced       chan struct{} // closed when the far end's fax tone is heard (CED outbound, CNG inbound)
	cedOnce   sync.Once
	ended     chan struct{} // the dialog is over (remote BYE, CANCEL)
	endOnce   sync.Once
	stop      chan struct{} // Hangup
	stopOnce  sync.Once
	// inbound: answer is closed when the final response to the INVITE
	// went out, so the INVITE handler may return.
	answer     chan struct{}
	answerOnce sync.Once
	answered   atomic.Bool

	used atomic.Bool
	// crashed is a test hook: from when it is set the call sends nothing
	// more, no media and no BYE, as if its process had died.
	crashed atomic.Bool
	// link is the T.38 stream once it runs.
	link     atomic.Pointer[udptlLink]
	finished sync.Once
	over     chan struct{} // closed by finish
	dialDur  time.Duration
}

func (d *Driver) newCall(p *port, outbound bool, callID string) (*call, error) {
	c := &call{d: d, port: p, outbound: outbound, callID: callID,
		t38ch: make(chan struct{}), lateT38: make(chan struct{}), ced: make(chan struct{}), ended: make(chan struct{}),
		stop: make(chan struct{}), answer: make(chan struct{}), over: make(chan struct{}),
		org: origin{id: fmt.Sprint(rand.Uint32()), ip: d.cfg.MediaIP}}
	var err error
	if c.rtpConn, c.rtcpConn, err = d.media.listenRTP(d.cfg.MediaIP); err != nil {
		return nil, err
	}
	if c.udptlConn, err = d.media.listen(d.cfg.MediaIP); err != nil {
		_ = c.rtpConn.Close()
		if c.rtcpConn != nil {
			_ = c.rtcpConn.Close()
		}
		return nil, err
	}
	return c, nil
}

func (c *call) endDialog() { c.endOnce.Do(func() { close(c.ended) }) }

func (c *call) answerDone() { c.answerOnce.Do(func() { close(c.answer) }) }

// setT38 records a negotiated T.38 session (s != nil) or a refusal.
func (c *call) setT38Locked(s *t38Setup, local []byte) {
	if c.t38Signal {
		return
	}
	if s != nil {
		c.setup, c.inT38, c.local = s, true, local
		c.stats.T38Version, c.stats.T38EC = s.params.Version, s.params.UDPEC
	} else {
		c.refused = true
	}
	c.t38Signal = true
	close(c.t38ch)
}

// Info implements drivers.Call.
func (c *call) Info() drivers.CallInfo { return c.info }

// Stats returns the call's media counters so far.
func (c *call) Stats() CallStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Hangup implements drivers.Call.
func (c *call) Hangup(cause drivers.HangupCause) error {
	c.mu.Lock()
	if !c.hungUp {
		c.hungUp, c.cause = true, cause
	}
	c.mu.Unlock()
	c.stopOnce.Do(func() { close(c.stop) })
	if !c.used.Load() {
		if !c.outbound && !c.answered.Load() {
			c.reject(cause)
		}
		c.finish()
	}
	return nil
}

// reject refuses an inbound call that was never answered.
func (c *call) reject(cause drivers.HangupCause) {
	if c.inviteTx == nil {
		return
	}
	code, reason := 603, "Decline"
	if cause == drivers.CauseBusy {
		code, reason = 486, "Busy Here"
	}
	if cause == drivers.CauseShutdown {
		code, reason = 503, "Service Unavailable"
	}
	// The transaction layer absorbs the ACK; the dialog's Respond would
	// wait for it.
	respond(c.inviteTx, c.inviteReq, code, reason, nil)
	c.answerDone()
}

// finish ends the call: BYE if the dialog is up, media closed, port freed.
func (c *call) finish() {
	c.finished.Do(func() {
		close(c.over)
		c.mu.Lock()
		a, cli, srv := c.audio, c.cli, c.srv
		c.mu.Unlock()
		if a != nil {
			a.close()
		}
		select {
		case <-c.ended:
		default:
			if c.crashed.Load() {
				c.endDialog()
				break
			}
			c.awaitReinviteWound()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			switch {
			case cli != nil:
				_ = cli.Bye(ctx)
			case srv != nil && c.answered.Load():
				_ = srv.Bye(ctx)
			}
			cancel()
			c.endDialog()
		}
		if cli != nil {
			_ = cli.Close()
		}
		if srv != nil {
			_ = srv.Close()
		}
		c.answerDone()
		_ = c.rtpConn.Close()
		if c.rtcpConn != nil {
			_ = c.rtcpConn.Close()
		}
		_ = c.udptlConn.Close()
		st := c.Stats()
		n := &c.d.n
		n.udptlLost.Add(st.UDPTL.Lost)
		n.udptlRecovered.Add(st.UDPTL.Recovered)
		n.udptlLate.Add(st.UDPTL.Late)
		n.udptlDup.Add(st.UDPTL.Duplicates)
		n.mediaStray.Add(st.UDPTLStray + st.RTPStray)
		c.d.log.Info("foip: call ended", "call", c.callID, "port", c.port.info.ID,
			"udptl_lost", st.UDPTL.Lost, "udptl_recovered", st.UDPTL.Recovered, "udptl_late", st.UDPTL.Late,
			"udptl_dup", st.UDPTL.Duplicates, "udptl_stray", st.UDPTLStray, "rtp_rx", st.RTPReceived,
			"rtp_reordered", st.RTPJitter.Reordered, "rtp_dup", st.RTPJitter.Duplicates, "rtp_lost", st.RTPJitter.Lost, "rtp_late", st.RTPJitter.Late)
		c.d.release(c.port, c.callID)
	})
}

// startAudio begins the G.711 phase towards ra with the given tone.
func (c *call) startAudioLocked(ra remoteAudio, tone tonePattern) {
	a := newAudio(c.rtpConn, ra.addr, ra.pt, tone)
	a.crashed = &c.crashed
	heard := func() { c.cedOnce.Do(func() { close(c.ced) }) }
	if c.outbound {
		a.onCED = heard
	} else {
		a.onCNG = heard
	}
	c.audio = a
	a.start()
}

// Dial implements drivers.Driver: INVITE to number on the trunk. Under
// policy prefer, an INVITE with T.38 only (T38InInvite) that is refused
// with 488 or 606 is sent again at once with G.711 audio (a new call: the
// refused INVITE left no dialog to re-INVITE in).
func (d *Driver) Dial(ctx context.Context, portID, number string, o drivers.DialOptions) (drivers.Call, error) {
	c, err := d.dial(ctx, portID, number, o, false)
	if errors.Is(err, errRedialAudio) {
		return d.dial(ctx, portID, number, o, true)
	}
	return c, err
}

var errRedialAudio = errors.New("foip: T.38 INVITE refused, redial in audio")

func (d *Driver) dial(ctx context.Context, portID, number string, o drivers.DialOptions, audioOnly bool) (drivers.Call, error) {
	p := d.byID[portID]
	if p == nil {
		return nil, fmt.Errorf("%w: %s", drivers.ErrNoPort, portID)
	}
	p, err := d.acquire(p, drivers.StateDialling)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	callID := newCallID()
	c, err := d.newCall(p, true, callID)
	if err != nil {
		d.release(p, callID)
		return nil, err
	}
	c.number = number
	c.info = drivers.CallInfo{ID: callID, Port: p.info.ID, Direction: drivers.Outbound,
		CallingNumber: d.cfg.Number, CalledNumber: number, DID: number, CallerID: d.cfg.Number, Started: start}
	if o.CallerID != "" {
		c.info.CallerID = o.CallerID
	}
	fail := func(code t30.Code, cause string, causeCode int, err error) (drivers.Call, error) {
		c.endDialog()
		c.finish()
		return nil, &drivers.DialError{Code: code, Cause: cause, CauseCode: causeCode, Duration: time.Since(start), Err: err}
	}
	user, err := NumberFromHeader(number)
	if err != nil {
		return fail(t30.CodeBadNumber, "bad number", 484, err)
	}
	c.policy = d.cfg.policyFor(number)
	if audioOnly {
		c.policy = T38Never
	}
	if d.T38Less(number) {
		if c.policy == T38Require {
			return fail(t30.CodeT38Refused, T38RefusedCause+" (remembered)", 488, ErrT38Refused)
		}
		c.policy = T38Never // remembered T.38-less: audio from the start
	}
	d.mu.Lock()
	d.calls[callID] = c
	d.mu.Unlock()

	var body []byte
	offeredT38 := d.cfg.T38 == T38InInvite && c.policy != T38Never
	if offeredT38 {
		body, _ = t38Offer(c.org.next(), d.cfg.t38Caps(localPort(c.udptlConn)))
		body = d.sdp(body)
	} else {
		pt := ptPCMU
		if d.cfg.Codec == "PCMA" {
			pt = ptPCMA
		}
		body = d.sdp(audioSDP(c.org.next(), d.cfg.MediaIP, localPort(c.rtpConn), pt))
	}
	c.local = body
	ruri := d.target(user)
	req := sip.NewRequest(sip.INVITE, ruri)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.info.CallerID, Host: d.host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: ruri.Host, Port: ruri.Port}})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if se := d.cfg.SessionExpires; se > 0 {
		req.AppendHeader(sip.NewHeader("Supported", "timer"))
		req.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(int(se/time.Second))+";refresher=uac"))
	}
	req.SetBody(body)
	req.SetTransport(d.cfg.sipTransport())
	sess, err := d.dcc.WriteInvite(ctx, req)
	if err != nil {
		return fail(t30.CodeNoAnswer, "INVITE not sent", 0, err)
	}
	c.mu.Lock()
	c.cli = sess
	c.mu.Unlock()
	ring := o.RingTimeout
	if ring <= 0 {
		ring = 60 * time.Second
	}
	// At the ring timeout a call that got a provisional response is
	// CANCELled; one that got none may not be (RFC 3261 9.1), so it is
	// abandoned (its transaction times out on its own).
	rctx, cancelRing := context.WithCancelCause(ctx)
	defer cancelRing(nil)
	var provisional, rang atomic.Bool
	ringTimer := time.AfterFunc(ring, func() {
		rang.Store(true)
		if provisional.Load() {
			cancelRing(context.DeadlineExceeded)
		} else {
			cancelRing(sipgo.WaitAnswerForceCancelErr)
		}
	})
	defer ringTimer.Stop()
	opts := sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		if res.IsProvisional() && res.StatusCode > 100 {
			provisional.Store(true)
		}
		return nil
	}}
	if d.cfg.Mode == Trunk {
		opts.Username, opts.Password = d.cfg.Username, d.cfg.Password
	}
	err = sess.WaitAnswer(rctx, opts)
	if err != nil {
		var re *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &re):
			code := CodeForStatus(re.Res.StatusCode)
			cause := statusCause(re.Res.StatusCode, re.Res.Reason)
			if offeredT38 && (re.Res.StatusCode == 488 || re.Res.StatusCode == 606) {
				d.rememberT38Less(number)
				if c.policy == T38Prefer {
					c.endDialog()
					c.finish()
					return nil, errRedialAudio
				}
				return fail(t30.CodeT38Refused, T38RefusedCause+": "+cause, re.Res.StatusCode, fmt.Errorf("%w: %s", ErrT38Refused, cause))
			}
			return fail(code, cause, re.Res.StatusCode, err)
		case ctx.Err() != nil:
			return fail(t30.CodeCancelled, "dialling cancelled", 487, ctx.Err())
		case rang.Load() && provisional.Load():
			return fail(t30.CodeNoAnswer, "no answer: ring timeout (CANCEL sent)", 487, err)
		case rang.Load():
			return fail(t30.CodeNoAnswer, "no response before the ring timeout", 408, err)
		}
		return fail(t30.CodeNoAnswer, "no final response", 408, err)
	}
	if err := sess.Ack(ctx); err != nil {
		return fail(t30.CodeCallDropped, "ACK failed", 0, err)
	}
	c.dialDur = time.Since(start)
	c.info.Connected = time.Now()
	ans, err := t38.ParseSession(sess.InviteResponse.Body())
	if err != nil {
		return fail(t30.CodeIncompatible, "bad SDP in answer", 200, fmt.Errorf("%w: %w", ErrNoMedia, err))
	}
	c.mu.Lock()
	if raddr, ap, ok, err := t38Of(ans); offeredT38 && ok && err == nil {
		c.setT38Locked(&t38Setup{params: ap, remoteMax: ap.MaxDatagram, remote: raddr}, c.local)
	} else if ra, err := audioOf(ans); err == nil {
		c.startAudioLocked(ra, cngPattern)
	} else {
		c.mu.Unlock()
		return fail(t30.CodeIncompatible, "no usable media in answer", 488, err)
	}
	c.mu.Unlock()
	if h := sess.InviteResponse.GetHeader("Session-Expires"); h != nil {
		if every, us := sessionRefresh(h.Value(), "uac"); us {
			c.startRefresher(every)
		}
	}
	d.mu.Lock()
	d.setStateLocked(p, drivers.StateSending)
	d.mu.Unlock()
	return c, nil
}

// sessionRefresh reads a Session-Expires value (RFC 4028): the refresh
// interval (half the expiry) and whether the refresher is `role` (uac or
// uas).
func sessionRefresh(v, role string) (time.Duration, bool) {
	secs, params, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(secs))
	if err != nil || n <= 0 {
		return 0, false
	}
	refresher := ""
	for _, p := range strings.Split(params, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(val))
		}
	}
	return time.Duration(n) * time.Second / 2, refresher == role
}

// startRefresher sends a session refresh (UPDATE with our current SDP)
// every `every` until the call is over.
func (c *call) startRefresher(every time.Duration) {
	if every < 100*time.Millisecond {
		every = 100 * time.Millisecond
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-c.ended:
				return
			case <-c.over:
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), every)
			if err := c.refresh(ctx, sip.UPDATE); err == nil {
				c.d.n.refreshSent.Add(1)
			} else {
				c.d.log.Warn("foip: session refresh failed", "call", c.callID, "err", err)
			}
			cancel()
		}
	}()
}

// remoteTarget is where in-dialog requests go.
func (c *call) remoteTarget() (sip.Uri, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.cli != nil && c.cli.InviteResponse != nil:
		if ct := c.cli.InviteResponse.Contact(); ct != nil {
			return *ct.Address.Clone(), true
		}
		return *c.cli.InviteRequest.Recipient.Clone(), true
	case c.srv != nil:
		if ct := c.srv.InviteRequest.Contact(); ct != nil {
			return *ct.Address.Clone(), true
		}
	}
	return sip.Uri{}, false
}

// do sends an in-dialog request and waits for its final response.
func (c *call) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	c.mu.Lock()
	cli, srv := c.cli, c.srv
	c.mu.Unlock()
	req.SetTransport(c.d.cfg.sipTransport())
	if cli != nil {
		return cli.Do(ctx, req)
	}
	return srv.Do(ctx, req)
}

func (c *call) write(req *sip.Request) error {
	c.mu.Lock()
	cli, srv := c.cli, c.srv
	c.mu.Unlock()
	req.SetTransport(c.d.cfg.sipTransport())
	if cli != nil {
		return cli.WriteRequest(req)
	}
	return srv.WriteRequest(req)
}

// refresh sends a session refresh (re-INVITE or UPDATE, RFC 4028) with our
// current SDP unchanged; the media are not touched.
func (c *call) refresh(ctx context.Context, method sip.RequestMethod) error {
	target, ok := c.remoteTarget()
	if !ok {
		return errNoCall
	}
	c.mu.Lock()
	body := c.local
	c.mu.Unlock()
	req := sip.NewRequest(method, target)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	res, err := c.do(ctx, req)
	if err != nil {
		return fmt.Errorf("foip: %s refresh: %w", method, err)
	}
	if method == sip.INVITE && res.StatusCode >= 200 && res.StatusCode < 300 {
		ack := sip.NewRequest(sip.ACK, target)
		ack.AppendHeader(&sip.CSeqHeader{SeqNo: res.CSeq().SeqNo, MethodName: sip.ACK})
		_ = c.write(ack)
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("foip: %s refresh: %s", method, statusCause(res.StatusCode, res.Reason))
	}
	return nil
}

// reinviteT38 offers T.38 by re-INVITE; 491 is retried after the RFC 3261
// 14.1 back-off (2.1-4 s if we own the Call-ID, else 0-2 s). An offer not
// answered within Config.ReinviteTimeout ends it with ErrT38NoAnswer
// (see sendReinvite); the destination is then remembered as T.38-less,
// as after a refusal.
func (c *call) reinviteT38(ctx context.Context) error {
	for attempt := 0; attempt < 4; attempt++ {
		target, ok := c.remoteTarget()
		if !ok {
			return errNoCall
		}
		c.mu.Lock()
		if c.t38Signal {
			c.mu.Unlock()
			return nil
		}
		c.reinviting = true
		body, _ := t38Offer(c.org.next(), c.d.cfg.t38Caps(localPort(c.udptlConn)))
		body = c.d.sdp(body)
		c.mu.Unlock()
		req := sip.NewRequest(sip.INVITE, target)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
		res, err := c.sendReinvite(ctx, req)
		if errors.Is(err, ErrT38NoAnswer) {
			c.d.rememberT38Less(c.number)
			return err
		}
		if err != nil {
			return fmt.Errorf("foip: T.38 re-INVITE: %w", err)
		}
		switch {
		case res.StatusCode >= 200 && res.StatusCode < 300:
			ack := sip.NewRequest(sip.ACK, target)
			ack.AppendHeader(&sip.CSeqHeader{SeqNo: res.CSeq().SeqNo, MethodName: sip.ACK})
			_ = c.write(ack)
			ans, err := t38.ParseSession(res.Body())
			c.mu.Lock()
			if err == nil {
				if raddr, ap, ok, err := t38Of(ans); ok && err == nil {
					c.setT38Locked(&t38Setup{params: ap, remoteMax: ap.MaxDatagram, remote: raddr}, body)
					c.mu.Unlock()
					return nil
				}
			}
			// A 200 without an image stream declines T.38.
			c.setT38Locked(nil, nil)
			c.mu.Unlock()
			c.d.rememberT38Less(c.number)
			return nil
		case res.StatusCode == 491:
			c.d.n.glareBackoff.Add(1)
			wait := time.Duration(rand.Int64N(int64(2 * time.Second)))
			if c.outbound {
				wait = 2100*time.Millisecond + time.Duration(rand.Int64N(int64(1900*time.Millisecond)))
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.t38ch:
				t.Stop()
				return nil
			case <-c.ended:
				t.Stop()
				return ErrRemoteBye
			case <-c.stop:
				t.Stop()
				return ErrHungUp
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		case res.StatusCode == 488 || res.StatusCode == 606 || res.StatusCode == 415:
			c.mu.Lock()
			c.setT38Locked(nil, nil)
			c.mu.Unlock()
			c.d.rememberT38Less(c.number)
			return nil
		default:
			return fmt.Errorf("foip: T.38 re-INVITE: %s", statusCause(res.StatusCode, res.Reason))
		}
	}
	return fmt.Errorf("foip: T.38 re-INVITE: glare did not resolve")
}

// awaitT38 waits for the switch to T.38: the remote's re-INVITE, or ours
// after `after` (or at once when CED is heard).
func (c *call) awaitT38(ctx context.Context, after time.Duration) error {
	var timer <-chan time.Time
	if after >= 0 {
		t := time.NewTimer(after)
		defer t.Stop()
		timer = t.C
	}
	deadline := time.NewTimer(c.d.cfg.T38Timeout)
	defer deadline.Stop()
	reinvited := make(chan error, 1)
	pending := false
	defer func() {
		if pending {
			<-reinvited
		}
	}()
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := false
	ced := c.ced
	// The far end's audio stops: no T.38 will come either.
	silent := make(chan error, 1)
	w := &silenceWatch{clock: c.d.loop.Clock(), limit: c.d.cfg.RTPTimeout, what: "RTP",
		activity: func() (uint64, uint64) {
			c.mu.Lock()
			a := c.audio
			c.mu.Unlock()
			if a == nil {
				return 0, 0
			}
			n := a.rx.Load()
			return n, n
		},
		paused: func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.reinviting
		},
		fired: func(err error) { silent <- err }}
	w.start()
	defer w.stop()
	start := func() {
		if started {
			return
		}
		started, pending = true, true
		go func() { reinvited <- c.reinviteT38(actx) }()
	}
	for {
		select {
		case <-c.t38ch:
			c.mu.Lock()
			refused := c.refused
			c.mu.Unlock()
			if refused {
				return ErrT38Refused
			}
			return nil
		case <-timer:
			timer = nil
			start()
		case <-ced:
			ced = nil
			if after >= 0 && !started {
				c.d.n.cedReinvites.Add(1)
				start()
			}
		case err := <-reinvited:
			pending = false
			if err != nil {
				return err
			}
		case <-deadline.C:
			return ErrNoT38
		case err := <-silent:
			return err
		case <-c.ended:
			return ErrRemoteBye
		case <-c.stop:
			return ErrHungUp
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// endTones stops the call's tone phase (if it runs) and keeps its counters.
func (c *call) endTones() *audio {
	c.mu.Lock()
	a := c.audio
	c.mu.Unlock()
	if a == nil {
		return nil
	}
	a.close()
	c.mu.Lock()
	c.stats.RTPReceived, c.stats.RTPSent, c.stats.RTPStray = a.rx.Load(), a.tx.Load(), a.stray.Load()
	c.stats.HeardCNG, c.stats.HeardCED = a.heardCNG.Load(), a.heardCED.Load()
	if a.jitter != nil {
		c.stats.RTPJitter = a.jitter.stats
	}
	c.mu.Unlock()
	return a
}

// runT38 runs a T.30 session over a T.38 terminal on the negotiated stream.
func (c *call) runT38(ctx context.Context, run func(line t30.Line, stop <-chan struct{}) (drivers.Result, error)) (drivers.Result, error) {
	c.endTones()
	c.mu.Lock()
	s := c.setup
	c.mu.Unlock()
	tc := t38.ConfigFromParams(s.params, s.remoteMax)
	tc.Logger = c.d.log
	link := &udptlLink{conn: c.udptlConn, crashed: &c.crashed}
	link.set(s.remote)
	c.link.Store(link)
	term, err := t38.NewTerminal(tc, link, c.d.loop.Clock())
	if err != nil {
		r := drivers.Result{Result: t30.Result{Code: t30.CodeIncompatible, Err: err}}
		return r, r.AsError()
	}
	// A far end that stops sending ends the call as a dropped line, with
	// what T.30 has got so far (pages received stay received).
	line := &framedLine{Terminal: term}
	w := &silenceWatch{clock: c.d.loop.Clock(), limit: c.d.cfg.UDPTLTimeout, what: "UDPTL",
		activity: func() (uint64, uint64) {
			return line.frames.Load(), link.rx.Load() + link.tx.Load()
		},
		fired: func(err error) {
			c.d.log.Warn("foip: far end silent, call ended", "call", c.callID, "err", err)
			term.Close(err)
		}}
	w.start()
	served := make(chan struct{})
	go func() { defer close(served); link.serve(term) }()
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-c.ended:
			c.d.loop.Post(func() { term.Close(ErrRemoteBye) })
		case <-done:
		}
	}()
	r, err := run(line, c.stop)
	w.stop()
	if serr := w.firedErr(); serr != nil && r.Code != t30.OK {
		r.Cause = serr.Error()
	}
	close(done)
	<-watched
	// Stop the reader: the socket is closed by finish; a deadline ends it now.
	_ = c.udptlConn.SetReadDeadline(time.Now())
	<-served
	c.mu.Lock()
	ts := term.Stats()
	c.stats.UDPTL = ts.UDPTL
	c.stats.UDPTLStray, c.stats.UDPTLBad = link.stray.Load(), link.bad.Load()
	c.mu.Unlock()
	return r, err
}

// result completes a Result with the call-level fields.
func (c *call) result(r drivers.Result) (drivers.Result, error) {
	r.Info = c.info
	r.DialDuration = c.dialDur
	r.Ended = time.Now()
	r.CallDuration = r.Ended.Sub(c.info.Started)
	c.mu.Lock()
	switch st := c.stats; {
	case st.AudioFax:
		r.Media = drivers.Media{Transport: "audio", Lost: st.Audio.Lost}
	case st.T38Version > 0 || st.UDPTL.Delivered > 0:
		r.Media = drivers.Media{Transport: "T.38", Lost: st.UDPTL.Lost, Recovered: st.UDPTL.Recovered + st.UDPTL.RecoveredFEC}
	}
	if c.hungUp {
		r.HangupCause = c.cause
	}
	c.mu.Unlock()
	return r, r.AsError()
}

// failResult is the Result of a call that ended before or outside T.30.
func (c *call) failResult(err error) (drivers.Result, error) {
	r := drivers.Result{Result: t30.Result{Err: err}}
	switch {
	case errors.Is(err, ErrT38Refused):
		r.Code, r.Cause, r.CauseCode = t30.CodeT38Refused, T38RefusedCause, 488
	case errors.Is(err, ErrT38NoAnswer):
		r.Code, r.Cause, r.CauseCode = t30.CodeT38Refused, "no answer to the T.38 re-INVITE", 408
	case errors.Is(err, ErrNoT38):
		r.Code, r.Cause = t30.CodeNoFax, "no T.38 re-INVITE"
	case errors.Is(err, ErrRemoteBye):
		r.Code, r.Cause = t30.CodeCallDropped, "BYE"
	case errors.Is(err, ErrRemoteSilent):
		r.Code, r.Cause = t30.CodeCallDropped, err.Error()
	case errors.Is(err, ErrHungUp), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		r.Code = t30.CodeCancelled
	case errors.Is(err, errNotAnswered):
		r.Code = t30.CodeCallDropped
	default:
		r.Code, r.Cause = t30.CodeCallDropped, err.Error()
	}
	return c.result(r)
}

// Send implements drivers.Call.
func (c *call) Send(ctx context.Context, doc drivers.Document, p drivers.SendParams, progress func(t30.PageEvent)) (drivers.Result, error) {
	if !c.outbound || !c.used.CompareAndSwap(false, true) {
		return drivers.Result{Info: c.info, Result: t30.Result{Code: t30.CodeInternal, Err: ErrCallUsed}}, ErrCallUsed
	}
	defer c.finish()
	if err := c.awaitMedia(ctx, c.d.cfg.ReinviteOut); err != nil {
		return c.failResult(err)
	}
	r, _ := c.runFax(ctx, func(line t30.Line, stop <-chan struct{}) (drivers.Result, error) {
		return drivers.SendOver(ctx, c.d.loop, line, c.port.info.Caps, doc, p, stop, c.commit(progress))
	})
	return c.result(r)
}

// Receive implements drivers.Call: answer with audio (or T.38 if offered),
// switch to T.38 and receive.
func (c *call) Receive(ctx context.Context, p drivers.ReceiveParams, sink t30.PageSink, progress func(t30.PageEvent)) (res drivers.Result, err error) {
	if c.outbound || !c.used.CompareAndSwap(false, true) {
		return drivers.Result{Info: c.info, Result: t30.Result{Code: t30.CodeInternal, Err: ErrCallUsed}}, ErrCallUsed
	}
	defer c.finish()
	defer func() {
		if res.Code != t30.OK {
			c.d.fails.failed(c.source)
		}
	}()
	if err := c.answerCall(ctx); err != nil {
		return c.failResult(err)
	}
	if err := c.awaitMedia(ctx, c.d.cfg.ReinviteIn); err != nil {
		return c.failResult(err)
	}
	r, _ := c.runFax(ctx, func(line t30.Line, stop <-chan struct{}) (drivers.Result, error) {
		return drivers.ReceiveOver(ctx, c.d.loop, line, c.port.info.Caps, p, sink, stop, c.commit(progress))
	})
	// Let the sender hang up first; BYE ourselves if it does not.
	t := time.NewTimer(time.Second)
	select {
	case <-c.ended:
	case <-t.C:
	case <-c.stop:
	}
	t.Stop()
	return c.result(r)
}

// answerCall sends 200 OK to the INVITE and waits for the ACK.
func (c *call) answerCall(ctx context.Context) error {
	c.mu.Lock()
	srv, body := c.srv, c.local
	c.mu.Unlock()
	res := sip.NewSDPResponseFromRequest(srv.InviteRequest, body)
	refresh := time.Duration(0)
	if h := srv.InviteRequest.GetHeader("Session-Expires"); h != nil {
		v := h.Value()
		every, us := sessionRefresh(v, "uas")
		if every > 0 {
			if !strings.Contains(strings.ToLower(v), "refresher=") {
				v += ";refresher=uac" // the caller refreshes
			}
			res.AppendHeader(sip.NewHeader("Session-Expires", v))
			res.AppendHeader(sip.NewHeader("Require", "timer"))
			if us {
				refresh = every
			}
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.WriteResponse(res) }()
	select {
	case err := <-errc:
		c.answerDone()
		if err != nil {
			return fmt.Errorf("%w: %w", errNotAnswered, err)
		}
	case <-c.ended:
		return ErrRemoteBye
	case <-ctx.Done():
		return ctx.Err()
	}
	c.answered.Store(true)
	c.info.Connected = time.Now()
	if refresh > 0 {
		c.startRefresher(refresh)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inT38 && c.pendingAudio.addr.IsValid() {
		c.startAudioLocked(c.pendingAudio, cedPattern)
	}
	return nil
}
