package foip

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The trunk's requests leave from its own listening transport: over UDP
// the client writes on the listening socket itself; over TCP and TLS new
// connections are dialled from the listening address and port (the
// listener and the dialler share the port with SO_REUSEPORT). Via sent-by
// is then the listening address too, which is what trunks and firewalls
// that admit only the configured address and port expect.

// listenStream listens on addr for TCP (and TLS over it) with the port
// shareable by the connections we dial from it.
func listenStream(addr string, tlsConf *tls.Config) (net.Listener, error) {
	lc := net.ListenConfig{Control: reusePort}
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return nil, err
	}
	if tlsConf != nil {
		return tls.NewListener(ln, tlsConf), nil
	}
	return ln, nil
}

// streamTransports are sipgo's TCP and TLS transports dialling from local
// (the listening address).
func streamTransports(local *net.TCPAddr) sip.TransportsConfig {
	dialer := func(net.Addr) net.Dialer {
		return net.Dialer{Timeout: time.Minute, LocalAddr: local, Control: reusePort}
	}
	return sip.TransportsConfig{
		TCP: &sip.TransportTCP{DialerCreate: dialer},
		TLS: &sip.TransportTLS{TransportTCP: &sip.TransportTCP{DialerCreate: dialer}},
	}
}

// offListener counts SIP messages read on another socket than the trunk's
// listening one (a request of ours that left from elsewhere gets its
// answer there). A listener on the unspecified address matches any local
// address with its port.
func (d *Driver) offListener(info sip.TransportReadProps) {
	if info.LocalAddr == nil || d.addr == "" {
		return
	}
	got, err1 := netip.ParseAddrPort(info.LocalAddr.String())
	want, err2 := netip.ParseAddrPort(d.addr)
	if err1 != nil || err2 != nil {
		return
	}
	if got.Port() != want.Port() || (!want.Addr().IsUnspecified() && got.Addr().Unmap() != want.Addr().Unmap()) {
		d.n.offListener.Add(1)
	}
}
