package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/internal/testutil"
)

// consoleAdmin logs in to the console of s as admin and returns a function
// that POSTs JSON with the session's CSRF token.
func consoleAdmin(t *testing.T, s *server) func(path string, v any) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Post(s.url+"/console/login", "application/json", bytes.NewReader([]byte(`{"username":"admin","password":"e2e-admin-password"}`)))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ CSRF string }
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if resp.StatusCode != 200 || sess.CSRF == "" {
		t.Fatalf("console login: %d", resp.StatusCode)
	}
	return func(path string, v any) {
		t.Helper()
		b, _ := json.Marshal(v)
		req, _ := http.NewRequest("POST", s.url+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", sess.CSRF)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, body)
		}
	}
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestEmailToFaxAndBack: Debian's swaks mails a PDF to 5550103@fax.test at
// serve's e-mail gateway from a user's address; the fax goes out as that
// user's message and is delivered; the loopback copy it arrives as is
// routed to the user, whose mailbox (an SMTP sink behind STARTTLS and AUTH)
// gets it as a PDF that poppler renders pixel for pixel like netpbm reads
// the received TIFF.
func TestEmailToFaxAndBack(t *testing.T) {
	bin := faxagentBinary(t)
	swaks := testutil.NeedTool(t, "swaks", "pdftoppm", "tifftopnm")[0]
	sink := testutil.NewSMTPSink(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "relay-ca.pem")
	os.WriteFile(ca, sink.CAPEM, 0o600)
	gw := freeTCPAddr(t)
	cfgFile := filepath.Join(dir, "faxagent.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`notify:
  smtp: {addr: "%s", from: fax@faxagent.test, username: %s, password: %s, tls_ca: "%s"}
  email_gateway: {listen: "%s", domain: fax.test, allowed_senders: ["@example.test"]}
`, sink.Addr, sink.User, sink.Password, ca, gw)), 0o600)
	s := startServe(t, dir, []string{bin, "serve", "--config", cfgFile, "--data", filepath.Join(dir, "faxagent-data"), "--pacing", "none"})
	post := consoleAdmin(t, s)
	post("/console/api/users", map[string]any{"username": "alice", "password": "alice-password-1", "email": "alice@example.test"})
	post("/console/api/routes", map[string]any{"user": "alice", "field1": "FaxPortNo", "value1": "*", "priority": 10})

	letterPDF := filepath.Join(dir, "letter.pdf")
	if out, err := exec.Command(bin, "convert", "../../testdata/sample/letter.png", "-o", letterPDF).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v %s", err, out)
	}
	out, err := exec.Command(swaks, "--server", gw, "--from", "alice@example.test", "--to", "5550103@fax.test",
		"--header", "Subject: Letter by e-mail", "--attach-type", "application/pdf", "--attach", "@"+letterPDF).CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}

	// The fax goes out and is delivered.
	var sent httpapi.List
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s.get("/api/v1/messages?folder=sent", &sent)
		if sent.Total == 1 && sent.Messages[0].Status == "Completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mailed fax was not delivered: %+v", sent)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := sent.Messages[0]; m.Subject != "Letter by e-mail" || m.OwnerID == 0 {
		t.Fatalf("sent message %+v", m)
	}

	// Its received copy arrives in alice's mailbox as a PDF.
	mails := sink.Wait(t, 1, 2*time.Minute)
	if len(mails[0].To) != 1 || mails[0].To[0] != "alice@example.test" || !mails[0].TLS {
		t.Fatalf("mail envelope %+v", mails[0])
	}
	mr, err := gomail.CreateReader(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	var pdf []byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := p.Header.(*gomail.AttachmentHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "application/pdf" {
				pdf, _ = io.ReadAll(p.Body)
			}
		}
	}
	if pdf == nil {
		t.Fatalf("no PDF attachment in\n%s", mails[0].Data)
	}
	var inbox httpapi.List
	s.get("/api/v1/messages?folder=inbox", &inbox)
	if inbox.Total != 1 {
		t.Fatalf("inbox %+v", inbox)
	}
	var tiff []byte
	s.get(fmt.Sprintf("/api/v1/messages/%d/document?format=tiff", inbox.Messages[0].ID), &tiff)
	testutil.PDFEqualsTIFF(t, pdf, tiff)
	s.stop()
}
