package t30

import (
	"errors"
	"fmt"
)

// HDLC framing constants of T.30 section 5.3.
const (
	// AddressByte is the HDLC address field of every T.30 frame.
	AddressByte = 0xFF
	// ControlNotFinal is the control field of a frame that is not the
	// last of its sequence.
	ControlNotFinal = 0x03
	// ControlFinal is the control field of the last frame of a sequence
	// (the P/F bit set).
	ControlFinal = 0x13
)

// FCF is a facsimile control field. The values below have the X bit (the
// first bit sent, the least significant bit here) clear; Frame.FCF keeps it
// as received and Frame.Kind masks it where the table says it is an X bit.
type FCF byte

// Facsimile control fields of T.30 Table 5-1 (bit 1 = least significant bit).
const (
	// Initial identification (from the called terminal).
	FCFDIS FCF = 0x80
	FCFCSI FCF = 0x40
	FCFNSF FCF = 0x20
	// Command to send (from a polling terminal).
	FCFDTC FCF = 0x81
	FCFCIG FCF = 0x41
	FCFNSC FCF = 0x21
	FCFPWD FCF = 0xC1 // password (polling)
	FCFSEP FCF = 0xA1
	// Command to receive.
	FCFDCS FCF = 0x82
	FCFTSI FCF = 0x42
	FCFNSS FCF = 0x22
	FCFSUB FCF = 0xC2
	FCFSID FCF = 0xA2
	FCFCTC FCF = 0x12
	// Pre-message responses.
	FCFCFR FCF = 0x84
	FCFFTT FCF = 0x44
	FCFCTR FCF = 0xC4
	// Post-message commands.
	FCFEOM    FCF = 0x8E
	FCFMPS    FCF = 0x4E
	FCFEOP    FCF = 0x2E
	FCFPRIEOM FCF = 0x9E
	FCFPRIMPS FCF = 0x5E
	FCFPRIEOP FCF = 0x3E
	FCFPPS    FCF = 0xBE
	FCFEOR    FCF = 0xCE
	FCFRR     FCF = 0x6E
	// Post-message responses.
	FCFMCF FCF = 0x8C
	FCFRTP FCF = 0xCC
	FCFRTN FCF = 0x4C
	FCFPIP FCF = 0xAC
	FCFPIN FCF = 0x2C
	FCFPPR FCF = 0xBC
	FCFRNR FCF = 0xEC
	FCFERR FCF = 0x1C
	// Other line control.
	FCFDCN FCF = 0xFA
	FCFCRP FCF = 0x1A
	FCFFNV FCF = 0xCA
	// ECM phase C frames (T.4 Annex A), sent on the high-speed carrier.
	FCFFCD FCF = 0x06
	FCFRCP FCF = 0x86
)

// Bare returns the FCF with the X bit cleared, for the FCFs that carry one
// (T.30 5.3.6: the X bit is 1 in frames from the terminal that received a
// valid DIS). Initial identification frames (DIS, CSI, NSF, DTC, CIG, NSC,
// PWD, SEP) and the ECM data frames have no X bit and are returned as is.
func (f FCF) Bare() FCF {
	switch f {
	case FCFDIS, FCFCSI, FCFNSF, FCFDTC, FCFCIG, FCFNSC, FCFPWD, FCFSEP, FCFFCD, FCFRCP:
		return f
	}
	return f &^ 1
}

var fcfNames = [...]struct {
	f    FCF
	name string
}{
	{FCFDIS, "DIS"}, {FCFCSI, "CSI"}, {FCFNSF, "NSF"}, {FCFDTC, "DTC"}, {FCFCIG, "CIG"},
	{FCFNSC, "NSC"}, {FCFPWD, "PWD"}, {FCFSEP, "SEP"}, {FCFDCS, "DCS"}, {FCFTSI, "TSI"},
	{FCFNSS, "NSS"}, {FCFSUB, "SUB"}, {FCFSID, "SID"}, {FCFCTC, "CTC"}, {FCFCFR, "CFR"},
	{FCFFTT, "FTT"}, {FCFCTR, "CTR"}, {FCFEOM, "EOM"}, {FCFMPS, "MPS"}, {FCFEOP, "EOP"},
	{FCFPRIEOM, "PRI-EOM"}, {FCFPRIMPS, "PRI-MPS"}, {FCFPRIEOP, "PRI-EOP"}, {FCFPPS, "PPS"},
	{FCFEOR, "EOR"}, {FCFRR, "RR"}, {FCFMCF, "MCF"}, {FCFRTP, "RTP"}, {FCFRTN, "RTN"},
	{FCFPIP, "PIP"}, {FCFPIN, "PIN"}, {FCFPPR, "PPR"}, {FCFRNR, "RNR"}, {FCFERR, "ERR"},
	{FCFDCN, "DCN"}, {FCFCRP, "CRP"}, {FCFFNV, "FNV"}, {FCFFCD, "FCD"}, {FCFRCP, "RCP"},
}

func (f FCF) String() string {
	b := f.Bare()
	for _, n := range fcfNames {
		if n.f == b {
			return n.name
		}
	}
	return fmt.Sprintf("FCF(0x%02X)", byte(f))
}

// Frame is one T.30 HDLC frame without flags and FCS: address 0xFF, control
// 0x03 or 0x13, the FCF and the facsimile information field (FIF).
type Frame struct {
	Final bool   // control field 0x13: last frame of a sequence
	FCF   FCF    // as sent or received, X bit included
	Info  []byte // FIF; aliases the buffer Unmarshal was given
}

// Kind is the frame's FCF with the X bit removed.
func (f *Frame) Kind() FCF { return f.FCF.Bare() }

// Errors of frame parsing.
var (
	ErrShortFrame     = errors.New("t30: frame shorter than address, control and FCF")
	ErrBadAddress     = errors.New("t30: frame address is not 0xFF")
	ErrBadControl     = errors.New("t30: frame control field is not 0x03 or 0x13")
	ErrBadFCS         = errors.New("t30: frame check sequence mismatch")
	ErrBufferTooSmall = errors.New("t30: buffer too small")
)

// MaxFrameLen bounds the frames the engine accepts: an ECM frame of 256
// octets plus address, control, FCF and frame number, with room to spare.
const MaxFrameLen = 300

// MarshalSize is the encoded length of the frame (without FCS).
func (f *Frame) MarshalSize() int { return 3 + len(f.Info) }

// MarshalTo writes the frame into buf and returns the number of bytes written.
func (f *Frame) MarshalTo(buf []byte) (int, error) {
	n := f.MarshalSize()
	if len(buf) < n {
		return 0, ErrBufferTooSmall
	}
	buf[0] = AddressByte
	buf[1] = ControlNotFinal
	if f.Final {
		buf[1] = ControlFinal
	}
	buf[2] = byte(f.FCF)
	copy(buf[3:], f.Info)
	return n, nil
}

// Marshal returns the encoded frame (without FCS).
func (f *Frame) Marshal() []byte {
	b := make([]byte, f.MarshalSize())
	_, _ = f.MarshalTo(b)
	return b
}

// Unmarshal parses an encoded frame without FCS. Info aliases buf.
func (f *Frame) Unmarshal(buf []byte) error {
	if len(buf) < 3 {
		return ErrShortFrame
	}
	if len(buf) > MaxFrameLen {
		return fmt.Errorf("t30: frame of %d octets exceeds %d", len(buf), MaxFrameLen)
	}
	if buf[0] != AddressByte {
		return ErrBadAddress
	}
	switch buf[1] {
	case ControlNotFinal:
		f.Final = false
	case ControlFinal:
		f.Final = true
	default:
		return ErrBadControl
	}
	f.FCF = FCF(buf[2])
	f.Info = buf[3:]
	return nil
}

func (f Frame) String() string {
	return fmt.Sprintf("%v(%d)", f.FCF, len(f.Info))
}

// crcTable is the byte-wise table of the reflected CRC-16-CCITT polynomial
// x^16 + x^12 + x^5 + 1 (0x8408) that HDLC uses for its FCS. It is computed
// once and never written again.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x8408
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 updates an HDLC CRC-16 (ITU-T V.42 / ISO 3309) with p. Start with
// 0xFFFF; the FCS is the complement of the result, sent low octet first.
func CRC16(crc uint16, p []byte) uint16 {
	for _, b := range p {
		crc = crc>>8 ^ crcTable[byte(crc)^b]
	}
	return crc
}

// AppendFCS appends the two FCS octets of frame to frame.
func AppendFCS(frame []byte) []byte {
	c := ^CRC16(0xFFFF, frame)
	return append(frame, byte(c), byte(c>>8))
}

// CheckFCS verifies the trailing two FCS octets of data and returns the
// frame without them.
func CheckFCS(data []byte) ([]byte, error) {
	if len(data) < 2 {
		return nil, ErrShortFrame
	}
	if CRC16(0xFFFF, data) != 0xF0B8 {
		return data[:len(data)-2], ErrBadFCS
	}
	return data[:len(data)-2], nil
}
