package t38

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// UDPTransport carries a terminal's UDPTL datagrams over a UDP socket to
// one remote address (the address from the far end's SDP).
type UDPTransport struct {
	conn   net.PacketConn
	remote net.Addr
	// Stray counts datagrams from addresses other than remote, dropped.
	stray atomic.Uint64
}

// NewUDPTransport returns a transport that sends to remote over conn.
func NewUDPTransport(conn net.PacketConn, remote net.Addr) *UDPTransport {
	return &UDPTransport{conn: conn, remote: remote}
}

// Send implements Transport.
func (u *UDPTransport) Send(datagram []byte) error {
	_, err := u.conn.WriteTo(datagram, u.remote)
	return err
}

// Stray returns the number of datagrams dropped because they came from
// another address than the remote one.
func (u *UDPTransport) Stray() uint64 { return u.stray.Load() }

// Serve reads datagrams until ctx ends or the socket fails, and hands each
// one from the remote address to t (through ReceiveAsync, so it reaches
// the terminal on its clock's loop). It returns ctx's error after ctx ends.
func (u *UDPTransport) Serve(ctx context.Context, t *Terminal) error {
	stop := context.AfterFunc(ctx, func() { _ = u.conn.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 65536)
	want, _ := u.remote.(*net.UDPAddr)
	for {
		n, from, err := u.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if fu, ok := from.(*net.UDPAddr); ok && want != nil && (!fu.IP.Equal(want.IP) || fu.Port != want.Port) {
			u.stray.Add(1)
			continue
		}
		t.ReceiveAsync(buf[:n])
	}
}
