// Package email owns faxagent's e-mail: notifications sent through an SMTP
// submission relay (STARTTLS or TLS, AUTH PLAIN), namely received faxes as
// PDF attachments and results of sent faxes (Relay, a notify.Mailer), and
// the e-mail to fax gateway, an SMTP listener that takes mail for
// NUMBER@DOMAIN from allowed senders and submits its attachments (or its
// text) as a fax through the same intake as the JSON API (Gateway).
//
// The SMTP protocol is github.com/emersion/go-smtp's and MIME is
// github.com/emersion/go-message's; this package holds the policy.
//
// email imports core, core/notify (the Mailer contract) and imaging; it
// must not import agent, drivers, cmd or the HTTP API.
package email
