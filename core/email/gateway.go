package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/faxagent/faxagent/core"
)

// File is a document taken from a mail.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// Submitter submits a fax for user to numbers through the program's
// document intake (the API's), returning the message ID. An error wrapping
// core.ErrInvalid (a document or number refused) is the sender's fault.
type Submitter func(ctx context.Context, user core.User, numbers []string, subject string, files []File) (int64, error)

// Users finds who sends: the active user whose e-mail address is the
// sender's.
type Users interface {
	Users(ctx context.Context) ([]core.User, error)
}

// GatewayConfig configures the e-mail to fax gateway.
type GatewayConfig struct {
	// Domain takes mail for NUMBER@Domain. Required.
	Domain string
	// AllowedSenders are addresses ("alice@example.com") or domains
	// ("@example.com") whose mail is taken; empty takes none. The sender
	// must also be the e-mail address of an active user, who owns the fax.
	AllowedSenders []string
	// Relays are the client addresses whose connections may hand in
	// mail: the mail servers that relay to the gateway after checking
	// their users (the sender's address is only a claim: anyone who can
	// reach the gateway could write any). Empty: loopback only.
	Relays []netip.Prefix
	// MaxMessageBytes bounds a mail (default 16 MiB); MaxRecipients its
	// numbers (default 10).
	MaxMessageBytes int64
	MaxRecipients   int
	// TLS offers STARTTLS with this configuration (nil: none); with
	// RequireTLS a sender must use it before MAIL.
	TLS        *tls.Config
	RequireTLS bool
	Hostname   string
	Timeout    time.Duration // per read and write (default 2 min)
}

// Gateway is the SMTP listener of the e-mail to fax gateway.
type Gateway struct {
	cfg    GatewayConfig
	users  Users
	submit Submitter
	log    *slog.Logger
	srv    *smtp.Server
}

// NewGateway makes a Gateway.
func NewGateway(cfg GatewayConfig, users Users, submit Submitter, log *slog.Logger) (*Gateway, error) {
	if cfg.Domain == "" || users == nil || submit == nil {
		return nil, errors.New("email: the gateway needs a domain, users and a submitter")
	}
	if cfg.RequireTLS && cfg.TLS == nil {
		return nil, errors.New("email: the gateway cannot require TLS without a certificate")
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 16 << 20
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 10
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Hostname == "" {
		cfg.Hostname = cfg.Domain
	}
	if log == nil {
		log = slog.Default()
	}
	g := &Gateway{cfg: cfg, users: users, submit: submit, log: log}
	s := smtp.NewServer(g)
	s.Domain = cfg.Hostname
	s.MaxMessageBytes = cfg.MaxMessageBytes
	s.MaxRecipients = cfg.MaxRecipients
	s.ReadTimeout, s.WriteTimeout = cfg.Timeout, cfg.Timeout
	s.TLSConfig = cfg.TLS
	s.ErrorLog = slogLogger{log}
	g.srv = s
	return g, nil
}

// Serve takes mail on ln until Close.
func (g *Gateway) Serve(ln net.Listener) error {
	err := g.srv.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the listener and its connections.
func (g *Gateway) Close() error { return g.srv.Close() }

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) {
	l.log.Warn("email gateway: " + fmt.Sprintf(format, v...))
}
func (l slogLogger) Println(v ...any) { l.log.Warn("email gateway: " + fmt.Sprint(v...)) }

// NewSession implements smtp.Backend.
func (g *Gateway) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{g: g, c: c, remote: c.Conn().RemoteAddr().String()}, nil
}

type session struct {
	g       *Gateway
	c       *smtp.Conn
	remote  string
	user    *core.User
	from    string
	numbers []string
}

func refuse(code int, enh smtp.EnhancedCode, format string, args ...any) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: fmt.Sprintf(format, args...)}
}

// relay reports whether the client at remote (host:port) is one of
// GatewayConfig.Relays (any loopback address when there are none).
func (g *Gateway) relay(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	if len(g.cfg.Relays) == 0 {
		return a.IsLoopback()
	}
	for _, p := range g.cfg.Relays {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// allowed reports whether addr is an allowed sender.
func (g *Gateway) allowed(addr string) bool {
	addr = strings.ToLower(addr)
	for _, a := range g.cfg.AllowedSenders {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == addr || strings.HasPrefix(a, "@") && strings.HasSuffix(addr, a) {
			return true
		}
	}
	return false
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.Reset()
	if s.g.cfg.RequireTLS {
		if _, ok := s.c.TLSConnectionState(); !ok {
			return refuse(530, smtp.EnhancedCode{5, 7, 0}, "STARTTLS first")
		}
	}
	if !s.g.relay(s.remote) {
		s.g.log.Info("email gateway: client not a relay", "from", from, "client", s.remote)
		return refuse(550, smtp.EnhancedCode{5, 7, 1}, "client not allowed to hand in mail here")
	}
	if !s.g.allowed(from) {
		s.g.log.Info("email gateway: sender refused", "from", from, "client", s.remote)
		return refuse(550, smtp.EnhancedCode{5, 7, 1}, "sender not allowed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	us, err := s.g.users.Users(ctx)
	if err != nil {
		return refuse(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	}
	for i := range us {
		if us[i].Active && strings.EqualFold(us[i].Email, from) {
			s.user, s.from = &us[i], from
			return nil
		}
	}
	s.g.log.Info("email gateway: no user with the sender's address", "from", from, "client", s.remote)
	return refuse(550, smtp.EnhancedCode{5, 7, 1}, "sender not allowed")
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.user == nil {
		return refuse(503, smtp.EnhancedCode{5, 5, 1}, "MAIL first")
	}
	local, domain, ok := strings.Cut(to, "@")
	if !ok || !strings.EqualFold(domain, s.g.cfg.Domain) {
		return refuse(550, smtp.EnhancedCode{5, 1, 2}, "this gateway takes mail for NUMBER@%s only", s.g.cfg.Domain)
	}
	if local == "" || len(local) > 40 || strings.ContainsFunc(local, func(r rune) bool { return !strings.ContainsRune("0123456789+-.()*#", r) }) {
		return refuse(550, smtp.EnhancedCode{5, 1, 1}, "%q is not a fax number", local)
	}
	if _, err := core.NormalizeFax(local); err != nil {
		return refuse(550, smtp.EnhancedCode{5, 1, 1}, "%q is not a fax number", local)
	}
	s.numbers = append(s.numbers, local)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if s.user == nil || len(s.numbers) == 0 {
		return refuse(503, smtp.EnhancedCode{5, 5, 1}, "RCPT first")
	}
	mr, err := gomail.CreateReader(r)
	if err != nil {
		io.Copy(io.Discard, r)
		return refuse(554, smtp.EnhancedCode{5, 6, 0}, "not a readable mail: %v", err)
	}
	defer io.Copy(io.Discard, r)
	froms, err := mr.Header.AddressList("From")
	if err != nil || len(froms) != 1 || !strings.EqualFold(froms[0].Address, s.from) {
		return refuse(550, smtp.EnhancedCode{5, 7, 1}, "the From header must be the sender's address")
	}
	subject, _ := mr.Header.Subject()
	var files []File
	var text []byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return refuse(554, smtp.EnhancedCode{5, 6, 0}, "a part of the mail cannot be read: %v", err)
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			return refuse(554, smtp.EnhancedCode{5, 6, 0}, "a part of the mail cannot be read: %v", err)
		}
		switch h := p.Header.(type) {
		case *gomail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			files = append(files, File{Name: cleanName(name, len(files)), ContentType: ct, Data: b})
		case *gomail.InlineHeader:
			ct, _, _ := h.ContentType()
			switch {
			case ct == "" || ct == "text/plain":
				if text == nil {
					text = b
				}
			case strings.HasPrefix(ct, "text/"):
				// HTML alternatives are not faxed; the plain text is.
			default:
				files = append(files, File{Name: cleanName("", len(files)) + extension(ct), ContentType: ct, Data: b})
			}
		}
	}
	if len(files) == 0 {
		if len(strings.TrimSpace(string(text))) == 0 {
			return refuse(554, smtp.EnhancedCode{5, 6, 0}, "nothing to fax: no attachment and no text")
		}
		files = append(files, File{Name: "message.txt", ContentType: "text/plain", Data: text})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id, err := s.g.submit(ctx, *s.user, s.numbers, subject, files)
	if err != nil {
		s.g.log.Info("email gateway: fax refused", "from", s.from, "numbers", s.numbers, "err", err)
		if errors.Is(err, core.ErrInvalid) {
			return refuse(554, smtp.EnhancedCode{5, 6, 0}, "fax refused: %v", err)
		}
		return refuse(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	}
	s.g.log.Info("email gateway: fax submitted", "message", id, "from", s.from, "user", s.user.Username, "numbers", s.numbers, "documents", len(files))
	return nil
}

func (s *session) Reset() { s.user, s.from, s.numbers = nil, "", nil }

func (s *session) Logout() error { return nil }

// cleanName keeps a file name without directories or control characters
// ("attachment-N" when there is none).
func cleanName(name string, i int) string {
	if k := strings.LastIndexAny(name, `/\`); k >= 0 {
		name = name[k+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	if name == "" {
		return fmt.Sprintf("attachment-%d", i+1)
	}
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	return name
}

// extension names the type of an inline part for the intake.
func extension(ct string) string {
	return map[string]string{"application/pdf": ".pdf", "image/tiff": ".tif", "image/png": ".png", "image/jpeg": ".jpg",
		"image/gif": ".gif", "application/postscript": ".ps", "image/x-portable-bitmap": ".pbm"}[ct]
}
