// Package v17 is the ITU-T V.17 data pump: a trellis-coded QAM modem at
// 2400 baud on an 1800 Hz carrier carrying 14400, 12000, 9600 or 7200 bit/s,
// with the recommendation's long and short training sequences and turn-off.
//
// It owns what is particular to V.17: the self-synchronising scrambler
// (1 + x^-18 + x^-23), the differential encoder and the 8-state systematic
// convolutional (trellis) encoder, the 128/64/32/16-point constellations
// and the four-point training constellation (A, B, C, D), the training
// segments (ABAB alternations, CDBA equaliser conditioning, bridge, trellis
// coded scrambled ones) and the receiver's Viterbi decoder. Pulse shapes
// come from modem/internal/dsp; the receiver's front end (interpolating
// matched filter with Gardner symbol timing, T/2 equaliser normalised to
// the training's level, decision-directed carrier loop, gain set from the
// alternations) is this package's own, tuned to V.17's training.
//
// Transmitter and Receiver implement pump.Transmitter and pump.Receiver.
//
// v17 imports only modem/pump, modem/internal/dsp and the standard
// library; it must not import t30, the modem terminal or any driver.
package v17
