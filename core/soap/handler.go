package soap

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/loginlimit"
	"github.com/faxagent/faxagent/core/worklimit"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

// Path is where the service is mounted, as in FaxCore.
const Path = "/webservices/wfapi.asmx"

// Config configures a Handler.
type Config struct {
	// Store is the message store. Required.
	Store core.Store
	// Tracks, Copier and Users replace the store's tracking records,
	// message copies and user administration (see their types); nil
	// takes them from Store.
	Tracks TrackStore
	Copier MessageCopier
	Users  UserAdmin
	// ImportDir is the only directory documentPath may name files in
	// (paths relative to it or absolute paths inside it, no "..", no
	// symlinks out); "" refuses documentPath.
	ImportDir string
	// TempDir holds document conversions while they run; "" os.TempDir.
	TempDir string
	// CoverDir holds cover page templates, NAME.txt (faxdoc.CoverTemplate);
	// "" offers only the shipped "default", which useDefaultCP takes.
	CoverDir string
	// Limits bound one request.
	Limits Limits
	// Conversions caps the documents converted at once (shared with the
	// JSON API); over it a request gets HTTP 503 with Retry-After and a
	// Server fault. nil: no cap.
	Conversions *worklimit.Semaphore
	// ConversionTimeout bounds one document's conversion; 0 means 2
	// minutes. A conversion also stops when its client goes.
	ConversionTimeout time.Duration
	// DocumentLimits bound each document's pages and pixels (zero fields:
	// faxdoc's defaults).
	DocumentLimits faxdoc.Limits
	// PublicURL is the service address written in the served WSDL; ""
	// takes the server's address of each connection (never the Host
	// header), which is right unless clients reach the service through a
	// proxy or a name.
	PublicURL string
	// Logins limits password checks (Basic credentials and
	// AuthenticateUser); nil makes one with loginlimit's defaults. Share
	// one between the services of a process.
	Logins *loginlimit.Limiter
	// TrustedNetworks are the client addresses that may call without
	// credentials and then act as whichever user a request names: every
	// caller there is as powerful as the system administrator. Empty (the
	// default) requires credentials of everyone.
	TrustedNetworks []netip.Prefix
	// Now is the clock; nil time.Now.
	Now func() time.Time
	// Location is the time zone of dates in answers; nil time.Local.
	Location *time.Location
	// Logger; nil slog.Default().
	Logger *slog.Logger
}

// Handler is the wfApi endpoint. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	contract *contract
	ops      map[string]opFunc
	creds    credCache
	// nativeTracks is set when the tracking records are the store's own:
	// a send stores them with the message (core.Submission.Tracks).
	nativeTracks bool
	// giver gives a message to several users in one transaction: the
	// store, unless Config.Copier replaces it.
	giver messageGiver
}

type opFunc func(ctx context.Context, c *call) (result, error)

// NewHandler makes the endpoint; mount it at Path.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("soap: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Logins == nil {
		cfg.Logins = loginlimit.New(loginlimit.Config{Now: cfg.Now})
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.ConversionTimeout <= 0 {
		cfg.ConversionTimeout = 2 * time.Minute
	}
	native := cfg.Tracks == nil
	if native {
		cfg.Tracks = cfg.Store
	}
	var giver messageGiver
	if cfg.Copier == nil {
		cfg.Copier, giver = cfg.Store, cfg.Store
	}
	if cfg.Users == nil {
		cfg.Users = cfg.Store
	}
	ct, err := parseContract(wsdlText)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, contract: ct, creds: credCache{m: map[[32]byte]credEntry{}}, nativeTracks: native, giver: giver}
	h.ops = h.operations()
	for _, op := range ct.Ops {
		if h.ops[op] == nil {
			return nil, fmt.Errorf("soap: operation %s has no handler", op)
		}
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if isWSDLQuery(r.URL.RawQuery) {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.Write(wsdlFor(h.address(r)))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "wfApi web service. The WSDL is at %s?WSDL\n", h.address(r))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ver, action := SOAP11, ""
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/soap+xml" {
		ver, action = SOAP12, params["action"]
	} else {
		action = strings.Trim(strings.TrimSpace(r.Header.Get("SOAPAction")), `"`)
	}
	// Who is asking is settled before the body is read.
	ctx := r.Context()
	who, authed, err := h.authenticate(r)
	if err == nil && !authed && !h.trusted(r) {
		err = errUnauthorized
	}
	if errors.Is(err, errUnauthorized) {
		w.Header().Set("WWW-Authenticate", `Basic realm="wfApi", charset="UTF-8"`)
		b, _ := encodeFault(ver, faultClient, err.Error())
		w.Header().Set("Content-Type", contentType(ver))
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(b)
		return
	}
	if err != nil {
		h.cfg.Logger.Error("soap: authentication failed", "err", err)
		h.fault(w, ver, faultServer, "Server was unable to process request: internal error")
		return
	}
	if authed {
		ctx = context.WithValue(ctx, principalKey{}, who)
	}
	body := http.MaxBytesReader(w, r.Body, h.cfg.Limits.MaxBytes)
	req, err := decodeEnvelope(body, params["charset"], h.cfg.Limits, ver)
	if err != nil {
		code := faultClient
		if errors.Is(err, ErrVersionMismatch) {
			code = faultVersion
		}
		h.fault(w, req.Version, code, err.Error())
		return
	}
	if mt == "application/soap+xml" && req.Version == SOAP11 || mt != "application/soap+xml" && req.Version == SOAP12 {
		h.fault(w, req.Version, faultVersion, "soap: the envelope's version does not match the Content-Type")
		return
	}
	if req.Version == SOAP12 && r.Header.Get("SOAPAction") != "" && action == "" {
		action = strings.Trim(r.Header.Get("SOAPAction"), `"`)
	}
	op := req.Op.Name
	fn := h.ops[op]
	if req.Op.Space != Namespace || fn == nil {
		h.fault(w, req.Version, faultClient, fmt.Sprintf("Server did not recognize the request element {%s}%s", req.Op.Space, op))
		return
	}
	if action != "" && action != Namespace+op {
		h.fault(w, req.Version, faultClient, fmt.Sprintf("Server did not recognize the value of SOAPAction: %s", action))
		return
	}
	c := &call{h: h, op: op, decl: h.contract.Params[op], n: req.Op, remote: clientAddr(r)}
	res, err := fn(ctx, c)
	if err == nil {
		err = c.err
	}
	if err != nil {
		var ce *clientError
		if errors.As(err, &ce) {
			h.cfg.Logger.Info("soap: request refused", "op", op, "err", err)
			h.fault(w, req.Version, faultClient, ce.Error())
			return
		}
		if errors.Is(err, worklimit.ErrBusy) {
			b, _ := encodeFault(req.Version, faultServer, err.Error())
			w.Header().Set("Retry-After", h.cfg.Conversions.RetryAfterSeconds())
			w.Header().Set("Content-Type", contentType(req.Version))
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(b)
			return
		}
		if r.Context().Err() != nil {
			h.cfg.Logger.Info("soap: client went away; nothing stored", "op", op, "err", err)
			h.fault(w, req.Version, faultServer, "request cancelled")
			return
		}
		h.cfg.Logger.Error("soap: operation failed", "op", op, "err", err)
		h.fault(w, req.Version, faultServer, "Server was unable to process request: internal error")
		return
	}
	w.Header().Set("Content-Type", contentType(req.Version))
	w.Write(encodeResponse(req.Version, op, res))
}

func (h *Handler) fault(w http.ResponseWriter, v Version, code faultCode, reason string) {
	b, status := encodeFault(v, code, reason)
	w.Header().Set("Content-Type", contentType(v))
	w.WriteHeader(status)
	w.Write(b)
}

// address is the service address the WSDL and the GET page name:
// Config.PublicURL, else the server's own end of the connection (the
// listen address it was reached on; never the client's Host header, which
// would let a client choose the address that others are told to post
// to), else the embedded WSDL's localhost address.
func (h *Handler) address(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return h.cfg.PublicURL
	}
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return wsdlAddress
	}
	ap, err := netip.ParseAddrPort(la.String())
	if err != nil {
		return wsdlAddress
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()).String() + Path
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientError is a request the caller got wrong: answered with a Client
// (1.2: Sender) fault.
type clientError struct{ msg string }

func (e *clientError) Error() string { return e.msg }

func clientErrorf(format string, a ...any) error {
	return &clientError{msg: fmt.Sprintf(format, a...)}
}

// call is one operation's request: typed access to its parameters by
// element name, checked against the WSDL's declaration.
type call struct {
	h      *Handler
	op     string
	decl   []param
	n      *node
	remote string
	err    error
}

func (c *call) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

// lookup returns the parameter's element (nil when absent) after checking
// that the WSDL declares it with one of the given types.
func (c *call) lookup(name string, types ...string) *node {
	ok := false
	for _, p := range c.decl {
		if p.Name == name {
			for _, t := range types {
				if p.Type == t {
					ok = true
				}
			}
			if !ok {
				c.setErr(fmt.Errorf("soap: %s.%s is %s in the WSDL, read as %v", c.op, name, p.Type, types))
			}
			break
		}
	}
	if !ok {
		c.setErr(fmt.Errorf("soap: %s.%s read as %v is not declared so in the WSDL", c.op, name, types))
		return nil
	}
	return c.n.child(name)
}

func (c *call) str(name string) string {
	n := c.lookup(name, "s:string", "tns:Role", "tns:AddressType", "tns:ConditionType")
	if n == nil {
		return ""
	}
	return n.Text
}

func parseLong(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) }

func parseBool(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not an xsd:boolean", s)
}

func (c *call) long(name string) int64 {
	n := c.lookup(name, "s:long")
	if n == nil {
		return 0
	}
	v, err := parseLong(n.Text)
	if err != nil {
		c.setErr(clientErrorf("%s: %s: %q is not an xsd:long", c.op, name, n.Text))
	}
	return v
}

func (c *call) int(name string) int {
	n := c.lookup(name, "s:int")
	if n == nil {
		return 0
	}
	v, err := strconv.ParseInt(strings.TrimSpace(n.Text), 10, 32)
	if err != nil {
		c.setErr(clientErrorf("%s: %s: %q is not an xsd:int", c.op, name, n.Text))
	}
	return int(v)
}

func (c *call) bool(name string) bool {
	n := c.lookup(name, "s:boolean")
	if n == nil {
		return false
	}
	v, err := parseBool(n.Text)
	if err != nil {
		c.setErr(clientErrorf("%s: %s: %v", c.op, name, err))
	}
	return v
}

func (c *call) items(name, typ, item string) []*node {
	n := c.lookup(name, typ)
	if n == nil {
		return nil
	}
	out := []*node{}
	for _, k := range n.Kids {
		if k.Name != item {
			c.setErr(clientErrorf("%s: %s: unexpected element %q (want %q)", c.op, name, k.Name, item))
			return nil
		}
		out = append(out, k)
	}
	return out
}

// strs reads an ArrayOfString; nil when the element is absent.
func (c *call) strs(name string) []string {
	ns := c.items(name, "tns:ArrayOfString", "string")
	if ns == nil {
		return nil
	}
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Text
	}
	return out
}

func (c *call) bools(name string) []bool {
	ns := c.items(name, "tns:ArrayOfBoolean", "boolean")
	out := make([]bool, len(ns))
	for i, n := range ns {
		v, err := parseBool(n.Text)
		if err != nil {
			c.setErr(clientErrorf("%s: %s[%d]: %v", c.op, name, i, err))
		}
		out[i] = v
	}
	return out
}

func (c *call) ints(name string) []int {
	ns := c.items(name, "tns:ArrayOfInt", "int")
	out := make([]int, len(ns))
	for i, n := range ns {
		v, err := strconv.ParseInt(strings.TrimSpace(n.Text), 10, 32)
		if err != nil {
			c.setErr(clientErrorf("%s: %s[%d]: %q is not an xsd:int", c.op, name, i, n.Text))
		}
		out[i] = int(v)
	}
	return out
}

func (c *call) longs(name string) []int64 {
	ns := c.items(name, "tns:ArrayOfLong", "long")
	out := make([]int64, len(ns))
	for i, n := range ns {
		v, err := parseLong(n.Text)
		if err != nil {
			c.setErr(clientErrorf("%s: %s[%d]: %q is not an xsd:long", c.op, name, i, n.Text))
		}
		out[i] = v
	}
	return out
}

// anys reads an ArrayOfAnyType of byte arrays (xsi:type base64Binary, as
// a .NET client sends object[] of byte[]); a nil item is nil.
func (c *call) anys(name string) [][]byte {
	ns := c.items(name, "tns:ArrayOfAnyType", "anyType")
	out := make([][]byte, len(ns))
	for i, n := range ns {
		if n.Nil {
			continue
		}
		if n.Type != "" && n.Type != "base64Binary" {
			c.setErr(clientErrorf("%s: %s[%d]: xsi:type %q (want xsd:base64Binary)", c.op, name, i, n.Type))
			continue
		}
		b, err := decodeBase64(n.Text)
		if err != nil {
			c.setErr(clientErrorf("%s: %s[%d]: %v", c.op, name, i, err))
		}
		out[i] = b
	}
	return out
}

// complexItems reads an array of complex items (MsgDocument, ...).
func (c *call) complexItems(name, typ, item string) []*node {
	return c.items(name, typ, item)
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("bad base64 data")
	}
	return b, nil
}

// field helpers for complex items.
func fieldStr(n *node, name string) string {
	if k := n.child(name); k != nil {
		return k.Text
	}
	return ""
}

func fieldBool(n *node, name string) (bool, error) {
	k := n.child(name)
	if k == nil {
		return false, nil
	}
	return parseBool(k.Text)
}

func fieldLong(n *node, name string) (int64, error) {
	k := n.child(name)
	if k == nil {
		return 0, nil
	}
	return parseLong(k.Text)
}
