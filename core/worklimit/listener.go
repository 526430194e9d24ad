package worklimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// ConnLimits bound the connections a listener keeps open. Zero fields
// mean no cap.
type ConnLimits struct {
	// Max caps the open connections from all clients together.
	Max int
	// PerSource caps the open connections from one remote IP address.
	PerSource int
}

// Listener is a net.Listener that closes, as soon as it is accepted, a
// connection over its caps: idle keep-alive connections and slow headers
// cost the server memory and a file descriptor each until their timeouts,
// so without a cap one client can take every descriptor of the process
// (and with them the files a reception is written to). A refused client
// sees its connection closed before any byte is read.
type Listener struct {
	net.Listener
	lim     ConnLimits
	refused atomic.Uint64

	mu    sync.Mutex
	open  int
	bySrc map[netip.Addr]int
}

// Listen wraps ln with the caps of l.
func Listen(ln net.Listener, l ConnLimits) *Listener {
	return &Listener{Listener: ln, lim: l, bySrc: map[netip.Addr]int{}}
}

// Refused counts the connections closed for being over a cap.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

// Open is the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Accept implements net.Listener.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := remoteAddr(c)
		l.mu.Lock()
		over := (l.lim.Max > 0 && l.open >= l.lim.Max) || (l.lim.PerSource > 0 && l.bySrc[src] >= l.lim.PerSource)
		if !over {
			l.open++
			l.bySrc[src]++
		}
		l.mu.Unlock()
		if over {
			l.refused.Add(1)
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, src: src}, nil
	}
}

func (l *Listener) release(src netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.bySrc[src]--; l.bySrc[src] <= 0 {
		delete(l.bySrc, src)
	}
}

func remoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// limitedConn gives its slot back when closed (once).
type limitedConn struct {
	net.Conn
	l    *Listener
	src  netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.src) })
	return err
}
