// Package sip is the SIP test bench of the FoIP driver: sipp scenarios
// (scenarios/*.xml, Debian package sip-tester) play an independent SIP peer
// against drivers/foip — a UAS that refuses our INVITE (486, 404, 503, 480)
// or our T.38 re-INVITE (488), and UACs that call us, switch to T.38, are
// refused (403) or authenticate with digest (401). Under CI=true a missing
// sipp fails the tests; otherwise they are skipped.
//
// It has tests only and imports drivers, drivers/foip, t30 and imaging.
package sip
