package foip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/faxagent/faxagent/t38"
)

// G.711 RTP payload types (RFC 3551).
const (
	ptPCMU = 0
	ptPCMA = 8
)

// ErrNoMedia is wrapped when an SDP offer or answer has no stream we can
// use (no G.711 audio and no T.38).
var ErrNoMedia = errors.New("foip: SDP has no usable media")

// origin is a call's o= line with its version counter.
type origin struct {
	id      string
	version int
	ip      string
}

func (o *origin) next() t38.Origin {
	o.version++
	return t38.Origin{Username: "faxagent", SessionID: o.id, SessionVersion: strconv.Itoa(o.version),
		NetType: "IN", AddrType: "IP4", Address: o.ip}
}

// audioSDP is our G.711 offer or answer on port; first is the law we
// prefer (or the one the offer chose).
func audioSDP(o t38.Origin, ip string, port int, first int) []byte {
	pts := []int{ptPCMU, ptPCMA}
	if first == ptPCMA {
		pts = []int{ptPCMA, ptPCMU}
	}
	m := t38.Media{Type: "audio", Port: port, Proto: "RTP/AVP"}
	for _, pt := range pts {
		m.Formats = append(m.Formats, strconv.Itoa(pt))
		name := "PCMU"
		if pt == ptPCMA {
			name = "PCMA"
		}
		m.Attributes = append(m.Attributes, t38.Attribute{Key: "rtpmap", Value: strconv.Itoa(pt) + " " + name + "/8000"})
	}
	m.Attributes = append(m.Attributes, t38.Attribute{Key: "ptime", Value: "20"}, t38.Attribute{Key: "sendrecv", Flag: true})
	s := t38.Session{Origin: o, Name: "faxagent",
		Connection: &t38.Connection{NetType: "IN", AddrType: "IP4", Address: ip},
		Timing:     []string{"t=0 0"}, Media: []t38.Media{m}}
	return s.Marshal()
}

// t38Offer is our T.38 offer on port.
func t38Offer(o t38.Origin, caps t38.Capabilities) ([]byte, t38.T38Params) {
	p := t38.T38Params{
		Version: caps.Version, MaxBitRate: caps.MaxBitRate,
		RateManagement: t38.RateTransferredTCF,
		MaxBuffer:      caps.MaxBuffer, MaxDatagram: caps.MaxDatagram,
		UDPEC: t38.ECRedundancy,
	}
	if caps.FEC {
		p.UDPEC = t38.ECFEC
	}
	s := t38.Session{Origin: o, Name: "faxagent",
		Connection: &t38.Connection{NetType: "IN", AddrType: "IP4", Address: caps.Address},
		Timing:     []string{"t=0 0"},
		Media:      []t38.Media{{Type: "image", Port: caps.Port, Proto: "udptl", Formats: []string{"t38"}, Attributes: p.Attributes()}}}
	return s.Marshal(), p
}

// remoteAudio is the usable G.711 stream of an SDP.
type remoteAudio struct {
	addr netip.AddrPort
	pt   int
}

// mediaAddr is the address of media m in session s.
func mediaAddr(s *t38.Session, m *t38.Media) (netip.AddrPort, error) {
	c := m.Connection
	if c == nil {
		c = s.Connection
	}
	if c == nil {
		return netip.AddrPort{}, fmt.Errorf("%w: no c= line", ErrNoMedia)
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(c.Address))
	if err != nil {
		// A host name: resolving SDP names is not supported.
		return netip.AddrPort{}, fmt.Errorf("%w: connection address %q", ErrNoMedia, c.Address)
	}
	if m.Port <= 0 || m.Port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("%w: port %d", ErrNoMedia, m.Port)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(m.Port)), nil
}

// audioOf finds the first active G.711 audio stream of s and the law to
// use: the first of PCMU/PCMA in the stream's format order (the offerer's
// preference, RFC 3264 6.1).
func audioOf(s *t38.Session) (remoteAudio, error) {
	for i := range s.Media {
		m := &s.Media[i]
		if m.Type != "audio" || m.Port == 0 || !strings.HasPrefix(m.Proto, "RTP/") {
			continue
		}
		pt := -1
		for _, f := range m.Formats {
			if f == "0" || f == "8" {
				pt, _ = strconv.Atoi(f)
				break
			}
		}
		if pt < 0 {
			continue
		}
		addr, err := mediaAddr(s, m)
		if err != nil {
			return remoteAudio{}, err
		}
		return remoteAudio{addr: addr, pt: pt}, nil
	}
	return remoteAudio{}, fmt.Errorf("%w: no G.711 audio", ErrNoMedia)
}

// t38Of reads the active T.38 stream of s.
func t38Of(s *t38.Session) (netip.AddrPort, t38.T38Params, bool, error) {
	m := s.T38Media()
	if m == nil {
		return netip.AddrPort{}, t38.T38Params{}, false, nil
	}
	addr, err := mediaAddr(s, m)
	if err != nil {
		return netip.AddrPort{}, t38.T38Params{}, true, err
	}
	p, err := m.T38()
	return addr, p, true, err
}

// udpAddr converts for net APIs.
func udpAddr(a netip.AddrPort) *net.UDPAddr { return net.UDPAddrFromAddrPort(a) }
