package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/notify"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/internal/testutil"
)

func openStore(t *testing.T) (core.Store, core.User) {
	t.Helper()
	st, _, err := core.Open(context.Background(), core.Options{DataDir: t.TempDir(), AdminPassword: "admin-password-x", PasswordCost: 4,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	alice, err := st.CreateUser(context.Background(), core.NewUser{Username: "alice", Password: "alice-password", Email: "alice@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	return st, alice
}

// letterTIFF is testdata's letter as a fine TIFF Class F file.
func letterTIFF(t *testing.T) string {
	t.Helper()
	doc, err := faxdoc.Open([]string{"../../testdata/sample/letter.png"}, faxdoc.Options{Resolution: imaging.Fine})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	out := filepath.Join(t.TempDir(), "letter.tif")
	w, err := faxdoc.Create(out, faxdoc.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		pg, err := doc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePage(pg); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func relayFor(t *testing.T, sink *testutil.SMTPSink, st core.Store) *Relay {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sink.CAPEM)
	r, err := NewRelay(RelayConfig{Addr: sink.Addr, From: "fax@faxagent.test", Username: sink.User, Password: sink.Password,
		TLSConf: &tls.Config{RootCAs: pool}}, st, faxdoc.Limits{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// parts reads a mail: its subject, text and attachments by content type.
func parts(t *testing.T, data []byte) (subject, text string, att map[string][]byte) {
	t.Helper()
	mr, err := gomail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = mr.Header.Subject()
	att = map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *gomail.AttachmentHeader:
			ct, _, _ := h.ContentType()
			att[ct] = b
		case *gomail.InlineHeader:
			text += string(b)
		}
	}
	return subject, text, att
}

// TestRelayMailsReceivedFaxAndResult: a fax received for a user reaches the
// user's address through the relay (STARTTLS, AUTH PLAIN) with the fax as a
// PDF that poppler renders pixel for pixel like netpbm reads the stored
// TIFF; a result is mailed to a user who asked for results.
func TestRelayMailsReceivedFaxAndResult(t *testing.T) {
	testutil.NeedTool(t, "pdftoppm", "tifftopnm")
	st, alice := openStore(t)
	ctx := context.Background()
	st.CreateRoute(ctx, core.Route{UserID: alice.ID, Cond1: core.RouteCondition{Field: core.RoutePortNo, Value: "*"}, Active: true})
	st.SetUserNotify(ctx, alice.ID, core.UserNotify{EmailResults: true})
	tif := letterTIFF(t)
	f, _ := os.Open(tif)
	in, err := st.Receive(ctx, core.InboundFax{Key: "agent/1", Pages: 1, Body: f, Attempt: core.Transmission{AttemptFacts: agent.AttemptFacts{CallingNumber: "5550199", RemoteCSID: "REMOTE", PageCount: 1}}})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.Submit(ctx, core.Submission{OwnerID: alice.ID, Subject: "Invoice", Recipients: []core.Recipient{{Fax: "5550100"}},
		Documents: []core.DocumentInput{{Name: "doc.tif", Body: strings.NewReader("II*\x00 doc")}}})
	if err != nil {
		t.Fatal(err)
	}
	st.Cancel(ctx, m.ID)
	sink := testutil.NewSMTPSink(t)
	n, err := notify.New(notify.Options{Store: st, Secret: []byte("0123456789abcdef0123"), Mailer: relayFor(t, sink, st), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	mails := sink.Wait(t, 2, time.Minute)
	var fax, result *testutil.Mail
	for i := range mails {
		if bytes.Contains(mails[i].Data, []byte("application/pdf")) {
			fax = &mails[i]
		} else {
			result = &mails[i]
		}
	}
	if fax == nil || result == nil {
		t.Fatalf("mails: %d, a fax and a result wanted", len(mails))
	}
	for _, ml := range mails {
		if !ml.TLS || ml.User != sink.User || ml.From != "fax@faxagent.test" || len(ml.To) != 1 || ml.To[0] != "alice@example.test" {
			t.Fatalf("mail envelope %+v", ml)
		}
	}
	subject, text, att := parts(t, fax.Data)
	if !strings.Contains(subject, "Fax received from 5550199 (1 page)") || !strings.Contains(text, "REMOTE") || att["application/pdf"] == nil {
		t.Fatalf("fax mail: %q %q %d attachments", subject, text, len(att))
	}
	tiffData, err := os.ReadFile(tif)
	if err != nil {
		t.Fatal(err)
	}
	testutil.PDFEqualsTIFF(t, att["application/pdf"], tiffData)
	subject, text, att = parts(t, result.Data)
	if !strings.Contains(subject, "Fax to 5550100: Cancelled (Invoice)") || !strings.Contains(text, "5550100") || len(att) != 0 {
		t.Fatalf("result mail: %q %q", subject, text)
	}
	for _, id := range []int64{in.ID, m.ID} {
		ds, _ := st.Deliveries(ctx, id)
		if len(ds) != 1 || ds[0].Channel != core.ChannelEmail || ds[0].State != core.DeliveryDelivered {
			t.Fatalf("deliveries of %d: %+v", id, ds)
		}
	}
}

func TestRelayConfig(t *testing.T) {
	if _, err := NewRelay(RelayConfig{Addr: "127.0.0.1:25", From: "a@b", TLS: TLSNone, Username: "u", Password: "p"}, nil, faxdoc.Limits{}, nil); err == nil {
		t.Error("credentials without TLS accepted")
	}
	if _, err := NewRelay(RelayConfig{Addr: "127.0.0.1:25", From: "a@b", TLS: "maybe"}, nil, faxdoc.Limits{}, nil); err == nil {
		t.Error("unknown TLS mode accepted")
	}
	// A relay that refuses the credentials takes nothing.
	sink := testutil.NewSMTPSink(t)
	r := relayFor(t, sink, nil)
	r.cfg.Password = "wrong"
	if err := r.Send(context.Background(), "x@example.test", []byte("Subject: x\r\n\r\nx\r\n")); err == nil || !strings.Contains(err.Error(), sink.Addr) {
		t.Fatalf("bad credentials: %v", err)
	}
	r.cfg.Password = sink.Password
	if err := r.Send(context.Background(), "x@example.test", []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	if m := sink.Wait(t, 1, time.Minute); len(m) != 1 {
		t.Fatalf("sink got %d mails", len(m))
	}
}

type submitted struct {
	user    string
	numbers []string
	subject string
	files   []File
}

// gateway starts a gateway on 127.0.0.1 with a recording submitter.
func gateway(t *testing.T, st core.Store) (string, *[]submitted, *sync.Mutex) {
	t.Helper()
	var mu sync.Mutex
	var got []submitted
	g, err := NewGateway(GatewayConfig{Domain: "fax.test", AllowedSenders: []string{"@example.test"}, MaxMessageBytes: 1 << 20}, st,
		func(ctx context.Context, u core.User, numbers []string, subject string, files []File) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			if len(files) > 0 && strings.TrimSpace(string(files[0].Data)) == "refuse me" {
				return 0, core.ErrInvalid
			}
			got = append(got, submitted{u.Username, numbers, subject, files})
			return int64(len(got)), nil
		}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := netListen(t)
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln)
	t.Cleanup(func() { g.Close() })
	return ln.Addr().String(), &got, &mu
}

const pdfMail = "From: alice@example.test\r\nTo: 5550103@fax.test\r\nSubject: Contract\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlease sign.\r\n" +
	"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../contract.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"

// TestGatewayPolicy: the gateway takes mail for NUMBER@domain from an
// allowed sender who is a user (that user owns the fax), with the
// attachments (or else the text) as the documents, and refuses the rest
// with the right SMTP codes, submitting nothing.
func TestGatewayPolicy(t *testing.T) {
	st, _ := openStore(t)
	st.CreateUser(context.Background(), core.NewUser{Username: "mallory", Password: "mallory-password", Email: "mallory@evil.test"})
	addr, got, mu := gateway(t, st)
	cases := []struct {
		name, from string
		to         []string
		data       string
		code       int
	}{
		{"sender not allowed", "mallory@evil.test", []string{"5550103@fax.test"}, pdfMail, 550},
		{"allowed domain but no such user", "bob@example.test", []string{"5550103@fax.test"}, pdfMail, 550},
		{"other domain", "alice@example.test", []string{"5550103@elsewhere.test"}, pdfMail, 550},
		{"not a number", "alice@example.test", []string{"sales@fax.test"}, pdfMail, 550},
		{"From header differs", "alice@example.test", []string{"5550103@fax.test"}, strings.Replace(pdfMail, "From: alice@", "From: boss@", 1), 550},
		{"nothing to fax", "alice@example.test", []string{"5550103@fax.test"}, "From: alice@example.test\r\nSubject: empty\r\n\r\n \r\n", 554},
		{"intake refuses", "alice@example.test", []string{"5550103@fax.test"}, "From: alice@example.test\r\nSubject: x\r\n\r\nrefuse me", 554},
		{"too large", "alice@example.test", []string{"5550103@fax.test"}, "From: alice@example.test\r\n\r\n" + strings.Repeat("x", 2<<20), 552},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := sendPlain(addr, c.from, c.to, strings.NewReader(c.data))
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code == c.code {
				return
			}
			// A mail over the limit may also see its connection cut while
			// it is still being written.
			if c.code != 552 || err == nil || se != nil {
				t.Fatalf("got %v, want SMTP %d", err, c.code)
			}
		})
	}
	mu.Lock()
	if len(*got) != 0 {
		t.Fatalf("refused mail was submitted: %+v", *got)
	}
	mu.Unlock()
	if err := sendPlain(addr, "alice@example.test", []string{"5550103@fax.test", "+1-555-0104@FAX.TEST"}, strings.NewReader(pdfMail)); err != nil {
		t.Fatalf("good mail: %v", err)
	}
	if err := sendPlain(addr, "Alice@Example.test", []string{"5550105@fax.test"},
		strings.NewReader("From: alice@example.test\r\nSubject: note\r\n\r\nJust text.\r\n")); err != nil {
		t.Fatalf("text mail: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(*got) != 2 {
		t.Fatalf("submitted %+v", *got)
	}
	s := (*got)[0]
	if s.user != "alice" || len(s.numbers) != 2 || s.numbers[0] != "5550103" || s.numbers[1] != "+1-555-0104" || s.subject != "Contract" ||
		len(s.files) != 1 || s.files[0].Name != "contract.pdf" || string(s.files[0].Data) != "%PDF-1.4\n" {
		t.Fatalf("submission %+v", s)
	}
	if s := (*got)[1]; len(s.files) != 1 || s.files[0].Name != "message.txt" || !strings.Contains(string(s.files[0].Data), "Just text.") {
		t.Fatalf("text submission %+v", s)
	}
}

// sendPlain sends one mail without TLS (the gateway on loopback offers none).
func sendPlain(addr, from string, to []string, r io.Reader) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, to, r)
}

// TestGatewayRequiresTLS: with a certificate the gateway offers STARTTLS
// and refuses mail sent without it.
func TestGatewayRequiresTLS(t *testing.T) {
	st, _ := openStore(t)
	cert, caPEM := testutil.SelfSigned(t)
	var mu sync.Mutex
	n := 0
	g, err := NewGateway(GatewayConfig{Domain: "fax.test", AllowedSenders: []string{"@example.test"},
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, RequireTLS: true}, st,
		func(context.Context, core.User, []string, string, []File) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			n++
			return int64(n), nil
		}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewGateway(GatewayConfig{Domain: "fax.test", RequireTLS: true}, st, g.submit, nil); err == nil {
		t.Fatal("TLS required without a certificate")
	}
	ln, _ := netListen(t)
	go g.Serve(ln)
	defer g.Close()
	var se *smtp.SMTPError
	if err := sendPlain(ln.Addr().String(), "alice@example.test", []string{"5550103@fax.test"}, strings.NewReader(pdfMail)); !errors.As(err, &se) || se.Code != 530 {
		t.Fatalf("plain mail: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c, err := smtp.DialStartTLS(ln.Addr().String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("alice@example.test", []string{"5550103@fax.test"}, strings.NewReader(pdfMail)); err != nil {
		t.Fatalf("mail over STARTTLS: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 1 {
		t.Fatalf("%d submissions", n)
	}
}

// TestGatewayRelaysOnly: mail is taken only from the configured relays
// (loopback when none are), whatever sender it claims: the sender address
// is a claim anyone reaching the port could make. (Before, any client that
// could connect sent faxes as any user whose address it wrote.)
func TestGatewayRelaysOnly(t *testing.T) {
	st, _ := openStore(t)
	g, err := NewGateway(GatewayConfig{Domain: "fax.test", AllowedSenders: []string{"@example.test"},
		Relays: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, st,
		func(context.Context, core.User, []string, string, []File) (int64, error) { return 1, nil }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln)
	t.Cleanup(func() { g.Close() })
	send := func(local string) error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		conn, err := d.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := smtp.NewClient(conn)
		defer c.Close()
		return c.SendMail("alice@example.test", []string{"5550103@fax.test"}, strings.NewReader(pdfMail))
	}
	var se *smtp.SMTPError
	if err := send("127.0.0.2"); !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("from a client that is no relay: %v, want 550", err)
	}
	if err := send("127.0.0.1"); err != nil {
		t.Fatalf("from the relay: %v", err)
	}
	for _, c := range []struct {
		relays []netip.Prefix
		remote string
		want   bool
	}{
		{nil, "127.0.0.1:25", true}, {nil, "[::1]:25", true}, {nil, "192.0.2.7:25", false},
		{[]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "192.0.2.7:25", true},
		{[]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "127.0.0.1:25", false},
	} {
		if got := (&Gateway{cfg: GatewayConfig{Relays: c.relays}}).relay(c.remote); got != c.want {
			t.Errorf("relays %v, client %s: %v", c.relays, c.remote, got)
		}
	}
}
