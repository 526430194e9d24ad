package v17

import (
	"errors"
	"fmt"
)

// ErrRate is returned for a bit rate V.17 does not have.
var ErrRate = errors.New("v17: bit rate must be 14400, 12000, 9600 or 7200")

// mode is what a bit rate fixes: data bits per symbol and the constellation.
type mode struct {
	rate   int
	bits   int     // data bits per symbol (one more is added by the trellis)
	points []point // indexed by label
}

func modeFor(rate int) (mode, error) {
	switch rate {
	case 14400:
		return mode{rate, 6, points14400[:]}, nil
	case 12000:
		return mode{rate, 5, points12000[:]}, nil
	case 9600:
		return mode{rate, 4, points9600[:]}, nil
	case 7200:
		return mode{rate, 3, points7200[:]}, nil
	}
	return mode{}, fmt.Errorf("%w (got %d)", ErrRate, rate)
}

// Training segment lengths in symbols (V.17 §7, Table 3).
const (
	seg1Len      = 256  // ABAB alternations
	seg2LongLen  = 2976 // CDBA equaliser conditioning, long training
	seg2ShortLen = 38   // CDBA, short training
	seg3Len      = 64   // bridge (long training only)
	seg4Len      = 48   // trellis-coded scrambled ones
	turnOffOnes  = 32   // scrambled ones after the data
	turnOffQuiet = 48   // silent symbols to let the pulse tail ring out
)

// bridgeWord is sent, scrambled, two bits per symbol, in the bridge
// segment (bit 0 first, repeating every eight symbols).
const bridgeWord = 0x8880

// cdbaPoint maps two scrambled bits (the first in bit 1) to the training
// point index (A=0, B=1, C=2, D=3) in segment 2.
var cdbaPoint = [4]uint8{2, 3, 1, 0}

// bridgeStep maps two scrambled bits to the quarter turns the bridge
// advances the training point by.
var bridgeStep = [4]uint8{1, 0, 2, 3}
