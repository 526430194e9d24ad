package foip

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/t38"
)

// Mode says how the trunk is reached.
type Mode int

// Trunk modes.
const (
	// Peer: calls go to a static address (Config.Peer), no registration.
	Peer Mode = iota
	// Trunk: the driver registers at Config.Registrar with digest
	// credentials and sends its calls there.
	Trunk
)

// T38Start says how an outbound call gets to T.38.
type T38Start int

// T.38 start policies.
const (
	// T38Reinvite: audio first; accept the remote's T.38 re-INVITE, or
	// send ours after ReinviteOut.
	T38Reinvite T38Start = iota
	// T38InInvite: offer T.38 directly in the first INVITE.
	T38InInvite
)

// T38Policy says whether a trunk's (or a destination's) calls use T.38.
type T38Policy int

// T.38 policies.
const (
	// T38Prefer (default): switch to T.38 when either side asks; if the
	// switch is refused (488, 415, 606, no answer), the fax goes on in
	// the same call as G.711 audio through the soft modems.
	T38Prefer T38Policy = iota
	// T38Require: a refused switch ends the call (CodeT38Refused).
	T38Require
	// T38Never: G.711 audio only; T.38 offers are refused with 488.
	T38Never
)

var t38PolicyNames = [...]string{"prefer", "require", "never"}

func (p T38Policy) String() string {
	if p >= 0 && int(p) < len(t38PolicyNames) {
		return t38PolicyNames[p]
	}
	return fmt.Sprintf("T38Policy(%d)", int(p))
}

// ParseT38Policy reads "prefer", "require" or "never" ("" is prefer).
func ParseT38Policy(s string) (T38Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "prefer":
		return T38Prefer, nil
	case "require":
		return T38Require, nil
	case "never":
		return T38Never, nil
	}
	return 0, fmt.Errorf("%w: t38 policy %q (prefer, require or never)", ErrConfig, s)
}

// Config configures a trunk. Zero values take the defaults listed.
type Config struct {
	// Name is the driver name licences count ports under ("foip").
	Name string
	// Board is the board number of the port IDs; Channels the number of
	// concurrent calls (ports) on the trunk (default 1).
	Board    int
	Channels int
	// Number is our own number: the user part of From and the calling
	// number of outbound calls.
	Number string

	// Transport is "udp" (default), "tcp" or "tls"; Listen the local SIP
	// address (default 127.0.0.1:5060; port 0 picks one, see Driver.Addr).
	Transport string
	Listen    string
	// TLS (transport "tls"): TLSCert and TLSKey are PEM files with our
	// certificate (chain) and key, presented as server and as client;
	// TLSCA is a PEM file of the CAs a peer's certificate must chain to
	// (default: the system roots for the certificates of the peers we
	// call; peers calling us need not present one, but one that does must
	// chain to TLSCA). TLSConfig, when set, is used instead of the files
	// (as server and, cloned, as client). Over TLS our Contact and request
	// URIs are sips: URIs.
	TLSCert   string
	TLSKey    string
	TLSCA     string
	TLSConfig *tls.Config
	// Mode selects Peer (Peer is the trunk's host:port) or Trunk
	// (Registrar host:port, Username/Password, RegisterExpiry, default
	// 300 s; re-registration at 3/4 of the granted expiry).
	Mode           Mode
	Peer           string
	Registrar      string
	Username       string
	Password       string
	RegisterExpiry time.Duration
	// RegisterRetry is the wait after a failed registration (default 30 s).
	RegisterRetry time.Duration

	// AllowFrom are the source addresses (IPs or CIDR prefixes) whose
	// INVITEs are taken without authentication; the peer's (peer mode) or
	// registrar's (trunk mode) address is always allowed when it is an IP
	// address. Others must authenticate with
	// InboundUser/InboundPassword (digest, realm Realm) when those are set
	// (401 challenge), else they get 403.
	AllowFrom       []string
	InboundUser     string
	InboundPassword string
	Realm           string

	// RoutingHeader, if set, names a header that carries the called
	// number (e.g. "Diversion", "X-DID"); else the Request-URI user part
	// is used, then the To user part. RoutingDigits is how many trailing
	// digits of it are the routing digits (0: all).
	RoutingHeader string
	RoutingDigits int

	// T38 selects how outbound calls reach T.38. ReinviteOut and
	// ReinviteIn are how long after answer we send our own T.38
	// re-INVITE on outbound and inbound calls unless the remote sent
	// one first (defaults 2 s and 1.5 s; negative: never, wait for the
	// remote); it goes sooner when the far end's fax tone is heard in the
	// audio (CED on outbound calls, CNG on inbound ones), so an inbound
	// call is answered in audio with CED and gives a carrier that
	// switches itself the time to. T38Timeout bounds the whole audio
	// phase (default 30 s).
	T38         T38Start
	ReinviteOut time.Duration
	ReinviteIn  time.Duration
	T38Timeout  time.Duration
	// ReinviteTimeout bounds the wait for the final response to our T.38
	// re-INVITE (default 4 s; negative: the transaction's own 32 s).
	// Past it the re-INVITE is CANCELled (once a provisional response
	// came) and the fax goes on in audio under policy prefer (ends with
	// ErrT38NoAnswer under require); a 2xx that comes later is ACKed and,
	// if it accepted T.38, followed by a re-INVITE back to audio. See
	// reinvite.go.
	ReinviteTimeout time.Duration
	// UDPTLTimeout and RTPTimeout end a call whose media have stopped
	// (defaults 20 s and 10 s; negative: never) as t30.CodeCallDropped
	// with ErrRemoteSilent: on T.38, once the far end has sent its first
	// frame, no datagram either way for that long (the far end rightly
	// says nothing while we send a page); T.30 bounds the legitimate gaps
	// by T4 (3 s, between repeated commands) and T2 (6 s, a receiver
	// waiting for the next command), and the wait for the first frame by
	// T1 (35 s). On audio, once the far end's RTP has started, no packet
	// from it for that long (audio flows all the time). See silenceWatch.
	UDPTLTimeout time.Duration
	RTPTimeout   time.Duration
	// FailedCallsPerSource bounds the failed inbound calls of one source
	// address in FailedCallsWindow (defaults 30 and 1 minute; negative:
	// no limit): INVITEs refused as malformed (400, 488) or for wrong
	// digest credentials (403), and answered calls that brought no whole
	// fax. Over it the
	// source's INVITEs get 503 with Retry-After until its oldest failure
	// leaves the window, before a port or a call record is spent on them
	// (see failLimit). Raise it for a carrier whose many channels all come
	// from one address.
	FailedCallsPerSource int
	FailedCallsWindow    time.Duration
	// T38Policy is the trunk's T.38 policy (default T38Prefer);
	// T38ByDestination overrides it for numbers starting with a key (the
	// longest matching prefix wins; digits only are compared).
	T38Policy        T38Policy
	T38ByDestination map[string]T38Policy
	// T38LessFor is how long a destination that refused T.38 stays
	// remembered as T.38-less: under T38Prefer its calls then go as audio
	// from the start, under T38Require they fail at once with the T.38
	// refused code (default 1 h; negative: not remembered).
	T38LessFor time.Duration
	// SessionExpires, when set, asks for session timers (RFC 4028) on our
	// INVITEs with us as the refresher; whichever side we are asked to be
	// the refresher of (also on inbound calls whose INVITE says
	// refresher=uas) we send an UPDATE every SessionExpires/2.
	SessionExpires time.Duration
	// T38 capabilities we offer and accept (defaults: version 2, 14400,
	// redundancy, max datagram 400).
	T38Version     int
	T38MaxBitRate  int
	T38MaxDatagram int
	T38FEC         bool

	// MediaIP is the address put into SDP and bound for RTP/UDPTL
	// (default: the Listen host). RTPPortMin..RTPPortMax is the range
	// media sockets are taken from (0: any free port).
	MediaIP    string
	RTPPortMin int
	RTPPortMax int
	// Codec is the preferred G.711 law, "PCMU" (default) or "PCMA".
	Codec string

	// MaxMessage is the largest SIP datagram accepted (default 8 KiB);
	// larger and unparsable datagrams are counted and dropped.
	MaxMessage int

	// Caps are every port's fax capabilities (default: V.17 14400, ECM,
	// MH/MR/MMR, all resolutions, T.38).
	Caps   *drivers.Capabilities
	Logger *slog.Logger
}

// DefaultCaps are the capabilities of a FoIP port.
func DefaultCaps() drivers.Capabilities {
	return drivers.Capabilities{
		Send: true, Receive: true,
		Modems: t30.SetV27ter | t30.SetV29 | t30.SetV17, MaxRate: 14400, ECM: true,
		Compressions: []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR},
		Resolutions:  []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine, imaging.Ultrafine},
		T38:          true,
	}
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("foip: bad configuration")

// withDefaults returns c completed and checked, and the parsed allow list.
func (c Config) withDefaults() (Config, []netip.Prefix, error) {
	if c.Name == "" {
		c.Name = "foip"
	}
	if c.Channels <= 0 {
		c.Channels = 1
	}
	if c.Number == "" {
		c.Number = "faxagent"
	}
	c.Transport = strings.ToLower(c.Transport)
	if c.Transport == "" {
		c.Transport = "udp"
	}
	if c.Transport != "udp" && c.Transport != "tcp" && c.Transport != "tls" {
		return c, nil, fmt.Errorf("%w: transport %q (udp, tcp or tls)", ErrConfig, c.Transport)
	}
	if c.Transport == "tls" && c.TLSConfig == nil && (c.TLSCert == "" || c.TLSKey == "") {
		return c, nil, fmt.Errorf("%w: transport tls needs a certificate and key (TLSCert, TLSKey) or a TLSConfig", ErrConfig)
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:5060"
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return c, nil, fmt.Errorf("%w: listen %q: %w", ErrConfig, c.Listen, err)
	}
	if c.MediaIP == "" {
		c.MediaIP = host
	}
	if ip, err := netip.ParseAddr(c.MediaIP); err != nil || !ip.Is4() {
		return c, nil, fmt.Errorf("%w: media IP %q must be an IPv4 address", ErrConfig, c.MediaIP)
	}
	switch c.Mode {
	case Peer:
		if _, _, err := net.SplitHostPort(c.Peer); err != nil {
			return c, nil, fmt.Errorf("%w: peer %q: %w", ErrConfig, c.Peer, err)
		}
	case Trunk:
		if _, _, err := net.SplitHostPort(c.Registrar); err != nil {
			return c, nil, fmt.Errorf("%w: registrar %q: %w", ErrConfig, c.Registrar, err)
		}
		if c.Username == "" {
			return c, nil, fmt.Errorf("%w: trunk mode needs a username", ErrConfig)
		}
	default:
		return c, nil, fmt.Errorf("%w: mode %d", ErrConfig, c.Mode)
	}
	if c.RegisterExpiry <= 0 {
		c.RegisterExpiry = 300 * time.Second
	}
	if c.RegisterRetry <= 0 {
		c.RegisterRetry = 30 * time.Second
	}
	if c.Realm == "" {
		c.Realm = "faxagent"
	}
	if c.ReinviteOut == 0 {
		c.ReinviteOut = 2 * time.Second
	}
	if c.ReinviteIn == 0 {
		c.ReinviteIn = 1500 * time.Millisecond
	}
	if c.ReinviteTimeout == 0 {
		c.ReinviteTimeout = reinviteTimeoutDefault
	}
	if c.T38Timeout <= 0 {
		c.T38Timeout = 30 * time.Second
	}
	if c.UDPTLTimeout == 0 {
		c.UDPTLTimeout = 20 * time.Second
	}
	if c.RTPTimeout == 0 {
		c.RTPTimeout = 10 * time.Second
	}
	if c.FailedCallsPerSource == 0 {
		c.FailedCallsPerSource = 30
	}
	if c.FailedCallsWindow <= 0 {
		c.FailedCallsWindow = time.Minute
	}
	if c.T38LessFor == 0 {
		c.T38LessFor = time.Hour
	}
	if c.T38Version <= 0 {
		c.T38Version = 2
	}
	if c.T38MaxBitRate <= 0 {
		c.T38MaxBitRate = 14400
	}
	if c.T38MaxDatagram <= 0 {
		c.T38MaxDatagram = 400
	}
	switch strings.ToUpper(c.Codec) {
	case "", "PCMU":
		c.Codec = "PCMU"
	case "PCMA":
		c.Codec = "PCMA"
	default:
		return c, nil, fmt.Errorf("%w: codec %q (PCMU or PCMA)", ErrConfig, c.Codec)
	}
	if c.RTPPortMin < 0 || c.RTPPortMax < c.RTPPortMin || c.RTPPortMax > 65535 {
		return c, nil, fmt.Errorf("%w: RTP port range %d-%d", ErrConfig, c.RTPPortMin, c.RTPPortMax)
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = 8192
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	var allow []netip.Prefix
	for _, a := range c.AllowFrom {
		p, err := parsePrefix(a)
		if err != nil {
			return c, nil, fmt.Errorf("%w: allow %q: %w", ErrConfig, a, err)
		}
		allow = append(allow, p)
	}
	trunk := c.Peer
	if c.Mode == Trunk {
		trunk = c.Registrar
	}
	if h, _, err := net.SplitHostPort(trunk); err == nil {
		if ip, err := netip.ParseAddr(h); err == nil {
			allow = append(allow, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		}
	}
	return c, allow, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// t38Caps are our T.38 capabilities for SDP at udptlPort.
func (c *Config) t38Caps(udptlPort int) t38.Capabilities {
	return t38.Capabilities{
		Address: c.MediaIP, Port: udptlPort,
		Version: c.T38Version, MaxBitRate: c.T38MaxBitRate,
		FillBitRemoval: false, MaxBuffer: 2000, MaxDatagram: c.T38MaxDatagram,
		FEC: c.T38FEC, Redundancy: true,
	}
}

// sipTransport is the transport name sipgo uses for our requests.
func (c *Config) sipTransport() string { return strings.ToUpper(c.Transport) }

// uri returns a SIP URI for user@host:port on our transport: over TCP with
// transport=tcp, over TLS a sips: URI (which sipgo sends over TLS).
func (c *Config) uri(user, host string, port int) sip.Uri {
	u := sip.Uri{Scheme: "sip", User: user, Host: host, Port: port}
	switch c.Transport {
	case "tcp":
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tcp")
	case "tls":
		u.Scheme = "sips"
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tcp")
	}
	return u
}

// tlsConfigs returns the configurations the SIP side listens (server) and
// dials (client) with over TLS.
func (c *Config) tlsConfigs() (server, client *tls.Config, err error) {
	if c.TLSConfig != nil {
		return c.TLSConfig, c.TLSConfig.Clone(), nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: TLS certificate %s / key %s: %w", ErrConfig, c.TLSCert, c.TLSKey, err)
	}
	server = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	client = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: TLS CA: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("%w: TLS CA %s: no PEM certificate in it", ErrConfig, c.TLSCA)
		}
		client.RootCAs = pool
		server.ClientCAs = pool
		server.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return server, client, nil
}

// policyFor is the T.38 policy of calls to or from number.
func (c *Config) policyFor(number string) T38Policy {
	digits := onlyDigits(number)
	best, p := -1, c.T38Policy
	for prefix, q := range c.T38ByDestination {
		pd := onlyDigits(prefix)
		if len(pd) > best && strings.HasPrefix(digits, pd) {
			best, p = len(pd), q
		}
	}
	return p
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
