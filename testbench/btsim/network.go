package btsim

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/t30"
)

// NetworkDriverName is the driver name of the loopback ports that stand
// for the simulated channels on a Config.Network.
const NetworkDriverName = "btsim"

// inboundRingLimit is how long a call from the network rings a channel
// before the network gives up, when nobody answers it.
const inboundRingLimit = loopback.DefaultRinging

// joinNetwork puts every channel on cfg.Network as a loopback port (one
// loopback driver per board, so the port IDs are the channels' M<b>,<c>)
// and takes the calls the network offers them.
func (s *Sim) joinNetwork() {
	for b, chs := range s.boards {
		nums := make([]string, len(chs))
		for i, ch := range chs {
			nums[i] = ch.number
		}
		d := loopback.New(s.cfg.Network, loopback.DriverOptions{Name: NetworkDriverName, Board: b, Numbers: nums})
		// Open of a loopback driver fails only on a closed driver or
		// context; neither can happen here.
		_ = d.Open(context.Background())
		s.nets = append(s.nets, d)
		go s.takeIncoming(d)
	}
}

// hangupOnClear hangs the loopback call nc up when the simulated call c
// is cleared, until done is closed.
func hangupOnClear(c *call, nc drivers.Call, done <-chan struct{}) {
	select {
	case <-c.hung:
		_ = nc.Hangup(drivers.CauseNormal)
	case <-done:
	}
}

// dialNetwork places channel ch's call c on the loopback network: the
// DIAL completes when the loopback port that owns the number (or the
// network's built-in fax machine) answers, or with the network's reason
// why not.
func (sc *sconn) dialNetwork(m *localsvc.Msg, ch *channel, c *call, start time.Time) {
	s := sc.s
	done := func(status int, cause string) {
		sc.reply(m, localsvc.Msg{Type: localsvc.TypeOK, Status: status, Cause: cause,
			DurationMS: int(time.Since(start) / time.Millisecond)})
	}
	fail := func(status int, cause string) {
		s.mu.Lock()
		s.endCallLocked(c, ch)
		s.mu.Unlock()
		done(status, cause)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.hung:
			cancel()
		case <-ctx.Done():
		}
	}()
	o := drivers.DialOptions{CallerID: m.CallerID}
	if m.TimeoutMS > 0 {
		o.RingTimeout = time.Duration(m.TimeoutMS) * time.Millisecond
	}
	nc, err := s.nets[ch.ref.Board].Dial(ctx, drivers.PortID(ch.ref.Board, ch.ref.Channel), m.Number, o)
	if err != nil {
		var de *drivers.DialError
		switch {
		case isClosed(c.hung):
			fail(localsvc.StatusCancelled, "hung up while dialling")
		case errors.As(err, &de):
			fail(statusOf(de.Code), de.Cause)
		default:
			fail(localsvc.StatusInternal, err.Error())
		}
		return
	}
	s.mu.Lock()
	if isClosed(c.hung) {
		s.mu.Unlock()
		_ = nc.Hangup(drivers.CauseCancelled)
		done(localsvc.StatusCancelled, "hung up while dialling")
		return
	}
	c.net = nc
	s.mu.Unlock()
	go hangupOnClear(c, nc, nil)
	done(localsvc.StatusOK, "connected")
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// cancelGrace is how long a page callback of a cleared network call
// waits, so that the loopback call's session is cancelled before the
// next page rather than running the rest of the document in virtual time.
const cancelGrace = 20 * time.Millisecond

// paceNetwork runs in the page callbacks of a network call (on the
// loopback call's loop, where virtual time stands still meanwhile): it
// paces the call at Config.PageTime per page, and hangs a call that was
// cleared meanwhile up at once.
func (s *Sim) paceNetwork(c *call) {
	if !s.sleep(c, s.cfg.PageTime) {
		_ = c.net.Hangup(drivers.CauseNormal)
		time.Sleep(cancelGrace)
	}
}

// sendNetwork sends the file of a SEND request over the call's loopback
// line with our t30 engine (the loopback call runs drivers.SendOver).
func (s *Sim) sendNetwork(c *call, m *localsvc.Msg, sc *sconn) localsvc.Msg {
	out := localsvc.Msg{Type: localsvc.TypeCompletion}
	doc, err := loadDocument(m.Path)
	if err != nil {
		out.Status, out.Error = localsvc.StatusFileError, err.Error()
		return out
	}
	confirmed := 0
	progress := func(ev t30.PageEvent) {
		if ev.Status != t30.PageConfirmed {
			return
		}
		confirmed++
		s.pageEvent(sc, localsvc.Msg{Type: localsvc.TypeEvPage, Board: m.Board, Channel: m.Channel, Page: confirmed, Rate: ev.Speed.Rate})
		s.paceNetwork(c)
	}
	r, _ := c.net.Send(context.Background(), doc,
		drivers.SendParams{CSID: m.CSID, MaxRate: m.Rate, ECM: ecmMode(m.ECM)}, progress)
	fillFrom(&out, r, r.PagesConfirmed)
	if r.Code != t30.OK && r.Err != nil {
		out.Error = r.Err.Error()
	}
	s.downStatus(c, &out)
	return out
}

// downStatus reports a network call that a channel fault cleared (its
// loopback call ended as hung up) as the board does: channel down.
func (s *Sim) downStatus(c *call, out *localsvc.Msg) {
	s.mu.Lock()
	downed := c.downed
	s.mu.Unlock()
	if downed && out.Status != localsvc.StatusOK {
		out.Status, out.Cause = localsvc.StatusChannelDown, "channel down"
	}
}

// takeIncoming offers the calls from the network to the channels of one
// board until the loopback driver closes.
func (s *Sim) takeIncoming(d *loopback.Driver) {
	for nc := range d.Incoming() {
		s.offerNetwork(nc)
	}
}

// offerNetwork rings the channel a network call is for; a channel in a
// call refuses it as busy (as a call between channels is), one that is
// not open or down rejects it (no answer).
func (s *Sim) offerNetwork(nc drivers.Call) {
	info := nc.Info()
	b, chn, err := drivers.ParsePortID(info.Port)
	s.mu.Lock()
	if err != nil || b >= len(s.boards) || chn >= len(s.boards[b]) {
		s.mu.Unlock()
		_ = nc.Hangup(drivers.CauseRejected)
		return
	}
	ch := s.boards[b][chn]
	if s.closed || ch.owner == nil || ch.down {
		s.mu.Unlock()
		_ = nc.Hangup(drivers.CauseRejected)
		return
	}
	if ch.call != nil {
		s.mu.Unlock()
		_ = nc.Hangup(drivers.CauseBusy)
		return
	}
	c := &call{to: ch, number: info.CalledNumber, answered: make(chan struct{}), hung: make(chan struct{}),
		rx: make(chan *rxReq, 1), net: nc}
	ch.call = c
	ch.state = vendor.ChannelRinging
	calling := info.CallingNumber
	if calling == "" {
		calling = info.CallerID
	}
	ch.owner.send(&localsvc.Msg{Type: localsvc.TypeEvRing, Board: b, Channel: chn, Calling: calling, Called: info.CalledNumber})
	s.mu.Unlock()
	go s.answerNetwork(c, ch)
}

// answerNetwork waits for the channel's ANSWER and RECEIVE and receives
// the network call into the RECEIVE's file with our t30 engine (the
// loopback call runs drivers.ReceiveOver).
func (s *Sim) answerNetwork(c *call, ch *channel) {
	nc := c.net
	ring := time.NewTimer(inboundRingLimit)
	defer ring.Stop()
	select {
	case <-c.answered:
	case <-c.hung:
		_ = nc.Hangup(drivers.CauseRejected)
		return
	case <-ring.C:
		s.mu.Lock()
		s.endCallLocked(c, nil)
		s.mu.Unlock()
		_ = nc.Hangup(drivers.CauseRejected)
		return
	}
	var req *rxReq
	select {
	case req = <-c.rx:
	case <-c.hung:
		_ = nc.Hangup(drivers.CauseNormal)
		return
	}
	start := time.Now()
	out := localsvc.Msg{Type: localsvc.TypeCompletion}
	sink := &fileSink{}
	if req.path != "" {
		f, err := os.Create(req.path)
		if err != nil {
			_ = nc.Hangup(drivers.CauseRejected)
			out.Status, out.Error = localsvc.StatusFileError, err.Error()
			req.done <- out
			return
		}
		sink.f = f
	}
	done := make(chan struct{})
	go hangupOnClear(c, nc, done)
	received := 0
	progress := func(ev t30.PageEvent) {
		if ev.Status != t30.PageReceived {
			return
		}
		received++
		s.mu.Lock()
		owner := ch.owner
		s.mu.Unlock()
		s.pageEvent(owner, localsvc.Msg{Type: localsvc.TypeEvPage, Board: ch.ref.Board, Channel: ch.ref.Channel,
			Page: received, Rate: ev.Speed.Rate})
		s.paceNetwork(c)
	}
	r, _ := nc.Receive(context.Background(),
		drivers.ReceiveParams{CSID: req.csid, MaxRate: req.rate, ECM: ecmMode(req.ecm)}, sink, progress)
	close(done)
	fillFrom(&out, r, r.PagesReceived)
	if r.Code != t30.OK && r.Err != nil {
		out.Error = r.Err.Error()
	}
	if err := sink.close(); err != nil && r.Code == t30.OK {
		out.Status, out.Error = localsvc.StatusFileError, err.Error()
	}
	s.downStatus(c, &out)
	out.DurationMS = int(time.Since(start) / time.Millisecond)
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	req.done <- out
}
