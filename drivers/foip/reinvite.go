package foip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/faxagent/faxagent/t38"
)

// Our T.38 re-INVITE's wait for its answer. A carrier that never answers it
// (no final response, or 100 Trying and then nothing) would hold the call
// for the INVITE transaction's 32 s (Timer B), most of T.30's T1 (35 s) of
// the fax machine at the other end, which then gives up. So the call waits
// Config.ReinviteTimeout for the final response, and then goes on in audio
// through the soft modems (policy prefer) while the re-INVITE is wound up
// beside it:
//
//   - CANCEL is sent once a provisional response (100 Trying included) has
//     come, at once if one came before the wait ran out (RFC 3261 9.1 and
//     14.1 allow a re-INVITE to be CANCELled; before a provisional response
//     it must not be); the 487 that follows is ACKed by the transaction.
//   - A 2xx that comes after the wait (the carrier took its time, or the
//     CANCEL crossed its 200) is ACKed, as every 2xx must be; if it accepted
//     T.38, a re-INVITE with our G.711 audio offer follows at once, so the
//     carrier's media are audio again. Our own media never switch: RTP keeps
//     flowing to the same address, and the audio fax under way (tones or
//     T.30 through the soft modems) goes on. A carrier that wants T.38 after
//     all can still switch itself with its own re-INVITE, taken before the
//     first page as after a refusal.
//   - A late non-2xx final response (487, 488) changes nothing.
//
// While the re-INVITE is open, offers from the far end get 491 (RFC 3261
// 14.2: one INVITE transaction at a time in a dialog); the CSeq of every
// later request is above the re-INVITE's.

// ErrT38NoAnswer is wrapped by the error of a T.38 re-INVITE that got no
// final response within Config.ReinviteTimeout. Under policy prefer the
// fax goes on in audio; under require the call ends with
// t30.CodeT38Refused, CauseCode 408.
var ErrT38NoAnswer = errors.New("foip: no answer to the T.38 re-INVITE")

// reinviteAct is the set of things the follower of our re-INVITE does next.
type reinviteAct uint8

const (
	// actAnswer hands the final response (or the transaction's error) to
	// the call waiting for it.
	actAnswer reinviteAct = 1 << iota
	// actGiveUp tells the waiting call the wait is over: the fax goes on
	// in audio.
	actGiveUp
	// actCancel sends CANCEL for the re-INVITE.
	actCancel
	// actAck ACKs a 2xx that came after the wait.
	actAck
	// actAudio re-INVITEs back to audio: the late 2xx accepted T.38.
	actAudio
)

// reinviteWait is the state of our re-INVITE after it was sent: events in
// (responses, the wait running out, the transaction ending), actions out.
// It does no I/O and has no clock of its own: followReinvite drives it on
// the call's clock, tests on a virtual one.
type reinviteWait struct {
	provisional bool // a 1xx came: CANCEL is allowed
	gaveUp      bool // the wait ran out before the final response
	cancelled   bool
	final       bool
}

// response takes a response to the re-INVITE; switches says a 2xx
// accepted T.38.
func (w *reinviteWait) response(code int, switches bool) reinviteAct {
	if w.final {
		return 0
	}
	if code < 200 {
		w.provisional = true
		if w.gaveUp && !w.cancelled {
			w.cancelled = true
			return actCancel
		}
		return 0
	}
	w.final = true
	switch {
	case !w.gaveUp:
		return actAnswer
	case code >= 300:
		return 0
	case switches:
		return actAck | actAudio
	}
	return actAck
}

// expire ends the wait (Config.ReinviteTimeout ran out, or the waiting
// call stopped waiting).
func (w *reinviteWait) expire() reinviteAct {
	if w.final || w.gaveUp {
		return 0
	}
	w.gaveUp = true
	if w.provisional {
		w.cancelled = true
		return actGiveUp | actCancel
	}
	return actGiveUp
}

// ended takes the end of the transaction without a final response (Timer
// B, a transport error).
func (w *reinviteWait) ended() reinviteAct {
	if w.final || w.gaveUp {
		return 0
	}
	w.final = true
	return actAnswer
}

// reinviteAnswer is what the call waiting for its re-INVITE gets.
type reinviteAnswer struct {
	res *sip.Response
	err error
}

// sendReinvite sends req, our T.38 offer, in the dialog and returns its
// final response, or ErrT38NoAnswer once Config.ReinviteTimeout has gone
// by without one; the re-INVITE is then wound up in the background (see
// the top of this file). c.reinviting must be set; it is cleared when the
// re-INVITE's transaction is over.
func (c *call) sendReinvite(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	c.mu.Lock()
	cli, srv := c.cli, c.srv
	c.mu.Unlock()
	req.SetTransport(c.d.cfg.sipTransport())
	var tx sip.ClientTransaction
	var err error
	if cli != nil {
		tx, err = cli.TransactionRequest(ctx, req)
	} else {
		tx, err = srv.TransactionRequest(ctx, req)
	}
	if err != nil {
		c.reinviteOver()
		return nil, err
	}
	answer := make(chan reinviteAnswer, 1)
	quit := make(chan struct{})
	wound := make(chan struct{})
	c.mu.Lock()
	c.reinviteWound = wound
	c.mu.Unlock()
	go func() {
		defer close(wound)
		c.followReinvite(req, tx, answer, quit)
	}()
	select {
	case a := <-answer:
		return a.res, a.err
	case <-ctx.Done():
		close(quit)
		select {
		case a := <-answer:
			return a.res, a.err
		default:
		}
		return nil, ctx.Err()
	}
}

func (c *call) reinviteOver() {
	c.mu.Lock()
	c.reinviting = false
	c.mu.Unlock()
}

// followReinvite follows the re-INVITE's transaction until it is over (or
// the call is), feeding a reinviteWait and doing what it says. When the
// call ends with a CANCEL under way, it waits for the re-INVITE's 487
// (finish holds the BYE back for it a little: CANCEL, 487, ACK, BYE is
// the order a carrier expects).
func (c *call) followReinvite(req *sip.Request, tx sip.ClientTransaction, answer chan<- reinviteAnswer, quit <-chan struct{}) {
	over := false
	defer func() {
		if !over {
			c.reinviteOver()
		}
	}()
	defer tx.Terminate()
	var w reinviteWait
	callOver := c.over
	expired := make(chan struct{})
	if limit := c.d.cfg.ReinviteTimeout; limit > 0 {
		t := c.d.loop.Clock().AfterFunc(limit, func() { close(expired) })
		defer t.Stop()
	}
	for {
		var act reinviteAct
		var res *sip.Response
		var err error
		select {
		case res = <-tx.Responses():
			act = w.response(res.StatusCode, acceptsT38(res))
		case <-tx.Done():
			err = tx.Err()
			act = w.ended()
			if act == 0 {
				return
			}
		case <-expired:
			expired = nil
			act = w.expire()
		case <-quit: // the call stopped waiting (it ends, or T.38 came otherwise)
			quit = nil
			act = w.expire() &^ actGiveUp
		case <-callOver:
			if !w.cancelled {
				return
			}
			callOver = nil
		case <-c.ended:
			return
		}
		if act&actAnswer != 0 {
			// Over before the call hears of it: a 491 retry may set
			// reinviting again.
			over = true
			c.reinviteOver()
			answer <- reinviteAnswer{res: res, err: err}
			return
		}
		if act&actGiveUp != 0 {
			c.d.n.reinviteTimeouts.Add(1)
			c.d.log.Info("foip: no answer to the T.38 re-INVITE, going on in audio", "call", c.callID,
				"after", c.d.cfg.ReinviteTimeout, "provisional", w.provisional)
			answer <- reinviteAnswer{err: fmt.Errorf("%w within %v", ErrT38NoAnswer, c.d.cfg.ReinviteTimeout)}
		}
		if act&actCancel != 0 {
			c.d.n.reinviteCancels.Add(1)
			go c.cancelReinvite(req)
		}
		if act&actAck != 0 {
			c.d.n.lateAnswers.Add(1)
			ack := sip.NewRequest(sip.ACK, req.Recipient)
			ack.AppendHeader(&sip.CSeqHeader{SeqNo: res.CSeq().SeqNo, MethodName: sip.ACK})
			_ = c.write(ack)
			c.d.log.Info("foip: late answer to the T.38 re-INVITE ACKed", "call", c.callID,
				"status", res.StatusCode, "t38", act&actAudio != 0)
		}
		if act&actAudio != 0 {
			c.backToAudio()
		}
		if w.final {
			return
		}
	}
}

// acceptsT38 reports whether a 2xx carries an accepted T.38 stream.
func acceptsT38(res *sip.Response) bool {
	if !res.IsSuccess() {
		return false
	}
	ans, err := t38.ParseSession(res.Body())
	if err != nil {
		return false
	}
	_, _, ok, err := t38Of(ans)
	return ok && err == nil
}

// cancelReinvite sends CANCEL for our re-INVITE req: the same Request-URI,
// top Via (branch), From, To, Call-ID and CSeq number (RFC 3261 9.1).
func (c *call) cancelReinvite(req *sip.Request) {
	cancel := sip.NewRequest(sip.CANCEL, req.Recipient)
	cancel.AppendHeader(sip.HeaderClone(req.Via()))
	cancel.AppendHeader(sip.HeaderClone(req.From()))
	cancel.AppendHeader(sip.HeaderClone(req.To()))
	cancel.AppendHeader(sip.HeaderClone(req.CallID()))
	cancel.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	cancel.AppendHeader(&mf)
	sip.CopyHeaders("Route", req, cancel)
	cancel.SetTransport(req.Transport())
	if dst := req.MessageData.Destination(); dst != "" {
		cancel.SetDestination(dst)
	}
	cancel.Laddr = req.Laddr
	ctx, stop := context.WithTimeout(context.Background(), sip.Timer_B)
	defer stop()
	go func() {
		select {
		case <-c.over:
			stop()
		case <-ctx.Done():
		}
	}()
	res, err := c.d.cli.Do(ctx, cancel, func(_ *sipgo.Client, r *sip.Request) error {
		r.SetBody(nil) // Content-Length: 0
		return nil
	})
	switch {
	case err != nil:
		c.d.log.Info("foip: CANCEL of the T.38 re-INVITE", "call", c.callID, "err", err)
	case res.StatusCode != 200:
		c.d.log.Info("foip: CANCEL of the T.38 re-INVITE", "call", c.callID, "status", res.StatusCode)
	}
}

// backToAudio re-INVITEs with our G.711 offer on the call's RTP socket,
// after a late 2xx accepted T.38 that the call no longer uses; a 2xx to it
// is ACKed. Our media are not touched either way.
func (c *call) backToAudio() {
	target, ok := c.remoteTarget()
	if !ok {
		return
	}
	c.mu.Lock()
	pt := ptPCMU
	if c.d.cfg.Codec == "PCMA" {
		pt = ptPCMA
	}
	if c.audio != nil {
		pt = int(c.audio.pt)
	}
	body := c.d.sdp(audioSDP(c.org.next(), c.d.cfg.MediaIP, localPort(c.rtpConn), pt))
	c.mu.Unlock()
	req := sip.NewRequest(sip.INVITE, target)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	ctx, stop := context.WithTimeout(context.Background(), sip.Timer_B)
	defer stop()
	go func() {
		select {
		case <-c.over:
			stop()
		case <-ctx.Done():
		}
	}()
	c.d.n.backToAudio.Add(1)
	res, err := c.do(ctx, req)
	if err != nil {
		c.d.log.Warn("foip: re-INVITE back to audio", "call", c.callID, "err", err)
		return
	}
	if res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, target)
		ack.AppendHeader(&sip.CSeqHeader{SeqNo: res.CSeq().SeqNo, MethodName: sip.ACK})
		_ = c.write(ack)
		c.mu.Lock()
		c.local = body
		c.mu.Unlock()
		return
	}
	c.d.log.Warn("foip: re-INVITE back to audio", "call", c.callID, "status", res.StatusCode, "reason", res.Reason)
}

// awaitReinviteWound waits, at most windUpWait, for our last re-INVITE's
// transaction to be over (see followReinvite).
func (c *call) awaitReinviteWound() {
	c.mu.Lock()
	wound := c.reinviteWound
	c.mu.Unlock()
	if wound == nil {
		return
	}
	t := time.NewTimer(windUpWait)
	defer t.Stop()
	select {
	case <-wound:
	case <-t.C:
	case <-c.ended:
	}
}

// windUpWait bounds how long the BYE waits for a CANCELled re-INVITE's
// final response.
const windUpWait = 2 * time.Second

// reinviteTimeoutDefault is Config.ReinviteTimeout's default: carriers
// answer a re-INVITE within a second or two; T.30's T1 (35 s) must keep
// most of its time for the fax.
const reinviteTimeoutDefault = 4 * time.Second
