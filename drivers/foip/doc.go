// Package foip is the Fax-over-IP port driver: a SIP user agent (on
// github.com/emiago/sipgo) whose concurrent calls on one trunk are the
// driver's ports ("M<board>,<n>"), each licensed by the agent like any other
// port. Calls start as G.711 audio (PCMU/PCMA over RTP with
// github.com/pion/rtp, CNG or CED played as G.711) and switch to T.38 by
// re-INVITE; the fax itself runs through our t30 engine over a t38.Terminal
// with drivers.SendOver and drivers.ReceiveOver.
//
// It owns: trunk configuration (peer mode with a static address, trunk mode
// with REGISTER, digest authentication and re-registration; UDP, TCP or TLS
// with sips: URIs and certificates verified against a configured CA; every
// request of the trunk — INVITE, ACK, re-INVITE, BYE, CANCEL, REGISTER —
// leaves from its own listening address and port, with that address as Via
// sent-by: over UDP on the listening socket, over TCP/TLS on connections
// dialled from the listening port, shared with SO_REUSEPORT);
// outbound INVITE with provisional responses, CANCEL on ring timeout, BYE at
// the end; the T.38 switch (accept the remote's re-INVITE, send ours after a
// configurable wait, or offer T.38 in the first INVITE), glare resolved with
// 491 and the RFC 3261 back-off, our re-INVITE's wait for its answer bounded
// (ReinviteTimeout: then CANCEL, audio, a late 2xx ACKed and undone); SIP response codes mapped to completion
// codes; inbound calls accepted only from allowed sources or with digest
// credentials (others get 403/401 and are counted); routing digits and caller
// ID from the request; session-timer refreshes answered without touching the
// T.38 stream; RTP and UDPTL latching to the address packets really come
// from; incoming RTP put back in sequence order (a few packets deep, across
// the 16-bit wrap, duplicates dropped) before CNG/CED detection; malformed
// datagrams counted and dropped before they reach sipgo; media inactivity
// timeouts (UDPTL and RTP) that end a call whose far end went silent.
//
// Package foip imports drivers, t30, t38 and imaging; it must never import
// agent or core.
package foip
