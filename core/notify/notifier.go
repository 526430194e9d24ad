package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/faxagent/faxagent/core"
)

// Store is what the notifier needs from the store.
type Store interface {
	core.Notifications
	Message(ctx context.Context, id int64) (core.MessageDetails, error)
	User(ctx context.Context, id int64) (core.User, error)
}

// Mailer sends e-mail deliveries. A permanent failure (a refused address)
// wraps ErrPermanent and is not retried.
type Mailer interface {
	// Mail sends the delivery's mail about message d.
	Mail(ctx context.Context, dl core.Delivery, d core.MessageDetails) error
}

// ErrPermanent marks a failure that retrying cannot fix.
var ErrPermanent = errors.New("notify: permanent failure")

// Options configure a Notifier.
type Options struct {
	Store Store
	// Secret signs webhooks; required.
	Secret []byte
	// Allow is where webhooks may connect; empty refuses every webhook
	// (each is logged as refused).
	Allow AllowList
	// Mailer sends e-mail (nil: no e-mail deliveries are made).
	Mailer Mailer
	// MaxAttempts per delivery (default 8); Backoff is the wait after the
	// first failure (default 30 s), doubling up to MaxBackoff (default
	// 1 h); Timeout bounds one try (default 10 s).
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
	Timeout     time.Duration
	// Interval is how often the queue is looked at (default 1 s).
	Interval time.Duration
	// Workers bound the tries running at once (default 4).
	Workers int
	Now     func() time.Time
	Logger  *slog.Logger
}

// Notifier delivers notifications.
type Notifier struct {
	o      Options
	log    *slog.Logger
	client *http.Client
	wake   chan struct{}
}

// New makes a Notifier.
func New(o Options) (*Notifier, error) {
	if o.Store == nil || len(o.Secret) < 16 {
		return nil, errors.New("notify: a store and a secret of at least 16 bytes are required")
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff <= 0 {
		o.Backoff = 30 * time.Second
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = max(time.Hour, o.Backoff)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Notifier{o: o, log: o.Logger, client: o.Allow.client(o.Timeout), wake: make(chan struct{}, 1)}, nil
}

// Wake makes Run look at the queue now.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTicker(n.o.Interval)
	defer t.Stop()
	for {
		if _, err := n.RunOnce(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("notify", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.wake:
		}
	}
}

// RunOnce turns waiting events into deliveries and makes one try of every
// delivery due; it returns how many tries it made.
func (n *Notifier) RunOnce(ctx context.Context) (int, error) {
	evs, err := n.o.Store.NotifyEvents(ctx, 100)
	if err != nil {
		return 0, err
	}
	for _, ev := range evs {
		if err := n.expand(ctx, ev); err != nil {
			return 0, err
		}
	}
	lease := 2*n.o.Timeout + 30*time.Second
	due, err := n.o.Store.ClaimDeliveries(ctx, n.o.Now(), lease, 50)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, n.o.Workers)
	for _, dl := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n.try(ctx, dl)
		}()
	}
	wg.Wait()
	return len(due), nil
}

// expand makes an event's deliveries: the message's callback URL, the
// owner's webhook URL (once if they are the same) and, with a Mailer, the
// owner's e-mail (received faxes always, results when the owner asked).
func (n *Notifier) expand(ctx context.Context, ev core.NotifyEvent) error {
	d, err := n.o.Store.Message(ctx, ev.MessageID)
	if errors.Is(err, core.ErrNotFound) {
		return n.o.Store.ExpandEvent(ctx, ev, 0, nil)
	}
	if err != nil {
		return err
	}
	var owner core.User
	var settings core.UserNotify
	if d.OwnerID != 0 {
		if owner, err = n.o.Store.User(ctx, d.OwnerID); err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
		if settings, err = n.o.Store.UserNotify(ctx, d.OwnerID); err != nil {
			return err
		}
	}
	body, err := payloadOf(ev, d, owner.Username, n.o.Now())
	if err != nil {
		return err
	}
	var urls []string
	if ev.Kind == core.EventFinal {
		cb, err := n.o.Store.MessageCallback(ctx, d.ID)
		if err != nil {
			return err
		}
		if cb != "" {
			urls = append(urls, cb)
		}
	}
	if settings.WebhookURL != "" && (len(urls) == 0 || urls[0] != settings.WebhookURL) {
		urls = append(urls, settings.WebhookURL)
	}
	var ds []core.NewDelivery
	for _, u := range urls {
		nd := core.NewDelivery{Channel: core.ChannelWebhook, Target: u, Payload: string(body)}
		if err := n.o.Allow.checkURL(u); err != nil {
			nd.State, nd.LastError = core.DeliveryRefused, err.Error()
		}
		ds = append(ds, nd)
	}
	if n.o.Mailer != nil && owner.Email != "" && owner.Active &&
		(ev.Kind == core.EventReceived || ev.Kind == core.EventFinal && settings.EmailResults) {
		ds = append(ds, core.NewDelivery{Channel: core.ChannelEmail, Target: owner.Email, Payload: string(body)})
	}
	return n.o.Store.ExpandEvent(ctx, ev, d.OwnerID, ds)
}

// try makes one try of a delivery and records it.
func (n *Notifier) try(ctx context.Context, dl core.Delivery) {
	ctx, cancel := context.WithTimeout(ctx, n.o.Timeout+5*time.Second)
	defer cancel()
	var status int
	var err error
	switch dl.Channel {
	case core.ChannelWebhook:
		status, err = n.post(ctx, dl)
	case core.ChannelEmail:
		if n.o.Mailer == nil {
			err = fmt.Errorf("%w: no mailer configured", ErrPermanent)
			break
		}
		var d core.MessageDetails
		if d, err = n.o.Store.Message(ctx, dl.MessageID); err == nil {
			err = n.o.Mailer.Mail(ctx, dl, d)
		} else if errors.Is(err, core.ErrNotFound) {
			err = fmt.Errorf("%w: %w", ErrPermanent, err)
		}
	default:
		err = fmt.Errorf("%w: unknown channel %q", ErrPermanent, dl.Channel)
	}
	r := core.DeliveryResult{ID: dl.ID, Status: status, State: core.DeliveryDelivered}
	attempt := dl.Attempts + 1
	switch {
	case err == nil:
	case errors.Is(err, ErrNotAllowed):
		r.State, r.Error = core.DeliveryRefused, err.Error()
	case errors.Is(err, ErrPermanent) || attempt >= n.o.MaxAttempts:
		r.State, r.Error = core.DeliveryFailed, err.Error()
	default:
		wait := n.o.Backoff
		for i := 1; i < attempt && wait < n.o.MaxBackoff; i++ {
			wait *= 2
		}
		r.State, r.Error, r.NextAt = core.DeliveryPending, err.Error(), n.o.Now().Add(min(wait, n.o.MaxBackoff))
	}
	lvl := slog.LevelInfo
	if err != nil {
		lvl = slog.LevelWarn
	}
	n.log.Log(ctx, lvl, "notify: delivery", "delivery", dl.ID, "message", dl.MessageID, "channel", dl.Channel, "target", dl.Target,
		"attempt", attempt, "state", r.State, "status", status, "err", r.Error)
	// Recorded even if ctx ended meanwhile.
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	if err := n.o.Store.FinishDelivery(fctx, r); err != nil {
		n.log.Error("notify: recording a delivery", "delivery", dl.ID, "err", err)
	}
}

// post sends a webhook; a status other than 2xx is an error.
func (n *Notifier) post(ctx context.Context, dl core.Delivery) (int, error) {
	body := []byte(dl.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.Target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "faxagent-webhook/1")
	req.Header.Set("X-Faxagent-Event", dl.Kind)
	req.Header.Set("X-Faxagent-Delivery", strconv.FormatInt(dl.ID, 10))
	req.Header.Set(SignatureHeader, Sign(n.o.Secret, n.o.Now(), body))
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
