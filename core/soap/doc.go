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
// soap may import core and imaging (for documents); it must not import
// agent, drivers, t30, t38, cmd or testbench.
package soap
