package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message an SMTPSink took.
type Mail struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the session was upgraded with STARTTLS
	User string // who authenticated
}

// SMTPSink is an SMTP server on 127.0.0.1 for tests: it offers STARTTLS
// with a self-signed certificate (CAPEM), requires AUTH PLAIN with
// User/Password over TLS, and keeps every message.
type SMTPSink struct {
	Addr     string
	CAPEM    []byte
	User     string
	Password string

	srv  *smtp.Server
	mu   sync.Mutex
	mail []Mail
	got  chan struct{}
}

// NewSMTPSink starts a sink; it stops when the test ends.
func NewSMTPSink(tb testing.TB) *SMTPSink {
	tb.Helper()
	cert, caPEM := SelfSigned(tb)
	s := &SMTPSink{CAPEM: caPEM, User: "relay-user", Password: "relay-password", got: make(chan struct{}, 100)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s, c: c}, nil }))
	s.srv.Domain = "sink.test"
	s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln)
	tb.Cleanup(func() { s.srv.Close() })
	return s
}

// Wait returns the messages once there are at least n, or fails the test
// after timeout.
func (s *SMTPSink) Wait(tb testing.TB, n int, timeout time.Duration) []Mail {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		if len(s.mail) >= n {
			out := append([]Mail(nil), s.mail...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-deadline:
			tb.Fatalf("SMTP sink: %d messages, want %d", len(s.mail), n)
		}
	}
}

type sinkSession struct {
	s    *SMTPSink
	c    *smtp.Conn
	user string
	m    Mail
}

func (x *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if _, tlsOn := x.c.TLSConnectionState(); !tlsOn {
			return errors.New("TLS first")
		}
		if username != x.s.User || password != x.s.Password {
			return errors.New("bad credentials")
		}
		x.user = username
		return nil
	}), nil
}

func (x *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.m = Mail{From: from, User: x.user}
	_, x.m.TLS = x.c.TLSConnectionState()
	return nil
}

func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.m.To = append(x.m.To, to)
	return nil
}

func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.m.Data = b
	x.s.mu.Lock()
	x.s.mail = append(x.s.mail, x.m)
	x.s.mu.Unlock()
	x.s.got <- struct{}{}
	return nil
}

func (x *sinkSession) Reset()        { x.m = Mail{} }
func (x *sinkSession) Logout() error { return nil }

// SelfSigned makes a certificate for 127.0.0.1 and its PEM (to trust it).
func SelfSigned(tb testing.TB) (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
