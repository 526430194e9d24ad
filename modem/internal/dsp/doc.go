// Package dsp holds the signal-processing pieces shared by the high-speed
// fax data pumps (modem/v27ter, modem/v29, modem/v17): pulse shaping
// (raised cosine and root raised cosine), a transmit Modulator that turns
// baud-rate constellation points into 8 kHz passband samples, a carrier
// NCO, a power meter and AGC, a receive front end (Demodulator) that mixes
// the line down, matched-filters it and interpolates it at T/2 with
// Gardner symbol timing recovery (tolerates well over ±100 ppm of clock
// offset), a fractionally spaced (T/2) complex LMS Equalizer and a
// second-order carrier phase loop (PhaseLoop).
//
// Complex baseband values are Go's complex128. Nothing here allocates after
// construction, keeps global state or knows about a particular
// recommendation: the pumps own training, constellations and scramblers.
//
// It also holds what the pumps share around their own logic: Front (carrier
// detection, the receive chain and the carrier events), DataBits and
// Turnoff (a transmitter's data and its end).
//
// dsp imports modem/pump and the standard library. It is internal to
// modem/.
package dsp
