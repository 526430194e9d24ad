// Package console owns faxagent's web console: the pages (plain HTML,
// JavaScript and CSS embedded with go:embed, no build step), the login of
// the store's users into a session (a cookie that is HttpOnly,
// SameSite=Strict and Secure under TLS, with a CSRF token every
// state-changing request must carry), the security headers of every
// console response, live updates by Server-Sent Events, page images of a
// message rendered as PNG, port control, and the administration of users,
// inbound routes and the licence.
//
// Messages are read, submitted, cancelled, retried and downloaded through
// the JSON API (core/httpapi), which accepts the console's session through
// httpapi.Options.Session; a standard user's session reaches only the
// user's own messages there as here.
//
// console imports core, core/httpapi (its Principal and Port types),
// core/loginlimit, core/worklimit and imaging; it must not import agent,
// drivers, t30, t38, cmd or testbench: the program hands it what it needs
// from the agent as functions (Options.Ports, Options.SetPort,
// Options.License).
package console
