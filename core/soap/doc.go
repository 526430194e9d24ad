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
// Every operation needs HTTP Basic credentials of an active user (401
// with a Basic challenge otherwise); the WSDL is served without. The
// caller acts as itself: a user or message named in a request must be
// the caller's own, its domain's for a domain administrator, anyone's for
// a system administrator; otherwise the operation answers as if it did not
// exist (see auth.go). Config.TrustedNetworks lets the clients of listed
// addresses call without credentials, as any user. Password checks (Basic
// and AuthenticateUser) go through a core/loginlimit.Limiter.
//
// Agents are named by the integer IDs the core gives them at enrolment
// (<FaxAgentID> in message details); SendCompleteMessageWithPresetAgents
// and its ByPassRender form with an agentID that names no enrolled agent
// answer with a Client fault "preset agent N: no such agent" and store
// nothing.
//
// Tracking records, copying messages between users, FaxCore user profiles
// and removing users come from core.Store; Config hooks (TrackStore,
// MessageCopier, UserAdmin) may replace them.
//
// soap may import core and imaging (for documents); it must not import
// agent, drivers, t30, t38, cmd or testbench.
package soap
