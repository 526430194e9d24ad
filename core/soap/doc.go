// Package soap owns faxagent's FaxCore eV5-compatible web service: the
// wfApi SOAP endpoint (/webservices/wfapi.asmx) with its 58 operations,
// wire-exact to the FaxCore server's WSDL (embedded here as wfapi.wsdl), on
// top of a core.Store.
//
// The handler speaks SOAP 1.1 and 1.2, document/literal wrapped, matches
// request parameters by element name in any order, answers in the
// http://faxcoreserver/services/ namespace with the WSDL's element names,
// and serves the WSDL (?WSDL, any case) with its own address. Requests are
// bounded in size and nesting; DTDs and entity declarations are refused;
// a malformed envelope gets a version-correct SOAP Fault and changes
// nothing stored.
//
// FaxCore's protocol takes user and message IDs as they come: whoever knows
// an ID may use it. A request may also carry HTTP Basic credentials; then
// a caller who is not an administrator reaches only its own user and
// messages, and Config.RequireAuth makes credentials mandatory.
// AuthenticateUser failures are rate limited per client address and per
// user name.
//
// Tracking records, copying messages between users, FaxCore user profiles
// and removing users are beyond the core.Store interface: core's own store
// provides them (TrackStore, MessageCopier, UserAdmin) and NewHandler finds
// them there; Config hooks may replace them. Without them the operations
// that need them answer with a Server fault.
//
// soap may import core and imaging (for documents); it must not import
// agent, drivers, t30, t38, cmd or testbench.
package soap
