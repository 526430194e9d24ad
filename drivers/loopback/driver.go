package loopback

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/modem"
	"github.com/faxagent/faxagent/t30"
)

// DriverOptions configure a Driver.
type DriverOptions struct {
	// Name is the driver name licences count ports under (default
	// "loopback").
	Name string
	// Board is the board number of the port IDs ("M<board>,<channel>").
	Board int
	// Numbers are the ports' telephone numbers, one port per number.
	Numbers []string
	// Caps are every port's capabilities; the zero value means
	// everything (send, receive, V.17 14400, ECM, MH/MR/MMR, all
	// resolutions).
	Caps *drivers.Capabilities
}

// DefaultCaps are the capabilities of a loopback port.
func DefaultCaps() drivers.Capabilities {
	return drivers.Capabilities{
		Send: true, Receive: true,
		Modems: t30.SetV27ter | t30.SetV29 | t30.SetV17, MaxRate: 14400, ECM: true,
		Compressions: []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR},
		Resolutions:  []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine, imaging.Ultrafine},
	}
}

// Driver is a set of loopback ports on a Network. It implements
// drivers.Driver.
type Driver struct {
	net  *Network
	name string
	caps drivers.Capabilities

	ports []*port
	byID  map[string]*port

	mu       sync.Mutex
	open     bool
	closed   bool
	calls    map[*call]struct{}
	incoming chan drivers.Call
	ev       *drivers.PortEvents
	callSeq  int
}

type port struct {
	d     *Driver
	info  drivers.PortInfo // State guarded by d.mu
	inUse bool
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a driver with one port per number on net.
func New(net *Network, o DriverOptions) *Driver {
	d := &Driver{
		net: net, name: o.Name, caps: DefaultCaps(),
		byID:     map[string]*port{},
		calls:    map[*call]struct{}{},
		incoming: make(chan drivers.Call, len(o.Numbers)+1),
		ev:       drivers.NewPortEvents(len(o.Numbers), net.o.Now),
	}
	if d.name == "" {
		d.name = "loopback"
	}
	if o.Caps != nil {
		d.caps = *o.Caps
	}
	for i, num := range o.Numbers {
		p := &port{d: d, info: drivers.PortInfo{
			ID: drivers.PortID(o.Board, i), Board: o.Board, Channel: i,
			Driver: d.name, Number: num, Caps: d.caps, State: drivers.StateDown,
		}}
		d.ports = append(d.ports, p)
		d.byID[p.info.ID] = p
	}
	return d
}

// Name implements drivers.Driver.
func (d *Driver) Name() string { return d.name }

// Open implements drivers.Driver: the ports come up and their numbers
// become reachable.
func (d *Driver) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return drivers.ErrClosed
	}
	if d.open {
		return nil
	}
	d.open = true
	for _, p := range d.ports {
		d.net.register(p)
		d.setStateLocked(p, drivers.StateIdle)
	}
	return ctx.Err()
}

// Close implements drivers.Driver.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	calls := make([]*call, 0, len(d.calls))
	for c := range d.calls {
		calls = append(calls, c)
	}
	infos := make([]*drivers.PortInfo, len(d.ports))
	for i, p := range d.ports {
		d.net.unregister(p)
		infos[i] = &p.info
	}
	d.ev.Close(infos)
	close(d.incoming)
	d.mu.Unlock()
	for _, c := range calls {
		_ = c.Hangup(drivers.CauseShutdown)
	}
	return nil
}

// Ports implements drivers.Driver.
func (d *Driver) Ports() []drivers.PortInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]drivers.PortInfo, len(d.ports))
	for i, p := range d.ports {
		out[i] = p.info
	}
	return out
}

// Incoming implements drivers.Driver.
func (d *Driver) Incoming() <-chan drivers.Call { return d.incoming }

// Events implements drivers.Driver.
func (d *Driver) Events() <-chan drivers.PortEvent { return d.ev.C() }

func (d *Driver) setStateLocked(p *port, s drivers.PortState) { d.ev.Set(&p.info, s, nil) }

func (d *Driver) setState(p *port, s drivers.PortState) {
	d.mu.Lock()
	d.setStateLocked(p, s)
	d.mu.Unlock()
}

// release returns a port to idle after a call.
func (d *Driver) release(p *port, c *call) {
	d.mu.Lock()
	p.inUse = false
	delete(d.calls, c)
	if !d.closed {
		d.setStateLocked(p, drivers.StateIdle)
	}
	d.mu.Unlock()
}

// acquire takes an idle port for a call.
func (d *Driver) acquire(p *port, s drivers.PortState) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed || !d.open:
		return drivers.ErrClosed
	case p.inUse:
		return fmt.Errorf("%w: %s", drivers.ErrPortBusy, p.info.ID)
	}
	p.inUse = true
	d.setStateLocked(p, s)
	return nil
}

func (d *Driver) callID(p *port) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.callSeq++
	return p.info.ID + "/" + strconv.Itoa(d.callSeq)
}

// Dial implements drivers.Driver.
func (d *Driver) Dial(ctx context.Context, portID, number string, o drivers.DialOptions) (drivers.Call, error) {
	p := d.byID[portID]
	if p == nil {
		return nil, fmt.Errorf("%w: %s", drivers.ErrNoPort, portID)
	}
	if err := d.acquire(p, drivers.StateDialling); err != nil {
		return nil, err
	}
	n := d.net
	start := n.o.Now()
	c := &call{d: d, port: p, side: 0, stop: make(chan struct{})}
	c.info = drivers.CallInfo{
		ID: d.callID(p), Port: p.info.ID, Direction: drivers.Outbound,
		CallingNumber: p.info.Number, CalledNumber: number, DID: number,
		CallerID: p.info.Number, Started: start,
	}
	if o.CallerID != "" {
		c.info.CallerID = o.CallerID
	}
	fail := func(code t30.Code, cause string, dur time.Duration, err error) (drivers.Call, error) {
		c.done()
		if n.o.Mode == Paced {
			dur = n.o.Now().Sub(start)
		}
		return nil, &drivers.DialError{Code: code, Cause: cause, Duration: dur, Err: err}
	}
	m := n.model(number)
	switch m.Kind {
	case Busy:
		if err := n.wait(ctx, BusyTime); err != nil {
			return fail(t30.CodeCancelled, "dialling cancelled", 0, err)
		}
		return fail(t30.CodeBusy, "busy", BusyTime, nil)
	case NoAnswer:
		rt := o.RingTimeout
		if rt <= 0 {
			rt = DefaultRinging
		}
		if err := n.wait(ctx, rt); err != nil {
			return fail(t30.CodeCancelled, "dialling cancelled", 0, err)
		}
		return fail(t30.CodeNoAnswer, "no answer", rt, nil)
	case RingsOut:
		if err := n.wait(ctx, RingsOutTime); err != nil {
			return fail(t30.CodeCancelled, "dialling cancelled", 0, err)
		}
		return fail(t30.CodeNoAnswer, "rings out: released by the network", RingsOutTime, nil)
	}
	// Ring first: in Paced mode the remote starts its session (CED, DIS)
	// only when it answers.
	if err := n.wait(ctx, RingTime); err != nil {
		return fail(t30.CodeCancelled, "dialling cancelled", 0, err)
	}
	cn := newConn(n, m)
	c.conn = cn
	var callee *call
	owner := n.owner(number)
	switch {
	case m.Kind == Voice:
		cn.register(1)
		cn.expect(0)
	case owner != nil:
		cn.register(2)
		var err error
		callee, err = owner.d.offer(owner, cn, c.info)
		if err != nil {
			cn.end() // the callee's end; fail ends ours
			return fail(t30.CodeBusy, "the called port is in another call", BusyTime, nil)
		}
		cn.expect(1)
	default:
		cn.register(2)
		cn.expect(1)
		cn.builtin = number
		cn.answerBuiltin(number)
	}
	if callee != nil {
		select {
		case <-cn.answered:
		case <-cn.rejected:
			if cn.rejectedBusy() {
				return fail(t30.CodeBusy, "the called port is in another call", BusyTime, nil)
			}
			return fail(t30.CodeNoAnswer, "call rejected by the called port", RingTime, nil)
		case <-ctx.Done():
			if cn.abandon() {
				return fail(t30.CodeCancelled, "dialling cancelled", 0, ctx.Err())
			}
			// Answered at the same moment: hang the call up.
			c.conn = cn
			_ = c.Hangup(drivers.CauseCancelled)
			return fail(t30.CodeCancelled, "dialling cancelled", 0, ctx.Err())
		}
	}
	c.dialDur = RingTime
	if n.o.Mode == Paced {
		c.dialDur = n.o.Now().Sub(start)
	}
	c.info.Connected = start.Add(c.dialDur)
	d.mu.Lock()
	d.calls[c] = struct{}{}
	d.setStateLocked(p, drivers.StateSending)
	d.mu.Unlock()
	n.connected(1)
	c.counted = true
	return c, nil
}

// offer rings port p with an incoming call.
func (d *Driver) offer(p *port, cn *conn, from drivers.CallInfo) (*call, error) {
	if err := d.acquire(p, drivers.StateReceiving); err != nil {
		return nil, err
	}
	c := &call{d: d, port: p, side: 1, conn: cn, stop: make(chan struct{})}
	c.info = drivers.CallInfo{
		ID: d.callID(p), Port: p.info.ID, Direction: drivers.Inbound,
		CallingNumber: from.CallingNumber, CalledNumber: from.CalledNumber,
		// The routing information is the whole dialled number: a rule on
		// the number or on its last digits matches it (core's routing).
		DID: from.CalledNumber, RoutingDigits: from.CalledNumber,
		CallerID: from.CallerID, CallerName: from.CallerName, Started: d.net.o.Now(),
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		p.inUse = false
		return nil, drivers.ErrClosed
	}
	d.calls[c] = struct{}{}
	select {
	case d.incoming <- c:
		return c, nil
	default:
		p.inUse = false
		delete(d.calls, c)
		d.setStateLocked(p, drivers.StateIdle)
		return nil, fmt.Errorf("%w: nobody takes calls on %s", drivers.ErrPortBusy, p.info.ID)
	}
}

// conn is a connected call: a line pair and the loop its sessions run on.
type conn struct {
	net   *Network
	m     Model
	loop  *drivers.Loop
	a, b  t30.Line
	cut   func() // drop the line: both ends get EventLineLost
	link  *modem.Link
	owned bool // the loop is this call's own (Virtual)
	// builtin is the number the network's own fax machine answered ("":
	// a port or nobody answered).
	builtin string

	mu       sync.Mutex
	state    int // 0 ringing, 1 answered, 2 rejected, 3 abandoned
	answered chan struct{}
	rejected chan struct{}
	busy     bool // rejected with CauseBusy
	sides    int  // ends still running; the conn is live until 0
}

// end is called once per end of the call (caller, callee or built-in
// remote) when it is over.
func (cn *conn) end() {
	cn.mu.Lock()
	cn.sides--
	last := cn.sides == 0
	cn.mu.Unlock()
	if last {
		if cn.link != nil {
			cn.loop.Post(cn.link.Stop)
		}
		cn.net.mu.Lock()
		delete(cn.net.live, cn)
		cn.net.mu.Unlock()
	}
}

func newConn(n *Network, m Model) *conn {
	cn := &conn{net: n, m: m, answered: make(chan struct{}), rejected: make(chan struct{})}
	if n.o.Mode == Paced {
		cn.loop = n.wall
	} else {
		cn.loop = n.virtualLoop()
		cn.owned = true
	}
	lm := t30.LineModel{BitErrorRate: m.BitErrorRate, FrameErrorRate: m.FrameErrorRate, Seed: n.nextSeed()}
	if m.TrainFailAbove > 0 {
		above := m.TrainFailAbove
		lm.TrainFails = func(from int, sp t30.Speed) bool { return from == 0 && sp.Rate > above }
	}
	if m.Audio {
		cn.audio()
		return cn
	}
	a, b := t30.NewLinePair(cn.loop.Clock(), lm)
	cn.a, cn.b, cn.cut = a, b, a.Pair().Cut
	return cn
}

// audio makes the call's line two modem terminals on a sample link.
func (cn *conn) audio() {
	clock := cn.loop.Clock()
	ta := modem.NewTerminal(modem.Config{}, clock)
	tb := modem.NewTerminal(modem.Config{}, clock)
	cn.link = modem.NewLink(clock, ta, tb, modem.LinkConfig{})
	cn.cut = func() {
		ta.Close(t30.ErrLineDown)
		tb.Close(t30.ErrLineDown)
	}
	cn.a, cn.b = &audioEnd{ta, tb, clock}, &audioEnd{tb, ta, clock}
	cn.loop.Post(cn.link.Start)
}

// audioEnd is one end of an audio call: hanging up is heard at the far
// end as the line going down, once the last samples have crossed.
type audioEnd struct {
	*modem.Terminal
	far   *modem.Terminal
	clock t30.Clock
}

func (e *audioEnd) Hangup() error {
	if !e.Terminal.Down() {
		e.clock.AfterFunc(100*time.Millisecond, func() { e.far.Close(t30.ErrLineDown) })
	}
	return e.Terminal.Hangup()
}

// register makes the conn live with `sides` ends.
func (cn *conn) register(sides int) {
	cn.sides = sides
	cn.net.mu.Lock()
	cn.net.live[cn] = struct{}{}
	cn.net.mu.Unlock()
}

// expect starts the call's own loop, which waits for the caller's session
// and remote ones.
func (cn *conn) expect(remote int) {
	if !cn.owned {
		return
	}
	cn.loop.Expect(1 + remote)
	cn.loop.Close()
	go func() { _ = cn.loop.Run(context.Background()) }()
}

func (cn *conn) answer() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.state != 0 {
		return false
	}
	cn.state = 1
	close(cn.answered)
	return true
}

func (cn *conn) reject(cause drivers.HangupCause) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.state == 0 {
		cn.state = 2
		cn.busy = cause == drivers.CauseBusy
		close(cn.rejected)
	}
}

// rejectedBusy reports whether the callee refused the call because its
// port was in another call.
func (cn *conn) rejectedBusy() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.busy
}

func (cn *conn) abandon() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.state == 0 {
		cn.state = 3
		return true
	}
	return false
}

// remoteCaps applies the model's remote limits to the answering side.
func (cn *conn) remoteCaps(c drivers.Capabilities) drivers.Capabilities {
	m := cn.m
	if m.RemoteCompressions != nil {
		c.Compressions = m.RemoteCompressions
	}
	if m.RemoteMaxRate > 0 {
		c.MaxRate = m.RemoteMaxRate
		switch {
		case m.RemoteMaxRate <= 4800:
			c.Modems = t30.SetV27ter
		case m.RemoteMaxRate <= 9600:
			c.Modems = t30.SetV27ter | t30.SetV29
		}
	}
	if m.RemoteNoECM {
		c.ECM = false
	}
	return c
}

// answerBuiltin answers with the network's own fax machine.
func (cn *conn) answerBuiltin(number string) {
	caps := cn.remoteCaps(DefaultCaps())
	csid := cn.m.RemoteCSID
	if csid == "" {
		csid = number
	}
	sink := builtinSink{n: cn.net, number: number}
	done, ok := cn.net.session()
	if !ok {
		cn.loop.Forgo()
		cn.loop.Post(func() { _ = cn.b.Hangup() })
		cn.end()
		return
	}
	go func() {
		defer done()
		defer cn.end()
		_, _ = drivers.ReceiveOver(context.Background(), cn.loop, cn.b, caps, drivers.ReceiveParams{CSID: csid}, sink, nil, nil)
	}()
}

type builtinSink struct {
	n      *Network
	number string
}

func (s builtinSink) Page(p *t30.ReceivedPage) error {
	s.n.mu.Lock()
	s.n.builtin[s.number] = append(s.n.builtin[s.number], p)
	s.n.mu.Unlock()
	return nil
}

// call is one end of a conn. It implements drivers.Call.
type call struct {
	d    *Driver
	port *port
	side int // 0 caller, 1 callee
	conn *conn
	info drivers.CallInfo

	dialDur time.Duration
	counted bool // counted as connected on the network

	mu       sync.Mutex
	used     bool // Send or Receive started, or the call was given up
	hung     bool
	cause    drivers.HangupCause
	stop     chan struct{}
	released bool
}

var _ drivers.Call = (*call)(nil)

// Info implements drivers.Call.
func (c *call) Info() drivers.CallInfo { return c.info }

// begin marks the call used; false if it was already used or hung up.
func (c *call) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used {
		return false
	}
	c.used = true
	return true
}

func (c *call) done() {
	c.mu.Lock()
	rel := !c.released
	c.released = true
	c.mu.Unlock()
	if rel {
		if c.counted {
			c.d.net.connected(-1)
		}
		c.d.release(c.port, c)
		if c.conn != nil {
			c.conn.end()
		}
	}
}

var errUsed = errors.New("loopback: call already used or hung up")

func (c *call) notUsable() (drivers.Result, error) {
	r := drivers.Result{Info: c.info, Ended: c.d.net.o.Now()}
	r.Code, r.Err = t30.CodeCancelled, errUsed
	c.mu.Lock()
	r.HangupCause = c.cause
	c.mu.Unlock()
	return r, r.AsError()
}

// Send implements drivers.Call.
func (c *call) Send(ctx context.Context, doc drivers.Document, p drivers.SendParams, progress func(t30.PageEvent)) (drivers.Result, error) {
	if c.side != 0 {
		return drivers.Result{}, errors.New("loopback: Send on an incoming call")
	}
	if !c.begin() {
		return c.notUsable()
	}
	defer c.done()
	cn := c.conn
	end, ok := c.d.net.session()
	if !ok {
		cn.loop.Forgo()
		cn.loop.Post(func() { _ = cn.a.Hangup() })
		r := drivers.Result{Info: c.info, Ended: c.d.net.o.Now()}
		r.Code, r.Err = t30.CodeCallDropped, drivers.ErrClosed
		return r, r.AsError()
	}
	defer end()
	c.d.setState(c.port, drivers.StateSending)
	confirmed := 0
	wrapped := func(ev t30.PageEvent) {
		if ev.Status == t30.PageConfirmed {
			confirmed++
			if k := cn.m.DropAfterPage; k > 0 && confirmed == k {
				// On the loop: cut the line while the next page is
				// on its way.
				cn.loop.Clock().AfterFunc(1500*time.Millisecond, cn.cut)
			}
		}
		flush := func() {}
		if ev.Status == t30.PageConfirmed && cn.builtin != "" && ev.Page == doc.NumPages() {
			// The built-in machine's MCF of the last page reached us:
			// its log has the fax before the sender hears of it.
			flush = c.d.net.delivered(Delivery(cn.builtin, p.CSID, confirmed, c.info.ID))
		}
		if progress != nil {
			progress(ev)
		}
		flush()
	}
	r, err := drivers.SendOver(ctx, cn.loop, cn.a, c.port.info.Caps, doc, p, c.stop, wrapped)
	return c.finish(r, err)
}

// Receive implements drivers.Call.
func (c *call) Receive(ctx context.Context, p drivers.ReceiveParams, sink t30.PageSink, progress func(t30.PageEvent)) (drivers.Result, error) {
	if c.side != 1 {
		return drivers.Result{}, errors.New("loopback: Receive on an outgoing call")
	}
	if !c.begin() {
		return c.notUsable()
	}
	defer c.done()
	cn := c.conn
	if !cn.answer() {
		r := drivers.Result{Info: c.info, Ended: c.d.net.o.Now()}
		r.Code, r.Err = t30.CodeCallDropped, errors.New("loopback: caller gave up before answer")
		return r, r.AsError()
	}
	c.info.Connected = c.d.net.o.Now()
	end, ok := c.d.net.session()
	if !ok {
		cn.loop.Forgo()
		cn.loop.Post(func() { _ = cn.b.Hangup() })
		r := drivers.Result{Info: c.info, Ended: c.d.net.o.Now()}
		r.Code, r.Err = t30.CodeCallDropped, drivers.ErrClosed
		return r, r.AsError()
	}
	defer end()
	r, err := drivers.ReceiveOver(ctx, cn.loop, cn.b, cn.remoteCaps(c.port.info.Caps), p, sink, c.stop, progress)
	return c.finish(r, err)
}

func (c *call) finish(r drivers.Result, _ error) (drivers.Result, error) {
	r.Info = c.info
	r.DialDuration = c.dialDur
	r.CallDuration = c.dialDur + r.TransmitDuration
	if c.d.net.o.Mode == Paced {
		r.CallDuration = c.d.net.o.Now().Sub(c.info.Started)
	}
	r.Ended = c.info.Started.Add(r.CallDuration)
	c.mu.Lock()
	if c.hung {
		r.HangupCause = c.cause
	}
	c.mu.Unlock()
	return r, r.AsError()
}

// Hangup implements drivers.Call.
func (c *call) Hangup(cause drivers.HangupCause) error {
	c.mu.Lock()
	if c.hung {
		c.mu.Unlock()
		return nil
	}
	c.hung = true
	c.cause = cause
	close(c.stop)
	unused := !c.used
	c.used = true
	c.mu.Unlock()
	if !unused {
		return nil // Send/Receive sees stop and ends the session
	}
	// Given up before Send/Receive: take back our session and hang the
	// line up so the other end ends too.
	cn := c.conn
	if cn == nil {
		return nil
	}
	if c.side == 1 {
		cn.reject(cause)
		cn.mu.Lock()
		answered := cn.state == 1
		cn.mu.Unlock()
		if !answered {
			c.done()
			return nil
		}
	}
	end := cn.a
	if c.side == 1 {
		end = cn.b
	}
	cn.loop.Forgo()
	cn.loop.Post(func() { _ = end.Hangup() })
	c.done()
	return nil
}

// virtualLoop is a new call's loop in Virtual mode: paced by Speedup when
// set.
func (n *Network) virtualLoop() *drivers.Loop {
	if n.o.Speedup > 0 {
		return drivers.NewPacedVirtualLoop(n.o.Speedup)
	}
	return drivers.NewVirtualLoop()
}
