package t38

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SDP for T.38 (ITU-T T.38 Annex D, RFC 4566 syntax). github.com/pion/sdp
// v3 refuses "m=image PORT udptl t38", so this is a small strict reader and
// writer of its own: it keeps every line it understands, rejects lines it
// does not, and reads the T.38 attributes case-insensitively because real
// endpoints spell them in several ways.

// Errors returned by the SDP reader and Answer.
var (
	ErrSDPSyntax = errors.New("t38: SDP syntax error")
	ErrSDPValue  = errors.New("t38: bad SDP T.38 attribute value")
	ErrNoT38     = errors.New("t38: offer has no T.38 (m=image udptl t38) stream")
)

// Origin is the o= line.
type Origin struct {
	Username, SessionID, SessionVersion, NetType, AddrType, Address string
}

// Connection is a c= line.
type Connection struct {
	NetType, AddrType, Address string
}

// Attribute is an a= line: "a=Key" (Value empty, Flag true) or "a=Key:Value".
type Attribute struct {
	Key   string
	Value string
	Flag  bool // property attribute, no ":" present
}

// Media is one m= section.
type Media struct {
	Type       string // audio, image, ...
	Port       int
	NumPorts   int // 0 when absent
	Proto      string
	Formats    []string
	Info       string      // i=
	Connection *Connection // c=
	Bandwidth  []string    // b= values
	Attributes []Attribute
}

// Session is a parsed SDP session description.
type Session struct {
	Origin     Origin
	Name       string      // s=
	Info       string      // i=
	URI        string      // u=
	Email      []string    // e=
	Phone      []string    // p=
	Connection *Connection // session-level c=
	Bandwidth  []string    // b=
	Timing     []string    // t= (and r= lines kept verbatim after their t=)
	TimeZone   string      // z=
	Attributes []Attribute
	Media      []Media
}

// IsT38 reports whether m is a T.38 UDPTL stream.
func (m *Media) IsT38() bool {
	if !strings.EqualFold(m.Type, "image") || !strings.EqualFold(m.Proto, "udptl") {
		return false
	}
	for _, f := range m.Formats {
		if strings.EqualFold(f, "t38") {
			return true
		}
	}
	return false
}

// T38Media returns the first T.38 stream with a non-zero port, or nil.
func (s *Session) T38Media() *Media {
	for i := range s.Media {
		if s.Media[i].IsT38() && s.Media[i].Port != 0 {
			return &s.Media[i]
		}
	}
	return nil
}

func isLineType(c byte) bool { return c >= 'a' && c <= 'z' }

// ParseSession reads an SDP session description. Lines may end in CRLF or
// LF. It is strict: the first line must be v=0, o=, s= and t= are required,
// every m= line needs a port, a protocol and a format, and unknown line
// types are rejected.
func ParseSession(b []byte) (*Session, error) {
	s := &Session{}
	var m *Media
	lineNo := 0
	seen := map[byte]bool{}
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		lineNo++
		if len(line) == 0 {
			if len(bytes.TrimSpace(b)) == 0 {
				break // trailing blank lines
			}
			return nil, fmt.Errorf("%w: line %d: empty line", ErrSDPSyntax, lineNo)
		}
		if len(line) < 2 || line[1] != '=' || !isLineType(line[0]) {
			return nil, fmt.Errorf("%w: line %d: not type=value: %q", ErrSDPSyntax, lineNo, trunc(line))
		}
		typ, val := line[0], string(line[2:])
		if strings.ContainsAny(val, "\x00\r") {
			return nil, fmt.Errorf("%w: line %d: control character", ErrSDPSyntax, lineNo)
		}
		if lineNo == 1 {
			if typ != 'v' || val != "0" {
				return nil, fmt.Errorf("%w: line 1: want v=0", ErrSDPSyntax)
			}
			seen['v'] = true
			continue
		}
		if m != nil {
			switch typ {
			case 'i':
				m.Info = val
			case 'c':
				c, err := parseConnection(val)
				if err != nil {
					return nil, fmt.Errorf("%w: line %d: %v", ErrSDPSyntax, lineNo, err)
				}
				m.Connection = c
			case 'b':
				m.Bandwidth = append(m.Bandwidth, val)
			case 'k':
			case 'a':
				m.Attributes = append(m.Attributes, parseAttribute(val))
			case 'm':
				m = nil
			default:
				return nil, fmt.Errorf("%w: line %d: %c= not allowed in a media section", ErrSDPSyntax, lineNo, typ)
			}
			if m != nil {
				continue
			}
		}
		switch typ {
		case 'v':
			return nil, fmt.Errorf("%w: line %d: repeated v=", ErrSDPSyntax, lineNo)
		case 'o':
			f := strings.Fields(val)
			if len(f) != 6 || seen['o'] {
				return nil, fmt.Errorf("%w: line %d: bad o= line", ErrSDPSyntax, lineNo)
			}
			s.Origin = Origin{f[0], f[1], f[2], f[3], f[4], f[5]}
		case 's':
			if seen['s'] || val == "" {
				return nil, fmt.Errorf("%w: line %d: repeated or empty s=", ErrSDPSyntax, lineNo)
			}
			s.Name = val
		case 'i':
			s.Info = val
		case 'u':
			s.URI = val
		case 'e':
			s.Email = append(s.Email, val)
		case 'p':
			s.Phone = append(s.Phone, val)
		case 'c':
			c, err := parseConnection(val)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrSDPSyntax, lineNo, err)
			}
			s.Connection = c
		case 'b':
			s.Bandwidth = append(s.Bandwidth, val)
		case 't':
			if f := strings.Fields(val); len(f) != 2 || !isUint(f[0]) || !isUint(f[1]) {
				return nil, fmt.Errorf("%w: line %d: bad t= line", ErrSDPSyntax, lineNo)
			}
			s.Timing = append(s.Timing, "t="+val)
		case 'r':
			if !seen['t'] {
				return nil, fmt.Errorf("%w: line %d: r= before t=", ErrSDPSyntax, lineNo)
			}
			s.Timing = append(s.Timing, "r="+val)
		case 'z':
			s.TimeZone = val
		case 'k':
		case 'a':
			s.Attributes = append(s.Attributes, parseAttribute(val))
		case 'm':
			md, err := parseMediaLine(val)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrSDPSyntax, lineNo, err)
			}
			s.Media = append(s.Media, md)
			m = &s.Media[len(s.Media)-1]
		default:
			return nil, fmt.Errorf("%w: line %d: unknown line type %c=", ErrSDPSyntax, lineNo, typ)
		}
		seen[typ] = true
	}
	for _, need := range []byte{'v', 'o', 's', 't'} {
		if !seen[need] {
			return nil, fmt.Errorf("%w: missing %c= line", ErrSDPSyntax, need)
		}
	}
	for i := range s.Media {
		if s.Media[i].Connection == nil && s.Connection == nil && s.Media[i].Port != 0 {
			return nil, fmt.Errorf("%w: media %d has no c= line", ErrSDPSyntax, i)
		}
	}
	return s, nil
}

func trunc(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

func isUint(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseConnection(v string) (*Connection, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return nil, fmt.Errorf("bad c= line %q", v)
	}
	return &Connection{f[0], f[1], f[2]}, nil
}

func parseAttribute(v string) Attribute {
	if k, val, ok := strings.Cut(v, ":"); ok {
		return Attribute{Key: k, Value: val}
	}
	return Attribute{Key: v, Flag: true}
}

func parseMediaLine(v string) (Media, error) {
	f := strings.Fields(v)
	if len(f) < 4 {
		return Media{}, fmt.Errorf("m= needs media, port, proto and a format: %q", v)
	}
	md := Media{Type: f[0], Proto: f[2], Formats: f[3:]}
	port, num, hasNum := strings.Cut(f[1], "/")
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 || !isUint(port) {
		return Media{}, fmt.Errorf("bad port %q", f[1])
	}
	md.Port = p
	if hasNum {
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || !isUint(num) {
			return Media{}, fmt.Errorf("bad port count %q", f[1])
		}
		md.NumPorts = n
	}
	return md, nil
}

// Marshal writes s as SDP with CRLF line ends.
func (s *Session) Marshal() []byte {
	var b bytes.Buffer
	line := func(t byte, v string) {
		b.WriteByte(t)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	conn := func(c *Connection) {
		if c != nil {
			line('c', c.NetType+" "+c.AddrType+" "+c.Address)
		}
	}
	attrs := func(as []Attribute) {
		for _, a := range as {
			if a.Flag && a.Value == "" {
				line('a', a.Key)
			} else {
				line('a', a.Key+":"+a.Value)
			}
		}
	}
	line('v', "0")
	o := s.Origin
	line('o', strings.Join([]string{o.Username, o.SessionID, o.SessionVersion, o.NetType, o.AddrType, o.Address}, " "))
	name := s.Name
	if name == "" {
		name = "-"
	}
	line('s', name)
	if s.Info != "" {
		line('i', s.Info)
	}
	if s.URI != "" {
		line('u', s.URI)
	}
	for _, e := range s.Email {
		line('e', e)
	}
	for _, p := range s.Phone {
		line('p', p)
	}
	conn(s.Connection)
	for _, bw := range s.Bandwidth {
		line('b', bw)
	}
	if len(s.Timing) == 0 {
		line('t', "0 0")
	}
	for _, t := range s.Timing {
		line(t[0], t[2:])
	}
	if s.TimeZone != "" {
		line('z', s.TimeZone)
	}
	attrs(s.Attributes)
	for i := range s.Media {
		m := &s.Media[i]
		port := strconv.Itoa(m.Port)
		if m.NumPorts > 0 {
			port += "/" + strconv.Itoa(m.NumPorts)
		}
		line('m', m.Type+" "+port+" "+m.Proto+" "+strings.Join(m.Formats, " "))
		if m.Info != "" {
			line('i', m.Info)
		}
		conn(m.Connection)
		for _, bw := range m.Bandwidth {
			line('b', bw)
		}
		attrs(m.Attributes)
	}
	return b.Bytes()
}

// RateManagement is T38FaxRateManagement: how TCF is handled.
type RateManagement uint8

const (
	RateUnset          RateManagement = iota
	RateTransferredTCF                // transferredTCF: TCF is sent across (required for UDP)
	RateLocalTCF                      // localTCF: each gateway generates/checks TCF itself
)

func (r RateManagement) String() string {
	switch r {
	case RateTransferredTCF:
		return "transferredTCF"
	case RateLocalTCF:
		return "localTCF"
	}
	return ""
}

// T38Params holds the T.38 SDP attributes of one media section.
type T38Params struct {
	Version         int            // T38FaxVersion (0 when absent)
	MaxBitRate      int            // T38MaxBitRate in bit/s (0 when absent)
	FillBitRemoval  bool           // T38FaxFillBitRemoval
	TranscodingMMR  bool           // T38FaxTranscodingMMR
	TranscodingJBIG bool           // T38FaxTranscodingJBIG
	RateManagement  RateManagement // T38FaxRateManagement
	MaxBuffer       int            // T38FaxMaxBuffer (0 when absent)
	MaxDatagram     int            // T38FaxMaxDatagram (0 when absent)
	UDPEC           ECMode         // T38FaxUdpEC (ECNone when absent)
	// T38FaxUdpECDepth (T.38 Annex D, 2010): minimum and maximum redundancy
	// depth; 0 when absent.
	ECDepthMin, ECDepthMax int
	// T38FaxUdpFECMaxSpan (T.38 Annex D, 2010); 0 when absent.
	FECMaxSpan int
}

// canonical attribute names, looked up case-insensitively
var t38AttrNames = map[string]string{
	"t38faxversion":         "T38FaxVersion",
	"t38maxbitrate":         "T38MaxBitRate",
	"t38faxmaxbitrate":      "T38MaxBitRate", // seen from some gateways
	"t38faxfillbitremoval":  "T38FaxFillBitRemoval",
	"t38faxtranscodingmmr":  "T38FaxTranscodingMMR",
	"t38faxtranscodingjbig": "T38FaxTranscodingJBIG",
	"t38faxratemanagement":  "T38FaxRateManagement",
	"t38faxmaxbuffer":       "T38FaxMaxBuffer",
	"t38faxmaxdatagram":     "T38FaxMaxDatagram",
	"t38faxudpec":           "T38FaxUdpEC",
	"t38faxudpecdepth":      "T38FaxUdpECDepth",
	"t38faxudpfecmaxspan":   "T38FaxUdpFECMaxSpan",
}

// T38 reads the T.38 attributes of m. Unknown attributes (T38VendorInfo,
// rtpmap, ...) are ignored; a known attribute with a bad value is an error.
func (m *Media) T38() (T38Params, error) {
	var p T38Params
	for _, a := range m.Attributes {
		name, ok := t38AttrNames[strings.ToLower(a.Key)]
		if !ok {
			continue
		}
		v := strings.TrimSpace(a.Value)
		bad := func() error {
			return fmt.Errorf("%w: %s:%q", ErrSDPValue, name, a.Value)
		}
		num := func(lo, hi int) (int, error) {
			if !isUint(v) {
				return 0, bad()
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return 0, bad()
			}
			return n, nil
		}
		flag := func() (bool, error) {
			switch {
			case a.Flag || v == "1" || strings.EqualFold(v, "true"):
				return true, nil
			case v == "0" || strings.EqualFold(v, "false"):
				return false, nil
			}
			return false, bad()
		}
		var err error
		switch name {
		case "T38FaxVersion":
			p.Version, err = num(0, 255)
		case "T38MaxBitRate":
			p.MaxBitRate, err = num(0, 1<<30)
		case "T38FaxFillBitRemoval":
			p.FillBitRemoval, err = flag()
		case "T38FaxTranscodingMMR":
			p.TranscodingMMR, err = flag()
		case "T38FaxTranscodingJBIG":
			p.TranscodingJBIG, err = flag()
		case "T38FaxRateManagement":
			switch strings.ToLower(v) {
			case "transferredtcf":
				p.RateManagement = RateTransferredTCF
			case "localtcf":
				p.RateManagement = RateLocalTCF
			default:
				err = bad()
			}
		case "T38FaxMaxBuffer":
			p.MaxBuffer, err = num(0, 1<<30)
		case "T38FaxMaxDatagram":
			p.MaxDatagram, err = num(0, 1<<30)
		case "T38FaxUdpEC":
			switch strings.ToLower(v) {
			case "t38udpredundancy":
				p.UDPEC = ECRedundancy
			case "t38udpfec":
				p.UDPEC = ECFEC
			case "t38udpnoec", "":
				p.UDPEC = ECNone
			default:
				err = bad()
			}
		case "T38FaxUdpECDepth":
			lo, hi, two := strings.Cut(v, " ")
			v = lo
			if p.ECDepthMin, err = num(0, 1000); err == nil {
				p.ECDepthMax = p.ECDepthMin
				if two {
					v = strings.TrimSpace(hi)
					p.ECDepthMax, err = num(p.ECDepthMin, 1000)
				}
			}
		case "T38FaxUdpFECMaxSpan":
			p.FECMaxSpan, err = num(0, 1000)
		}
		if err != nil {
			return T38Params{}, err
		}
	}
	return p, nil
}

// Attributes returns p as SDP attributes in the customary order. Booleans
// are written as property attributes (present = true), as T.38 Annex D
// specifies.
func (p T38Params) Attributes() []Attribute {
	as := []Attribute{{Key: "T38FaxVersion", Value: strconv.Itoa(p.Version)}}
	if p.MaxBitRate > 0 {
		as = append(as, Attribute{Key: "T38MaxBitRate", Value: strconv.Itoa(p.MaxBitRate)})
	}
	if p.FillBitRemoval {
		as = append(as, Attribute{Key: "T38FaxFillBitRemoval", Flag: true})
	}
	if p.TranscodingMMR {
		as = append(as, Attribute{Key: "T38FaxTranscodingMMR", Flag: true})
	}
	if p.TranscodingJBIG {
		as = append(as, Attribute{Key: "T38FaxTranscodingJBIG", Flag: true})
	}
	if p.RateManagement != RateUnset {
		as = append(as, Attribute{Key: "T38FaxRateManagement", Value: p.RateManagement.String()})
	}
	if p.MaxBuffer > 0 {
		as = append(as, Attribute{Key: "T38FaxMaxBuffer", Value: strconv.Itoa(p.MaxBuffer)})
	}
	if p.MaxDatagram > 0 {
		as = append(as, Attribute{Key: "T38FaxMaxDatagram", Value: strconv.Itoa(p.MaxDatagram)})
	}
	if p.UDPEC != ECNone {
		as = append(as, Attribute{Key: "T38FaxUdpEC", Value: p.UDPEC.String()})
	}
	if p.ECDepthMin > 0 {
		v := strconv.Itoa(p.ECDepthMin)
		if p.ECDepthMax > p.ECDepthMin {
			v += " " + strconv.Itoa(p.ECDepthMax)
		}
		as = append(as, Attribute{Key: "T38FaxUdpECDepth", Value: v})
	}
	if p.FECMaxSpan > 0 {
		as = append(as, Attribute{Key: "T38FaxUdpFECMaxSpan", Value: strconv.Itoa(p.FECMaxSpan)})
	}
	return as
}

// Capabilities describes what the local T.38 endpoint supports and where it
// listens; Answer combines it with an offer.
type Capabilities struct {
	Origin          Origin
	Address         string // local IP address for c=
	Port            int    // local UDPTL port
	Version         int    // highest T.38 version supported
	MaxBitRate      int    // highest rate, bit/s (e.g. 14400)
	FillBitRemoval  bool
	TranscodingMMR  bool
	TranscodingJBIG bool
	LocalTCF        bool // willing to use localTCF if offered
	MaxBuffer       int  // our receive buffer, octets
	MaxDatagram     int  // largest UDPTL datagram we accept
	FEC             bool // can use t38UDPFEC
	Redundancy      bool // can use t38UDPRedundancy
}

// Answer computes the SDP answer to offer (RFC 3264, T.38 Annex D): the T.38
// stream is accepted with the lower version and bit rate, the options both
// sides support, the offered rate management, and error correction FEC if
// both can, else redundancy; our own buffer and datagram limits. Other
// streams are declined with port 0.
func Answer(offer *Session, local Capabilities) (*Session, T38Params, error) {
	om := offer.T38Media()
	if om == nil {
		return nil, T38Params{}, ErrNoT38
	}
	op, err := om.T38()
	if err != nil {
		return nil, T38Params{}, err
	}
	var ap T38Params
	ap.Version = min(op.Version, local.Version)
	ap.MaxBitRate = local.MaxBitRate
	if op.MaxBitRate > 0 && (ap.MaxBitRate == 0 || op.MaxBitRate < ap.MaxBitRate) {
		ap.MaxBitRate = op.MaxBitRate
	}
	ap.FillBitRemoval = op.FillBitRemoval && local.FillBitRemoval
	ap.TranscodingMMR = op.TranscodingMMR && local.TranscodingMMR
	ap.TranscodingJBIG = op.TranscodingJBIG && local.TranscodingJBIG
	switch {
	case op.RateManagement == RateLocalTCF && local.LocalTCF:
		ap.RateManagement = RateLocalTCF
	case op.RateManagement == RateLocalTCF:
		return nil, T38Params{}, fmt.Errorf("%w: localTCF offered but not supported", ErrSDPValue)
	default:
		ap.RateManagement = RateTransferredTCF
	}
	ap.MaxBuffer = local.MaxBuffer
	ap.MaxDatagram = local.MaxDatagram
	switch {
	case op.UDPEC == ECFEC && local.FEC:
		ap.UDPEC = ECFEC
		ap.FECMaxSpan = op.FECMaxSpan
	case op.UDPEC != ECNone && local.Redundancy:
		ap.UDPEC = ECRedundancy
		ap.ECDepthMin, ap.ECDepthMax = op.ECDepthMin, op.ECDepthMax
	}
	ans := &Session{
		Origin:     local.Origin,
		Name:       "-",
		Connection: &Connection{NetType: "IN", AddrType: addrType(local.Address), Address: local.Address},
		Timing:     []string{"t=0 0"},
	}
	if ans.Origin.Username == "" {
		ans.Origin = Origin{"-", "0", "0", "IN", addrType(local.Address), local.Address}
	}
	for i := range offer.Media {
		m := &offer.Media[i]
		if m == om {
			ans.Media = append(ans.Media, Media{Type: "image", Port: local.Port, Proto: "udptl",
				Formats: []string{"t38"}, Attributes: ap.Attributes()})
			continue
		}
		ans.Media = append(ans.Media, Media{Type: m.Type, Port: 0, Proto: m.Proto, Formats: []string{m.Formats[0]}})
	}
	return ans, ap, nil
}

func addrType(a string) string {
	if strings.Contains(a, ":") {
		return "IP6"
	}
	return "IP4"
}
