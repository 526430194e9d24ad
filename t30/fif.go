package t30

import (
	"errors"
	"fmt"
	"strings"
)

// Modem is a modulation T.30 can use.
type Modem int

// Modulations. V21 is the control channel (300 bit/s); the others carry
// phase C.
const (
	ModemNone Modem = iota
	V21
	V27ter
	V29
	V17
	V34
)

func (m Modem) String() string {
	switch m {
	case ModemNone:
		return "none"
	case V21:
		return "V.21"
	case V27ter:
		return "V.27ter"
	case V29:
		return "V.29"
	case V17:
		return "V.17"
	case V34:
		return "V.34"
	}
	return fmt.Sprintf("Modem(%d)", int(m))
}

// Speed is a modulation at a data signalling rate.
type Speed struct {
	Modem Modem
	Rate  int // bit/s
}

func (sp Speed) String() string { return fmt.Sprintf("%v %d", sp.Modem, sp.Rate) }

// ModemSet is a set of phase C modulations a terminal supports (DIS bits
// 11-14). V.27ter at 2400 bit/s (the fall-back mode) is always included.
type ModemSet uint8

// Members of a ModemSet.
const (
	SetV27ter ModemSet = 1 << iota // V.27ter 4800 and 2400
	SetV29                         // V.29 9600 and 7200
	SetV17                         // V.17 14400 to 7200
)

// Has reports whether m (one modulation) is in the set.
func (s ModemSet) Has(m Modem) bool {
	switch m {
	case V27ter:
		return true
	case V29:
		return s&SetV29 != 0
	case V17:
		return s&SetV17 != 0
	}
	return false
}

// Allows reports whether a speed is usable with this set. V.27ter 4800
// needs SetV27ter; V.27ter 2400 is always allowed.
func (s ModemSet) Allows(sp Speed) bool {
	if sp.Modem == V27ter && sp.Rate == 4800 {
		return s&SetV27ter != 0
	}
	return s.Has(sp.Modem)
}

// speedTable lists the DCS rate codes of T.30 Table 2 (bits 11, 12, 13, 14
// from the most significant bit of the nibble here: value = b11 | b12<<1 |
// b13<<2 | b14<<3) in fallback order.
var speedTable = [...]struct {
	sp   Speed
	code byte
}{
	{Speed{V17, 14400}, 0x8},
	{Speed{V17, 12000}, 0xA},
	{Speed{V17, 9600}, 0x9},
	{Speed{V17, 7200}, 0xB},
	{Speed{V29, 9600}, 0x1},
	{Speed{V29, 7200}, 0x3},
	{Speed{V27ter, 4800}, 0x2},
	{Speed{V27ter, 2400}, 0x0},
}

// Speeds returns the speeds of a set, fastest first.
func (s ModemSet) Speeds() []Speed {
	var out []Speed
	for _, e := range speedTable {
		if s.Allows(e.sp) {
			out = append(out, e.sp)
		}
	}
	return out
}

// Valid reports whether sp is one of the T.30 phase C speeds.
func (sp Speed) Valid() bool {
	for _, e := range speedTable {
		if e.sp == sp {
			return true
		}
	}
	return false
}

// Fallback returns the next lower speed after sp that set allows: the
// next rate of the same modulation (V.17 14400, 12000, 9600, 7200; V.29
// 9600, 7200; V.27ter 4800, 2400), and after a modulation's lowest rate
// V.27ter 4800 then 2400. ok is false at V.27ter 2400.
func (sp Speed) Fallback(set ModemSet) (Speed, bool) {
	i := -1
	for j, e := range speedTable {
		if e.sp == sp {
			i = j
		}
	}
	if i < 0 {
		return Speed{}, false
	}
	for _, e := range speedTable[i+1:] {
		if e.sp.Modem == sp.Modem && set.Allows(e.sp) {
			return e.sp, true
		}
	}
	for _, e := range speedTable[i+1:] {
		if e.sp.Modem == V27ter && set.Allows(e.sp) && e.sp.Rate < sp.Rate {
			return e.sp, true
		}
	}
	return Speed{}, false
}

// PaperWidth is a scan line length class of T.30 (bits 17-18).
type PaperWidth int

// Scan line lengths.
const (
	WidthA4 PaperWidth = iota // 215 mm: 1728 pixels at R8
	WidthB4                   // 255 mm: 2048 pixels
	WidthA3                   // 303 mm: 2432 pixels
)

// Pixels is the width in pixels at R8 (204 dpi), doubled when ultra is set (R16).
func (w PaperWidth) Pixels(ultra bool) int {
	px := [...]int{1728, 2048, 2432}[min(max(int(w), 0), 2)]
	if ultra {
		px *= 2
	}
	return px
}

// PaperLength is a recording length class of T.30 (bits 19-20).
type PaperLength int

// Recording lengths.
const (
	LengthA4 PaperLength = iota
	LengthB4
	LengthUnlimited
)

// Caps is the facsimile information field of DIS, DTC or DCS: the
// capabilities a terminal offers (DIS/DTC) or the choice the transmitter
// made (DCS). Bit numbers are those of T.30 Table 2, bit 1 being the least
// significant bit of the first FIF octet.
type Caps struct {
	T37        bool // bit 1: store-and-forward Internet fax
	T38        bool // bit 3: real-time Internet fax (T.38)
	V8         bool // bit 6: V.8 capabilities (the way V.34 is offered)
	Prefer64   bool // bit 7 (DIS/DTC): 64-octet ECM frames preferred
	Poll       bool // bit 9 (DIS/DTC): ready to transmit a document (polling)
	ReceiveFax bool // bit 10: receiver fax operation

	Modems ModemSet // bits 11-14 in DIS/DTC: modulations offered
	Speed  Speed    // bits 11-14 in DCS: the modulation and rate chosen

	Fine       bool        // bit 15: R8 x 7.7 lines/mm
	MR         bool        // bit 16: two-dimensional coding (T.4 MR)
	Width      PaperWidth  // bits 17-18: widest (DIS) or chosen (DCS) width
	Length     PaperLength // bits 19-20
	MinScanMS  int         // bits 21-23: minimum scan line time in ms at 3.85 lines/mm (0, 5, 10, 20, 40)
	HalfAtFine bool        // bits 21-23 in DIS: T7.7 = T3.85 / 2

	Uncompressed bool // bit 26
	ECM          bool // bit 27: error correction mode
	Frame64      bool // bit 28 (DCS): 64-octet ECM frames (else 256)
	MMR          bool // bit 31: T.6 coding

	FNV              bool // bit 33: field not valid capability
	SelectivePolling bool // bit 47
	Superfine        bool // bit 41: R8 x 15.4 lines/mm
	R300             bool // bit 42: 300 x 300 pels/25.4 mm
	Ultrafine        bool // bit 43: R16 x 15.4 lines/mm
	InchPreferred    bool // bit 44
	MetricPreferred  bool // bit 45
	HalfAtHigherRes  bool // bit 46 (DIS): T15.4 = T7.7 / 2 (clear: T15.4 = T7.7)
	Subaddress       bool // bit 49
	Password         bool // bit 50
	Letter           bool // bit 76: North American Letter
	Legal            bool // bit 77: North American Legal
}

// ErrBadFIF is wrapped by every DIS/DTC/DCS parsing error.
var ErrBadFIF = errors.New("t30: invalid DIS/DTC/DCS information field")

type fifBits []byte

func (b fifBits) bit(n int) bool {
	i := (n - 1) / 8
	return i < len(b) && b[i]&(1<<uint((n-1)%8)) != 0
}

func setBit(b []byte, n int, v bool) {
	if v {
		b[(n-1)/8] |= 1 << uint((n-1)%8)
	}
}

// maxFIF is the number of FIF octets Caps encodes and parses (bits 1-80).
const maxFIF = 10

// ParseCaps parses the FIF of a DIS or DTC (dcs false) or a DCS (dcs true).
// Octets after the first one whose extend bit (24, 32, 40, ...) is clear
// are ignored, as T.30 requires; unknown bits are ignored.
func ParseCaps(fif []byte, dcs bool) (Caps, error) {
	var c Caps
	if len(fif) < 2 {
		return c, fmt.Errorf("%w: %d octets, need at least 2", ErrBadFIF, len(fif))
	}
	n := min(len(fif), 3)
	for n < len(fif) && n < maxFIF && fif[n-1]&0x80 != 0 {
		n++
	}
	b := fifBits(fif[:n])
	c.T37 = b.bit(1)
	c.T38 = b.bit(3)
	c.V8 = b.bit(6)
	c.Prefer64 = !dcs && b.bit(7)
	c.Poll = b.bit(9)
	c.ReceiveFax = b.bit(10)
	code := byte(0)
	for i, bit := range []int{11, 12, 13, 14} {
		if b.bit(bit) {
			code |= 1 << uint(i)
		}
	}
	if dcs {
		found := false
		for _, e := range speedTable {
			if e.code == code {
				c.Speed, found = e.sp, true
				break
			}
		}
		if !found {
			return c, fmt.Errorf("%w: reserved DCS rate code %04b", ErrBadFIF, code)
		}
	} else {
		switch code {
		case 0x0:
			c.Modems = 0
		case 0x2:
			c.Modems = SetV27ter
		case 0x1:
			c.Modems = SetV29
		case 0x3:
			c.Modems = SetV27ter | SetV29
		case 0xB:
			c.Modems = SetV27ter | SetV29 | SetV17
		default:
			// Reserved codes. Terminals that set the V.17 bit (bit 14)
			// support the whole 1101 set; otherwise keep what bits 11
			// and 12 say.
			switch {
			case code&0x8 != 0:
				c.Modems = SetV27ter | SetV29 | SetV17
			default:
				if code&0x1 != 0 {
					c.Modems |= SetV29
				}
				if code&0x2 != 0 {
					c.Modems |= SetV27ter
				}
			}
		}
	}
	c.Fine = b.bit(15)
	c.MR = b.bit(16)
	// Bits 17-18 (b17 first): DIS 00 = 215 mm, 10 = 215 and 255 mm,
	// 01 = 215, 255 and 303 mm; DCS 00 = 215, 10 = 255, 01 = 303 mm.
	// 11 is invalid; T.30 says to read it as 01 in DIS.
	switch b2(b, 17, 18) {
	case 0:
		c.Width = WidthA4
	case 1:
		c.Width = WidthB4
	case 2:
		c.Width = WidthA3
	default:
		if dcs {
			return c, fmt.Errorf("%w: invalid DCS recording width code 11", ErrBadFIF)
		}
		c.Width = WidthA3
	}
	switch l := b2(b, 19, 20); l {
	case 0:
		c.Length = LengthA4
	case 1:
		c.Length = LengthB4
	case 2:
		c.Length = LengthUnlimited
	default:
		if dcs {
			return c, fmt.Errorf("%w: invalid recording length code 11", ErrBadFIF)
		}
		c.Length = LengthB4
	}
	scan := 0
	for i, bit := range []int{21, 22, 23} {
		if b.bit(bit) {
			scan |= 4 >> uint(i) // bit 21 is the first of the triple
		}
	}
	// scan now holds (b21 b22 b23) with b21 as the most significant bit.
	switch scan {
	case 0b000:
		c.MinScanMS = 20
	case 0b001:
		c.MinScanMS = 40
	case 0b010:
		c.MinScanMS = 10
	case 0b100:
		c.MinScanMS = 5
	case 0b111:
		c.MinScanMS = 0
	case 0b011:
		c.MinScanMS, c.HalfAtFine = 10, true
	case 0b110:
		c.MinScanMS, c.HalfAtFine = 20, true
	case 0b101:
		c.MinScanMS, c.HalfAtFine = 40, true
	}
	if dcs {
		c.HalfAtFine = false // the half codes are DIS-only; keep the base time
	}
	c.Uncompressed = b.bit(26)
	c.ECM = b.bit(27)
	c.Frame64 = dcs && b.bit(28)
	c.MMR = b.bit(31)
	c.FNV = b.bit(33)
	c.Superfine = b.bit(41)
	c.R300 = b.bit(42)
	c.Ultrafine = b.bit(43)
	c.InchPreferred = b.bit(44)
	c.MetricPreferred = b.bit(45)
	c.HalfAtHigherRes = !dcs && b.bit(46)
	c.SelectivePolling = b.bit(47)
	c.Subaddress = b.bit(49)
	c.Password = b.bit(50)
	c.Letter = b.bit(76)
	c.Legal = b.bit(77)
	return c, nil
}

func b2(b fifBits, x, y int) int {
	v := 0
	if b.bit(x) {
		v |= 1
	}
	if b.bit(y) {
		v |= 2
	}
	return v
}

// AppendFIF appends the encoded FIF of c (a DIS/DTC when dcs is false, a
// DCS when true) to dst. It writes at least three octets and sets the
// extend bits of every octet that has a successor.
func (c *Caps) AppendFIF(dst []byte, dcs bool) ([]byte, error) {
	var b [maxFIF]byte
	setBit(b[:], 1, c.T37)
	setBit(b[:], 3, c.T38)
	setBit(b[:], 6, c.V8)
	setBit(b[:], 7, !dcs && c.Prefer64)
	setBit(b[:], 9, c.Poll)
	setBit(b[:], 10, c.ReceiveFax)
	var code byte
	if dcs {
		found := false
		for _, e := range speedTable {
			if e.sp == c.Speed {
				code, found = e.code, true
			}
		}
		if !found {
			return dst, fmt.Errorf("%w: no DCS code for %v", ErrBadFIF, c.Speed)
		}
	} else {
		switch {
		case c.Modems&SetV17 != 0:
			code = 0xB
		case c.Modems&(SetV29|SetV27ter) == SetV29|SetV27ter:
			code = 0x3
		case c.Modems&SetV29 != 0:
			code = 0x1
		case c.Modems&SetV27ter != 0:
			code = 0x2
		}
	}
	for i, bit := range []int{11, 12, 13, 14} {
		setBit(b[:], bit, code&(1<<uint(i)) != 0)
	}
	setBit(b[:], 15, c.Fine)
	setBit(b[:], 16, c.MR)
	switch c.Width {
	case WidthB4:
		setBit(b[:], 17, true)
	case WidthA3:
		setBit(b[:], 18, true)
	}
	switch c.Length {
	case LengthB4:
		setBit(b[:], 19, true)
	case LengthUnlimited:
		setBit(b[:], 20, true)
	}
	var scan int // b21 b22 b23, b21 most significant
	switch {
	case c.MinScanMS == 0:
		scan = 0b111
	case c.MinScanMS <= 5:
		scan = 0b100
	case c.MinScanMS <= 10:
		scan = 0b010
	case c.MinScanMS <= 20:
		scan = 0b000
	default:
		scan = 0b001
	}
	if c.HalfAtFine && !dcs {
		switch scan {
		case 0b010:
			scan = 0b011
		case 0b000:
			scan = 0b110
		case 0b001:
			scan = 0b101
		}
	}
	setBit(b[:], 21, scan&4 != 0)
	setBit(b[:], 22, scan&2 != 0)
	setBit(b[:], 23, scan&1 != 0)
	setBit(b[:], 26, c.Uncompressed)
	setBit(b[:], 27, c.ECM)
	setBit(b[:], 28, dcs && c.Frame64)
	setBit(b[:], 31, c.MMR)
	setBit(b[:], 33, c.FNV)
	setBit(b[:], 41, c.Superfine)
	setBit(b[:], 42, c.R300)
	setBit(b[:], 43, c.Ultrafine)
	setBit(b[:], 44, c.InchPreferred)
	setBit(b[:], 45, c.MetricPreferred)
	setBit(b[:], 46, !dcs && c.HalfAtHigherRes)
	setBit(b[:], 47, c.SelectivePolling)
	setBit(b[:], 49, c.Subaddress)
	setBit(b[:], 50, c.Password)
	setBit(b[:], 76, c.Letter)
	setBit(b[:], 77, c.Legal)
	n := 3
	for i := maxFIF - 1; i >= 3; i-- {
		if b[i] != 0 {
			n = i + 1
			break
		}
	}
	for i := 0; i < n-1; i++ {
		if i >= 2 {
			b[i] |= 0x80 // extend bits 24, 32, ...
		}
	}
	return append(dst, b[:n]...), nil
}

func (c Caps) String() string {
	var sb strings.Builder
	if c.Speed.Modem != ModemNone {
		fmt.Fprintf(&sb, "%v", c.Speed)
	} else {
		fmt.Fprintf(&sb, "modems=%v", c.Modems.Speeds())
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{c.Fine, "fine"}, {c.Superfine, "superfine"}, {c.Ultrafine, "ultrafine"}, {c.MR, "MR"},
		{c.MMR, "MMR"}, {c.ECM, "ECM"}, {c.Frame64, "64"}, {c.T38, "T.38"}, {c.V8, "V.8"}, {c.Poll, "poll"}} {
		if f.on {
			sb.WriteString(" " + f.name)
		}
	}
	fmt.Fprintf(&sb, " width=%d scan=%dms", c.Width.Pixels(false), c.MinScanMS)
	return sb.String()
}

// EncodeIdent encodes a CSI/TSI/CIG identity: 20 characters, padded with
// spaces, sent last character first (T.30 5.3.6.2.4). Characters other
// than printable ASCII become '?'; identities longer than 20 are cut.
func EncodeIdent(dst []byte, id string) []byte {
	if len(id) > 20 {
		id = id[:20]
	}
	for i := len(id) - 1; i >= 0; i-- {
		ch := id[i]
		if ch < 0x20 || ch > 0x7E {
			ch = '?'
		}
		dst = append(dst, ch)
	}
	for i := len(id); i < 20; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

// DecodeIdent decodes a CSI/TSI/CIG FIF: reversed, trimmed of spaces,
// non-printable characters replaced by '?'. A FIF longer than 20 octets
// keeps its first 20.
func DecodeIdent(fif []byte) string {
	if len(fif) > 20 {
		fif = fif[:20]
	}
	b := make([]byte, len(fif))
	for i, ch := range fif {
		if ch < 0x20 || ch > 0x7E {
			ch = '?'
		}
		b[len(fif)-1-i] = ch
	}
	return strings.TrimSpace(string(b))
}
