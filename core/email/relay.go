package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/notify"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

// TLS modes of the relay connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (required)
	TLSImplicit = "tls"      // TLS from the start (port 465)
	TLSNone     = "none"     // no TLS: only for a relay on loopback; refuses AUTH
)

// RelayConfig is the SMTP submission relay notifications go through.
type RelayConfig struct {
	Addr     string // host:port
	From     string // sender address (envelope and From header)
	Username string // AUTH PLAIN when set (never without TLS)
	Password string
	TLS      string      // TLSStartTLS (default), TLSImplicit or TLSNone
	TLSConf  *tls.Config // nil: system roots, ServerName from Addr
	Timeout  time.Duration
	// Hostname is sent in EHLO ("" localhost).
	Hostname string
}

// Documents reads a message's documents, for the PDF of a received fax.
type Documents interface {
	DocumentFile(ctx context.Context, id int64) (string, error)
}

// Relay sends notification mail; it implements notify.Mailer.
type Relay struct {
	cfg    RelayConfig
	docs   Documents
	limits faxdoc.Limits
	log    *slog.Logger
}

// NewRelay checks cfg and makes a Relay.
func NewRelay(cfg RelayConfig, docs Documents, limits faxdoc.Limits, log *slog.Logger) (*Relay, error) {
	if cfg.Addr == "" || cfg.From == "" {
		return nil, errors.New("email: the relay needs an address and a From address")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if cfg.Username != "" {
			return nil, errors.New("email: relay credentials are never sent without TLS")
		}
	default:
		return nil, fmt.Errorf("email: relay tls %q: want starttls, tls or none", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if log == nil {
		log = slog.Default()
	}
	return &Relay{cfg: cfg, docs: docs, limits: limits, log: log}, nil
}

// Mail implements notify.Mailer: a received fax goes out with its PDF, a
// result as text.
func (r *Relay) Mail(ctx context.Context, dl core.Delivery, d core.MessageDetails) error {
	var pdf []byte
	if dl.Kind == core.EventReceived {
		var err error
		if pdf, err = r.pdf(ctx, d); err != nil {
			return fmt.Errorf("email: the fax as PDF: %w", err)
		}
	}
	msg, err := compose(r.cfg.From, dl.Target, dl, d, pdf)
	if err != nil {
		return fmt.Errorf("%w: %w", notify.ErrPermanent, err)
	}
	return r.Send(ctx, dl.Target, msg)
}

// Send submits one message to the relay.
func (r *Relay) Send(ctx context.Context, to string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var conn net.Conn
	var err error
	d := &net.Dialer{}
	if r.cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: r.tlsConfig()}).DialContext(ctx, "tcp", r.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", r.cfg.Addr)
	}
	if err != nil {
		return fmt.Errorf("email: relay %s: %w", r.cfg.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var c *smtp.Client
	if r.cfg.TLS == TLSStartTLS {
		c, err = smtp.NewClientStartTLS(conn, r.tlsConfig())
	} else {
		c = smtp.NewClient(conn)
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("email: relay %s: %w", r.cfg.Addr, err)
	}
	defer c.Close()
	if err := c.Hello(r.cfg.Hostname); err != nil {
		return r.smtpError(err)
	}
	if r.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", r.cfg.Username, r.cfg.Password)); err != nil {
			return r.smtpError(err)
		}
	}
	if err := c.SendMail(r.cfg.From, []string{to}, bytes.NewReader(msg)); err != nil {
		return r.smtpError(err)
	}
	return c.Quit()
}

// smtpError marks the relay's 5xx answers permanent.
func (r *Relay) smtpError(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return fmt.Errorf("%w: relay %s: %w", notify.ErrPermanent, r.cfg.Addr, err)
	}
	return fmt.Errorf("email: relay %s: %w", r.cfg.Addr, err)
}

func (r *Relay) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if r.cfg.TLSConf != nil {
		c = r.cfg.TLSConf.Clone()
	}
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(r.cfg.Addr)
		if err != nil {
			host = r.cfg.Addr
		}
		c.ServerName = strings.Trim(host, "[]")
	}
	return c
}
