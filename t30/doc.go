// Package t30 owns the ITU-T T.30 facsimile protocol engine: phases A to E
// for the calling and the called terminal, DIS/DTC/DCS negotiation, CSI/TSI
// identification, training check (TCF) with CFR/FTT and speed fallback,
// post-message signalling (MPS/EOM/EOP, MCF/RTP/RTN), disconnection (DCN),
// the timers T1 to T5, error correction mode (T.30 Annex A) and the
// completion codes every call ends with.
//
// The engine talks to the world only through two interfaces of its own:
//
//   - Line: what a modem, a T.38 gateway terminal or an in-memory loopback
//     pipe gives T.30 (V.21 HDLC frames, high-speed carriers with training,
//     non-ECM bit streams, ECM frames, tones, events back).
//   - Clock: the time base and serialising executor. VirtualClock runs whole
//     calls in virtual time (a 50-page call takes milliseconds of CPU);
//     WallClock paces them in real time. The engine code path is the same.
//
// A Session is event driven in the style of SpanDSP: it reacts to Line
// events and timer callbacks and never blocks. Session.Run is a blocking
// convenience on top.
//
// Pages come in through the Document interface (rows from imaging, or pages
// already coded) and go out through PageSink; coding and decoding is done
// with package imaging.
//
// Coverage: phases A to E for the calling and the answering terminal, as
// sender or receiver, and polling (DIS with the polling bit, CIG/DTC);
// DIS/DTC/DCS with the T.30 Table 2 bits for rates, resolutions, widths,
// lengths, MR, MMR, ECM, frame size, minimum scan line time, T.38, V.8,
// subaddress and password; CSI/TSI/CIG, SUB/SID sent and received,
// NSF/NSS/NSC recorded and ignored; TCF judged by the receiver with CFR/FTT
// and fallback; MPS/EOM/EOP (PRI-Q answered like the plain commands),
// MCF/RTP/RTN, PIP/PIN, CRP, DCN; command repeat; T1, T2, T4 (3 s, 4.5 s
// on the answering side), T5; copy quality by a configurable policy; EOM
// when a page needs other parameters; resuming at page N; ECM with
// PPS/PPR, CTC/CTR, EOR/ERR and RR/RNR. Not implemented: V.34 and V.8
// negotiation, T3 and procedure interrupts initiated here, file transfer
// and colour modes, turnaround (sending and receiving on one call).
//
// t30 imports only package imaging and the standard library. It must never
// import net, or any driver, agent or core package, and it never sleeps on the
// wall clock (only WallClock's own loop waits on real timers).
package t30
