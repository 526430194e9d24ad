package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/email"
	"github.com/faxagent/faxagent/core/notify"
)

// NotifyCfg configures notifications: webhooks (per user, set in the
// console, or per submission, callback_url) and e-mail.
type NotifyCfg struct {
	// WebhookAllow lists the addresses (CIDR prefixes or single addresses)
	// webhooks may connect to. Empty (the default): every webhook is
	// refused and logged as such. The address is checked when connecting,
	// after name resolution.
	WebhookAllow []string `yaml:"webhook_allow"`
	// WebhookSecret signs webhooks (HMAC-SHA256); "" uses the file
	// webhook-secret in the data directory, made at first start.
	WebhookSecret string `yaml:"webhook_secret"`
	// MaxAttempts per delivery (default 8); Backoff is the first wait
	// (default 30 s), doubling up to MaxBackoff (default 1 h).
	MaxAttempts int           `yaml:"max_attempts"`
	Backoff     time.Duration `yaml:"backoff"`
	MaxBackoff  time.Duration `yaml:"max_backoff"`
	// SMTP is the submission relay e-mail goes through ("" addr: no
	// e-mail). Received faxes go to the routed user's address as PDF;
	// results to users who asked for them.
	SMTP SMTPCfg `yaml:"smtp"`
	// EmailGateway is the e-mail to fax listener (off unless listen is set).
	EmailGateway EmailGatewayCfg `yaml:"email_gateway"`
}

// SMTPCfg is the relay.
type SMTPCfg struct {
	Addr     string `yaml:"addr"` // host:port
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// TLS: starttls (default), tls (implicit, port 465) or none (a relay
	// on loopback only; no credentials).
	TLS string `yaml:"tls"`
	// TLSCA is a PEM file of CAs the relay's certificate must chain to (""
	// the system's).
	TLSCA string `yaml:"tls_ca"`
}

// EmailGatewayCfg is the e-mail to fax listener.
type EmailGatewayCfg struct {
	// Listen is its SMTP address ("" off, the default).
	Listen string `yaml:"listen"`
	// Domain: mail to NUMBER@Domain is faxed to NUMBER.
	Domain string `yaml:"domain"`
	// AllowedSenders: addresses or @domains whose mail is taken; the
	// sender must also be an active user's e-mail address (that user owns
	// the fax). Empty: none.
	AllowedSenders []string `yaml:"allowed_senders"`
	// Relays are the addresses or CIDR prefixes of the mail servers that
	// may hand mail in (they check who their users are; the sender address
	// alone is a claim). Empty: loopback only.
	Relays []string `yaml:"relays"`
	// MaxMessageBytes bounds one mail (default: max_upload).
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// TLSCert and TLSKey (PEM files) make the gateway offer STARTTLS and
	// refuse mail sent without it.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

// webhookSecretFile holds the generated webhook secret in the data directory.
const webhookSecretFile = "webhook-secret"

// newNotifier makes the notifier of a core process.
func newNotifier(cfg Config, st core.Store, mailer notify.Mailer, stdout io.Writer, log *slog.Logger) (*notify.Notifier, error) {
	allow, err := notify.ParseAllowList(cfg.Notify.WebhookAllow)
	if err != nil {
		return nil, err
	}
	secret := cfg.Notify.WebhookSecret
	if secret == "" {
		var created bool
		path := filepath.Join(cfg.DataDir, webhookSecretFile)
		if secret, created, err = loadOrCreateToken(path); err != nil {
			return nil, fmt.Errorf("webhook secret: %w", err)
		}
		if created && stdout != nil {
			fmt.Fprintf(stdout, "webhook signing secret saved in %s\n", path)
		}
	}
	return notify.New(notify.Options{Store: st, Secret: []byte(secret), Allow: allow, Mailer: mailer,
		MaxAttempts: cfg.Notify.MaxAttempts, Backoff: cfg.Notify.Backoff, MaxBackoff: cfg.Notify.MaxBackoff, Logger: log})
}

// startNotifier runs the notifier until the returned stop is called.
func startNotifier(ctx context.Context, cfg Config, st core.Store, stdout io.Writer, log *slog.Logger) (stop func(), err error) {
	var mailer notify.Mailer
	if sc := cfg.Notify.SMTP; sc.Addr != "" {
		rc := email.RelayConfig{Addr: sc.Addr, From: sc.From, Username: sc.Username, Password: sc.Password, TLS: sc.TLS}
		if sc.TLSCA != "" {
			pem, err := os.ReadFile(sc.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("notify.smtp.tls_ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("notify.smtp.tls_ca %s: no certificate", sc.TLSCA)
			}
			rc.TLSConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		relay, err := email.NewRelay(rc, st, cfg.Limits.withDefaults().documentLimits(), log)
		if err != nil {
			return nil, err
		}
		mailer = relay
	}
	n, err := newNotifier(cfg, st, mailer, stdout, log)
	if err != nil {
		return nil, err
	}
	nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(nctx)
	}()
	return func() { cancel(); <-done }, nil
}
