package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrNotAllowed refuses a webhook whose address is not in the allow-list.
var ErrNotAllowed = errors.New("notify: webhook address not in the allow-list")

// AllowList is the set of addresses webhooks may connect to.
type AllowList []netip.Prefix

// ParseAllowList reads CIDR prefixes or single addresses.
func ParseAllowList(entries []string) (AllowList, error) {
	var out AllowList
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("notify: allow-list entry %q: want an address or CIDR prefix", e)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Allows reports whether a is in the list (IPv4-mapped IPv6 addresses as
// their IPv4 address).
func (l AllowList) Allows(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkURL refuses at once a URL whose host is an address not in the list
// (a name is checked when it is connected to).
func (l AllowList) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if len(l) == 0 {
		return fmt.Errorf("%w: the allow-list is empty", ErrNotAllowed)
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !l.Allows(a) {
		return fmt.Errorf("%w: %s", ErrNotAllowed, a)
	}
	return nil
}

// control is the dialer's Control function: it runs after name resolution,
// for the address the socket is about to connect to.
func (l AllowList) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrNotAllowed, address)
	}
	if !l.Allows(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrNotAllowed, ap.Addr())
	}
	return nil
}

// client is the HTTP client for webhooks: connections only to allowed
// addresses, no proxy, no redirects, timeout per try.
func (l AllowList) client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: l.control}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
