package localsvc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Version is the protocol version this package speaks (the first octet of
// every frame body).
const Version = 1

// Frame limits.
const (
	// MaxFrame bounds the body of a frame (after the length prefix).
	MaxFrame = 64 << 10
	// MaxString bounds a string field.
	MaxString = 1024
	headerLen = 6 // version, type, request ID
)

// Errors of the codec; every decoding error wraps ErrMalformed.
var (
	ErrMalformed   = errors.New("localsvc: malformed message")
	ErrShortBuffer = errors.New("localsvc: buffer too small")
	ErrVersion     = errors.New("localsvc: unsupported protocol version")
)

// Type is a message type.
type Type uint8

// Message types: requests (client to service), responses (service to
// client, same request ID) and events (service to client, ID 0).
const (
	TypeHello     Type = 0x01
	TypeBoardInfo Type = 0x02
	TypeOpen      Type = 0x03
	TypeDial      Type = 0x04
	TypeAnswer    Type = 0x05
	TypeSend      Type = 0x06
	TypeReceive   Type = 0x07
	TypeHangup    Type = 0x08
	TypeStatus    Type = 0x09

	TypeOK         Type = 0x80
	TypeError      Type = 0x81
	TypeCompletion Type = 0x82

	TypeEvRing         Type = 0xC0
	TypeEvPage         Type = 0xC1
	TypeEvUp           Type = 0xC2
	TypeEvDown         Type = 0xC3
	TypeEvRemoteHangup Type = 0xC4
)

var typeNames = map[Type]string{
	TypeHello: "HELLO", TypeBoardInfo: "BOARD_INFO", TypeOpen: "OPEN", TypeDial: "DIAL",
	TypeAnswer: "ANSWER", TypeSend: "SEND", TypeReceive: "RECEIVE", TypeHangup: "HANGUP",
	TypeStatus: "STATUS", TypeOK: "OK", TypeError: "ERROR", TypeCompletion: "COMPLETION",
	TypeEvRing: "EV_RING", TypeEvPage: "EV_PAGE", TypeEvUp: "EV_UP", TypeEvDown: "EV_DOWN",
	TypeEvRemoteHangup: "EV_REMOTE_HANGUP",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("Type(0x%02X)", uint8(t))
}

// Valid reports whether t is a defined type.
func (t Type) Valid() bool { _, ok := typeNames[t]; return ok }

// IsEvent reports whether t is an event type.
func (t Type) IsEvent() bool { return t >= 0xC0 }

// Field tags. Integer fields are 4-octet big-endian unsigned values,
// string fields UTF-8 of at most MaxString octets.
const (
	tagBoard       = 1
	tagChannel     = 2
	tagNumber      = 3
	tagCalling     = 4
	tagCalled      = 5
	tagPath        = 6
	tagCSID        = 7
	tagHeader      = 8
	tagRate        = 9
	tagECM         = 10
	tagTimeoutMS   = 11
	tagStatus      = 12
	tagCause       = 13
	tagPages       = 14
	tagModulation  = 15
	tagRemoteCSID  = 16
	tagError       = 17
	tagState       = 18
	tagBoards      = 19
	tagChannels    = 20
	tagModel       = 21
	tagSerial      = 22
	tagPage        = 23
	tagResolution  = 24
	tagCompression = 25
	tagWidth       = 26
	tagDurationMS  = 27
	tagVersion     = 28
	tagHangupCause = 29
	tagCallerID    = 30
	maxTag         = 30
)

// Msg is one protocol message. Which fields a type uses is listed in
// PROTOCOL.md; zero fields are not sent, and absent fields decode as zero.
type Msg struct {
	Type Type
	ID   uint32

	Board, Channel int
	Number         string
	Calling        string
	Called         string
	CallerID       string
	Path           string
	CSID           string
	Header         string
	Rate           int
	ECM            bool
	TimeoutMS      int
	Status         int // vendor call-progress or completion status
	Cause          string
	Pages          int
	Modulation     string
	RemoteCSID     string
	Error          string
	State          int
	Boards         int
	Channels       int
	Model          string
	Serial         string
	Page           int
	Resolution     int
	Compression    int
	Width          int
	DurationMS     int
	Version        int
	HangupCause    int
}

type field struct {
	tag int
	i   *int
	s   *string
	b   *bool
}

// fields lists m's fields in tag order; the pointers let one table serve
// both directions.
func (m *Msg) fields(buf *[maxTag]field) []field {
	f := buf[:0]
	f = append(f,
		field{tag: tagBoard, i: &m.Board}, field{tag: tagChannel, i: &m.Channel},
		field{tag: tagNumber, s: &m.Number}, field{tag: tagCalling, s: &m.Calling},
		field{tag: tagCalled, s: &m.Called}, field{tag: tagPath, s: &m.Path},
		field{tag: tagCSID, s: &m.CSID}, field{tag: tagHeader, s: &m.Header},
		field{tag: tagRate, i: &m.Rate}, field{tag: tagECM, b: &m.ECM},
		field{tag: tagTimeoutMS, i: &m.TimeoutMS}, field{tag: tagStatus, i: &m.Status},
		field{tag: tagCause, s: &m.Cause}, field{tag: tagPages, i: &m.Pages},
		field{tag: tagModulation, s: &m.Modulation}, field{tag: tagRemoteCSID, s: &m.RemoteCSID},
		field{tag: tagError, s: &m.Error}, field{tag: tagState, i: &m.State},
		field{tag: tagBoards, i: &m.Boards}, field{tag: tagChannels, i: &m.Channels},
		field{tag: tagModel, s: &m.Model}, field{tag: tagSerial, s: &m.Serial},
		field{tag: tagPage, i: &m.Page}, field{tag: tagResolution, i: &m.Resolution},
		field{tag: tagCompression, i: &m.Compression}, field{tag: tagWidth, i: &m.Width},
		field{tag: tagDurationMS, i: &m.DurationMS}, field{tag: tagVersion, i: &m.Version},
		field{tag: tagHangupCause, i: &m.HangupCause}, field{tag: tagCallerID, s: &m.CallerID},
	)
	return f
}

// MarshalSize is the size of the whole frame, length prefix included.
func (m *Msg) MarshalSize() int {
	var buf [maxTag]field
	n := 4 + headerLen
	for _, f := range m.fields(&buf) {
		switch {
		case f.i != nil && *f.i != 0, f.b != nil && *f.b:
			n += 3 + 4
		case f.s != nil && *f.s != "":
			n += 3 + len(*f.s)
		}
	}
	return n
}

// MarshalTo writes the frame into b.
func (m *Msg) MarshalTo(b []byte) (int, error) {
	n := m.MarshalSize()
	if len(b) < n {
		return 0, ErrShortBuffer
	}
	if n-4 > MaxFrame {
		return 0, fmt.Errorf("%w: frame of %d octets", ErrMalformed, n-4)
	}
	binary.BigEndian.PutUint32(b, uint32(n-4))
	b[4] = Version
	b[5] = byte(m.Type)
	binary.BigEndian.PutUint32(b[6:], m.ID)
	p := 10
	var buf [maxTag]field
	for _, f := range m.fields(&buf) {
		var v uint32
		switch {
		case f.i != nil && *f.i != 0:
			if *f.i < 0 || int64(*f.i) > 0xFFFFFFFF {
				return 0, fmt.Errorf("%w: field %d value %d out of range", ErrMalformed, f.tag, *f.i)
			}
			v = uint32(*f.i)
		case f.b != nil && *f.b:
			v = 1
		case f.s != nil && *f.s != "":
			s := *f.s
			if len(s) > MaxString {
				return 0, fmt.Errorf("%w: field %d longer than %d", ErrMalformed, f.tag, MaxString)
			}
			b[p] = byte(f.tag)
			binary.BigEndian.PutUint16(b[p+1:], uint16(len(s)))
			p += 3 + copy(b[p+3:], s)
			continue
		default:
			continue
		}
		b[p] = byte(f.tag)
		binary.BigEndian.PutUint16(b[p+1:], 4)
		binary.BigEndian.PutUint32(b[p+3:], v)
		p += 7
	}
	return p, nil
}

// Marshal returns the frame.
func (m *Msg) Marshal() ([]byte, error) {
	b := make([]byte, m.MarshalSize())
	n, err := m.MarshalTo(b)
	return b[:n], err
}

// Unmarshal decodes a frame body (without the length prefix). Unknown
// tags are skipped; a field given twice, an integer field not of 4
// octets, a string that is too long or not UTF-8, an unknown type or a
// body that ends inside a field are errors.
func (m *Msg) Unmarshal(body []byte) error {
	*m = Msg{}
	if len(body) < headerLen {
		return fmt.Errorf("%w: body of %d octets, need %d", ErrMalformed, len(body), headerLen)
	}
	if len(body) > MaxFrame {
		return fmt.Errorf("%w: body of %d octets", ErrMalformed, len(body))
	}
	if body[0] != Version {
		return fmt.Errorf("%w %d: %w", ErrVersion, body[0], ErrMalformed)
	}
	m.Type = Type(body[1])
	m.ID = binary.BigEndian.Uint32(body[2:])
	if !m.Type.Valid() {
		return fmt.Errorf("%w: unknown type 0x%02X", ErrMalformed, body[1])
	}
	if m.Type.IsEvent() != (m.ID == 0) {
		return fmt.Errorf("%w: %v with request ID %d", ErrMalformed, m.Type, m.ID)
	}
	var buf [maxTag]field
	fs := m.fields(&buf)
	var seen uint64
	p := body[headerLen:]
	for len(p) > 0 {
		if len(p) < 3 {
			return fmt.Errorf("%w: truncated field header", ErrMalformed)
		}
		tag, n := int(p[0]), int(binary.BigEndian.Uint16(p[1:]))
		if len(p) < 3+n {
			return fmt.Errorf("%w: field %d of %d octets overruns the frame", ErrMalformed, tag, n)
		}
		v := p[3 : 3+n]
		p = p[3+n:]
		if tag == 0 || tag > maxTag {
			continue // unknown: a later version's field
		}
		if seen&(1<<tag) != 0 {
			return fmt.Errorf("%w: field %d repeated", ErrMalformed, tag)
		}
		seen |= 1 << tag
		f := fs[tag-1]
		switch {
		case f.s != nil:
			if n > MaxString || !utf8.Valid(v) {
				return fmt.Errorf("%w: field %d is not a valid string", ErrMalformed, tag)
			}
			*f.s = string(v)
		default:
			if n != 4 {
				return fmt.Errorf("%w: integer field %d of %d octets", ErrMalformed, tag, n)
			}
			x := binary.BigEndian.Uint32(v)
			if f.b != nil {
				if x > 1 {
					return fmt.Errorf("%w: flag field %d = %d", ErrMalformed, tag, x)
				}
				*f.b = x == 1
				continue
			}
			if x > 1<<31-1 {
				return fmt.Errorf("%w: integer field %d = %d out of range", ErrMalformed, tag, x)
			}
			*f.i = int(x)
		}
	}
	return nil
}

// ReadFrame reads one frame's body from r into buf (grown as needed) and
// returns it. A length outside 6..MaxFrame is an error: the stream cannot
// be resynchronised after it.
func ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < headerLen || n > MaxFrame {
		return nil, fmt.Errorf("%w: frame length %d", ErrMalformed, n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// WriteMsg writes m as one frame.
func WriteMsg(w io.Writer, m *Msg) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
