// Package impair is a UDP impairment proxy for tests: it sits on 127.0.0.1
// between two endpoints A and B, one socket facing each, and forwards
// datagrams both ways while dropping, duplicating, reordering and delaying
// them as configured per direction. Decisions come from a seeded RNG per
// direction, so the same sequence of datagrams meets the same impairments
// on every run.
//
// It owns only the proxy; it imports nothing from faxagent and nothing in
// faxagent outside tests and testbench may import it.
package impair

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Impairment is what happens to the datagrams of one direction.
type Impairment struct {
	Drop      float64 // probability that a datagram is dropped
	Duplicate float64 // probability that a forwarded datagram is sent twice
	// Reorder is the probability that a datagram is held back and sent
	// right after the next one (only one datagram is held at a time).
	Reorder float64
	// MaxHold, if positive, releases a held datagram after this long even
	// when no next datagram came; zero holds it until the next one.
	MaxHold time.Duration
	Delay   time.Duration // added to every datagram
	// Jitter adds a uniformly random extra delay in [0, Jitter); datagrams
	// whose delays differ by more than their spacing overtake each other.
	Jitter time.Duration
}

func (m Impairment) validate() error {
	for _, p := range []float64{m.Drop, m.Duplicate, m.Reorder} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("%w: probability %v outside [0, 1]", ErrConfig, p)
		}
	}
	if m.Delay < 0 || m.Jitter < 0 || m.MaxHold < 0 {
		return fmt.Errorf("%w: negative duration", ErrConfig)
	}
	return nil
}

// Config configures a Proxy.
type Config struct {
	// A and B are the endpoints' addresses. A nil address is learned from
	// the source of the latest datagram received from that side; until
	// then datagrams towards it are counted Unroutable and dropped.
	A, B *net.UDPAddr
	AToB Impairment // datagrams that A sends, on their way to B
	BToA Impairment // datagrams that B sends, on their way to A
	Seed uint64
}

// Direction names one of the proxy's two forwarding directions.
type Direction int

// The two directions.
const (
	AToB Direction = iota
	BToA
)

func (d Direction) String() string {
	switch d {
	case AToB:
		return "A→B"
	case BToA:
		return "B→A"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("impair: invalid configuration")

// Stats counts one direction's datagrams.
type Stats struct {
	Received   uint64 // read from the source side's socket
	Forwarded  uint64 // written towards the destination (duplicates included)
	Dropped    uint64 // dropped on purpose
	Duplicated uint64 // extra copies scheduled
	Reordered  uint64 // held back and sent after the datagram that followed
	Unroutable uint64 // not sent: the destination address is not known yet
	WriteErrs  uint64 // writes that failed
}

// Proxy forwards datagrams between A and B with impairments. Make one with
// New; Close stops it.
type Proxy struct {
	sockA, sockB *net.UDPConn // facing A, facing B
	dirs         [2]*direction
	done         chan struct{}
	wg           sync.WaitGroup
	closeOnce    sync.Once
}

// New opens the two sockets on 127.0.0.1 (ports chosen by the system) and
// starts forwarding.
func New(cfg Config) (*Proxy, error) {
	if err := cfg.AToB.validate(); err != nil {
		return nil, err
	}
	if err := cfg.BToA.validate(); err != nil {
		return nil, err
	}
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	sockA, err := net.ListenUDP("udp", lo)
	if err != nil {
		return nil, fmt.Errorf("impair: %w", err)
	}
	sockB, err := net.ListenUDP("udp", lo)
	if err != nil {
		sockA.Close()
		return nil, fmt.Errorf("impair: %w", err)
	}
	p := &Proxy{sockA: sockA, sockB: sockB, done: make(chan struct{})}
	a, b := newPeerAddr(cfg.A), newPeerAddr(cfg.B)
	p.dirs[AToB] = newDirection(cfg.AToB, cfg.Seed, uint64(AToB), sockA, sockB, a, b)
	p.dirs[BToA] = newDirection(cfg.BToA, cfg.Seed, uint64(BToA), sockB, sockA, b, a)
	for _, d := range p.dirs {
		p.wg.Add(2)
		go func() { defer p.wg.Done(); d.read() }()
		go func() { defer p.wg.Done(); d.deliver(p.done) }()
	}
	return p, nil
}

// AddrA is the address A must send to (the socket facing A).
func (p *Proxy) AddrA() *net.UDPAddr { return p.sockA.LocalAddr().(*net.UDPAddr) }

// AddrB is the address B must send to (the socket facing B).
func (p *Proxy) AddrB() *net.UDPAddr { return p.sockB.LocalAddr().(*net.UDPAddr) }

// Stats returns a snapshot of direction d's counters.
func (p *Proxy) Stats(d Direction) Stats { return p.dirs[d].stats.snapshot() }

// Close stops forwarding, closes both sockets and waits for the proxy's
// goroutines to end. Datagrams still delayed or held are discarded.
func (p *Proxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.done)
		err = errors.Join(p.sockA.Close(), p.sockB.Close())
		p.wg.Wait()
	})
	return err
}

// peerAddr is an endpoint's address, fixed or learned.
type peerAddr struct {
	fixed   bool
	learned atomic.Pointer[net.UDPAddr]
}

func newPeerAddr(a *net.UDPAddr) *peerAddr {
	p := &peerAddr{fixed: a != nil}
	if a != nil {
		p.learned.Store(a)
	}
	return p
}

func (p *peerAddr) learn(a *net.UDPAddr) {
	if p.fixed {
		return
	}
	if old := p.learned.Load(); old == nil || !old.IP.Equal(a.IP) || old.Port != a.Port {
		p.learned.Store(a)
	}
}

type counters struct {
	received, forwarded, dropped, duplicated, reordered, unroutable, writeErrs atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Received: c.received.Load(), Forwarded: c.forwarded.Load(), Dropped: c.dropped.Load(),
		Duplicated: c.duplicated.Load(), Reordered: c.reordered.Load(),
		Unroutable: c.unroutable.Load(), WriteErrs: c.writeErrs.Load(),
	}
}

// direction reads from in, impairs, and writes to dst through out.
type direction struct {
	imp     Impairment
	in, out *net.UDPConn
	src     *peerAddr // learned from what in receives
	dst     *peerAddr
	stats   counters
	wake    chan struct{}

	mu sync.Mutex
	sh shaper
}

func newDirection(imp Impairment, seed, stream uint64, in, out *net.UDPConn, src, dst *peerAddr) *direction {
	return &direction{
		imp: imp, in: in, out: out, src: src, dst: dst,
		wake: make(chan struct{}, 1),
		sh:   shaper{imp: imp, rng: rand.New(rand.NewPCG(seed, 0x696d70616972+stream))},
	}
}

func (d *direction) read() {
	buf := make([]byte, 65536)
	for {
		n, from, err := d.in.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable surfacing on Linux
		}
		d.stats.received.Add(1)
		d.src.learn(from)
		d.mu.Lock()
		d.sh.admit(time.Now(), append([]byte(nil), buf[:n]...), &d.stats)
		d.mu.Unlock()
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

func (d *direction) deliver(done <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due [][]byte
	for {
		d.mu.Lock()
		var next time.Time
		due, next = d.sh.pop(time.Now(), due[:0])
		d.mu.Unlock()
		for _, b := range due {
			to := d.dst.learned.Load()
			if to == nil {
				d.stats.unroutable.Add(1)
				continue
			}
			if _, err := d.out.WriteToUDP(b, to); err != nil {
				d.stats.writeErrs.Add(1)
				continue
			}
			d.stats.forwarded.Add(1)
		}
		if next.IsZero() {
			timer.Stop()
		} else {
			timer.Reset(time.Until(next))
		}
		select {
		case <-done:
			return
		case <-d.wake:
		case <-timer.C:
		}
	}
}

// shaper makes one direction's decisions and keeps its schedule. It does
// no I/O and takes time as an argument, so tests drive it directly.
type shaper struct {
	imp  Impairment
	rng  *rand.Rand
	q    queue
	seq  uint64
	held *item // held back for reordering, not in q
	// heldUntil is when held goes out anyway (MaxHold > 0), else zero.
	heldUntil time.Time
}

type item struct {
	due  time.Time
	seq  uint64
	data []byte
	dup  bool // a held item that goes out twice
}

// admit takes a datagram that arrived at now.
func (s *shaper) admit(now time.Time, data []byte, c *counters) {
	if s.imp.Drop > 0 && s.rng.Float64() < s.imp.Drop {
		c.dropped.Add(1)
		return
	}
	copies := 1
	if s.imp.Duplicate > 0 && s.rng.Float64() < s.imp.Duplicate {
		copies = 2
		c.duplicated.Add(1)
	}
	due := now.Add(s.imp.Delay)
	if s.imp.Jitter > 0 {
		due = due.Add(time.Duration(s.rng.Int64N(int64(s.imp.Jitter))))
	}
	if s.held == nil && s.imp.Reorder > 0 && s.rng.Float64() < s.imp.Reorder {
		// Hold it (with its duplicate, if any) until the next datagram.
		s.held = &item{due: due, data: data, dup: copies == 2}
		if s.imp.MaxHold > 0 {
			s.heldUntil = due.Add(s.imp.MaxHold)
		}
		return
	}
	for range copies {
		s.push(due, data)
	}
	if h := s.held; h != nil {
		s.held, s.heldUntil = nil, time.Time{}
		c.reordered.Add(1)
		s.release(h, due)
	}
}

// release queues a held item no earlier than after (and after everything
// queued so far with the same due time).
func (s *shaper) release(h *item, after time.Time) {
	due := h.due
	if due.Before(after) {
		due = after
	}
	s.push(due, h.data)
	if h.dup {
		s.push(due, h.data)
	}
}

func (s *shaper) push(due time.Time, data []byte) {
	s.seq++
	heap.Push(&s.q, &item{due: due, seq: s.seq, data: data})
}

// pop appends to out the datagrams due at now, in order, and returns when
// the next one is due (zero if none is scheduled).
func (s *shaper) pop(now time.Time, out [][]byte) ([][]byte, time.Time) {
	if s.held != nil && !s.heldUntil.IsZero() && !now.Before(s.heldUntil) {
		h := s.held
		s.held, s.heldUntil = nil, time.Time{}
		s.release(h, h.due)
	}
	for len(s.q) > 0 && !now.Before(s.q[0].due) {
		out = append(out, heap.Pop(&s.q).(*item).data)
	}
	var next time.Time
	if len(s.q) > 0 {
		next = s.q[0].due
	}
	if !s.heldUntil.IsZero() && (next.IsZero() || s.heldUntil.Before(next)) {
		next = s.heldUntil
	}
	return out, next
}

// queue is a min-heap of items by due time, then arrival order.
type queue []*item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return it
}
