// Package sip is the SIP test bench of the FoIP driver: sipp scenarios in
// scenarios/ (Debian package sip-tester) play an independent SIP peer
// against drivers/foip:
//
//   - UAS: uas_486/404/503/480.xml refuse our INVITE (completion code and
//     retry class checked), uas_cancel.xml rings until our CANCEL,
//     uas_488_reinvite.xml refuses our T.38 re-INVITE (T.38 refused code,
//     destination remembered), uas_silent_t38.xml accepts T.38 and sends
//     nothing (T.30 gives up, we send BYE);
//   - UAC: uac_t38_reinvite.xml calls us and switches to T.38 itself (our
//     200 must carry m=image with T.38 attributes) and refreshes the session
//     with UPDATE and re-INVITE during the fax; uac_glare.xml holds our
//     re-INVITE while sending its own (491 both ways, our back-off and
//     retry); uac_403.xml comes from a source that is not allowed;
//     uac_auth.xml answers our 401 digest challenge;
//   - no answer to T.38: uas_noanswer_reinvite_spandsp.xml says 100 Trying
//     to our T.38 re-INVITE and nothing more (our CANCEL after
//     ReinviteTimeout, its 200 and the re-INVITE's 487 and ACK checked);
//     uac_late200_reinvite_spandsp.xml calls us, says nothing to our
//     re-INVITE for 3 s and then accepts T.38 with 200 (our ACK and our
//     re-INVITE back to m=audio checked); both carry SpanDSP's audio fax
//     (TestReinviteNoAnswerSpanDSP, real time) and the first also the
//     fast TestSippReinviteNoAnswer (policy require, no media);
//   - SpanDSP over SIP: uas_t38_spandsp.xml is the SIP front of the SpanDSP
//     T.38 terminal (testbench/interop/spandsp): it answers our INVITE with
//     audio and our T.38 re-INVITE with an m=image at SpanDSP's UDPTL port;
//     one page goes to SpanDSP, ECM on and off, and its TIFF must be
//     pixel-equal (real time, ~30 s: under CI=true or FAXAGENT_REALTIME=1).
//
// Under CI=true a missing sipp fails the tests; otherwise they are skipped.
// It has tests only and imports drivers, drivers/foip, drivers/drivertest,
// t30, imaging, imaging/tiff and testbench/interop/spandsp.
package sip
