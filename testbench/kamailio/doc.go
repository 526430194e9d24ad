// Package kamailio is the Kamailio test bench of the FoIP driver: a real
// SIP proxy and registrar (Debian package kamailio) started by the tests
// with kamailio.cfg, a minimal stateful proxy (tm, record-route) and
// in-memory registrar (usrloc without a database) that challenges REGISTER
// (401) and INVITE (407) with digest authentication against one password
// kept in the cfg. Two drivers/foip drivers in trunk mode register through
// it and fax each other via the proxy; the re-INVITE to T.38, ACKs and BYE
// follow the record-routed path.
//
// Start runs that proxy for any test that needs one (this package's and the
// end-to-end tests of cmd/faxagent). Under CI=true a missing kamailio fails
// the tests; otherwise they are skipped. Its tests import drivers,
// drivers/foip, drivers/drivertest, t30 and imaging; the package itself
// imports only the standard library.
package kamailio
