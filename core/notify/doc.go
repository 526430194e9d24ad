// Package notify owns the delivery of notifications from the store's
// durable queue (core.Notifications): it turns each event (a message's
// final state, a received fax) into deliveries for the message's callback
// URL, its owner's webhook URL and, with a Mailer, its owner's e-mail
// address, and tries each until it succeeds or its retries run out, with
// back-off, logging every try in the store.
//
// Webhooks are JSON POSTs signed with HMAC-SHA256 over the timestamp and
// the body (header X-Faxagent-Signature: t=UNIX,v1=HEX; see Sign and
// Verify). They go only to addresses in the allow-list: the address a
// connection is about to use is checked in the dialer's Control function,
// after name resolution, so a name that resolves elsewhere later (DNS
// rebinding) is refused too; proxies from the environment are not used and
// redirects are not followed.
//
// notify imports core only; it must not import agent, drivers, cmd or the
// HTTP API.
package notify
