package hdlc

// The frame check sequence of ITU-T T.30 5.3.7 and ISO/IEC 13239: CRC-16
// with generator x^16 + x^12 + x^5 + 1, register preset to all ones, bits
// taken least significant first (so the table is the reflected 0x8408),
// the ones' complement sent least significant octet first.

// crcGood is the register after a whole frame and its FCS went through.
const crcGood = 0xF0B8

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

// CRC updates crc (start with 0xFFFF) with p.
func CRC(crc uint16, p []byte) uint16 {
	for _, b := range p {
		crc = crc>>8 ^ crcTable[byte(crc)^b]
	}
	return crc
}

// FCS returns the two FCS octets of frame, in line order.
func FCS(frame []byte) [2]byte {
	c := ^CRC(0xFFFF, frame)
	return [2]byte{byte(c), byte(c >> 8)}
}
