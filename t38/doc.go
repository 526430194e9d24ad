// Package t38 implements ITU-T T.38 real-time fax over IP: the IFP packet
// codec (ASN.1 PER, aligned variant, in both the 1998 form used by T.38
// version 0 and the 2002 form used by versions 1–3), the UDPTL transport with
// redundancy and parity-FEC error recovery, and the SDP attributes that
// negotiate a T.38 session (T38FaxVersion, T38MaxBitRate, T38FaxUdpEC, ...).
//
// The codecs follow the pion style: packets are plain structs with
// Unmarshal, MarshalSize, MarshalTo and Marshal. Decoding never copies
// payload bytes: slices in a decoded packet alias the input buffer and are
// valid only as long as that buffer is. In the steady state (slices already
// grown to their working size) neither encoding nor decoding allocates.
//
// Package t38 owns the wire formats and the T.38 terminal. It may import
// t30 (for the Line it implements) and the standard library only; it must
// not import drivers, agent, core or any cgo code.
package t38
