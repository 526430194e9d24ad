package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
)

// soapE2ENode is any XML element, for reading SOAP answers and the
// MessageDetails documents inside them.
type soapE2ENode struct {
	XMLName xml.Name
	Text    string        `xml:",chardata"`
	Kids    []soapE2ENode `xml:",any"`
}

// find follows a path of element names (local names) below n.
func (n *soapE2ENode) find(path ...string) *soapE2ENode {
	cur := n
	for _, p := range path {
		var next *soapE2ENode
		for i := range cur.Kids {
			if cur.Kids[i].XMLName.Local == p {
				next = &cur.Kids[i]
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// soapE2EAnswer is the response wrapper of one operation.
type soapE2EAnswer struct {
	t      *testing.T
	op     string
	body   soapE2ENode
	header *soapE2ENode // soap:Header, if any
}

// result is the text of <opResult>.
func (a *soapE2EAnswer) result() string {
	a.t.Helper()
	r := a.body.find(a.op + "Result")
	if r == nil {
		a.t.Fatalf("%s: no %sResult in %+v", a.op, a.op, a.body)
	}
	return r.Text
}

// strings is an ArrayOfString result.
func (a *soapE2EAnswer) strings() []string {
	a.t.Helper()
	var out []string
	if r := a.body.find(a.op + "Result"); r != nil {
		for _, k := range r.Kids {
			out = append(out, k.Text)
		}
	}
	return out
}

// output is a download's file.
func (a *soapE2EAnswer) output() []byte {
	a.t.Helper()
	o := a.body.find("output")
	if o == nil {
		a.t.Fatalf("%s: no output (result %q)", a.op, a.result())
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(o.Text))
	if err != nil {
		a.t.Fatalf("%s: output: %v", a.op, err)
	}
	return b
}

// soapE2ECall posts op as a SOAP 1.1 .NET client does and parses the
// answer, failing on a Fault.
func soapE2ECall(t *testing.T, url, op, inner string) *soapE2EAnswer {
	t.Helper()
	status, raw := soapE2EPost(t, url, op, inner)
	var env soapE2ENode
	if err := xml.Unmarshal(raw, &env); err != nil || status != 200 {
		t.Fatalf("%s: %d %v\n%.2000s", op, status, err, raw)
	}
	w := env.find("Body", op+"Response")
	if w == nil {
		t.Fatalf("%s: no %sResponse:\n%.2000s", op, op, raw)
	}
	return &soapE2EAnswer{t: t, op: op, body: *w, header: env.find("Header")}
}

// soapE2EPost posts op as a SOAP 1.1 .NET client does and returns the
// HTTP status and the answer as it came.
func soapE2EPost(t *testing.T, url, op, inner string) (int, []byte) {
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
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// soapE2ESendXML is a SendCompleteMessage body for one TIFF to one number.
func soapE2ESendXML(userID, subject, to string, doc []byte) string {
	return `<userID>` + userID + `</userID><senderName>E2E</senderName><senderCompName>Faxagent</senderCompName>` +
		`<subject>` + subject + `</subject><note /><billingCode>B-1</billingCode><scheduleDate /><priority>70</priority>` +
		`<isOnHold>false</isOnHold><mss>false</mss><msf>false</msf>` +
		`<trackLabel><string>PO</string></trackLabel><trackValue><string>42</string></trackValue>` +
		`<recpName><string>Loop</string></recpName><recpCompName><string>Loop Co</string></recpCompName>` +
		`<recpAddress><string>` + to + `</string></recpAddress><recpRawFax><boolean>false</boolean></recpRawFax>` +
		`<recpNotifyAddr><string /></recpNotifyAddr><recpIsRRFOn><boolean>false</boolean></recpIsRRFOn><recpIsRRSOn><boolean>false</boolean></recpIsRRSOn>` +
		`<documentName><string>three.tif</string></documentName><documentPath><string /></documentPath>` +
		`<documentBytes><anyType xsi:type="xsd:base64Binary">` + base64.StdEncoding.EncodeToString(doc) + `</anyType></documentBytes>` +
		`<documentIsMerge><boolean>false</boolean></documentIsMerge>`
}

// soapE2EWaitStatus polls GetMessageStatus until the message is
// Completed or Failed.
func soapE2EWaitStatus(t *testing.T, url, msg string) string {
	t.Helper()
	status := ""
	for i := 0; i < 600; i++ {
		status = soapE2ECall(t, url, "GetMessageStatus", `<msgID>`+msg+`</msgID>`).result()
		if status == "Completed" || status == "Failed" {
			return status
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("message %s still %q", msg, status)
	return ""
}

// soapE2ETIFFPages decodes every page of a TIFF with imaging/tiff.
func soapE2ETIFFPages(t *testing.T, b []byte) []*imaging.Page {
	t.Helper()
	r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a TIFF: %v", err)
	}
	var pages []*imaging.Page
	for i := range r.NumPages() {
		pr, err := r.Page(i)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		info := pr.Info()
		if !info.Bilevel {
			t.Fatalf("page %d is not bilevel: %+v", i+1, info)
		}
		p := imaging.NewPage(info.Width, info.Height, info.Resolution)
		for y := range info.Height {
			if err := pr.ReadRow(p.Row(y)); err != nil && !errors.Is(err, imaging.ErrEndOfPage) && !errors.Is(err, io.EOF) {
				t.Fatalf("page %d row %d: %v", i+1, y, err)
			}
		}
		pr.Close()
		pages = append(pages, p)
	}
	return pages
}

// soapE2EPDFPages rasterises each page of a PDF with poppler's pdftoppm
// -mono at the fax resolution of the matching reference page, where one
// image pixel is one output pixel.
func soapE2EPDFPages(t *testing.T, b []byte, ref []*imaging.Page) []*imaging.Page {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", b[:min(len(b), 16)])
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var pages []*imaging.Page
	for i, rp := range ref {
		x, y := rp.Resolution.DPI()
		n, prefix := strconv.Itoa(i+1), filepath.Join(dir, fmt.Sprintf("p%d", i+1))
		if out, err := exec.Command("pdftoppm", "-f", n, "-l", n, "-singlefile", "-mono", "-rx", fmt.Sprint(x), "-ry", fmt.Sprint(y),
			path, prefix).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm page %s: %v\n%s", n, err, out)
		}
		f, err := os.Open(prefix + ".pbm")
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(f)
		var w, h int
		if _, err := fmt.Fscanf(br, "P4\n%d %d\n", &w, &h); err != nil {
			t.Fatalf("page %s: PBM header: %v", n, err)
		}
		p := imaging.NewPage(w, h, rp.Resolution)
		if _, err := io.ReadFull(br, p.Pix); err != nil {
			t.Fatalf("page %s: PBM data: %v", n, err)
		}
		f.Close()
		pages = append(pages, p)
	}
	return pages
}

// soapE2ESamePages fails unless got and want are the same pages, pixel
// for pixel.
func soapE2ESamePages(t *testing.T, what string, got, want []*imaging.Page) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d pages, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Width != w.Width || g.Height != w.Height {
			t.Fatalf("%s page %d: %dx%d, want %dx%d", what, i+1, g.Width, g.Height, w.Width, w.Height)
		}
		for y := range w.Height {
			if !bytes.Equal(g.Row(y), w.Row(y)) {
				t.Fatalf("%s page %d row %d differs", what, i+1, y)
			}
		}
	}
}

// TestSOAPServeEndToEnd runs a FaxCore client's whole round against a
// real serve on the loopback network, in raw SOAP only:
//
//   - SendCompleteMessage to a loopback number that answers; once
//     GetMessageStatus says Completed, GetMessageDetails1 and 2 show the
//     agent's real attempt (port M0,x, speed, pages, status), field for
//     field the attempt record the HTTP API shows.
//   - An administrator creates a user (CreateNewUser1) and an inbound
//     route on RoutingDigits (the last four digits of the called loopback
//     number; the loopback driver reports the whole number as the routing
//     information, and a rule on its last digits matches it) to
//     that user; a fax to
//     that number lands in the user's inbox (GetMessageList8), not the
//     fax of the first part, and DownloadMessageByte1 as TIF and as PDF
//     gives the sent pages pixel for pixel (imaging/tiff; pdftoppm -mono
//     at the fax resolution).
func TestSOAPServeEndToEnd(t *testing.T) {
	testutil.NeedTool(t, "pdftoppm")
	bin := faxagentBinary(t)
	dir := t.TempDir()
	// No header line on the pages, so what arrives is what was sent.
	conf := filepath.Join(dir, "faxagent.yaml")
	if err := os.WriteFile(conf, []byte("agent:\n  header: \"-\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, []string{bin, "serve", "--config", conf, "--pacing", "none"})
	url := s.url + "/webservices/wfapi.asmx"
	admin := soapE2ECall(t, url, "AuthenticateUser", `<userName>admin</userName><password>e2e-admin-password</password>`).result()
	if n, err := strconv.ParseInt(admin, 10, 64); err != nil || n <= 1 {
		t.Fatalf("AuthenticateUser: %q", admin)
	}
	doc, err := os.ReadFile("../../core/soap/testdata/three.tif")
	if err != nil {
		t.Fatal(err)
	}
	sent := soapE2ETIFFPages(t, doc)

	// ServerStatus: the guide's OK, and serve's real figures beside it
	// (its agent beats every 10 s; its 4 loopback ports are licensed).
	figures := func() map[string]string {
		a := soapE2ECall(t, url, "ServerStatus", ``)
		if r := a.result(); r != "OK" {
			t.Fatalf("ServerStatus: %q", r)
		}
		f := map[string]string{}
		if a.header != nil {
			if sf := a.header.find("ServerFigures"); sf != nil && sf.XMLName.Space == "urn:faxagent:wfapi:status" {
				for _, k := range sf.Kids {
					f[k.XMLName.Local] = k.Text
				}
			}
		}
		return f
	}
	f := figures()
	for i := 0; i < 150 && f["Agents"] != "1"; i++ {
		time.Sleep(100 * time.Millisecond)
		f = figures()
	}
	for k, v := range map[string]string{"Agents": "1", "AgentsKnown": "1", "Ports": "4", "PortsLicensed": "4", "Queued": "0", "Held": "0"} {
		if f[k] != v {
			t.Errorf("ServerStatus figures %s = %q, want %q (all: %v)", k, f[k], v, f)
		}
	}

	// (a) Outbound: the attempt in GetMessageDetails is the agent's.
	// The loopback driver reports the whole called number as the routing
	// digits; serve hands it to the core as the attempt's RoutingInfo, and
	// a RoutingDigits rule on its last four digits routes it.
	const unrouted, routed, digits = "5550103", "5550104", "0104"
	msg := soapE2ECall(t, url, "SendCompleteMessage", soapE2ESendXML(admin, "SOAP e2e out", unrouted, doc)).result()
	if n, err := strconv.ParseInt(msg, 10, 64); err != nil || n <= 0 {
		t.Fatalf("SendCompleteMessage: %q", msg)
	}
	if st := soapE2EWaitStatus(t, url, msg); st != "Completed" {
		t.Fatalf("GetMessageStatus: %q", st)
	}
	var m httpapi.Message
	s.get("/api/v1/messages/"+msg, &m)
	if len(m.Jobs) != 1 || len(m.Jobs[0].Attempts) != 1 {
		t.Fatalf("message %s: %+v", msg, m)
	}
	at := m.Jobs[0].Attempts[0]
	if !regexp.MustCompile(`^M0,\d+$`).MatchString(at.BoardID) || at.TransmitSpeed < 2400 || at.PageSent != len(sent) ||
		at.PageCount != len(sent) || at.TransmitStatusDef != "Completed" || at.CalledNumber != unrouted {
		t.Fatalf("HTTP attempt record: %+v", at)
	}
	wantFields := map[string]string{
		"CalledNumber": at.CalledNumber, "CallingNumber": at.CallingNumber, "RemoteCSID": at.RemoteCSID,
		"FaxProtocol": at.FaxProtocol, "TransmitSpeed": strconv.Itoa(at.TransmitSpeed), "CompressionMode": at.CompressionMode,
		"FaxResolution": at.FaxResolution, "TransmitStatus": strconv.Itoa(at.TransmitStatus), "TransmitStatusDef": at.TransmitStatusDef,
		"AttemptNo": strconv.Itoa(at.AttemptNo), "MaxAttemptNo": strconv.Itoa(at.MaxAttemptNo), "PageCount": strconv.Itoa(at.PageCount),
		"StartPageNo": strconv.Itoa(at.StartPageNo), "PageSent": strconv.Itoa(at.PageSent), "FaxAgentID": at.FaxAgentID,
		"PortNo": strconv.Itoa(at.PortNo), "BoardID": at.BoardID, "ServerIP": at.ServerIP, "ErrorID": strconv.Itoa(at.ErrorID),
		"ErrorInfo": at.ErrorInfo,
	}
	for _, call := range []struct{ op, body, root string }{
		{"GetMessageDetails1", `<msgID>` + msg + `</msgID>`, "MessageDetails"},
		{"GetMessageDetails2", `<msgID>` + msg + `</msgID><userID>` + admin + `</userID>`, "MessageDetails2"},
	} {
		var d soapE2ENode
		text := soapE2ECall(t, url, call.op, call.body).result()
		if err := xml.Unmarshal([]byte(text), &d); err != nil || d.XMLName.Local != call.root {
			t.Fatalf("%s: %v\n%s", call.op, err, text)
		}
		if st := d.find("Status"); st == nil || st.Text != "Completed" {
			t.Errorf("%s: Status %+v", call.op, st)
		}
		td := d.find("Transactions", "TransactionDetails", "Attempts", "TransmissionDetails")
		if td == nil {
			t.Fatalf("%s: no TransmissionDetails:\n%s", call.op, text)
		}
		for k, v := range wantFields {
			if f := td.find(k); f == nil || f.Text != v {
				t.Errorf("%s: TransmissionDetails/%s = %+v, want %q", call.op, k, f, v)
			}
		}
	}

	// (b) Inbound routing to a user made over SOAP.
	uid := soapE2ECall(t, url, "CreateNewUser1", `<userID>`+admin+`</userID><domainName /><userName>route-e2e</userName>`+
		`<password>route-e2e-pw-1</password><role>StandardUser</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive>`+
		`<displayName>Routed User</displayName><firstName>Routed</firstName><middleName /><lastName>User</lastName><companyName>Co</companyName>`+
		`<preferAddrType>Fax</preferAddrType><email>route@example.com</email><fax>`+routed+`</fax><rawFax /><desc />`).result()
	if n, err := strconv.ParseInt(uid, 10, 64); err != nil || n <= 0 {
		t.Fatalf("CreateNewUser1: %q", uid)
	}
	if got := soapE2ECall(t, url, "AuthenticateUser", `<userName>route-e2e</userName><password>route-e2e-pw-1</password>`).result(); got != uid {
		t.Fatalf("AuthenticateUser of the new user: %q, want %q", got, uid)
	}
	if r := soapE2ECall(t, url, "CreateInboundRoute", `<userID>`+admin+`</userID><forwardedUserName>route-e2e</forwardedUserName>`+
		`<condition1>RoutingDigits</condition1><conditionExp1>`+digits+`</conditionExp1><isAndOperator>false</isAndOperator>`+
		`<condition2>None</condition2><conditionExp2 /><isActive>true</isActive><priority>100</priority>`).result(); r != "" {
		t.Fatalf("CreateInboundRoute: %q", r)
	}
	out := soapE2ECall(t, url, "SendCompleteMessage", soapE2ESendXML(admin, "SOAP e2e routed", routed, doc)).result()
	if st := soapE2EWaitStatus(t, url, out); st != "Completed" {
		t.Fatalf("routed send: %q", st)
	}
	list := `<userID>` + uid + `</userID><folderName>inbox</folderName><sortDescending>true</sortDescending><maxResults>10</maxResults>`
	var inbox []string
	for i := 0; i < 300 && len(inbox) == 0; i++ {
		if inbox = soapE2ECall(t, url, "GetMessageList8", list).strings(); len(inbox) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(inbox) != 1 {
		var all httpapi.List
		s.get("/api/v1/messages?folder=inbox", &all)
		t.Fatalf("routed user's inbox: %q; inbox messages: %+v", inbox, all)
	}
	in := inbox[0]
	var im httpapi.Message
	s.get("/api/v1/messages/"+in, &im)
	if im.Folder != "inbox" || len(im.Received) != 1 || im.Received[0].CalledNumber != routed ||
		im.Received[0].RoutingInfo != routed || im.Received[0].PageCount != len(sent) {
		t.Fatalf("routed message %s: %+v", in, im)
	}
	// The user owns it: an administrator's GetMessageDetails2 is refused.
	if r := soapE2ECall(t, url, "GetMessageDetails2", `<msgID>`+in+`</msgID><userID>`+admin+`</userID>`).result(); r != "NOT_MESSAGE_OWNER" {
		t.Errorf("GetMessageDetails2 by admin: %.200q", r)
	}
	d := soapE2ECall(t, url, "DownloadMessageByte1", `<messageID>`+in+`</messageID><deliveryNum>1</deliveryNum>`+
		`<downloadType>TIF</downloadType><startPageIndex>0</startPageIndex>`)
	if r := d.result(); r != "" {
		t.Fatalf("DownloadMessageByte1 TIF: %q", r)
	}
	tifPages := soapE2ETIFFPages(t, d.output())
	soapE2ESamePages(t, "TIF download", tifPages, sent)
	d = soapE2ECall(t, url, "DownloadMessageByte1", `<messageID>`+in+`</messageID><deliveryNum>1</deliveryNum>`+
		`<downloadType>PDF</downloadType><startPageIndex>0</startPageIndex>`)
	if r := d.result(); r != "" {
		t.Fatalf("DownloadMessageByte1 PDF: %q", r)
	}
	soapE2ESamePages(t, "PDF download", soapE2EPDFPages(t, d.output(), sent), sent)
	s.stop()
}
