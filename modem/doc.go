// Package modem is the fax modem terminal: it implements t30.Line over a
// stream of 8 kHz 16-bit linear samples, so that a t30.Session can run a
// fax call over audio (a G.711 RTP stream, or a sample pipe in tests).
//
// The terminal sends and receives the V.21 channel 2 HDLC control frames
// (modem/v21, modem/hdlc), CNG and CED (modem/tone), and the high-speed
// carriers through the data pumps of modem/pump, looked up by modulation
// in a Pumps table. It runs on a t30.Clock: every method, and Process,
// which moves one block of samples each way, runs on the clock's loop.
// Link runs two terminals back to back in (virtual) time; Serve runs one
// over a FrameIO in real time.
//
// modem imports t30 (for Line), its own subpackages and the standard
// library. It must not import drivers, t38 or anything above them.
package modem
