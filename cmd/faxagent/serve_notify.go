package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/faxagent/faxagent/core"
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
	n, err := newNotifier(cfg, st, nil, stdout, log)
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
