package hdlc

import "github.com/faxagent/faxagent/t30"

// The frame check sequence of ITU-T T.30 5.3.7 and ISO/IEC 13239: CRC-16
// with generator x^16 + x^12 + x^5 + 1, register preset to all ones, bits
// taken least significant first, the ones' complement sent least
// significant octet first. The table lives in t30 (t30.CRC16), which
// checks the same FCS on frames from every line.

// crcGood is the register after a whole frame and its FCS went through.
const crcGood = 0xF0B8

// CRC updates crc (start with 0xFFFF) with p.
func CRC(crc uint16, p []byte) uint16 { return t30.CRC16(crc, p) }

// FCS returns the two FCS octets of frame, in line order.
func FCS(frame []byte) [2]byte {
	c := ^CRC(0xFFFF, frame)
	return [2]byte{byte(c), byte(c >> 8)}
}
