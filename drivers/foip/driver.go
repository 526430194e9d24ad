package foip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/faxagent/faxagent/drivers"
)

// Stats counts what the driver's SIP side saw, for metrics.
type Stats struct {
	InvitesIn    uint64 // new inbound INVITEs
	Forbidden    uint64 // answered 403 (source not allowed, bad credentials)
	Challenged   uint64 // answered 401
	Malformed    uint64 // datagrams that did not parse as SIP, dropped
	Oversized    uint64 // datagrams above MaxMessage, dropped
	NoMedia      uint64 // INVITEs answered 488 (no usable SDP)
	Busy         uint64 // INVITEs answered 486 (no free port)
	Glare        uint64 // re-INVITEs we answered 491
	GlareBackoff uint64 // our re-INVITEs that got 491 and were retried
	Refreshes    uint64 // re-INVITE/UPDATE without a media change answered
	RefreshSent  uint64 // session-timer UPDATEs we sent
	T38Refused   uint64 // our T.38 offers refused (488/606)
	Registered   uint64 // successful REGISTERs
	RegisterFail uint64 // failed REGISTERs
	CEDReinvite  uint64 // our T.38 re-INVITEs sent early because the far end's fax tone (CED, CNG) was heard
	// OffListener counts SIP messages read on another socket than the
	// trunk's listening one: answers to requests that left from elsewhere
	// (0 when every request leaves from the listening address).
	OffListener uint64
	// AudioFaxes counts calls whose fax was settled on G.711 audio;
	// LateT38 the far end's switches to T.38 accepted after ours was
	// refused (the audio fax started over on T.38).
	AudioFaxes uint64
	LateT38    uint64
	// ReinviteTimeouts counts our T.38 re-INVITEs with no final response
	// within Config.ReinviteTimeout (the fax went on in audio);
	// ReinviteCancels the CANCELs sent for them; LateAnswers the 2xx
	// that came after the wait (ACKed); BackToAudio the re-INVITEs back
	// to audio that followed a late 2xx accepting T.38.
	ReinviteTimeouts uint64
	ReinviteCancels  uint64
	LateAnswers      uint64
	BackToAudio      uint64

	// Media, summed over finished calls (per call: CallStats).
	UDPTLLost       uint64 // packets given up on
	UDPTLRecovered  uint64 // rebuilt from redundancy or FEC
	UDPTLLate       uint64
	UDPTLDuplicates uint64
	MediaStray      uint64 // RTP/UDPTL datagrams from other than the latched address

	// FloodRefused counts INVITEs answered 503 because their source had
	// too many failed calls (Config.FailedCallsPerSource).
	FloodRefused uint64
}

type counters struct {
	invitesIn, forbidden, challenged, malformed, oversized, noMedia, busy,
	glare, glareBackoff, refreshes, t38Refused, registered, registerFail, cedReinvites, refreshSent,
	udptlLost, udptlRecovered, udptlLate, udptlDup, mediaStray, offListener, audioFaxes, lateT38, floodRefused,
	reinviteTimeouts, reinviteCancels, lateAnswers, backToAudio atomic.Uint64
}

// Driver is one SIP trunk whose concurrent calls are ports. It implements
// drivers.Driver.
type Driver struct {
	cfg   Config
	log   *slog.Logger
	guard *guard
	fails *failLimit
	media portRange

	ports []*port
	byID  map[string]*port

	// tlsServer and tlsClient are the TLS configurations (transport tls).
	tlsServer, tlsClient *tls.Config

	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	dcc     *sipgo.DialogClientCache
	dsc     *sipgo.DialogServerCache
	contact sip.ContactHeader
	host    string
	addr    string // actual listen address
	closer  func() error

	loop     *drivers.Loop
	loopDone chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	bg       sync.WaitGroup // registration, server
	callsWG  sync.WaitGroup

	n counters
	// beforeOffer and beforeAnswer, when set, run before a received
	// re-INVITE is judged and before its answer is sent, and may hold it
	// (tests: glare); mangleSDP rewrites our SDP bodies (tests: NAT, wrong
	// ports).
	beforeOffer, beforeAnswer func()
	mangleSDP                 func([]byte) []byte

	mu         sync.Mutex
	open       bool
	closed     bool
	registered bool
	calls      map[string]*call // by Call-ID
	t38less    map[string]time.Time
	incoming   chan drivers.Call
	ev         *drivers.PortEvents
}

type port struct {
	info  drivers.PortInfo // State guarded by Driver.mu
	inUse bool
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a driver for cfg; Open brings it up.
func New(cfg Config) (*Driver, error) {
	c, allow, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var tlsServer, tlsClient *tls.Config
	if c.Transport == "tls" {
		if tlsServer, tlsClient, err = c.tlsConfigs(); err != nil {
			return nil, err
		}
	}
	caps := DefaultCaps()
	if c.Caps != nil {
		caps = *c.Caps
		caps.T38 = true
	}
	d := &Driver{
		cfg: c, log: c.Logger.With("driver", c.Name), tlsServer: tlsServer, tlsClient: tlsClient,
		guard:    newGuard(allow, c.InboundUser, c.InboundPassword, c.Realm),
		fails:    newFailLimit(c.FailedCallsPerSource, c.FailedCallsWindow),
		media:    portRange{min: c.RTPPortMin, max: c.RTPPortMax},
		byID:     map[string]*port{},
		calls:    map[string]*call{},
		t38less:  map[string]time.Time{},
		incoming: make(chan drivers.Call, c.Channels+1),
		ev:       drivers.NewPortEvents(c.Channels, nil),
	}
	for i := 0; i < c.Channels; i++ {
		p := &port{info: drivers.PortInfo{ID: drivers.PortID(c.Board, i), Board: c.Board, Channel: i,
			Driver: c.Name, Number: c.Number, Caps: caps, State: drivers.StateDown}}
		d.ports = append(d.ports, p)
		d.byID[p.info.ID] = p
	}
	return d, nil
}

// Name implements drivers.Driver.
func (d *Driver) Name() string { return d.cfg.Name }

// Addr is the address the SIP side listens on (after Open).
func (d *Driver) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addr
}

// Stats returns the SIP counters so far.
func (d *Driver) Stats() Stats {
	n := &d.n
	return Stats{
		InvitesIn: n.invitesIn.Load(), Forbidden: n.forbidden.Load(), Challenged: n.challenged.Load(),
		Malformed: n.malformed.Load(), Oversized: n.oversized.Load(), NoMedia: n.noMedia.Load(),
		Busy: n.busy.Load(), Glare: n.glare.Load(), GlareBackoff: n.glareBackoff.Load(),
		Refreshes: n.refreshes.Load(), T38Refused: n.t38Refused.Load(),
		Registered: n.registered.Load(), RegisterFail: n.registerFail.Load(),
		CEDReinvite: n.cedReinvites.Load(), RefreshSent: n.refreshSent.Load(), OffListener: n.offListener.Load(), AudioFaxes: n.audioFaxes.Load(), LateT38: n.lateT38.Load(),
		UDPTLLost: n.udptlLost.Load(), UDPTLRecovered: n.udptlRecovered.Load(), UDPTLLate: n.udptlLate.Load(),
		UDPTLDuplicates: n.udptlDup.Load(), MediaStray: n.mediaStray.Load(), FloodRefused: n.floodRefused.Load(),
		ReinviteTimeouts: n.reinviteTimeouts.Load(), ReinviteCancels: n.reinviteCancels.Load(),
		LateAnswers: n.lateAnswers.Load(), BackToAudio: n.backToAudio.Load(),
	}
}

// T38Less reports whether number refused T.38 recently (Config.T38LessFor).
func (d *Driver) T38Less(number string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.t38less[number]
	return ok && time.Now().Before(until)
}

// Destinations lists the numbers remembered as T.38-less, with when each
// note expires (expired ones are dropped): under policy prefer their calls
// go as audio from the start, under require they fail at once.
func (d *Driver) Destinations() []drivers.DestinationNote {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	var out []drivers.DestinationNote
	for n, until := range d.t38less {
		if !now.Before(until) {
			delete(d.t38less, n)
			continue
		}
		note := "T.38-less: audio"
		if d.cfg.policyFor(n) == T38Require {
			note = "T.38-less: refused"
		}
		out = append(out, drivers.DestinationNote{Driver: d.cfg.Name, Number: n, Note: note, Until: until})
	}
	slices.SortFunc(out, func(a, b drivers.DestinationNote) int { return strings.Compare(a.Number, b.Number) })
	return out
}

func (d *Driver) rememberT38Less(number string) {
	d.n.t38Refused.Add(1)
	if d.cfg.T38LessFor < 0 {
		return
	}
	d.mu.Lock()
	d.t38less[number] = time.Now().Add(d.cfg.T38LessFor)
	d.mu.Unlock()
}

// filter drops what is not SIP before sipgo parses it, and counts it.
func (d *Driver) filter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	d.offListener(info)
	if len(data) > d.cfg.MaxMessage {
		d.n.oversized.Add(1)
		return nil, nil
	}
	if info.Transport != "UDP" {
		return data, nil
	}
	if _, err := sip.ParseMessage(data); err != nil {
		d.log.Debug("foip: malformed SIP datagram dropped", "from", info.RemoteAddr, "err", err)
		d.n.malformed.Add(1)
		return nil, nil
	}
	return data, nil
}

// Open implements drivers.Driver: the SIP side listens, and in trunk mode
// registers; ports come up (in trunk mode once registered).
func (d *Driver) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return drivers.ErrClosed
	}
	if d.open {
		return nil
	}
	cfg := &d.cfg
	host, _, _ := net.SplitHostPort(cfg.Listen)
	d.host = host
	// Listen first: the client sends from the listening address.
	var serve func(srv *sipgo.Server) error
	var tpOpts []sip.TransportLayerOption
	switch cfg.Transport {
	case "udp":
		pc, err := net.ListenPacket("udp4", cfg.Listen)
		if err != nil {
			return fmt.Errorf("foip: listen: %w", err)
		}
		d.addr, d.closer = pc.LocalAddr().String(), pc.Close
		serve = func(srv *sipgo.Server) error { return srv.ServeUDP(pc) }
	default:
		var tlsConf *tls.Config
		if cfg.Transport == "tls" {
			tlsConf = d.tlsServer
		}
		ln, err := listenStream(cfg.Listen, tlsConf)
		if err != nil {
			return fmt.Errorf("foip: listen: %w", err)
		}
		d.addr, d.closer = ln.Addr().String(), ln.Close
		tpOpts = append(tpOpts, sip.WithTransportLayerTransports(streamTransports(ln.Addr().(*net.TCPAddr))))
		if tlsConf != nil {
			serve = func(srv *sipgo.Server) error { return srv.ServeTLS(ln) }
		} else {
			serve = func(srv *sipgo.Server) error { return srv.ServeTCP(ln) }
		}
	}
	fail := func(what string, err error) error {
		_ = d.closer()
		return fmt.Errorf("foip: %s: %w", what, err)
	}
	tpOpts = append(tpOpts, sip.WithTransportLayerReadFilter(d.filter), sip.WithTransportLayerLogger(d.log))
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent("faxagent"), sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransportLayerOptions(tpOpts...)}
	if d.tlsClient != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(d.tlsClient))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return fail("user agent", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(d.log))
	if err != nil {
		_ = ua.Close()
		return fail("server", err)
	}
	cliOpts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientLogger(d.log)}
	if cfg.Transport == "udp" {
		// Requests are written on the listening socket itself.
		cliOpts = append(cliOpts, sipgo.WithClientConnectionAddr(d.addr))
	}
	cli, err := sipgo.NewClient(ua, cliOpts...)
	if err != nil {
		_ = ua.Close()
		return fail("client", err)
	}
	_, portStr, _ := net.SplitHostPort(d.addr)
	lport, _ := strconv.Atoi(portStr)
	d.contact = sip.ContactHeader{Address: cfg.uri(cfg.Number, host, lport)}
	d.ua, d.srv, d.cli = ua, srv, cli
	d.dcc = sipgo.NewDialogClientCache(cli, d.contact)
	d.dsc = sipgo.NewDialogServerCache(cli, d.contact)
	srv.OnInvite(d.onInvite)
	srv.OnAck(d.onAck)
	srv.OnBye(d.onBye)
	srv.OnUpdate(d.onUpdate)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.loop = drivers.NewWallLoop()
	d.loopDone = make(chan struct{})
	go func() { defer close(d.loopDone); _ = d.loop.Run(context.Background()) }()
	d.bg.Add(1)
	go func() { defer d.bg.Done(); _ = serve(srv) }()
	if cfg.Transport == "udp" {
		// Requests go out on the listening socket once the transport
		// layer holds it (Serve adds it first thing).
		for i := 0; i < 1000; i++ {
			if c, _ := ua.TransportLayer().GetConnection("udp", d.addr); c != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	d.open = true
	if cfg.Mode == Trunk {
		d.bg.Add(1)
		go func() { defer d.bg.Done(); d.registerLoop(d.ctx) }()
	} else {
		for _, p := range d.ports {
			d.setStateLocked(p, drivers.StateIdle)
		}
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
	wasOpen := d.open
	calls := make([]*call, 0, len(d.calls))
	for _, c := range d.calls {
		calls = append(calls, c)
	}
	d.mu.Unlock()
	for _, c := range calls {
		_ = c.Hangup(drivers.CauseShutdown)
	}
	d.callsWG.Wait()
	if wasOpen {
		if d.cfg.Mode == Trunk && d.isRegistered() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _ = d.register(ctx, 0)
			cancel()
		}
		d.cancel()
		_ = d.closer()
		_ = d.ua.Close()
		d.bg.Wait()
		d.loop.Close()
		<-d.loopDone
	}
	d.mu.Lock()
	infos := make([]*drivers.PortInfo, len(d.ports))
	for i, p := range d.ports {
		infos[i] = &p.info
	}
	d.ev.Close(infos)
	close(d.incoming)
	d.mu.Unlock()
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

func (d *Driver) isRegistered() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.registered
}

// acquire takes port p (or, for p nil, an idle port) for a call.
//
// Inbound calls (p nil) hunt from the highest channel down, while the
// agent dials from the lowest up, as trunk groups do against glare: an
// INVITE arriving while the agent is about to dial takes a different
// channel unless only one is left (and then one of the two calls must
// fail anyway).
func (d *Driver) acquire(p *port, s drivers.PortState) (*port, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || !d.open {
		return nil, drivers.ErrClosed
	}
	if p == nil {
		for i := len(d.ports) - 1; i >= 0; i-- {
			if q := d.ports[i]; !q.inUse && q.info.State == drivers.StateIdle {
				p = q
				break
			}
		}
		if p == nil {
			return nil, fmt.Errorf("%w: all %d channels in use", drivers.ErrPortBusy, len(d.ports))
		}
	}
	if p.inUse {
		return nil, fmt.Errorf("%w: %s", drivers.ErrPortBusy, p.info.ID)
	}
	if p.info.State == drivers.StateDown {
		return nil, fmt.Errorf("foip: port %s is down (not registered)", p.info.ID)
	}
	p.inUse = true
	d.setStateLocked(p, s)
	d.callsWG.Add(1)
	return p, nil
}

func (d *Driver) release(p *port, callID string) {
	d.mu.Lock()
	p.inUse = false
	if c := d.calls[callID]; c == nil || c.port == p {
		delete(d.calls, callID) // only this port's call of that Call-ID
	}
	if !d.closed {
		s := drivers.StateIdle
		if d.cfg.Mode == Trunk && !d.registered {
			s = drivers.StateDown
		}
		d.setStateLocked(p, s)
	}
	d.mu.Unlock()
	d.callsWG.Done()
}

func (d *Driver) lookup(callID string) *call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[callID]
}

// target is the URI calls to number go to.
func (d *Driver) target(number string) sip.Uri {
	hp := d.cfg.Peer
	if d.cfg.Mode == Trunk {
		hp = d.cfg.Registrar
	}
	host, ps, _ := net.SplitHostPort(hp)
	port, _ := strconv.Atoi(ps)
	return d.cfg.uri(number, host, port)
}

// registerLoop keeps the trunk registered.
func (d *Driver) registerLoop(ctx context.Context) {
	for {
		granted, err := d.register(ctx, d.cfg.RegisterExpiry)
		wait := d.cfg.RegisterRetry
		d.mu.Lock()
		if err == nil {
			d.n.registered.Add(1)
			d.registered = true
			wait = granted * 3 / 4
			for _, p := range d.ports {
				if !p.inUse {
					d.setStateLocked(p, drivers.StateIdle)
				}
			}
		} else {
			d.n.registerFail.Add(1)
			d.registered = false
			for _, p := range d.ports {
				if !p.inUse {
					d.setStateLocked(p, drivers.StateDown)
				}
			}
		}
		d.mu.Unlock()
		if err != nil {
			d.log.Warn("foip: registration failed", "registrar", d.cfg.Registrar, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// register sends one REGISTER (expiry 0 unregisters) with digest
// authentication and returns the expiry the registrar granted.
func (d *Driver) register(ctx context.Context, expiry time.Duration) (time.Duration, error) {
	host, ps, _ := net.SplitHostPort(d.cfg.Registrar)
	port, _ := strconv.Atoi(ps)
	ruri := sip.Uri{Scheme: "sip", Host: host, Port: port}
	aor := sip.Uri{Scheme: "sip", User: d.cfg.Username, Host: host}
	req := sip.NewRequest(sip.REGISTER, ruri)
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	ct := d.contact
	req.AppendHeader(&ct)
	secs := int(expiry / time.Second)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(secs)))
	req.SetTransport(d.cfg.sipTransport())
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := d.cli.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("foip: REGISTER: %w", err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = d.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: d.cfg.Username, Password: d.cfg.Password})
		if err != nil {
			return 0, fmt.Errorf("foip: REGISTER with credentials: %w", err)
		}
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("foip: REGISTER: %s", statusCause(res.StatusCode, res.Reason))
	}
	granted := expiry
	if h := res.GetHeader("Expires"); h != nil {
		if v, err := strconv.Atoi(h.Value()); err == nil && v > 0 {
			granted = time.Duration(v) * time.Second
		}
	}
	if c := res.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				granted = time.Duration(n) * time.Second
			}
		}
	}
	if granted <= 0 {
		granted = time.Second
	}
	return granted, nil
}

// respond sends a response built from req, ignoring transport errors (the
// far end retransmits).
func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, body []byte, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}

func hasToTag(req *sip.Request) bool {
	to := req.To()
	if to == nil {
		return false
	}
	_, ok := to.Params.Get("tag")
	return ok
}

// sdp passes an SDP body we send through the test hook, if any.
func (d *Driver) sdp(b []byte) []byte {
	if d.mangleSDP != nil {
		return d.mangleSDP(b)
	}
	return b
}

func newCallID() string { return uuid.NewString() }

var errNoCall = errors.New("foip: no such call")
