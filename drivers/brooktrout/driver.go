// Package brooktrout is the host side of the Dialogic Brooktrout driver
// (TR1034, TruFax, SR140). The boards run T.30 themselves and are driven
// through the vendor's local service; this package starts the
// faxagent-brooktrout plugin process (hashicorp/go-plugin over gRPC, a
// versioned handshake), supervises it, and implements drivers.Driver as a
// board-managed driver, so the agent sees ports "M<board>,<channel>" and
// document-level calls and never gRPC.
//
// A document to send is written as a TIFF Class F file into a spool
// directory the service shares; a received fax comes back the same way and
// its pages go to the caller's sink when the board completes. The board's
// completion information (pages, rate, modulation, ECM, remote CSID,
// board/channel, error) becomes drivers.Result with t30 completion codes.
//
// If the plugin dies (or loses the board service, after which it exits):
// its ports go down, calls in flight end with t30.CodeCallDropped (retry
// now), the plugin is restarted with exponential back-off and the ports
// come back up.
//
// Everything vendor-specific sits behind one small Go interface,
// vendor.Service, inside the plugin. Its one implementation, package
// localsvc, speaks the documented local protocol of PROTOCOL.md (served by
// the simulator testbench/btsim); adapting to the real vendor service is
// writing one other implementation of that interface.
//
// brooktrout imports drivers, t30, imaging and its own sub-packages; it
// must never import agent or core.
package brooktrout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout/btplugin"
	"github.com/faxagent/faxagent/drivers/brooktrout/internal/bridge"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// Name is the default driver name licences count Brooktrout ports under.
const Name = "brooktrout"

// Options configure a Driver.
type Options struct {
	// Name is the driver name (default "brooktrout").
	Name string
	// PluginPath is the faxagent-brooktrout binary.
	PluginPath string
	// ServiceAddr is the vendor's local service: "unix:/path" or
	// "tcp:127.0.0.1:port"; the plugin connects to it.
	ServiceAddr string
	// Spool is the directory shared with the service where documents
	// are handed over as TIFF files (default os.TempDir()).
	Spool string
	// Caps are every port's capabilities (default DefaultCaps()).
	Caps *drivers.Capabilities
	// MinBackoff and MaxBackoff bound the delay before restarting a
	// plugin that died (defaults 100 ms and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// StartTimeout bounds the plugin start and board discovery (30 s).
	StartTimeout time.Duration
	// Env is extra environment for the plugin process.
	Env []string
	// Log receives the driver's log (default: discarded); PluginLog the
	// plugin process's own log lines (default: discarded).
	Log       *slog.Logger
	PluginLog io.Writer
}

// DefaultCaps are the capabilities of a Brooktrout port: V.17 14400,
// ECM, MH/MR/MMR, standard to superfine.
func DefaultCaps() drivers.Capabilities {
	return drivers.Capabilities{
		Send: true, Receive: true,
		Modems: t30.SetV27ter | t30.SetV29 | t30.SetV17, MaxRate: 14400, ECM: true,
		Compressions: []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR},
		Resolutions:  []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine},
	}
}

// Driver is the Brooktrout driver. It implements drivers.Driver.
type Driver struct {
	o       Options
	log     *slog.Logger
	caps    drivers.Capabilities
	version uint // plugin protocol version asked for (tests change it)
	// connect, if set, reaches a vendor.Service in this process instead
	// of starting the plugin (benchmarks measure the plugin hop with it).
	connect func(ctx context.Context) (vendor.Service, error)

	mu       sync.Mutex
	ports    []*port
	byID     map[string]*port
	byRef    map[vendor.ChannelRef]*port
	inst     *instance // nil while the plugin is down
	restarts int
	open     bool
	closed   bool
	seq      int
	incoming chan drivers.Call
	ev       *drivers.PortEvents
	stop     chan struct{}
	done     chan struct{}
}

type port struct {
	info drivers.PortInfo // State guarded by Driver.mu
	ref  vendor.ChannelRef
	up   bool // the board says the channel works
	call *call
}

// instance is one run of the plugin process.
type instance struct {
	client *plugin.Client
	svc    vendor.Service
	dead   chan struct{} // closed once the instance is lost
	once   sync.Once
}

func (in *instance) kill() {
	in.once.Do(func() { close(in.dead) })
	if in.svc != nil {
		_ = in.svc.Close()
	}
	if in.client != nil {
		in.client.Kill()
	}
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a driver; Open starts the plugin.
func New(o Options) *Driver {
	if o.Name == "" {
		o.Name = Name
	}
	if o.Spool == "" {
		o.Spool = os.TempDir()
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = 30 * time.Second
		if o.MaxBackoff < o.MinBackoff {
			o.MaxBackoff = o.MinBackoff
		}
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{
		o: o, log: log, caps: DefaultCaps(), version: bridge.ProtocolVersion,
		byID: map[string]*port{}, byRef: map[vendor.ChannelRef]*port{},
		incoming: make(chan drivers.Call, 64),
		ev:       drivers.NewPortEvents(60, nil),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if o.Caps != nil {
		d.caps = *o.Caps
	}
	return d
}

// Name implements drivers.Driver.
func (d *Driver) Name() string { return d.o.Name }

// Restarts is how often the plugin was restarted after it died.
func (d *Driver) Restarts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.restarts
}

// Open implements drivers.Driver: it starts the plugin, discovers the
// boards and brings the ports up. A plugin that does not start (missing
// binary, handshake refused, service unreachable) fails Open.
func (d *Driver) Open(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return drivers.ErrClosed
	}
	if d.open {
		d.mu.Unlock()
		return nil
	}
	d.mu.Unlock()
	in, boards, err := d.start(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		in.kill()
		return drivers.ErrClosed
	}
	d.open = true
	for _, b := range boards {
		for _, ch := range b.Channels {
			ref := vendor.ChannelRef{Board: b.Index, Channel: ch.Index}
			p := &port{ref: ref, info: drivers.PortInfo{
				ID: drivers.PortID(b.Index, ch.Index), Board: b.Index, Channel: ch.Index,
				Driver: d.o.Name, Number: ch.Number, Caps: d.caps, State: drivers.StateDown,
			}}
			d.ports = append(d.ports, p)
			d.byID[p.info.ID] = p
			d.byRef[ref] = p
		}
	}
	d.upLocked(in, boards)
	d.mu.Unlock()
	go d.supervise(in)
	return nil
}

// start launches the plugin and lists the boards.
func (d *Driver) start(ctx context.Context) (*instance, []vendor.Board, error) {
	ctx, cancel := context.WithTimeout(ctx, d.o.StartTimeout)
	defer cancel()
	if d.connect != nil {
		in := &instance{dead: make(chan struct{})}
		svc, err := d.connect(ctx)
		if err != nil {
			return nil, nil, err
		}
		in.svc = svc
		boards, err := svc.Boards(ctx)
		if err != nil {
			in.kill()
			return nil, nil, err
		}
		return in, boards, nil
	}
	cmd := exec.Command(d.o.PluginPath)
	cmd.Env = append(os.Environ(), btplugin.EnvService+"="+d.o.ServiceAddr)
	cmd.Env = append(cmd.Env, d.o.Env...)
	out := d.o.PluginLog
	if out == nil {
		out = io.Discard
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  bridge.Handshake(d.version),
		Plugins:          plugin.PluginSet{bridge.PluginName: &bridge.Plugin{Log: d.log}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     d.o.StartTimeout,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "faxagent-brooktrout", Output: out, Level: hclog.Info}),
		Stderr:           out,
	})
	in := &instance{client: client, dead: make(chan struct{})}
	fail := func(err error) (*instance, []vendor.Board, error) {
		in.kill()
		return nil, nil, fmt.Errorf("brooktrout: start plugin %s: %w", d.o.PluginPath, err)
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := rpc.Dispense(bridge.PluginName)
	if err != nil {
		return fail(err)
	}
	svc, ok := raw.(vendor.Service)
	if !ok {
		return fail(fmt.Errorf("plugin dispensed %T", raw))
	}
	in.svc = svc
	boards, err := svc.Boards(ctx)
	if err != nil {
		return fail(err)
	}
	return in, boards, nil
}

// pid is the plugin process ID (0 while down), for tests.
func (d *Driver) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inst == nil || d.inst.client == nil {
		return 0
	}
	if rc := d.inst.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

func (d *Driver) setStateLocked(p *port, s drivers.PortState, err error) { d.ev.Set(&p.info, s, err) }

// upLocked makes in the current instance and brings its channels up.
func (d *Driver) upLocked(in *instance, boards []vendor.Board) {
	d.inst = in
	for _, b := range boards {
		for _, ch := range b.Channels {
			p := d.byRef[vendor.ChannelRef{Board: b.Index, Channel: ch.Index}]
			if p == nil {
				continue // a board that was not there at Open
			}
			p.up = ch.Up
			if ch.Up && p.call == nil {
				d.setStateLocked(p, drivers.StateIdle, nil)
			}
		}
	}
}

// supervise pumps the instance's events; when the instance is lost it
// takes the ports down and restarts the plugin with back-off.
func (d *Driver) supervise(in *instance) {
	defer close(d.done)
	backoff := d.o.MinBackoff
	for {
		lost := d.pump(in)
		if !lost {
			return // Close
		}
		d.lose(in, errors.New("brooktrout plugin lost"))
		for {
			t := time.NewTimer(backoff)
			select {
			case <-d.stop:
				t.Stop()
				return
			case <-t.C:
			}
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-d.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			next, boards, err := d.start(ctx)
			cancel()
			if err != nil {
				d.log.Warn("brooktrout plugin restart failed", "err", err, "backoff", backoff)
				backoff = min(2*backoff, d.o.MaxBackoff)
				continue
			}
			d.mu.Lock()
			if d.closed {
				d.mu.Unlock()
				next.kill()
				return
			}
			d.restarts++
			d.upLocked(next, boards)
			d.mu.Unlock()
			d.log.Info("brooktrout plugin restarted", "ports", len(d.ports))
			backoff = d.o.MinBackoff
			in = next
			break
		}
	}
}

// pump handles the instance's events until the stream ends (true: the
// plugin is lost) or the driver closes (false).
func (d *Driver) pump(in *instance) bool {
	evs := in.svc.Events()
	for {
		select {
		case <-d.stop:
			return false
		case ev, ok := <-evs:
			if !ok {
				return true
			}
			d.event(in, ev)
		}
	}
}

func (d *Driver) event(in *instance, ev vendor.Event) {
	d.mu.Lock()
	p := d.byRef[ev.Ch]
	if p == nil || d.inst != in {
		d.mu.Unlock()
		return
	}
	switch ev.Kind {
	case vendor.EventPage:
		c := p.call
		d.mu.Unlock()
		if c != nil {
			c.page(ev)
		}
		return
	case vendor.EventUp:
		p.up = true
		if p.call == nil {
			d.setStateLocked(p, drivers.StateIdle, nil)
		}
	case vendor.EventDown:
		p.up = false
		d.setStateLocked(p, drivers.StateDown, fmt.Errorf("brooktrout: channel %s down: %s", p.info.ID, ev.Err))
	case vendor.EventRemoteHangup:
		if c := p.call; c != nil {
			c.remoteHangup()
		}
	case vendor.EventRing:
		if p.call != nil || !p.up || d.closed {
			d.mu.Unlock()
			_ = in.svc.Hangup(context.Background(), ev.Ch, int(drivers.CauseRejected))
			return
		}
		c := d.newCallLocked(p, in, drivers.Inbound)
		c.info.CallingNumber, c.info.CalledNumber = ev.Calling, ev.Called
		c.info.CallerID, c.info.DID = ev.Calling, ev.Called
		c.info.RoutingDigits = lastDigits(ev.Called, 4)
		d.setStateLocked(p, drivers.StateReceiving, nil)
		select {
		case d.incoming <- c:
		default:
			p.call = nil
			d.setStateLocked(p, drivers.StateIdle, nil)
			d.mu.Unlock()
			d.log.Warn("brooktrout incoming call refused: nobody takes calls", "port", p.info.ID)
			_ = in.svc.Hangup(context.Background(), ev.Ch, int(drivers.CauseRejected))
			return
		}
	}
	d.mu.Unlock()
}

// lose takes the instance's ports down; calls on it end as dropped.
func (d *Driver) lose(in *instance, why error) {
	in.kill()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inst == in {
		d.inst = nil
	}
	for _, p := range d.ports {
		p.up = false
		d.setStateLocked(p, drivers.StateDown, why)
	}
	d.log.Warn("brooktrout plugin lost; ports down", "err", why)
}

// Close implements drivers.Driver.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	wasOpen := d.open
	var calls []*call
	for _, p := range d.ports {
		if p.call != nil {
			calls = append(calls, p.call)
		}
	}
	d.mu.Unlock()
	for _, c := range calls {
		_ = c.Hangup(drivers.CauseShutdown)
	}
	close(d.stop)
	if wasOpen {
		<-d.done
	}
	d.mu.Lock()
	in := d.inst
	d.inst = nil
	infos := make([]*drivers.PortInfo, len(d.ports))
	for i, p := range d.ports {
		infos[i] = &p.info
	}
	d.ev.Close(infos)
	close(d.incoming)
	d.mu.Unlock()
	if in != nil {
		in.kill()
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

func (d *Driver) newCallLocked(p *port, in *instance, dir drivers.Direction) *call {
	d.seq++
	c := &call{d: d, p: p, in: in, ref: p.ref}
	c.info = drivers.CallInfo{ID: p.info.ID + "/" + strconv.Itoa(d.seq), Port: p.info.ID, Direction: dir, Started: time.Now()}
	p.call = c
	return c
}

// release frees the port of c.
func (d *Driver) release(c *call) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.p.call != c {
		return
	}
	c.p.call = nil
	// A call of a lost plugin instance ends on a port that is down until
	// the next instance brings it up (p.up is cleared by lose).
	if c.p.up && d.inst != nil && !d.closed {
		d.setStateLocked(c.p, drivers.StateIdle, nil)
	}
}

// Dial implements drivers.Driver.
func (d *Driver) Dial(ctx context.Context, portID, number string, o drivers.DialOptions) (drivers.Call, error) {
	d.mu.Lock()
	p := d.byID[portID]
	switch {
	case d.closed || !d.open:
		d.mu.Unlock()
		return nil, drivers.ErrClosed
	case p == nil:
		d.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", drivers.ErrNoPort, portID)
	case p.call != nil:
		d.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", drivers.ErrPortBusy, portID)
	case d.inst == nil || !p.up:
		d.mu.Unlock()
		return nil, &drivers.DialError{Code: t30.CodeCallDropped, Cause: "port down",
			Err: fmt.Errorf("brooktrout: port %s is down", portID)}
	}
	c := d.newCallLocked(p, d.inst, drivers.Outbound)
	c.info.CallingNumber, c.info.CalledNumber, c.info.DID = p.info.Number, number, number
	c.info.CallerID = p.info.Number
	if o.CallerID != "" {
		c.info.CallerID = o.CallerID
	}
	d.setStateLocked(p, drivers.StateDialling, nil)
	d.mu.Unlock()

	start := time.Now()
	con, err := c.in.svc.Dial(ctx, c.ref, number, vendor.DialOptions{CallerID: c.info.CallerID, RingTimeout: o.RingTimeout})
	if err != nil {
		code := t30.CodeCallDropped
		if ctx.Err() != nil {
			code = t30.CodeCancelled
			c.boardHangup(drivers.CauseCancelled)
		}
		d.release(c)
		return nil, &drivers.DialError{Code: code, Cause: "dial failed", Duration: time.Since(start), Err: err}
	}
	if con.Code != t30.OK {
		d.release(c)
		return nil, &drivers.DialError{Code: con.Code, Cause: con.Cause, CauseCode: con.CauseCode,
			Duration: con.Duration, Err: fmt.Errorf("brooktrout: %s: %s", portID, con.Cause)}
	}
	c.dialDur = con.Duration
	c.info.Connected = time.Now()
	d.mu.Lock()
	d.setStateLocked(p, drivers.StateSending, nil)
	d.mu.Unlock()
	return c, nil
}

func lastDigits(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
