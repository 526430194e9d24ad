package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/core/soap"
	"github.com/faxagent/faxagent/core/worklimit"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/t30"
)

// Config is everything `faxagent serve` reads. Defaults come from
// defaultConfig; a YAML file (--config) overrides them, then environment
// variables (FAXAGENT_*), then flags.
type Config struct {
	// Role: all (core and agent), core (store and API only) or agent
	// (calls only; needs a shared PostgreSQL database).
	Role string `yaml:"role"`
	// DataDir holds the SQLite database, the document spool, the API
	// token and the agent's spool of received faxes.
	DataDir string `yaml:"data_dir"`
	// Database selects PostgreSQL ("postgres://..."); empty uses SQLite.
	Database string `yaml:"database"`
	// Schema is the PostgreSQL schema ("" the server's default).
	Schema string `yaml:"schema"`
	// Core, for role agent, is the core's URL (https://core:8080): the
	// agent works over the agent protocol and opens no database.
	Core string `yaml:"core"`
	// CoreCA is a PEM file of the CAs trusted for the core's certificate
	// ("" the system's).
	CoreCA string `yaml:"core_ca"`
	// CoreCredentialFile holds the agent credential (faxagent
	// agent-credential create); FAXAGENT_AGENT_CREDENTIAL may hold it
	// instead. Never a flag value: the process list would show it.
	CoreCredentialFile string `yaml:"core_credential_file"`
	// AgentCredential is the credential from FAXAGENT_AGENT_CREDENTIAL
	// (never from the file or a flag).
	AgentCredential string `yaml:"-"`
	// OutageGap is the reclaim rule's outage allowance (core
	// Options.OutageGap): time without any claim longer than this does not
	// count against leases. 0: 20 s; negative: off.
	OutageGap time.Duration `yaml:"outage_gap"`
	// Listen is the HTTP address of the API, /metrics and health checks.
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey, if set, are PEM files of the listener's
	// certificate (chain) and key: the API, SOAP and the agent protocol
	// are then served over HTTPS only.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// MaxUpload bounds one submission in bytes.
	MaxUpload int64  `yaml:"max_upload"`
	LogLevel  string `yaml:"log_level"` // debug, info, warn, error
	// ImportDir is the only directory the SOAP service's documentPath
	// parameters may name files in ("" refuses documentPath).
	ImportDir string `yaml:"import_dir"`
	// PublicURL is the SOAP service address written in its WSDL ("": the
	// server's address of each connection, never the Host header).
	PublicURL string   `yaml:"public_url"`
	SOAP      SOAPCfg  `yaml:"soap"`
	Login     LoginCfg `yaml:"login"`
	// Limits bound the work of HTTP requests (API and SOAP).
	Limits LimitsCfg `yaml:"limits"`
	// Notify configures webhooks and e-mail (config_notify.go).
	Notify NotifyCfg `yaml:"notify"`
	Agent  AgentCfg  `yaml:"agent"`
}

// LimitsCfg bounds what requests may cost, each checked before the work
// it bounds starts (README, "Security"). Zero values take the defaults
// shown in defaultConfig.
type LimitsCfg struct {
	// MaxRequests caps the HTTP requests served at once (API and SOAP);
	// over it a request gets 503 with Retry-After.
	MaxRequests int `yaml:"max_requests"`
	// MaxConnections caps the HTTP connections open at once and
	// MaxConnectionsPerSource those from one client address; a connection
	// over either is closed as soon as it is accepted.
	MaxConnections          int `yaml:"max_connections"`
	MaxConnectionsPerSource int `yaml:"max_connections_per_source"`
	// MaxConversions caps the documents converted at once (uploads,
	// SOAP sends, downloads); over it 503 with Retry-After.
	MaxConversions int `yaml:"max_conversions"`
	// RetryAfter is the wait a 503 suggests.
	RetryAfter time.Duration `yaml:"retry_after"`
	// ConversionTimeout bounds one request's conversion (413 over it).
	ConversionTimeout time.Duration `yaml:"conversion_timeout"`
	// ReadHeaderTimeout bounds reading a request's headers, and is the
	// grace a body gets before BodyMinRate applies; BodyMinRate (bytes a
	// second) is the slowest a body may arrive; BodyTimeout bounds
	// reading one body whatever its rate; IdleTimeout closes idle
	// keep-alive connections.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	BodyMinRate       int64         `yaml:"body_min_rate"`
	BodyTimeout       time.Duration `yaml:"body_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// MaxPages and MaxDocumentPixels bound one document (every source
	// page's pixels summed); MaxPicturePixels and MaxPictureMemory bound
	// one picture or non-fax TIFF page (memory with its bit depth).
	MaxPages          int   `yaml:"max_pages"`
	MaxDocumentPixels int64 `yaml:"max_document_pixels"`
	MaxPicturePixels  int64 `yaml:"max_picture_pixels"`
	MaxPictureMemory  int64 `yaml:"max_picture_memory"`
	// SOAP request XML: attributes in the request and per element, XML
	// tokens and elements (the body is bounded by max_upload in base64).
	SOAPMaxAttributes           int `yaml:"soap_max_attributes"`
	SOAPMaxAttributesPerElement int `yaml:"soap_max_attributes_per_element"`
	SOAPMaxTokens               int `yaml:"soap_max_tokens"`
	SOAPMaxElements             int `yaml:"soap_max_elements"`
}

// withDefaults fills the zero fields of l from defaultConfig.
func (l LimitsCfg) withDefaults() LimitsCfg {
	d := defaultConfig().Limits
	or := func(v *int64, def int64) {
		if *v == 0 {
			*v = def
		}
	}
	ints := []struct{ v, d *int }{{&l.MaxRequests, &d.MaxRequests}, {&l.MaxConversions, &d.MaxConversions},
		{&l.MaxConnections, &d.MaxConnections}, {&l.MaxConnectionsPerSource, &d.MaxConnectionsPerSource},
		{&l.MaxPages, &d.MaxPages}, {&l.SOAPMaxAttributes, &d.SOAPMaxAttributes},
		{&l.SOAPMaxAttributesPerElement, &d.SOAPMaxAttributesPerElement}, {&l.SOAPMaxTokens, &d.SOAPMaxTokens},
		{&l.SOAPMaxElements, &d.SOAPMaxElements}}
	for _, x := range ints {
		if *x.v == 0 {
			*x.v = *x.d
		}
	}
	for _, x := range []struct{ v, d *time.Duration }{{&l.RetryAfter, &d.RetryAfter}, {&l.ConversionTimeout, &d.ConversionTimeout},
		{&l.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&l.BodyTimeout, &d.BodyTimeout}, {&l.IdleTimeout, &d.IdleTimeout}} {
		or((*int64)(x.v), int64(*x.d))
	}
	or(&l.BodyMinRate, d.BodyMinRate)
	or(&l.MaxDocumentPixels, d.MaxDocumentPixels)
	or(&l.MaxPicturePixels, d.MaxPicturePixels)
	or(&l.MaxPictureMemory, d.MaxPictureMemory)
	return l
}

// documentLimits are the document limits of l.
func (l LimitsCfg) documentLimits() faxdoc.Limits {
	return faxdoc.Limits{MaxPages: l.MaxPages, MaxPixels: l.MaxDocumentPixels,
		Picture: render.Limits{MaxPixels: l.MaxPicturePixels, MaxMemory: l.MaxPictureMemory}}
}

// SOAPCfg configures the FaxCore web service.
type SOAPCfg struct {
	// TrustedNetworks are CIDR prefixes (or single addresses) whose
	// clients may call without credentials and act as any user a request
	// names. Empty (the default): every request needs HTTP Basic
	// credentials.
	TrustedNetworks []string `yaml:"trusted_networks"`
}

// LoginCfg limits password logins (SOAP Basic credentials,
// AuthenticateUser, the API's token login); zero values take the
// defaults of core/loginlimit (5 per user and address, 20 per address,
// 20 per user, back-off 30 s doubling to 15 min).
type LoginCfg struct {
	PairFailures   int           `yaml:"pair_failures"`
	SourceFailures int           `yaml:"source_failures"`
	UserFailures   int           `yaml:"user_failures"`
	Backoff        time.Duration `yaml:"backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
}

// trustedNetworks parses SOAPCfg.TrustedNetworks.
func (c SOAPCfg) trustedNetworks() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedNetworks {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("soap trusted_networks: %q is not a CIDR prefix or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// AgentCfg configures the agent of this process.
type AgentCfg struct {
	ID       string `yaml:"id"`        // default: the host name
	ServerIP string `yaml:"server_ip"` // reported in attempts
	// Header is the header-line template for jobs without one.
	Header string `yaml:"header"`
	CSID   string `yaml:"csid"`
	// License and LicenseKey are files: a signed licence and the public
	// key it verifies with (`faxagent license`). Without them the agent
	// issues itself a licence for its loopback ports only.
	License    string        `yaml:"license"`
	LicenseKey string        `yaml:"license_key"`
	Lease      time.Duration `yaml:"lease"`
	Poll       time.Duration `yaml:"poll"`
	Grace      time.Duration `yaml:"grace"`
	Retry      RetryCfg      `yaml:"retry"`
	Dial       DialCfg       `yaml:"dial"`
	Loopback   LoopbackCfg   `yaml:"loopback"`
	// Foip is one SIP trunk (drivers/foip) beside the loopback ports;
	// it is off while Listen is empty.
	Foip FoipCfg `yaml:"foip"`
	// Brooktrout selects the Brooktrout boards (drivers/brooktrout); off
	// while Service is empty.
	Brooktrout BrooktroutCfg `yaml:"brooktrout"`
}

// BrooktroutCfg is the Brooktrout driver: the go-plugin binary
// (cmd/faxagent-brooktrout) and the vendor's local service it connects to
// (`faxagent testbench btsim` serves the same protocol). Its ports are the
// boards' channels as the service reports them, M<board>,<channel>, in the
// port group "brooktrout"; the self-issued licence counts them. Board 0's
// port IDs are the loopback ports' too: turn the loopback off beside it.
type BrooktroutCfg struct {
	Plugin  string `yaml:"plugin"`  // the faxagent-brooktrout binary
	Service string `yaml:"service"` // "unix:/path" or "tcp:127.0.0.1:port"
	// Spool is where documents are handed to the service as TIFF files
	// (default DATA/brooktrout-spool; the service must read it).
	Spool string `yaml:"spool"`
	// Boards, when set, are the boards to use; the other boards' ports
	// are listed, disabled.
	Boards []int `yaml:"boards"`
	// Send and Receive are the ports' settings (both default true).
	Send    *bool `yaml:"send"`
	Receive *bool `yaml:"receive"`
}

// FoipCfg is a Fax-over-IP trunk. In peer mode (Peer set) calls go to
// Peer and INVITEs are taken from Peer (and AllowFrom); in trunk mode
// (Registrar set) the trunk registers Username at the registrar with
// digest authentication, re-registers before the granted expiry, sends its
// calls there and takes INVITEs from it (and AllowFrom). Its ports are
// M<Board>,0 .. M<Board>,<Channels-1>, in the port group "foip" (the loopback ports are
// in "loopback"): a job preset to group:foip leaves on the trunk. Received
// faxes are stored through the core's inbound routes with the called
// number (Request-URI user part, or RoutingHeader) as the port number.
type FoipCfg struct {
	Listen    string `yaml:"listen"`    // SIP address, e.g. 127.0.0.1:5060
	Peer      string `yaml:"peer"`      // peer mode: the peer's SIP address host:port
	Registrar string `yaml:"registrar"` // trunk mode: the registrar's (and outbound proxy's) host:port
	// Username and Password are the trunk's digest credentials (trunk
	// mode); Username is also the default Number. The password is better
	// given as FAXAGENT_FOIP_PASSWORD than written in the file.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// RegisterExpiry is the expiry asked for in REGISTER (default 300 s);
	// RegisterRetry the wait after a failed registration (default 30 s).
	RegisterExpiry time.Duration `yaml:"register_expiry"`
	RegisterRetry  time.Duration `yaml:"register_retry"`
	// InboundUser and InboundPassword, when set, let INVITEs from
	// addresses not allowed in authenticate with digest (realm Realm,
	// default "faxagent"); without them they get 403.
	InboundUser     string `yaml:"inbound_user"`
	InboundPassword string `yaml:"inbound_password"`
	Realm           string `yaml:"realm"`
	// SessionExpires asks for RFC 4028 session timers on our INVITEs (0: off).
	SessionExpires time.Duration `yaml:"session_expires"`

	Transport string `yaml:"transport"` // udp (default), tcp or tls
	// TLSCert and TLSKey (transport tls) are PEM files with our
	// certificate and key; TLSCA the CAs a peer's certificate must chain
	// to (default: the system roots).
	TLSCert  string `yaml:"tls_cert"`
	TLSKey   string `yaml:"tls_key"`
	TLSCA    string `yaml:"tls_ca"`
	Channels int    `yaml:"channels"` // concurrent calls = ports (default 1)
	Board    int    `yaml:"board"`    // board number of the port IDs (default 1)
	Number   string `yaml:"number"`   // our number (From, calling number; trunk mode: default Username)
	// Send and Receive are the ports' settings (both default true).
	Send    *bool `yaml:"send"`
	Receive *bool `yaml:"receive"`
	// AllowFrom are further source addresses (IPs, CIDR prefixes) whose
	// INVITEs are taken.
	AllowFrom     []string `yaml:"allow_from"`
	RoutingHeader string   `yaml:"routing_header"`
	RoutingDigits int      `yaml:"routing_digits"`
	// MediaIP is the RTP/UDPTL address (default: the Listen host);
	// RTPPortMin..RTPPortMax the media port range (0: any free port).
	MediaIP    string `yaml:"media_ip"`
	RTPPortMin int    `yaml:"rtp_port_min"`
	RTPPortMax int    `yaml:"rtp_port_max"`
	Codec      string `yaml:"codec"` // PCMU (default) or PCMA
	// UDPTLTimeout ends a T.38 call after that long without a datagram
	// either way once the far end has sent its first frame (default 20 s,
	// well above T.30's T2 of 6 s); RTPTimeout ends an audio-phase call
	// after that long without RTP from the far end (default 10 s).
	// Negative: never. The call ends as "call dropped", cause "remote
	// silent for 20s: no UDPTL packets"; pages already received are kept.
	UDPTLTimeout time.Duration `yaml:"udptl_timeout"`
	RTPTimeout   time.Duration `yaml:"rtp_timeout"`
	// FailedCallsPerSource bounds the failed inbound calls (malformed INVITEs
	// or wrong digest credentials, answered calls that brought no whole fax) of one
	// source address in FailedCallsWindow (defaults 30 and 1m; -1: no
	// limit); over it the source's INVITEs get 503 with Retry-After.
	FailedCallsPerSource int           `yaml:"failed_calls_per_source"`
	FailedCallsWindow    time.Duration `yaml:"failed_calls_window"`
	T38                  FoipT38Cfg    `yaml:"t38"`
}

// FoipT38Cfg are the trunk's T.38 options (drivers/foip.Config).
type FoipT38Cfg struct {
	// Start: "reinvite" (audio first, default) or "invite" (T.38 in the
	// first INVITE).
	Start string `yaml:"start"`
	// Policy: "prefer" (default: T.38 when either side asks, G.711 audio
	// through the soft modems when it is refused), "require" (a refusal
	// ends the call) or "never" (audio only); Destinations overrides it
	// by number prefix ("+44": never).
	Policy       string            `yaml:"policy"`
	Destinations map[string]string `yaml:"destinations"`
	ReinviteOut  time.Duration     `yaml:"reinvite_out"`
	ReinviteIn   time.Duration     `yaml:"reinvite_in"`
	// ReinviteTimeout bounds the wait for the answer to our T.38
	// re-INVITE (default 4s; -1s: the SIP transaction's 32 s): past it
	// the re-INVITE is CANCELled and the fax goes on in audio (policy
	// prefer).
	ReinviteTimeout time.Duration `yaml:"reinvite_timeout"`
	Timeout         time.Duration `yaml:"timeout"`
	Version         int           `yaml:"version"`
	MaxBitRate      int           `yaml:"max_bit_rate"`
	MaxDatagram     int           `yaml:"max_datagram"`
	FEC             bool          `yaml:"fec"`
	// NoECM turns error correction off on the trunk's ports.
	NoECM bool `yaml:"no_ecm"`
}

// RetryCfg is the retry policy.
type RetryCfg struct {
	MaxAttempts int `yaml:"max_attempts"`
	// Waits before the next attempt, by cause: Busy (the number was
	// busy), NoAnswer (nobody or no fax answered), Now (a call dropped
	// or cut short: T2, DCN, no response) and Later (the others: training,
	// page rejected, T1/T5, internal). Each further attempt waits Backoff
	// times longer, up to MaxWait, spread by ±Jitter (a fraction) so jobs
	// that failed together come back apart. With pacing demo every wait
	// is divided by the loopback speedup, as calls are.
	Busy      time.Duration `yaml:"busy"`
	NoAnswer  time.Duration `yaml:"no_answer"`
	Now       time.Duration `yaml:"now"`
	Later     time.Duration `yaml:"later"`
	Backoff   float64       `yaml:"backoff"`
	MaxWait   time.Duration `yaml:"max_wait"`
	Jitter    float64       `yaml:"jitter"`
	PageLimit int           `yaml:"page_limit"`
}

// policy is the agent's retry policy; demo pacing divides the waits by
// speedup.
func (r RetryCfg) policy(speedup float64) agent.RetryPolicy {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / speedup) }
	return agent.RetryPolicy{MaxAttempts: r.MaxAttempts,
		Now: agent.ClassRule{Interval: scale(r.Now)}, Later: agent.ClassRule{Interval: scale(r.Later)},
		Codes:   map[t30.Code]agent.ClassRule{t30.CodeBusy: {Interval: scale(r.Busy)}, t30.CodeNoAnswer: {Interval: scale(r.NoAnswer)}},
		Backoff: r.Backoff, MaxInterval: scale(r.MaxWait), Jitter: r.Jitter, PageLimit: r.PageLimit}
}

// DialCfg are the dial rules.
type DialCfg struct {
	Prefix              string `yaml:"prefix"`
	Suffix              string `yaml:"suffix"`
	CountryCode         string `yaml:"country_code"`
	AreaCode            string `yaml:"area_code"`
	LongDistancePrefix  string `yaml:"long_distance_prefix"`
	InternationalPrefix string `yaml:"international_prefix"`
}

// LoopbackCfg is the simulated telephone network and its ports.
type LoopbackCfg struct {
	// Enabled false turns the simulated network off (default true);
	// `ports: []` does the same. With a FoIP trunk configured, the
	// loopback ports take only jobs preset to them (group:loopback).
	Enabled *bool `yaml:"enabled"`
	// Ports are this agent's loopback ports.
	Ports []LoopbackPort `yaml:"ports"`
	// Busy and NoAnswer are numbers that are busy or never answer; every
	// other number nobody owns reaches a built-in fax machine that
	// accepts the fax (and keeps no copy).
	Busy     []string `yaml:"busy"`
	NoAnswer []string `yaml:"no_answer"`
	// Lines give other numbers a line model (dropped calls, bit errors,
	// a limited remote).
	Lines []LineCfg `yaml:"lines"`
	// Pacing: "demo" runs each call in simulated time and then waits its
	// simulated duration divided by Speedup (a one-page letter takes about
	// 4 s instead of 40 s); "real" runs calls at real fax speed;
	// "none" takes no time at all (tests, benchmarks).
	Pacing  string  `yaml:"pacing"`
	Speedup float64 `yaml:"speedup"`
	// Deliveries, if set, is a file the built-in fax machine appends a
	// line to for every fax it received whole (called number, TSI, pages,
	// call ID), written as the last page's confirmation reaches the
	// sender: tests count there what the far end received.
	Deliveries string `yaml:"deliveries"`
}

// LineCfg is the behaviour of calls to one number (loopback.Model).
type LineCfg struct {
	Number string `yaml:"number"`
	// Kind: clean, busy, no_answer, rings_out or voice.
	Kind           string  `yaml:"kind"`
	DropAfterPage  int     `yaml:"drop_after_page"`
	BitErrorRate   float64 `yaml:"bit_error_rate"`
	FrameErrorRate float64 `yaml:"frame_error_rate"`
	TrainFailAbove int     `yaml:"train_fail_above"`
	RemoteMaxRate  int     `yaml:"remote_max_rate"`
	RemoteNoECM    bool    `yaml:"remote_no_ecm"`
	RemoteCSID     string  `yaml:"remote_csid"`
	// Calls limits the model to the first Calls calls (0: all).
	Calls int `yaml:"calls"`
	// Audio carries calls to the number over audio: our fax modems
	// (V.21, V.27ter, V.29, V.17) at both ends of a sample link.
	Audio bool `yaml:"audio"`
}

// LoopbackPort is one loopback port.
type LoopbackPort struct {
	Number  string `yaml:"number"`
	Send    bool   `yaml:"send"`
	Receive bool   `yaml:"receive"`
}

func defaultConfig() Config {
	return Config{
		Role:      "all",
		DataDir:   "faxagent-data",
		Listen:    "127.0.0.1:8080",
		MaxUpload: 32 << 20,
		Limits: LimitsCfg{
			MaxRequests: 64, MaxConnections: 4096, MaxConnectionsPerSource: 256, MaxConversions: max(2, runtime.GOMAXPROCS(0)), RetryAfter: worklimit.DefaultRetryAfter,
			ConversionTimeout: httpapi.DefaultConversionTimeout,
			ReadHeaderTimeout: 10 * time.Second, BodyMinRate: 16 << 10, BodyTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute,
			MaxPages: faxdoc.DefaultMaxPages, MaxDocumentPixels: faxdoc.DefaultMaxPixels,
			MaxPicturePixels: render.DefaultMaxPixels, MaxPictureMemory: render.DefaultMaxMemory,
			SOAPMaxAttributes: soap.DefaultMaxAttrs, SOAPMaxAttributesPerElement: soap.DefaultMaxAttrsPerElement,
			SOAPMaxTokens: soap.DefaultMaxTokens, SOAPMaxElements: soap.DefaultMaxElements,
		},
		LogLevel: "info",
		Agent: AgentCfg{
			ServerIP: "127.0.0.1",
			Header:   "%d %t  FROM %c  TO %n  PAGE %p/%s",
			Lease:    time.Minute,
			Poll:     2 * time.Second,
			Grace:    10 * time.Second,
			Retry: RetryCfg{MaxAttempts: 3, Busy: time.Minute, NoAnswer: 3 * time.Minute, Now: 30 * time.Second,
				Later: 2 * time.Minute, Backoff: 2, MaxWait: 30 * time.Minute, Jitter: 0.2},
			Loopback: LoopbackCfg{
				// Two ports send, two answer: faxes to 5550103 and 5550104
				// arrive back here as inbound messages.
				Ports: []LoopbackPort{
					{Number: "5550101", Send: true},
					{Number: "5550102", Send: true},
					{Number: "5550103", Receive: true},
					{Number: "5550104", Receive: true},
				},
				Busy:     []string{"5550111"},
				NoAnswer: []string{"5550112"},
				Pacing:   "demo",
				Speedup:  10,
			},
		},
	}
}

// loadConfigFile applies a YAML file over c; unknown keys are errors.
func loadConfigFile(c *Config, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalWithOptions(b, c, yaml.Strict()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// envVars are the environment variables serve reads, by the flag they
// stand for.
var envVars = []struct{ flag, env string }{
	{"config", "FAXAGENT_CONFIG"},
	{"role", "FAXAGENT_ROLE"},
	{"db", "FAXAGENT_DB"},
	{"listen", "FAXAGENT_LISTEN"},
	{"data", "FAXAGENT_DATA"},
	{"agent-id", "FAXAGENT_AGENT_ID"},
	{"pacing", "FAXAGENT_PACING"},
	{"log-level", "FAXAGENT_LOG_LEVEL"},
	{"import-dir", "FAXAGENT_IMPORT_DIR"},
	{"public-url", "FAXAGENT_PUBLIC_URL"},
	{"foip-listen", "FAXAGENT_FOIP_LISTEN"},
	{"foip-peer", "FAXAGENT_FOIP_PEER"},
	{"foip-registrar", "FAXAGENT_FOIP_REGISTRAR"},
	{"foip-username", "FAXAGENT_FOIP_USERNAME"},
	{"tls-cert", "FAXAGENT_TLS_CERT"},
	{"tls-key", "FAXAGENT_TLS_KEY"},
	{"core", "FAXAGENT_CORE"},
	{"core-ca", "FAXAGENT_CORE_CA"},
	{"core-credential-file", "FAXAGENT_CORE_CREDENTIAL_FILE"},
	// No flag: the agent credential itself (or core-credential-file).
	{"", envAgentCredential},
	// No flag: a password on the command line is visible to every user.
	{"", "FAXAGENT_FOIP_PASSWORD"},
}

// loadConfig builds the configuration: defaults, the file, the
// environment, the flags. getenv is os.Getenv outside tests.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	file := fs.String("config", "", "YAML configuration `FILE` (see Config in cmd/faxagent/config.go)")
	role := fs.String("role", "", "`ROLE`: all (store, API and agent), core (store and API) or agent (calls only; needs --core or --db)")
	tlsCert := fs.String("tls-cert", "", "PEM `FILE` of the listener's certificate: serve HTTPS (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "PEM `FILE` of the listener's private key")
	coreURL := fs.String("core", "", "role agent: the core's `URL` (https://HOST:PORT); the agent then opens no database")
	coreCA := fs.String("core-ca", "", "role agent: PEM `FILE` of the CAs trusted for the core's certificate (default: the system's)")
	coreCred := fs.String("core-credential-file", "", "role agent: `FILE` holding the agent credential (or FAXAGENT_AGENT_CREDENTIAL)")
	db := fs.String("db", "", "PostgreSQL `URL` postgres://... (default: SQLite in the data directory)")
	listen := fs.String("listen", "", "HTTP `ADDR` (HOST:PORT) of the API, SOAP, /metrics and health checks (default 127.0.0.1:8080)")
	data := fs.String("data", "", "data `DIR`: database, documents, API token, agent spool (default ./faxagent-data)")
	agentID := fs.String("agent-id", "", "agent `ID` (default: the host name)")
	pacing := fs.String("pacing", "", "loopback call `PACING`: demo (a tenth of real time; retry waits too), real or none (default demo)")
	logLevel := fs.String("log-level", "", "log `LEVEL`: debug, info, warn or error (default info)")
	importDir := fs.String("import-dir", "", "the only `DIR` SOAP documentPath parameters may name files in (default: none)")
	publicURL := fs.String("public-url", "", "SOAP service `URL` written in the WSDL (behind a proxy)")
	foipListen := fs.String("foip-listen", "", "FoIP: local SIP `ADDR` HOST:PORT (enables the SIP trunk)")
	foipPeer := fs.String("foip-peer", "", "FoIP: the peer's SIP `ADDR` HOST:PORT (peer mode)")
	foipRegistrar := fs.String("foip-registrar", "", "FoIP: the registrar's SIP `ADDR` HOST:PORT (trunk mode)")
	foipUser := fs.String("foip-username", "", "FoIP: trunk-mode `USER` name (password: FAXAGENT_FOIP_PASSWORD)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usageError(fmt.Sprintf("serve takes no arguments (got %q)", pos[0]))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	val := func(name string, fv *string) string {
		if set[name] {
			return *fv
		}
		for _, e := range envVars {
			if e.flag == name {
				return getenv(e.env)
			}
		}
		return ""
	}
	if f := val("config", file); f != "" {
		if err := loadConfigFile(&c, f); err != nil {
			return c, err
		}
	}
	for _, o := range []struct {
		name string
		fv   *string
		dst  *string
	}{
		{"role", role, &c.Role}, {"db", db, &c.Database}, {"listen", listen, &c.Listen},
		{"data", data, &c.DataDir}, {"agent-id", agentID, &c.Agent.ID},
		{"pacing", pacing, &c.Agent.Loopback.Pacing}, {"log-level", logLevel, &c.LogLevel},
		{"import-dir", importDir, &c.ImportDir}, {"public-url", publicURL, &c.PublicURL},
		{"foip-listen", foipListen, &c.Agent.Foip.Listen}, {"foip-peer", foipPeer, &c.Agent.Foip.Peer},
		{"foip-registrar", foipRegistrar, &c.Agent.Foip.Registrar}, {"foip-username", foipUser, &c.Agent.Foip.Username},
		{"tls-cert", tlsCert, &c.TLSCert}, {"tls-key", tlsKey, &c.TLSKey},
		{"core", coreURL, &c.Core}, {"core-ca", coreCA, &c.CoreCA}, {"core-credential-file", coreCred, &c.CoreCredentialFile},
	} {
		if v := val(o.name, o.fv); v != "" {
			*o.dst = v
		}
	}
	if v := getenv("FAXAGENT_FOIP_PASSWORD"); v != "" {
		c.Agent.Foip.Password = v
	}
	c.AgentCredential = getenv(envAgentCredential)
	if c.Agent.ID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "agent"
		}
		c.Agent.ID = h
	}
	return c, c.check()
}

func (c Config) check() error {
	var errs []error
	switch c.Role {
	case "all", "core", "agent":
	default:
		errs = append(errs, fmt.Errorf("role %q: want all, core or agent", c.Role))
	}
	switch {
	case c.Role == "agent" && c.Database == "" && c.Core == "":
		errs = append(errs, errors.New("role agent needs its core (--core https://...) or a shared PostgreSQL database (--db postgres://...)"))
	case c.Core != "" && c.Role != "agent":
		errs = append(errs, errors.New("--core is for role agent"))
	case c.Core != "" && c.Database != "":
		errs = append(errs, errors.New("role agent with --core opens no database: leave out --db"))
	case c.Core != "" && !strings.HasPrefix(c.Core, "https://") && !strings.HasPrefix(c.Core, "http://"):
		errs = append(errs, fmt.Errorf("core %q: want https://HOST:PORT", c.Core))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("no data directory"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls_cert and tls_key go together"))
	}
	if err := checkListen(c.Listen); err != nil {
		errs = append(errs, err)
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		errs = append(errs, fmt.Errorf("database %q: want a postgres:// URL", c.Database))
	}
	switch c.Agent.Loopback.Pacing {
	case "demo", "real", "none":
	default:
		errs = append(errs, fmt.Errorf("pacing %q: want demo, real or none", c.Agent.Loopback.Pacing))
	}
	for _, l := range c.Agent.Loopback.Lines {
		if _, err := lineKind(l.Kind); err != nil {
			errs = append(errs, err)
		}
		if l.Number == "" || l.BitErrorRate < 0 || l.BitErrorRate > 1 || l.FrameErrorRate < 0 || l.FrameErrorRate > 1 {
			errs = append(errs, fmt.Errorf("line %q: needs a number and error rates from 0 to 1", l.Number))
		}
	}
	if r := c.Agent.Retry; r.Busy <= 0 || r.NoAnswer <= 0 || r.Now <= 0 || r.Later <= 0 || r.MaxWait < 0 || r.Backoff < 0 || r.Jitter < 0 || r.Jitter > 1 {
		errs = append(errs, errors.New("retry: busy, no_answer, now and later must be positive, max_wait and backoff not negative, jitter from 0 to 1"))
	}
	if c.Agent.Loopback.Speedup <= 0 {
		errs = append(errs, errors.New("loopback speedup must be positive"))
	}
	if c.Role != "core" && !c.Agent.Loopback.enabled() && c.Agent.Foip.Listen == "" && c.Agent.Brooktrout.Service == "" {
		errs = append(errs, errors.New("the agent has no ports: the loopback ports are off and no FoIP trunk (foip listen) or Brooktrout service (brooktrout service) is configured"))
	}
	if b := c.Agent.Brooktrout; b.Service != "" || b.Plugin != "" {
		if b.Service == "" || b.Plugin == "" {
			errs = append(errs, errors.New("brooktrout: needs both plugin (the faxagent-brooktrout binary) and service (unix:/path or tcp:127.0.0.1:port)"))
		}
		if !strings.HasPrefix(b.Service, "unix:") && !strings.HasPrefix(b.Service, "tcp:") && b.Service != "" {
			errs = append(errs, fmt.Errorf("brooktrout service %q: want unix:/path or tcp:127.0.0.1:port", b.Service))
		}
	}
	if f := c.Agent.Foip; f.Listen != "" {
		switch {
		case f.Peer == "" && f.Registrar == "":
			errs = append(errs, errors.New("foip: a peer address is needed (--foip-peer host:port), or a registrar (--foip-registrar host:port)"))
		case f.Peer != "" && f.Registrar != "":
			errs = append(errs, errors.New("foip: peer and registrar both set: peer mode or trunk mode, not both"))
		case f.Registrar != "" && f.Username == "":
			errs = append(errs, errors.New("foip: trunk mode (registrar) needs a username (--foip-username)"))
		}
		switch f.Transport {
		case "", "udp", "tcp":
		case "tls":
			if f.TLSCert == "" || f.TLSKey == "" {
				errs = append(errs, errors.New("foip: transport tls needs tls_cert and tls_key"))
			}
		default:
			errs = append(errs, fmt.Errorf("foip transport %q: want udp, tcp or tls", f.Transport))
		}
		if f.RegisterExpiry < 0 || f.RegisterRetry < 0 || f.SessionExpires < 0 {
			errs = append(errs, errors.New("foip: register_expiry, register_retry and session_expires must not be negative"))
		}
		switch f.T38.Start {
		case "", "reinvite", "invite":
		default:
			errs = append(errs, fmt.Errorf("foip t38 start %q: want reinvite or invite", f.T38.Start))
		}
		if _, _, err := f.T38.policies(); err != nil {
			errs = append(errs, err)
		}
		if f.Channels < 0 || f.Board < 0 || f.RTPPortMin < 0 || f.RTPPortMax < f.RTPPortMin || f.RTPPortMax > 65535 {
			errs = append(errs, errors.New("foip: channels, board and the media port range must be non-negative and in order"))
		}
	} else if f.Peer != "" || f.Registrar != "" {
		errs = append(errs, errors.New("foip: a peer or registrar without a listen address (--foip-listen host:port)"))
	}
	if c.MaxUpload <= 0 {
		errs = append(errs, errors.New("max_upload must be positive"))
	}
	if l := c.Limits; l.MaxRequests < 0 || l.MaxConnections < 0 || l.MaxConnectionsPerSource < 0 || l.MaxConversions < 0 || l.RetryAfter < 0 || l.ConversionTimeout < 0 ||
		l.ReadHeaderTimeout < 0 || l.BodyMinRate < 0 || l.BodyTimeout < 0 || l.IdleTimeout < 0 || l.MaxPages < 0 ||
		l.MaxDocumentPixels < 0 || l.MaxPicturePixels < 0 || l.MaxPictureMemory < 0 || l.SOAPMaxAttributes < 0 ||
		l.SOAPMaxAttributesPerElement < 0 || l.SOAPMaxTokens < 0 || l.SOAPMaxElements < 0 {
		errs = append(errs, errors.New("limits must not be negative (0 takes the default)"))
	}
	if _, err := c.SOAP.trustedNetworks(); err != nil {
		errs = append(errs, err)
	}
	if l := c.Login; l.PairFailures < 0 || l.SourceFailures < 0 || l.UserFailures < 0 || l.Backoff < 0 || l.MaxBackoff < 0 {
		errs = append(errs, errors.New("login limits must not be negative"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"lease", c.Agent.Lease}, {"poll", c.Agent.Poll}, {"grace", c.Agent.Grace}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("agent %s must be positive", d.name))
		}
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (level int, err error) {
	switch strings.ToLower(s) {
	case "debug":
		return -4, nil
	case "info", "":
		return 0, nil
	case "warn":
		return 4, nil
	case "error":
		return 8, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// checkListen checks an HTTP listen address is HOST:PORT with a port from
// 0 to 65535 (HOST may be empty: every address).
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return fmt.Errorf("listen %q: want HOST:PORT, e.g. 127.0.0.1:8080", addr)
	}
	return nil
}

// enabled reports whether the simulated network runs: not turned off and
// with ports.
func (c LoopbackCfg) enabled() bool {
	return (c.Enabled == nil || *c.Enabled) && len(c.Ports) > 0
}

// retrySpeedup is what retry waits are divided by: the loopback speedup
// under demo pacing (calls and waits shrink alike), else 1.
func (ac AgentCfg) retrySpeedup() float64 {
	if ac.Loopback.Pacing == "demo" && ac.Loopback.Speedup > 0 {
		return ac.Loopback.Speedup
	}
	return 1
}

// rules are the agent's dial rules.
func (d DialCfg) rules() agent.DialRules {
	return agent.DialRules{Prefix: d.Prefix, Suffix: d.Suffix, CountryCode: d.CountryCode, AreaCode: d.AreaCode,
		LongDistancePrefix: d.LongDistancePrefix, InternationalPrefix: d.InternationalPrefix}
}
