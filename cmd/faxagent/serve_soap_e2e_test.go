package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
)

// soapCall posts a raw SOAP 1.1 request for op to url and returns the
// text of its <opResult> element.
func soapCall(t *testing.T, url, op, inner string) string {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><` +
		op + ` xmlns="http://faxcoreserver/services/">` + inner + `</` + op + `></soap:Body></soap:Envelope>`
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"http://faxcoreserver/services/`+op+`"`)
	req.SetBasicAuth("admin", "e2e-admin-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`<` + op + `Result>([^<]*)</` + op + `Result>`).FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("%s: %s\n%s", op, resp.Status, b)
	}
	return string(m[1])
}

// TestSOAPServe drives the FaxCore web service of a running serve the way
// a FaxCore client does: the WSDL (with the configured public address),
// AuthenticateUser and BasicSendMessageWithBytes on the path in FaxCore's
// letter case, then GetMessageStatus until the fax to a loopback number
// is delivered; the HTTP API shows the same message sent.
func TestSOAPServe(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	const public = "http://fax.example.com/WebServices/wfApi.asmx"
	s := startServe(t, dir, []string{bin, "serve", "--pacing", "none", "--public-url", public})

	resp, err := http.Get(s.url + "/webservices/WFAPI.asmx?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	wsdl, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(wsdl), `<soap:address location="`+public+`"`) ||
		!strings.Contains(string(wsdl), `name="BasicSendMessageWithBytes"`) {
		t.Fatalf("WSDL: %s\n%.400s", resp.Status, wsdl)
	}

	url := s.url + "/WebServices/wfApi.asmx"
	// serve requires credentials: without them, 401 and a Basic challenge.
	anon, err := http.Post(url, "text/xml; charset=utf-8", strings.NewReader(`<?xml version="1.0"?><soap:Envelope `+
		`xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ServerStatus xmlns="http://faxcoreserver/services/"/>`+
		`</soap:Body></soap:Envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	anon.Body.Close()
	if anon.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(anon.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("ServerStatus without credentials: %s, WWW-Authenticate %q", anon.Status, anon.Header.Get("WWW-Authenticate"))
	}
	uid := soapCall(t, url, "AuthenticateUser", `<userName>admin</userName><password>e2e-admin-password</password>`)
	if uid == "" || uid == "0" || strings.HasPrefix(uid, "-") {
		t.Fatalf("AuthenticateUser: %q", uid)
	}
	if bad := soapCall(t, url, "AuthenticateUser", `<userName>admin</userName><password>wrong</password>`); bad == uid {
		t.Fatalf("a wrong password authenticated: %q", bad)
	}
	png, err := os.ReadFile("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	const to = "5550103"
	msg := soapCall(t, url, "BasicSendMessageWithBytes", fmt.Sprintf(`<userID>%s</userID><senderName>E2E</senderName>`+
		`<subject>SOAP e2e</subject><recpName><string>Loop</string></recpName><recpAddress><string>%s</string></recpAddress>`+
		`<recpRawFax><boolean>false</boolean></recpRawFax><documentName><string>letter.png</string></documentName>`+
		`<documentBytes><anyType xsi:type="xsd:base64Binary">%s</anyType></documentBytes>`+
		`<documentIsMerge><boolean>false</boolean></documentIsMerge>`, uid, to, base64.StdEncoding.EncodeToString(png)))
	var id int64
	if _, err := fmt.Sscan(msg, &id); err != nil || id <= 0 {
		t.Fatalf("BasicSendMessageWithBytes: %q", msg)
	}

	status := ""
	for i := 0; i < 300 && status != "Completed" && status != "Failed"; i++ {
		status = soapCall(t, url, "GetMessageStatus", fmt.Sprintf(`<msgID>%d</msgID>`, id))
		if status != "Completed" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if status != "Completed" {
		t.Fatalf("GetMessageStatus: %q", status)
	}
	var m httpapi.Message
	s.get(fmt.Sprintf("/api/v1/messages/%d", id), &m)
	if m.Folder != "sent" || m.Status != "Completed" || len(m.Jobs) != 1 || m.Jobs[0].State != "done" ||
		len(m.Jobs[0].Attempts) != 1 || m.Jobs[0].Attempts[0].CalledNumber != to || m.Jobs[0].Attempts[0].PageSent != 1 {
		t.Fatalf("message %d: %+v", id, m)
	}
	// Other paths still reach the HTTP API, not the SOAP handler.
	resp, err = http.Get(s.url + "/webservices/other.asmx")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET another path: %s", resp.Status)
	}
	s.stop()
}

// TestTestbenchBtsim starts `faxagent testbench btsim` on a socket in a
// temporary directory, waits for it to list its channels and take a
// connection, and stops it with SIGINT; -h prints the simulator's flags.
func TestTestbenchBtsim(t *testing.T) {
	bin := faxagentBinary(t)
	out, err := exec.Command(bin, "testbench", "btsim", "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-listen") || !strings.Contains(string(out), "-channels") {
		t.Fatalf("btsim -h:\n%s", out)
	}
	if code, stdout, _ := runCLI(t, "--help"); code != 0 || !strings.Contains(stdout, "testbench btsim") {
		t.Fatalf("usage does not list testbench btsim:\n%s", stdout)
	}

	sock := filepath.Join(t.TempDir(), "bt.sock")
	cmd := exec.Command(bin, "testbench", "btsim", "-listen", "unix:"+sock, "-boards", "1", "-channels", "2")
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	var listed []string
	deadline := time.After(30 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("btsim exited early:\n%s\n%s", strings.Join(listed, "\n"), stderr.String())
			}
			listed = append(listed, l)
			if _, err := os.Stat(sock); err == nil && len(listed) >= 2 {
				break wait
			}
		case <-deadline:
			t.Fatalf("btsim did not come up:\n%s\n%s", strings.Join(listed, "\n"), stderr.String())
		}
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("connecting to the simulator: %v", err)
	}
	c.Close()
	cmd.Process.Signal(syscall.SIGINT)
	for range lines {
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("btsim after SIGINT: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("btsim did not stop after SIGINT")
	}
}

// TestSOAPServeTrustedNetworks: a serve with soap.trusted_networks
// [127.0.0.2/32] answers a request without credentials from 127.0.0.2
// and refuses the same request from 127.0.0.1 (real loopback sockets).
func TestSOAPServeTrustedNetworks(t *testing.T) {
	bin := faxagentBinary(t)
	dir := t.TempDir()
	cfg := writeConfig(t, "soap:\n  trusted_networks: [127.0.0.2/32]\n")
	s := startServe(t, dir, []string{bin, "serve", "--pacing", "none", "--config", cfg})
	from := func(local string) int {
		hc := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).DialContext}}
		body := `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
			`<GetUserListWithDomainName xmlns="http://faxcoreserver/services/"><adminID>1000</adminID><domainName>default</domainName>` +
			`</GetUserListWithDomainName></soap:Body></soap:Envelope>`
		resp, err := hc.Post(strings.Replace(s.url, "localhost", "127.0.0.1", 1)+"/webservices/wfapi.asmx", "text/xml; charset=utf-8", strings.NewReader(body))
		if err != nil {
			t.Fatalf("from %s: %v", local, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && !strings.Contains(string(b), "1000||admin") {
			t.Fatalf("from %s: %s", local, b)
		}
		return resp.StatusCode
	}
	if got := from("127.0.0.2"); got != 200 {
		t.Errorf("from the trusted 127.0.0.2: HTTP %d", got)
	}
	if got := from("127.0.0.1"); got != http.StatusUnauthorized {
		t.Errorf("from 127.0.0.1: HTTP %d, want 401", got)
	}
}
