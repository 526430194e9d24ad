// Package btsim is a Brooktrout board simulator: a process-level stand-in
// for the vendor's local service that speaks the protocol of
// drivers/brooktrout/PROTOCOL.md over a unix or TCP socket. It simulates
// boards with channels (2 boards x 4 channels by default); channels call
// each other, or numbers answered by line models (busy, no answer, no fax,
// training failure, a fax machine that drops after page K). A fax runs as
// a real T.30 call: the sender's TIFF from the shared spool is read with
// imaging/tiff, our t30 engine runs both terminals over an in-memory line
// in virtual time, and the receiver's pages are written into its TIFF as
// they were coded on the line, so page counts, rates, ECM and pixels are
// those of a real call; wall time per page is scaled (fast by default).
// With Config.CopyOnly the pages are copied file to file instead.
//
// Joined to a loopback network (Config.Network, when the simulator runs
// in the same process as other agents' loopback drivers), the boards are
// part of that network: every channel's number is a loopback port, a
// dialled number that is neither a channel nor a line model is called on
// the network (the port that owns it, or the network's built-in fax
// machine), and a loopback port that dials a channel's number rings that
// channel. Those calls run our t30 engine over the loopback line
// (the loopback call's Send and Receive, that is drivers.SendOver and
// ReceiveOver), so a fax sent through a simulated board arrives at another
// agent's port pixel-equal, and the reverse. The loopback network's line
// models (busy, drop after page K, ...) apply to them. While a Sim is
// closed its numbers belong to nobody on the network, so the network's
// built-in fax machine answers them (the loopback network has no "out of
// service" for unowned numbers).
//
// Fault injection: channels and boards go down (SetChannelDown,
// SetBoardDown), a call drops after page K (a line model), responses are
// slow (Config.ResponseDelay), the service stops and starts again (Close,
// then a new Sim on the same socket), and Config.OnPage lets a test act
// at an exact page (take a channel down, kill the plugin).
//
// The standalone binary is testbench/btsim/cmd/btsim (and `faxagent
// testbench btsim`). btsim imports drivers (the shared T.30 helpers),
// drivers/loopback, t30, imaging, localsvc and vendor; nothing in the
// product imports it.
package btsim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
)

// LineKind is the behaviour of a simulated remote line.
type LineKind int

// Line kinds.
const (
	LineFax       LineKind = iota // a fax machine that receives everything
	LineBusy                      // busy tone
	LineNoAnswer                  // rings until the ring timeout
	LineNoFax                     // a voice answers: no fax terminal
	LineTrainFail                 // training fails at every speed
	LineDropAfter                 // a fax machine; the line drops after Pages pages
)

// Line is a number answered by a line model.
type Line struct {
	Kind  LineKind
	Pages int    // LineDropAfter: pages confirmed before the drop
	CSID  string // the remote's CSI ("" : "BTSIM <number>")
	Rate  int    // highest rate the remote trains at (0: 14400)
}

// DefaultLines are the line models of a Sim without Config.Lines.
func DefaultLines() map[string]Line {
	return map[string]Line{
		"9001": {Kind: LineBusy},
		"9002": {Kind: LineNoAnswer},
		"9003": {Kind: LineDropAfter, Pages: 1},
		"9004": {Kind: LineTrainFail},
		"9005": {Kind: LineFax},
		"9006": {Kind: LineNoFax},
		"9007": {Kind: LineFax, Rate: 9600, CSID: "V29 REMOTE"},
	}
}

// Config configures a Sim. Zero fields take the defaults.
type Config struct {
	Boards   int // 2
	Channels int // channels per board: 4
	// PageTime is how long a page takes on the line (default 1 ms),
	// RingTime how long a call rings before a line model answers or
	// reports busy (1 ms), NoAnswerTime how long a LineNoAnswer rings
	// when the DIAL gives no shorter timeout (20 ms).
	PageTime     time.Duration
	RingTime     time.Duration
	NoAnswerTime time.Duration
	Lines        map[string]Line
	// ResponseDelay delays every response (a slow service).
	ResponseDelay time.Duration
	// OnPage, if set, is called after every EV_PAGE the simulator sends
	// (a page confirmed to a sending channel or received by a receiving
	// one), before the page's pacing: tests inject faults at a page
	// (SetChannelDown, kill the client). It must not block for long.
	OnPage func(ch vendor.ChannelRef, page int)
	// CopyOnly copies the pages from file to file instead of running
	// T.30 (no negotiation; any page width).
	CopyOnly bool
	// Network, if set, joins the simulated boards to a loopback network
	// (a Sim running in the same process as loopback drivers): every
	// channel's number is a loopback port of the network, a number that
	// is neither a channel nor a line model is dialled on the network,
	// and calls from loopback ports to a channel's number ring the
	// channel. Such calls run our t30 engine over the loopback line.
	Network *loopback.Network
	Log     *slog.Logger
}

// Number is the telephone number of a simulated channel: "7" board
// channel, e.g. "7103" for board 1 channel 3.
func Number(board, channel int) string { return fmt.Sprintf("7%d%02d", board, channel) }

// Sim is a running simulator.
type Sim struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	boards [][]*channel
	byNum  map[string]*channel
	conns  map[*sconn]struct{}
	lns    []net.Listener
	closed bool
	calls  int // completed fax transfers

	// nets are the loopback drivers of the boards (Config.Network), one
	// per board, their ports the board's channels.
	nets []*loopback.Driver
}

type channel struct {
	ref    vendor.ChannelRef
	number string
	owner  *sconn
	down   bool
	state  vendor.ChannelState
	call   *call
}

// call is one call between a channel and another channel or a line model.
type call struct {
	from, to *channel // to is nil for a line model
	line     Line
	number   string
	answered chan struct{}
	hung     chan struct{}
	once     sync.Once
	rx       chan *rxReq
	// net is the loopback call of a call to or from the loopback network
	// (Config.Network); nil for calls between channels and line models.
	net drivers.Call
	// downed: the call was cleared because a channel went down (guarded
	// by Sim.mu).
	downed bool
}

func (c *call) hangup() { c.once.Do(func() { close(c.hung) }) }

type rxReq struct {
	path string
	csid string
	ecm  bool
	rate int
	done chan localsvc.Msg
}

// New returns a simulator.
func New(cfg Config) *Sim {
	if cfg.Boards <= 0 {
		cfg.Boards = 2
	}
	if cfg.Channels <= 0 {
		cfg.Channels = 4
	}
	if cfg.PageTime <= 0 {
		cfg.PageTime = time.Millisecond
	}
	if cfg.RingTime <= 0 {
		cfg.RingTime = time.Millisecond
	}
	if cfg.NoAnswerTime <= 0 {
		cfg.NoAnswerTime = 20 * time.Millisecond
	}
	if cfg.Lines == nil {
		cfg.Lines = DefaultLines()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Sim{cfg: cfg, log: cfg.Log, byNum: map[string]*channel{}, conns: map[*sconn]struct{}{}}
	for b := 0; b < cfg.Boards; b++ {
		var chs []*channel
		for c := 0; c < cfg.Channels; c++ {
			ch := &channel{ref: vendor.ChannelRef{Board: b, Channel: c}, number: Number(b, c)}
			chs = append(chs, ch)
			s.byNum[ch.number] = ch
		}
		s.boards = append(s.boards, chs)
	}
	if cfg.Network != nil {
		s.joinNetwork()
	}
	return s
}

// Completed is the number of fax transfers that ended (any outcome).
func (s *Sim) Completed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Serve accepts connections on ln until ln is closed or Close is called.
func (s *Sim) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go s.ServeConn(c)
	}
}

// ServeConn serves one client connection until it closes.
func (s *Sim) ServeConn(c net.Conn) {
	sc := &sconn{s: s, c: c, w: bufio.NewWriter(c)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	sc.run()
}

// Close stops the service: listeners and connections close, every call
// is dropped.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	lns := s.lns
	conns := make([]*sconn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range conns {
		c.c.Close()
	}
	for _, d := range s.nets {
		d.Close()
	}
	return nil
}

// SetChannelDown takes a channel down (its call drops, EV_DOWN) or back
// up (EV_UP).
func (s *Sim) SetChannelDown(board, ch int, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if board < 0 || board >= len(s.boards) || ch < 0 || ch >= len(s.boards[board]) {
		return
	}
	s.setDownLocked(s.boards[board][ch], down)
}

// SetBoardDown takes every channel of a board down or up.
func (s *Sim) SetBoardDown(board int, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if board < 0 || board >= len(s.boards) {
		return
	}
	for _, ch := range s.boards[board] {
		s.setDownLocked(ch, down)
	}
}

func (s *Sim) setDownLocked(ch *channel, down bool) {
	if ch.down == down {
		return
	}
	ch.down = down
	if ch.call != nil {
		ch.call.downed = true
		s.endCallLocked(ch.call, ch)
	}
	if ch.owner != nil {
		t := localsvc.TypeEvUp
		if down {
			t = localsvc.TypeEvDown
		}
		ch.owner.send(&localsvc.Msg{Type: t, Board: ch.ref.Board, Channel: ch.ref.Channel, Error: "simulated fault"})
	}
}

// sconn is one client connection (the plugin).
type sconn struct {
	s   *Sim
	c   net.Conn
	wmu sync.Mutex
	w   *bufio.Writer
}

func (sc *sconn) send(m *localsvc.Msg) {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if err := localsvc.WriteMsg(sc.w, m); err == nil {
		_ = sc.w.Flush()
	}
}

// pageEvent sends an EV_PAGE to its channel's client and tells
// Config.OnPage.
func (s *Sim) pageEvent(to *sconn, m localsvc.Msg) {
	if to != nil {
		to.send(&m)
	}
	if s.cfg.OnPage != nil {
		s.cfg.OnPage(vendor.ChannelRef{Board: m.Board, Channel: m.Channel}, m.Page)
	}
}

func (sc *sconn) reply(req *localsvc.Msg, m localsvc.Msg) {
	if d := sc.s.cfg.ResponseDelay; d > 0 {
		time.Sleep(d)
	}
	m.ID = req.ID
	sc.send(&m)
}

func (sc *sconn) fail(req *localsvc.Msg, status int, format string, a ...any) {
	sc.reply(req, localsvc.Msg{Type: localsvc.TypeError, Status: status, Error: fmt.Sprintf(format, a...)})
}

func (sc *sconn) run() {
	s := sc.s
	r := bufio.NewReader(sc.c)
	var buf []byte
	for {
		body, err := localsvc.ReadFrame(r, buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Info("btsim: connection ends", "err", err)
			}
			break
		}
		buf = body
		var m localsvc.Msg
		if err := m.Unmarshal(body); err != nil {
			s.log.Warn("btsim: malformed request", "err", err)
			continue
		}
		sc.handle(&m)
	}
	sc.c.Close()
	s.mu.Lock()
	delete(s.conns, sc)
	for _, chs := range s.boards {
		for _, ch := range chs {
			if ch.owner == sc {
				if ch.call != nil {
					s.endCallLocked(ch.call, ch)
				}
				ch.owner = nil
				ch.state = vendor.ChannelClosed
			}
		}
	}
	s.mu.Unlock()
}

// chanLocked finds a channel this connection opened.
func (sc *sconn) chanLocked(m *localsvc.Msg) (*channel, error) {
	s := sc.s
	if m.Board >= len(s.boards) || m.Channel >= len(s.boards[m.Board]) {
		return nil, fmt.Errorf("no channel %d,%d", m.Board, m.Channel)
	}
	ch := s.boards[m.Board][m.Channel]
	if ch.owner != sc {
		return nil, fmt.Errorf("channel %d,%d not opened", m.Board, m.Channel)
	}
	return ch, nil
}

func (sc *sconn) handle(m *localsvc.Msg) {
	s := sc.s
	switch m.Type {
	case localsvc.TypeHello:
		sc.reply(m, localsvc.Msg{Type: localsvc.TypeOK, Version: localsvc.Version, Model: "btsim"})
	case localsvc.TypeBoardInfo:
		if m.Board >= len(s.boards) {
			sc.fail(m, localsvc.StatusInternal, "no board %d", m.Board)
			return
		}
		sc.reply(m, localsvc.Msg{Type: localsvc.TypeOK, Board: m.Board, Boards: len(s.boards),
			Channels: len(s.boards[m.Board]), Model: "btsim TR1034", Serial: fmt.Sprintf("SIM%04d", m.Board)})
	case localsvc.TypeOpen:
		s.mu.Lock()
		if m.Board >= len(s.boards) || m.Channel >= len(s.boards[m.Board]) {
			s.mu.Unlock()
			sc.fail(m, localsvc.StatusInternal, "no channel %d,%d", m.Board, m.Channel)
			return
		}
		ch := s.boards[m.Board][m.Channel]
		if ch.owner != nil && ch.owner != sc {
			s.mu.Unlock()
			sc.fail(m, localsvc.StatusChannelDown, "channel %d,%d is open elsewhere", m.Board, m.Channel)
			return
		}
		ch.owner = sc
		if ch.call == nil {
			ch.state = vendor.ChannelIdle
		}
		st := ch.state
		if ch.down {
			st = vendor.ChannelDown
		}
		s.mu.Unlock()
		sc.reply(m, localsvc.Msg{Type: localsvc.TypeOK, Board: m.Board, Channel: m.Channel, Number: ch.number, State: int(st)})
	case localsvc.TypeStatus:
		s.mu.Lock()
		ch, err := sc.chanLocked(m)
		var st vendor.ChannelState
		var num string
		if err == nil {
			st, num = ch.state, ch.number
			if ch.down {
				st = vendor.ChannelDown
			}
		}
		s.mu.Unlock()
		if err != nil {
			sc.fail(m, localsvc.StatusInternal, "%v", err)
			return
		}
		sc.reply(m, localsvc.Msg{Type: localsvc.TypeOK, State: int(st), Number: num})
	case localsvc.TypeAnswer:
		s.mu.Lock()
		ch, err := sc.chanLocked(m)
		if err == nil && (ch.call == nil || ch.state != vendor.ChannelRinging) {
			err = fmt.Errorf("channel %d,%d is not ringing", m.Board, m.Channel)
		}
		if err == nil {
			ch.state = vendor.ChannelConnected
			close(ch.call.answered)
		}
		s.mu.Unlock()
		if err != nil {
			sc.fail(m, localsvc.StatusInternal, "%v", err)
			return
		}
		sc.reply(m, localsvc.Msg{Type: localsvc.TypeOK})
	case localsvc.TypeHangup:
		s.mu.Lock()
		ch, err := sc.chanLocked(m)
		if err == nil && ch.call != nil {
			s.endCallLocked(ch.call, ch)
		}
		s.mu.Unlock()
		if err != nil {
			sc.fail(m, localsvc.StatusInternal, "%v", err)
			return
		}
		sc.reply(m, localsvc.Msg{Type: localsvc.TypeOK})
	case localsvc.TypeDial:
		go sc.dial(*m)
	case localsvc.TypeSend:
		go sc.sendFax(*m)
	case localsvc.TypeReceive:
		go sc.receiveFax(*m)
	default:
		sc.fail(m, localsvc.StatusProtocolError, "%v is not a request", m.Type)
	}
}

// endCallLocked hangs a call up from side by (nil: the service), tells the
// other channel's owner and frees both channels.
func (s *Sim) endCallLocked(c *call, by *channel) {
	c.hangup()
	for _, ch := range []*channel{c.from, c.to} {
		if ch == nil || ch.call != c {
			continue
		}
		ch.call = nil
		if ch.owner != nil {
			ch.state = vendor.ChannelIdle
			if ch != by {
				ch.owner.send(&localsvc.Msg{Type: localsvc.TypeEvRemoteHangup, Board: ch.ref.Board, Channel: ch.ref.Channel})
			}
		}
	}
}

func (s *Sim) sleep(c *call, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.hung:
		return false
	}
}

func (sc *sconn) dial(m localsvc.Msg) {
	s := sc.s
	start := time.Now()
	done := func(status int, cause string) {
		sc.reply(&m, localsvc.Msg{Type: localsvc.TypeOK, Status: status, Cause: cause,
			DurationMS: int(time.Since(start) / time.Millisecond)})
	}
	s.mu.Lock()
	ch, err := sc.chanLocked(&m)
	if err == nil && (ch.down || ch.call != nil) {
		err = fmt.Errorf("channel %d,%d not idle", m.Board, m.Channel)
	}
	if err != nil {
		s.mu.Unlock()
		sc.fail(&m, localsvc.StatusChannelDown, "%v", err)
		return
	}
	c := &call{from: ch, number: m.Number, answered: make(chan struct{}), hung: make(chan struct{}), rx: make(chan *rxReq, 1)}
	line, isLine := s.cfg.Lines[m.Number]
	callee := s.byNum[m.Number]
	switch {
	case isLine:
		c.line = line
	case callee == nil && s.nets != nil:
		ch.call = c
		ch.state = vendor.ChannelConnected
		s.mu.Unlock()
		sc.dialNetwork(&m, ch, c, start)
		return
	case callee == nil:
		s.mu.Unlock()
		sleepPlain(s.cfg.RingTime)
		done(localsvc.StatusNoAnswer, "number unobtainable")
		return
	case callee == ch || callee.owner == nil || callee.down || callee.call != nil:
		s.mu.Unlock()
		sleepPlain(s.cfg.RingTime)
		done(localsvc.StatusBusy, "busy")
		return
	default:
		c.to = callee
		callee.call = c
		callee.state = vendor.ChannelRinging
		callee.owner.send(&localsvc.Msg{Type: localsvc.TypeEvRing, Board: callee.ref.Board, Channel: callee.ref.Channel,
			Calling: ch.number, Called: m.Number})
	}
	ch.call = c
	ch.state = vendor.ChannelConnected
	s.mu.Unlock()

	fail := func(status int, cause string) {
		s.mu.Lock()
		s.endCallLocked(c, ch)
		s.mu.Unlock()
		done(status, cause)
	}
	if isLine {
		switch line.Kind {
		case LineBusy:
			if !s.sleep(c, s.cfg.RingTime) {
				fail(localsvc.StatusCancelled, "hung up while dialling")
				return
			}
			fail(localsvc.StatusBusy, "busy")
			return
		case LineNoAnswer:
			d := s.cfg.NoAnswerTime
			if m.TimeoutMS > 0 && time.Duration(m.TimeoutMS)*time.Millisecond < d {
				d = time.Duration(m.TimeoutMS) * time.Millisecond
			}
			if !s.sleep(c, d) {
				fail(localsvc.StatusCancelled, "hung up while dialling")
				return
			}
			fail(localsvc.StatusNoAnswer, "no answer")
			return
		}
		if !s.sleep(c, s.cfg.RingTime) {
			fail(localsvc.StatusCancelled, "hung up while dialling")
			return
		}
		done(localsvc.StatusOK, "connected")
		return
	}
	timeout := 60 * time.Second
	if m.TimeoutMS > 0 {
		timeout = time.Duration(m.TimeoutMS) * time.Millisecond
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.answered:
		done(localsvc.StatusOK, "connected")
	case <-c.hung:
		fail(localsvc.StatusLineDropped, "call cleared while ringing")
	case <-t.C:
		fail(localsvc.StatusNoAnswer, "no answer")
	}
}

func sleepPlain(d time.Duration) { time.Sleep(d) }

func (sc *sconn) connected(m *localsvc.Msg, want vendor.ChannelState) (*channel, *call, error) {
	s := sc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := sc.chanLocked(m)
	if err != nil {
		return nil, nil, err
	}
	if ch.call == nil || ch.state != vendor.ChannelConnected {
		return nil, nil, fmt.Errorf("channel %d,%d has no connected call", m.Board, m.Channel)
	}
	ch.state = want
	return ch, ch.call, nil
}

func (sc *sconn) receiveFax(m localsvc.Msg) {
	s := sc.s
	ch, c, err := sc.connected(&m, vendor.ChannelReceiving)
	if err != nil {
		sc.fail(&m, localsvc.StatusChannelDown, "%v", err)
		return
	}
	req := &rxReq{path: m.Path, csid: m.CSID, ecm: m.ECM, rate: m.Rate, done: make(chan localsvc.Msg, 1)}
	select {
	case c.rx <- req:
	default:
		sc.fail(&m, localsvc.StatusInternal, "channel %d,%d is already receiving", m.Board, m.Channel)
		return
	}
	// A network call (c.net) completes the request also when the call
	// is cleared: its loopback call is hung up and ends at once. Give it
	// that moment; a call cleared before the reception began never will.
	grace := time.Duration(0)
	if c.net != nil {
		grace = time.Second
	}
	var out localsvc.Msg
	select {
	case out = <-req.done:
	case <-c.hung:
		// The sender may have finished at the same moment.
		select {
		case out = <-req.done:
		default:
			out = localsvc.Msg{Type: localsvc.TypeCompletion, Status: localsvc.StatusLineDropped, Cause: "call dropped before the document"}
			if grace > 0 {
				t := time.NewTimer(grace)
				select {
				case out = <-req.done:
				case <-t.C:
				}
				t.Stop()
			}
		}
	}
	out.Board, out.Channel = ch.ref.Board, ch.ref.Channel
	s.mu.Lock()
	if ch.call == c && ch.state == vendor.ChannelReceiving {
		ch.state = vendor.ChannelConnected
	}
	s.mu.Unlock()
	sc.reply(&m, out)
}

func (sc *sconn) sendFax(m localsvc.Msg) {
	s := sc.s
	ch, c, err := sc.connected(&m, vendor.ChannelSending)
	if err != nil {
		sc.fail(&m, localsvc.StatusChannelDown, "%v", err)
		return
	}
	start := time.Now()
	if c.net != nil {
		out := s.sendNetwork(c, &m, sc)
		out.Board, out.Channel = ch.ref.Board, ch.ref.Channel
		out.DurationMS = int(time.Since(start) / time.Millisecond)
		s.mu.Lock()
		s.calls++
		if ch.call == c && ch.state == vendor.ChannelSending {
			ch.state = vendor.ChannelConnected
		}
		s.mu.Unlock()
		sc.reply(&m, out)
		return
	}
	var rx *rxReq
	var peer *sconn
	if c.to != nil {
		select {
		case rx = <-c.rx:
		case <-c.hung:
		}
		s.mu.Lock()
		peer = c.to.owner
		s.mu.Unlock()
	} else {
		csid := c.line.CSID
		if csid == "" {
			csid = "BTSIM " + c.number
		}
		rx = &rxReq{csid: csid, ecm: true, rate: c.line.Rate}
	}
	out, rxOut := s.transfer(c, &m, rx, sc, peer)
	out.Board, out.Channel = ch.ref.Board, ch.ref.Channel
	out.DurationMS = int(time.Since(start) / time.Millisecond)
	rxOut.DurationMS = out.DurationMS
	s.mu.Lock()
	s.calls++
	if ch.call == c && ch.state == vendor.ChannelSending {
		ch.state = vendor.ChannelConnected
	}
	s.mu.Unlock()
	if rx != nil && rx.done != nil {
		rx.done <- rxOut
	}
	sc.reply(&m, out)
}

func modulation(rate int) string {
	switch rate {
	case 14400, 12000:
		return "V17"
	case 9600, 7200:
		return "V29"
	}
	return "V27"
}

// transfer runs one fax: the sender's file, page by page, into the
// receiver's. It returns the sender's and the receiver's completions.
func (s *Sim) transfer(c *call, tx *localsvc.Msg, rx *rxReq, txc, rxc *sconn) (out, rxOut localsvc.Msg) {
	out = localsvc.Msg{Type: localsvc.TypeCompletion}
	rxOut = localsvc.Msg{Type: localsvc.TypeCompletion, RemoteCSID: tx.CSID}
	if rx == nil {
		out.Status, out.Cause = localsvc.StatusLineDropped, "call dropped before the receiver was ready"
		return out, rxOut
	}
	out.RemoteCSID = rx.csid
	rate := 14400
	for _, r := range []int{tx.Rate, rx.rate} {
		if r > 0 && r < rate {
			rate = r
		}
	}
	out.ECM = tx.ECM && rx.ecm
	rxOut.ECM = out.ECM
	switch c.line.Kind {
	case LineNoFax:
		s.sleep(c, 2*s.cfg.RingTime)
		out.Status = localsvc.StatusNoFax
		return out, rxOut
	}
	if !s.cfg.CopyOnly {
		return s.transferT30(c, tx, rx, txc, rxc)
	}
	if c.line.Kind == LineTrainFail {
		s.sleep(c, 2*s.cfg.RingTime)
		out.Status, out.Modulation, out.Rate = localsvc.StatusTrainFailed, "V27", 2400
		return out, rxOut
	}
	out.Rate, out.Modulation = rate, modulation(rate)
	rxOut.Rate, rxOut.Modulation = out.Rate, out.Modulation

	f, err := os.Open(tx.Path)
	if err != nil {
		out.Status, out.Error = localsvc.StatusFileError, err.Error()
		return out, rxOut
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		out.Status, out.Error = localsvc.StatusFileError, err.Error()
		return out, rxOut
	}
	doc, err := tiff.Open(f, fi.Size())
	if err != nil {
		out.Status, out.Error = localsvc.StatusFileError, err.Error()
		return out, rxOut
	}
	var w *tiff.Writer
	var wf *os.File
	if rx.path != "" {
		wf, err = os.Create(rx.path)
		if err != nil {
			out.Status, out.Error = localsvc.StatusLineDropped, "receiver cannot store: "+err.Error()
			rxOut.Status, rxOut.Error = localsvc.StatusFileError, err.Error()
			return out, rxOut
		}
		defer wf.Close()
	}
	finish := func() {
		if w != nil {
			if err := w.Close(); err != nil {
				rxOut.Status, rxOut.Error = localsvc.StatusFileError, err.Error()
			}
		}
		if wf != nil {
			wf.Close()
		}
	}
	defer finish()
	for i := 0; i < doc.NumPages(); i++ {
		if c.line.Kind == LineDropAfter && i == c.line.Pages {
			out.Status, out.Cause = localsvc.StatusLineDropped, fmt.Sprintf("line dropped during page %d", i+1)
			rxOut.Status = localsvc.StatusLineDropped
			return out, rxOut
		}
		if !s.sleep(c, s.cfg.PageTime) {
			out.Status, out.Cause = localsvc.StatusLineDropped, fmt.Sprintf("call cleared during page %d", i+1)
			rxOut.Status, rxOut.Cause = localsvc.StatusLineDropped, out.Cause
			return out, rxOut
		}
		pr, err := doc.Page(i)
		if err != nil {
			out.Status, out.Error = localsvc.StatusFileError, err.Error()
			rxOut.Status = localsvc.StatusRemoteDCN
			return out, rxOut
		}
		info := pr.Info()
		comp := info.Compression
		if comp == 0 {
			comp = imaging.MH
		}
		if i == 0 {
			out.Resolution, out.Compression, out.Width = int(info.Resolution), int(comp), info.Width
			rxOut.Resolution, rxOut.Compression, rxOut.Width = out.Resolution, out.Compression, out.Width
		}
		if wf != nil && w == nil {
			w = tiff.NewWriter(wf, tiff.WriterOptions{Compression: comp, Software: "btsim"})
		}
		if err := copyPage(pr, w, comp); err != nil {
			out.Status, out.Error = localsvc.StatusFileError, err.Error()
			rxOut.Status = localsvc.StatusRemoteDCN
			return out, rxOut
		}
		out.Pages++
		rxOut.Pages++
		ev := localsvc.Msg{Type: localsvc.TypeEvPage, Board: tx.Board, Channel: tx.Channel, Page: i + 1, Rate: rate}
		s.pageEvent(txc, ev)
		if rxc != nil && c.to != nil {
			ev.Board, ev.Channel = c.to.ref.Board, c.to.ref.Channel
			s.pageEvent(rxc, ev)
		}
	}
	return out, rxOut
}

// copyPage decodes one page row by row and writes it to w (nil: decode
// only, a line model's fax machine).
func copyPage(pr *tiff.PageReader, w *tiff.Writer, comp imaging.Compression) error {
	info := pr.Info()
	if !info.Bilevel {
		return fmt.Errorf("page is not bilevel (%s)", info.CompressionName)
	}
	row := make([]byte, imaging.RowBytes(info.Width))
	var pw *tiff.PageWriter
	if w != nil {
		var err error
		pw, err = w.NewPage(tiff.PageSpec{Width: info.Width, Resolution: info.Resolution, Compression: comp})
		if err != nil {
			return err
		}
	}
	for {
		err := pr.ReadRow(row)
		if errors.Is(err, imaging.ErrEndOfPage) {
			break
		}
		if err != nil {
			return err
		}
		if pw != nil {
			if err := pw.WriteRow(row); err != nil {
				return err
			}
		}
	}
	if pw != nil {
		return pw.Close()
	}
	return nil
}
