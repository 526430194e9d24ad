// Package t38 implements ITU-T T.38 real-time fax over IP:
//
//   - the IFP packet codec (ASN.1 PER, aligned variant), in the 1998 form
//     used by T.38 version 0 and the 2002 form used by versions 1 to 3
//     (ifp.go);
//   - UDPTL with redundancy and parity-FEC error recovery: an Encoder that
//     honours the far end's maximum datagram, and a Receiver that drops
//     duplicates and late packets, reorders within a window and rebuilds
//     lost packets (udptl.go);
//   - the SDP of a T.38 session: a strict reader and writer for
//     "m=image PORT udptl t38" and the T38Fax* attributes, and Answer,
//     which computes the answer to an offer (sdp.go);
//   - a T.38 terminal that implements t30.Line over any datagram
//     Transport, paced in line time on a t30.Clock, so the same code runs a
//     call in virtual time in tests and in real time in production
//     (terminal.go), with a UDP transport (udp.go) and an in-process pipe
//     with loss, duplication and reordering for tests (pipe.go).
//
// The codecs follow the pion style: packets are plain structs with
// Unmarshal, MarshalSize, MarshalTo and Marshal. Decoding never copies
// payload bytes: slices in a decoded packet alias the input buffer and are
// valid only as long as that buffer is. In the steady state (slices already
// grown to their working size) neither encoding nor decoding allocates.
//
// Interoperability is proven against SpanDSP in testbench/interop/spandsp.
//
// Package t38 may import t30 (for the Line it implements), imaging in tests,
// and the standard library only; it must not import drivers, agent, core or
// any cgo code.
package t38
