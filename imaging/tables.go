package imaging

// Code tables of ITU-T T.4 (07/2003) §4.1 and §4.2, written as the bit
// strings the Recommendation prints, and the lookup tables built from them.
// The lookup tables are package-level values computed once by pure
// functions and never written afterwards.

// whiteTermCodes are the white terminating codes for runs 0..63 (T.4 Table 2).
var whiteTermCodes = [64]string{
	"00110101", "000111", "0111", "1000", "1011", "1100", "1110", "1111",
	"10011", "10100", "00111", "01000", "001000", "000011", "110100", "110101",
	"101010", "101011", "0100111", "0001100", "0001000", "0010111", "0000011", "0000100",
	"0101000", "0101011", "0010011", "0100100", "0011000", "00000010", "00000011", "00011010",
	"00011011", "00010010", "00010011", "00010100", "00010101", "00010110", "00010111", "00101000",
	"00101001", "00101010", "00101011", "00101100", "00101101", "00000100", "00000101", "00001010",
	"00001011", "01010010", "01010011", "01010100", "01010101", "00100100", "00100101", "01011000",
	"01011001", "01011010", "01011011", "01001010", "01001011", "00110010", "00110011", "00110100",
}

// blackTermCodes are the black terminating codes for runs 0..63 (T.4 Table 2).
var blackTermCodes = [64]string{
	"0000110111", "010", "11", "10", "011", "0011", "0010", "00011",
	"000101", "000100", "0000100", "0000101", "0000111", "00000100", "00000111", "000011000",
	"0000010111", "0000011000", "0000001000", "00001100111", "00001101000", "00001101100", "00000110111", "00000101000",
	"00000010111", "00000011000", "000011001010", "000011001011", "000011001100", "000011001101", "000001101000", "000001101001",
	"000001101010", "000001101011", "000011010010", "000011010011", "000011010100", "000011010101", "000011010110", "000011010111",
	"000001101100", "000001101101", "000011011010", "000011011011", "000001010100", "000001010101", "000001010110", "000001010111",
	"000001100100", "000001100101", "000001010010", "000001010011", "000000100100", "000000110111", "000000111000", "000000100111",
	"000000101000", "000001011000", "000001011001", "000000101011", "000000101100", "000001011010", "000001100110", "000001100111",
}

// whiteMakeupCodes are the white make-up codes for 64, 128, ... 1728 (T.4 Table 3).
var whiteMakeupCodes = [27]string{
	"11011", "10010", "010111", "0110111", "00110110", "00110111", "01100100", "01100101",
	"01101000", "01100111", "011001100", "011001101", "011010010", "011010011", "011010100", "011010101",
	"011010110", "011010111", "011011000", "011011001", "011011010", "011011011", "010011000", "010011001",
	"010011010", "011000", "010011011",
}

// blackMakeupCodes are the black make-up codes for 64, 128, ... 1728 (T.4 Table 3).
var blackMakeupCodes = [27]string{
	"0000001111", "000011001000", "000011001001", "000001011011", "000000110011", "000000110100", "000000110101", "0000001101100",
	"0000001101101", "0000001001010", "0000001001011", "0000001001100", "0000001001101", "0000001110010", "0000001110011", "0000001110100",
	"0000001110101", "0000001110110", "0000001110111", "0000001010010", "0000001010011", "0000001010100", "0000001010101", "0000001011010",
	"0000001011011", "0000001100100", "0000001100101",
}

// extMakeupCodes are the make-up codes shared by both colours for 1792,
// 1856, ... 2560 (T.4 Table 4).
var extMakeupCodes = [13]string{
	"00000001000", "00000001100", "00000001101", "000000010010", "000000010011", "000000010100", "000000010101",
	"000000010110", "000000010111", "000000011100", "000000011101", "000000011110", "000000011111",
}

// Two-dimensional mode codes (T.4 Table 5 / T.6 Table 1).
const (
	modeInvalid = iota
	modePass
	modeHoriz
	modeV0
	modeVR1
	modeVR2
	modeVR3
	modeVL1
	modeVL2
	modeVL3
)

var modeCodes = [...]struct {
	mode int
	code string
}{
	{modePass, "0001"}, {modeHoriz, "001"}, {modeV0, "1"},
	{modeVR1, "011"}, {modeVR2, "000011"}, {modeVR3, "0000011"},
	{modeVL1, "010"}, {modeVL2, "000010"}, {modeVL3, "0000010"},
}

// modeDelta is a1 - b1 for each vertical mode.
var modeDelta = [...]int32{modeV0: 0, modeVR1: 1, modeVR2: 2, modeVR3: 3, modeVL1: -1, modeVL2: -2, modeVL3: -3}

const (
	eolCode = 1 // 000000000001
	eolLen  = 12
	maxRun  = 2560 // longest run one make-up code can carry

	runLookupBits  = 13 // longest code (black; white codes are at most 12)
	modeLookupBits = 7  // longest mode code
)

// code is one variable-length code, right-aligned in bits.
type code struct {
	bits uint32
	len  uint8
}

func parseCode(s string) code {
	var c code
	for i := 0; i < len(s); i++ {
		c.bits = c.bits<<1 | uint32(s[i]-'0')
	}
	c.len = uint8(len(s))
	return c
}

// runCodes returns every (run length, code) of one colour.
func runCodes(term *[64]string, makeup *[27]string) map[int]code {
	m := make(map[int]code, 64+27+13)
	for i, s := range term {
		m[i] = parseCode(s)
	}
	for i, s := range makeup {
		m[(i+1)*64] = parseCode(s)
	}
	for i, s := range extMakeupCodes {
		m[1792+i*64] = parseCode(s)
	}
	return m
}

// runDecodeTable builds a table indexed directly by the next nbits bits of
// the stream. Each entry is run<<4 | code length; length 0 marks a bit
// pattern that starts no code (an EOL, fill, or an error).
func runDecodeTable(codes map[int]code, nbits uint) []uint16 {
	t := make([]uint16, 1<<nbits)
	for run, c := range codes {
		shift := nbits - uint(c.len)
		base := c.bits << shift
		for i := uint32(0); i < 1<<shift; i++ {
			t[base|i] = uint16(run)<<4 | uint16(c.len)
		}
	}
	return t
}

// modeDecode entries: the code length in the low 6 bits; for vertical
// modes a1 - b1 in the high byte (signed); for the others the flag
// modeOther and a kind in the high byte.
const (
	modeOther = 0x40

	kindPass    = 1
	kindHoriz   = 2
	kindInvalid = 3 // length 0
)

// modeDecodeTable is indexed by the next 7 bits of the stream.
func modeDecodeTable() []int16 {
	t := make([]int16, 1<<modeLookupBits)
	for i := range t {
		t[i] = kindInvalid<<8 | modeOther
	}
	for _, mc := range modeCodes {
		c := parseCode(mc.code)
		var e int16
		switch mc.mode {
		case modePass:
			e = kindPass<<8 | modeOther
		case modeHoriz:
			e = kindHoriz<<8 | modeOther
		default:
			e = int16(modeDelta[mc.mode]) << 8
		}
		e |= int16(c.len)
		shift := modeLookupBits - uint(c.len)
		base := c.bits << shift
		for i := uint32(0); i < 1<<shift; i++ {
			t[base|i] = e
		}
	}
	return t
}

// runEncodeTable gives, for every run 0..maxRun, the make-up code (if
// any) and the terminating code joined into one code: bits<<5 | length.
func runEncodeTable(codes map[int]code) []uint32 {
	t := make([]uint32, maxRun+1)
	for run := 0; run <= maxRun; run++ {
		term := codes[run&63]
		bits, n := term.bits, uint32(term.len)
		if run >= 64 {
			mk := codes[run&^63]
			bits |= mk.bits << n
			n += uint32(mk.len)
		}
		t[run] = bits<<5 | n
	}
	return t
}

var (
	whiteCodes = runCodes(&whiteTermCodes, &whiteMakeupCodes)
	blackCodes = runCodes(&blackTermCodes, &blackMakeupCodes)

	// Arrays, so that indexing with the top bits of a word needs no
	// bounds check, and values, so that their address is a constant.
	whiteDecode = [1 << runLookupBits]uint16(runDecodeTable(whiteCodes, runLookupBits))
	blackDecode = [1 << runLookupBits]uint16(runDecodeTable(blackCodes, runLookupBits))
	modeDecode  = [1 << modeLookupBits]int16(modeDecodeTable())

	makeup2560 = parseCode(extMakeupCodes[len(extMakeupCodes)-1]) // both colours
	runEncode  = [2]*[maxRun + 1]uint32{
		(*[maxRun + 1]uint32)(runEncodeTable(whiteCodes)),
		(*[maxRun + 1]uint32)(runEncodeTable(blackCodes)),
	}

	// modeEncode is indexed by mode.
	modeEncode = func() [modeVL3 + 1]code {
		var t [modeVL3 + 1]code
		for _, mc := range modeCodes {
			t[mc.mode] = parseCode(mc.code)
		}
		return t
	}()
)

// vertMode maps a1-b1+3 to the vertical mode.
var vertMode = [7]int{modeVL3, modeVL2, modeVL1, modeV0, modeVR1, modeVR2, modeVR3}
