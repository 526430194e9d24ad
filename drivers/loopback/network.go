// Package loopback is a host-managed fax driver over a simulated telephone
// network in one process. A Network connects the ports of any number of
// loopback Drivers (of one agent or of several agents in the same test);
// dialling a number reaches the port that owns it, or else a built-in fax
// machine that answers every number nobody owns. Per number, a Model says
// how the line behaves: clean, busy, no answer, rings out, voice, dropped
// after page K, bit errors, or a remote with limited capabilities.
//
// Calls run our t30 engine on both ends over t30's in-memory line pair,
// through drivers.SendOver and drivers.ReceiveOver. In Virtual mode every
// call has its own virtual clock and takes milliseconds of CPU (results
// carry virtual durations); in Paced mode all calls share one wall clock
// and take as long as real fax calls.
//
// loopback imports drivers, t30 and imaging only.
package loopback

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// Mode is how time passes on a Network.
type Mode int

// Modes.
const (
	Virtual Mode = iota // every call in its own virtual time
	Paced               // real time
)

// Kind is what a number does when dialled.
type Kind int

// Kinds of line.
const (
	Clean    Kind = iota // a fax machine answers
	Busy                 // busy tone
	NoAnswer             // rings until the caller's ring timeout
	RingsOut             // rings, then the network releases the call
	Voice                // answered, but nobody speaks fax
)

func (k Kind) String() string {
	switch k {
	case Clean:
		return "clean"
	case Busy:
		return "busy"
	case NoAnswer:
		return "no-answer"
	case RingsOut:
		return "rings-out"
	case Voice:
		return "voice"
	}
	return "kind?"
}

// Model is the behaviour of calls to one number.
type Model struct {
	Kind Kind
	// DropAfterPage cuts the call once the sender has had this many pages
	// of the call confirmed (0: never).
	DropAfterPage int
	// BitErrorRate garbles bits of non-ECM data (bad rows; ECM recovers
	// by retransmission); FrameErrorRate makes ECM frames arrive bad.
	BitErrorRate   float64
	FrameErrorRate float64
	// TrainFailAbove makes training at rates above it fail, so the
	// sender falls back (0: never).
	TrainFailAbove int
	// Remote capabilities, applied to whoever answers: compressions
	// (e.g. only MH), maximum rate (e.g. 4800) and no ECM.
	RemoteCompressions []imaging.Compression
	RemoteMaxRate      int
	RemoteNoECM        bool
	// RemoteCSID is the built-in fax machine's CSI.
	RemoteCSID string
	// Calls limits the model to the first Calls calls to the number;
	// later calls find a clean line (0: every call).
	Calls int
	// Audio carries the call as audio, as a G.711 call would: each end
	// is a modem.Terminal (V.21, V.27ter, V.29, V.17 over 8 kHz samples)
	// and the two exchange 20 ms blocks of samples. BitErrorRate,
	// FrameErrorRate and TrainFailAbove do not apply to it.
	Audio bool
}

// Durations the network simulates in Virtual mode (Paced mode waits them).
const (
	RingTime       = 4 * time.Second  // ringing before a fax machine answers
	BusyTime       = 3 * time.Second  // until busy tone is recognised
	RingsOutTime   = 90 * time.Second // until the network releases an unanswered call
	DefaultRinging = 60 * time.Second // default DialOptions.RingTimeout
)

// Options configure a Network.
type Options struct {
	Mode Mode
	// Speedup > 0 paces a Virtual network: each call runs in its own
	// virtual time, but at most Speedup times faster than real time, page
	// by page (a hang-up cuts it where it is, on both ends), and dialling
	// waits (ringing, busy) take 1/Speedup of their time. Results carry
	// the virtual durations.
	Speedup float64
	// Now is the time source for call timestamps (default time.Now).
	Now func() time.Time
	// Seed makes line errors reproducible.
	Seed uint64
	// Deliveries, if set, is the built-in fax machine's log of the faxes
	// it received whole: one line per document (see Delivery), written
	// with one Write the moment the confirmation of its last page (MCF)
	// reaches the sender, before the sender hears of it. A test counts
	// on it what the far end received, across a crash of the sender: an
	// *os.File opened with O_APPEND keeps every line written before a
	// SIGKILL, and one with a Sync method is synced once the sender has
	// been told.
	Deliveries io.Writer
}

// Delivery is a line of Options.Deliveries: the number called, the
// sender's identification (TSI), the pages confirmed in the call and the
// caller's call ID, separated by tabs.
func Delivery(called, tsi string, pages int, callID string) string {
	return fmt.Sprintf("%s\t%s\t%d\t%s\n", called, tsi, pages, callID)
}

// Network is a simulated telephone network.
type Network struct {
	o    Options
	wall *drivers.Loop // Paced
	stop context.CancelFunc

	mu     sync.Mutex
	owners map[string]*port
	models map[string]*modelState
	seq    uint64
	// Stats.
	calls     int
	maxActive int
	active    int
	builtin   map[string][]*t30.ReceivedPage
	closed    bool
	// live are the connections whose sessions may still run; sessions
	// counts running sessions (Close waits for them).
	live     map[*conn]struct{}
	sessions sync.WaitGroup
}

type modelState struct {
	m    Model
	used int
}

// NewNetwork returns an empty network.
func NewNetwork(o Options) *Network {
	if o.Now == nil {
		o.Now = time.Now
	}
	n := &Network{o: o, owners: map[string]*port{}, models: map[string]*modelState{}, builtin: map[string][]*t30.ReceivedPage{}, live: map[*conn]struct{}{}}
	if o.Mode == Paced {
		n.wall = drivers.NewWallLoop()
		ctx, cancel := context.WithCancel(context.Background())
		n.stop = cancel
		go func() { _ = n.wall.Run(ctx) }()
	}
	return n
}

// Close cuts the lines of the calls still up, waits until their
// sessions have ended and stops a paced network's clock loop.
func (n *Network) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	live := make([]*conn, 0, len(n.live))
	for cn := range n.live {
		live = append(live, cn)
	}
	n.mu.Unlock()
	for _, cn := range live {
		cn.loop.Post(cn.cut)
	}
	n.sessions.Wait()
	if n.stop != nil {
		n.stop()
	}
}

// session counts a session that runs on the network; the returned func
// ends it. It reports false when the network is closed.
func (n *Network) session() (func(), bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, false
	}
	n.sessions.Add(1)
	return n.sessions.Done, true
}

// SetModel sets the behaviour of calls to number.
func (n *Network) SetModel(number string, m Model) {
	n.mu.Lock()
	n.models[number] = &modelState{m: m}
	n.mu.Unlock()
}

// Stats are counts of the network.
type Stats struct {
	Calls     int // calls placed
	MaxActive int // most calls connected at once
}

// Stats returns the network's counts.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return Stats{Calls: n.calls, MaxActive: n.maxActive}
}

// BuiltinPages returns the pages the built-in fax machine received on
// number so far.
func (n *Network) BuiltinPages(number string) []*t30.ReceivedPage {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*t30.ReceivedPage(nil), n.builtin[number]...)
}

// model returns the model for the next call to number and counts it.
func (n *Network) model(number string) Model {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls++
	ms := n.models[number]
	if ms == nil {
		return Model{}
	}
	ms.used++
	if ms.m.Calls > 0 && ms.used > ms.m.Calls {
		return Model{RemoteCSID: ms.m.RemoteCSID}
	}
	return ms.m
}

func (n *Network) connected(delta int) {
	n.mu.Lock()
	n.active += delta
	n.maxActive = max(n.maxActive, n.active)
	n.mu.Unlock()
}

func (n *Network) register(p *port) {
	n.mu.Lock()
	n.owners[p.info.Number] = p
	n.mu.Unlock()
}

func (n *Network) unregister(p *port) {
	n.mu.Lock()
	if n.owners[p.info.Number] == p {
		delete(n.owners, p.info.Number)
	}
	n.mu.Unlock()
}

func (n *Network) owner(number string) *port {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.owners[number]
}

func (n *Network) nextSeed() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seq++
	return n.o.Seed*0x9E3779B97F4A7C15 + n.seq
}

// delivered writes a line to Options.Deliveries (if set) and returns
// what syncs it.
func (n *Network) delivered(line string) func() {
	w := n.o.Deliveries
	if w == nil {
		return func() {}
	}
	n.mu.Lock()
	_, _ = io.WriteString(w, line)
	n.mu.Unlock()
	if s, ok := w.(interface{ Sync() error }); ok {
		return func() { _ = s.Sync() }
	}
	return func() {}
}

// wait lets simulated time pass: nothing in Virtual mode (the duration is
// only reported), a real wait in Paced mode.
func (n *Network) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 || n.o.Mode != Paced && n.o.Speedup <= 0 {
		return ctx.Err()
	}
	if n.o.Mode != Paced {
		d = time.Duration(float64(d) / n.o.Speedup)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
