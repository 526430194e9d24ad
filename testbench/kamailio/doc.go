// Package kamailio is the Kamailio test bench of the FoIP driver: a real
// SIP proxy and registrar (Debian package kamailio) started by the tests
// with kamailio.cfg, a minimal stateful proxy (tm, record-route) and
// in-memory registrar (usrloc without a database) that challenges REGISTER
// (401) and INVITE (407) with digest authentication against one password
// kept in the cfg. Two drivers/foip drivers in trunk mode register through
// it and fax each other via the proxy; the re-INVITE to T.38, ACKs and BYE
// follow the record-routed path.
//
// Under CI=true a missing kamailio fails the tests; otherwise they are
// skipped. It has tests only and imports drivers, drivers/foip,
// drivers/drivertest, t30 and imaging.
package kamailio
