// Package v27ter is the ITU-T V.27 ter data pump: 4800 bit/s (8-phase
// differential PSK, 1600 baud) and 2400 bit/s (4-phase, 1200 baud) on an
// 1800 Hz carrier, with the self-synchronising scrambler 1 + x^-6 + x^-7
// and its guard against repeating patterns, the training sequence and a
// turn-off of scrambled ones. Fax sends the long training (SpanDSP sends
// nothing else); the transmitter can also send the short one, meant for a
// receiver that kept its equaliser from an earlier long training, which
// this receiver does not accept (it reports no training on it).
//
// Transmitter and Receiver implement modem/pump's contract. The receiver
// detects the carrier by power (on above -43 dBm0, off below -48 dBm0),
// acquires symbol timing on the segment-3 reversals, finds the start of
// segment 4 (the first symbol without a reversal), trains its T/2
// equaliser and carrier loop on the known segment-4 symbols, checks the
// segment-5 ones, and only then reports TrainingSucceeded and bits.
//
// v27ter imports modem/pump and modem/internal/dsp only.
package v27ter

import "errors"

// ErrRate is returned for a bit rate V.27 ter does not have.
var ErrRate = errors.New("v27ter: rate must be 2400 or 4800")

// Training segment lengths in symbols (V.27 ter Table 3, as SpanDSP and
// fax terminals send them: no echo-protection tone).
const (
	seg2Len      = 32   // silence
	seg3Len      = 50   // continuous 180 degree reversals (long)
	seg4Len      = 1074 // scrambled 0/180 degree changes (long)
	seg3LenShort = 14
	seg4LenShort = 58
	seg5Len      = 8  // scrambled ones at the data rate
	turnOffLen   = 32 // scrambled ones after the data
)

const (
	carrierHz = 1800
	scrInit   = 0x3C // scrambler state at the start of segment 4
)

func baudOf(rate int) int {
	if rate == 4800 {
		return 1600
	}
	return 1200
}

// phaseStep4800[tribit] is the phase change in 45 degree units for a
// tribit (first bit on the line in the high bit), V.27 ter Table 1.
var phaseStep4800 = [8]int{1, 0, 2, 3, 6, 7, 5, 4}

// phaseStep2400[dibit] likewise for 2400 bit/s (Table 2).
var phaseStep2400 = [4]int{0, 2, 6, 4}
