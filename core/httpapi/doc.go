// Package httpapi owns faxagent's JSON HTTP API, versioned under /api/v1:
// submitting a fax (multipart: files, recipients and options), reading a
// message with its jobs and attempts, listing a folder with paging,
// cancelling, retrying, downloading a message's document as TIFF or PDF and
// listing the ports, behind bearer-token authentication; users' API tokens
// (/api/v1/tokens: made, listed and revoked; a user's token reaches only
// the user's messages); plus /healthz, /readyz and, if given a handler,
// /metrics.
//
// Every request that is refused gets a 4xx status with a JSON body
// {"error": "..."} and stores nothing: uploads are checked (size, name,
// decodable fax pages) in a temporary directory before the store sees them.
//
// httpapi imports core, imaging and its sub-packages; it must not import
// agent, drivers, t30, t38, cmd or testbench: the program hands it what it
// needs from the agent as functions (Options.Ports, Options.CancelActive).
package httpapi
