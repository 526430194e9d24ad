package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestWSDLServed(t *testing.T) {
	e := newEnv(t, SOAP11)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	for _, q := range []string{"WSDL", "wsdl", "Wsdl", "a=1&wSdL"} {
		// A spoofed Host header does not choose the address that clients
		// reading the WSDL post to: it is the server's own.
		r, err := http.NewRequest(http.MethodGet, srv.URL+Path+"?"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Host = "evil.example:666"
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
			t.Fatalf("?%s: HTTP %d %s", q, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		body := string(b)
		if strings.Count(body, `location="`+srv.URL+`/webservices/wfapi.asmx"`) != 2 || strings.Contains(body, "evil") || strings.Contains(body, "localhost") {
			t.Errorf("?%s: WSDL does not carry our address %s:\n%s", q, srv.URL, regexp.MustCompile(`location="[^"]*"`).FindAllString(body, -1))
		}
		ct, err := parseContract(b)
		if err != nil {
			t.Fatalf("?%s: served WSDL: %v", q, err)
		}
		if len(ct.Ops) != 58 {
			t.Errorf("served WSDL has %d operations", len(ct.Ops))
		}
	}
	// Without a connection to take the address from, the WSDL keeps its
	// localhost address rather than a guess from the Host header.
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://evil.example"+Path+"?wsdl", nil))
	if strings.Contains(w.Body.String(), "evil") || !strings.Contains(w.Body.String(), `location="http://localhost/webservices/wfapi.asmx"`) {
		t.Errorf("WSDL without a connection names %s", regexp.MustCompile(`location="[^"]*"`).FindAllString(w.Body.String(), -1))
	}
	h, err := NewHandler(Config{Store: e.store, PublicURL: "https://fax.example.org/webservices/wfapi.asmx?x=<&>"})
	if err != nil {
		t.Fatal(err)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, Path+"?wsdl", nil))
	if !strings.Contains(w.Body.String(), `location="https://fax.example.org/webservices/wfapi.asmx?x=&lt;&amp;&gt;"`) {
		t.Errorf("PublicURL not substituted (escaped)")
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPut, Path, nil))
	want(t, "PUT status", w.Code, http.StatusMethodNotAllowed)
}

// TestEveryWSDLOperationHasHandler parses the WSDL (both bindings) and
// fails on any operation without a handler, or a handler for an operation
// the WSDL does not have.
func TestEveryWSDLOperationHasHandler(t *testing.T) {
	src := wsdlText
	// The reference copy, when present, must be what we embed.
	if ref, err := os.ReadFile("../../../shared/reference/faxcore-wfapi.wsdl"); err == nil && !bytes.Equal(ref, src) {
		t.Errorf("embedded wfapi.wsdl differs from the reference WSDL")
	}
	ct, err := parseContract(src)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "operations", len(ct.Ops), 58)
	// The SOAP 1.2 binding lists the same actions.
	acts := regexp.MustCompile(`<soap12:operation soapAction="http://faxcoreserver/services/([^"]+)"`).FindAllSubmatch(src, -1)
	want(t, "soap12 operations", len(acts), 58)
	e := newEnv(t, SOAP11)
	seen := map[string]bool{}
	for i, op := range ct.Ops {
		seen[op] = true
		if e.h.ops[op] == nil {
			t.Errorf("operation %s has no handler", op)
		}
		if string(acts[i][1]) != op {
			t.Errorf("soap12 binding operation %d is %s, soap binding %s", i, acts[i][1], op)
		}
	}
	for op := range e.h.ops {
		if !seen[op] {
			t.Errorf("handler %s is not a WSDL operation", op)
		}
	}
}

// TestGolden compares whole responses byte for byte.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		ver    Version
		op     string
		body   func(e *env) string
		status int
		want   func(e *env) string
	}{
		{SOAP11, "AuthenticateUser", func(e *env) string {
			return `<userName>bob</userName><password>bob-password</password>`
		}, 200, func(e *env) string {
			return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><AuthenticateUserResponse xmlns="http://faxcoreserver/services/"><AuthenticateUserResult>` + id(e.bob) + `</AuthenticateUserResult></AuthenticateUserResponse></soap:Body></soap:Envelope>`
		}},
		{SOAP12, "CreateInboundRoute", func(e *env) string {
			return `<userID>` + id(e.admin) + `</userID><forwardedUserName>bob</forwardedUserName><condition1>RemoteCSID</condition1><conditionExp1>ROBOFAX</conditionExp1><isAndOperator>false</isAndOperator><condition2>None</condition2><isActive>true</isActive><priority>9</priority>`
		}, 200, func(e *env) string {
			return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><CreateInboundRouteResponse xmlns="http://faxcoreserver/services/"><CreateInboundRouteResult /></CreateInboundRouteResponse></soap:Body></soap:Envelope>`
		}},
		{SOAP11, "GetMsgFolders", func(e *env) string { return `<userID>` + id(e.alice) + `</userID>` }, 200, func(e *env) string {
			return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><GetMsgFoldersResponse xmlns="http://faxcoreserver/services/"><GetMsgFoldersResult><string>inbox</string><string>outbox</string><string>sent</string><string>cancelled</string><string>hold</string><string>trash</string><string>unrouted</string><string>Processed</string></GetMsgFoldersResult></GetMsgFoldersResponse></soap:Body></soap:Envelope>`
		}},
		{SOAP11, "ActivateUser", func(e *env) string { return `<adminID>x</adminID><userID>1</userID>` }, 500, func(e *env) string {
			return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>ActivateUser: adminID: "x" is not an xsd:long</faultstring><detail /></soap:Fault></soap:Body></soap:Envelope>`
		}},
		{SOAP12, "ActivateUser", func(e *env) string { return `<adminID>x</adminID><userID>1</userID>` }, 400, func(e *env) string {
			return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">ActivateUser: adminID: "x" is not an xsd:long</soap:Text></soap:Reason><soap:Detail /></soap:Fault></soap:Body></soap:Envelope>`
		}},
	} {
		t.Run(fmt.Sprintf("SOAP%d/%s", tc.ver, tc.op), func(t *testing.T) {
			e := newEnv(t, tc.ver)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, newRequest(tc.ver, tc.op, envelope(tc.ver, tc.op, tc.body(e))))
			want(t, "status", w.Code, tc.status)
			want(t, "content type", w.Header().Get("Content-Type"), contentType(tc.ver))
			if got := w.Body.String(); got != tc.want(e) {
				t.Errorf("response:\n got %s\nwant %s", got, tc.want(e))
			}
		})
	}
}

// TestGuideStyleRequest posts a request as the guide's samples write them
// (prefixed elements, a Header, comments, parameters out of order).
func TestGuideStyleRequest(t *testing.T) {
	e := newEnv(t, SOAP11)
	body := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
xmlns:ser="http://faxcoreserver/services/">
  <soapenv:Header/>
  <soapenv:Body>
    <ser:ActivateUsers>
      <ser:userIDList>
        <!--One or more repetitions-->
        <ser:long>` + id(e.carol) + `</ser:long>
      </ser:userIDList>
      <ser:adminID> ` + id(e.admin) + ` </ser:adminID>
    </ser:ActivateUsers>
  </soapenv:Body>
</soapenv:Envelope>`
	for _, action := range []string{"http://faxcoreserver/services/ActivateUsers", ""} {
		if err := e.store.SetUserActive(context.Background(), e.carol, false); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
		r.Header.Set("Content-Type", "text/xml;charset=UTF-8")
		r.SetBasicAuth("admin", adminPassword)
		if action != "" { // scripts often leave SOAPAction out
			r.Header.Set("SOAPAction", action)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		want(t, "result", parseResponse(t, SOAP11, "ActivateUsers", w).result(), "OK")
		u, _ := e.store.User(context.Background(), e.carol)
		want(t, "active", u.Active, true)
	}
}

// hostile are requests that must be answered with a Fault and change
// nothing. %s in a body is replaced with a valid SendCompleteMessage
// parameter list for alice.
var hostile = []struct {
	name, contentType, action, body string
	version                         Version
}{
	{name: "empty body"},
	{name: "not xml", body: "hello"},
	{name: "wrong root", body: `<Envelope><Body/></Envelope>`},
	{name: "unknown envelope namespace", body: `<e:Envelope xmlns:e="urn:x"><e:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></e:Body></e:Envelope>`},
	{name: "no body", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/></soap:Envelope>`},
	{name: "empty Body", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`},
	{name: "truncated", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s`},
	{name: "two operations", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "billion laughs", body: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/"><subject>&lol2;</subject>%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "external entity", body: `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/"><subject>&xxe;</subject>%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "undeclared entity", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/"><subject>&xxe;</subject>%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "processing instruction", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><?php evil ?><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "deep nesting", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s<note>` + strings.Repeat("<a>", 5000) + strings.Repeat("</a>", 5000) + `</note></SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "too many elements", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s<trackLabel>` + strings.Repeat("<string/>", 250000) + `</trackLabel></SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "wrong namespace", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://tempuri.org/">%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "unknown operation", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><DropTables xmlns="http://faxcoreserver/services/">%s</DropTables></soap:Body></soap:Envelope>`},
	{name: "SOAPAction mismatch", action: `"http://faxcoreserver/services/ServerStatus"`, body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "1.1 envelope as 1.2", contentType: "application/soap+xml", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "1.2 envelope as 1.1", body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></s:Body></s:Envelope>`, version: SOAP12},
	{name: "1.2 action mismatch", contentType: `application/soap+xml; action="http://faxcoreserver/services/ServerStatus"`, body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></s:Body></s:Envelope>`, version: SOAP12},
	{name: "bad boolean", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s<isOnHold>>false</isOnHold></SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "bad base64", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/"><documentBytes><anyType>!!!</anyType></documentBytes>%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "anyType string", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/"><documentBytes><anyType xsi:type="xsd:string">QUJD</anyType></documentBytes>%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "array item name", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/"><recpName><int>1</int></recpName>%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "priority out of range", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/"><priority>99999999999</priority>%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "unknown encoding", body: `<?xml version="1.0" encoding="x-mac-klingon"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></soap:Body></soap:Envelope>`},
	{name: "text after envelope", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SendCompleteMessage xmlns="http://faxcoreserver/services/">%s</SendCompleteMessage></soap:Body></soap:Envelope>junk`},
}

// validSend is a valid SendCompleteMessage parameter list without
// priority and isOnHold (some hostile cases add their own).
func validSend(e *env, t testing.TB) string {
	s := sendXML(e.alice, fixture(t, "three.tif"), "5550101")
	s = strings.Replace(s, "<priority>70</priority>", "", 1)
	return strings.Replace(s, "<isOnHold>false</isOnHold>", "", 1)
}

func TestHostileInputStoresNothing(t *testing.T) {
	e := newEnv(t, SOAP11)
	ok := e.call("SendCompleteMessage", validSend(e, t)).result()
	if _, err := parseLong(ok); err != nil {
		t.Fatalf("valid request failed: %s", ok)
	}
	base := e.messageCount()
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.ReplaceAll(tc.body, "%s", validSend(e, t))
			r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
			ct := tc.contentType
			if ct == "" {
				ct = "text/xml; charset=utf-8"
			}
			r.Header.Set("Content-Type", ct)
			r.SetBasicAuth("admin", adminPassword)
			if tc.action != "" {
				r.Header.Set("SOAPAction", tc.action)
			}
			ver := tc.version
			if ver == 0 {
				ver = SOAP11
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			resp := parseResponse(t, ver, "SendCompleteMessage", w)
			t.Logf("fault: %s", resp.fault())
			want(t, "messages", e.messageCount(), base)
		})
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, SOAP11)
	h, err := NewHandler(Config{Store: e.store, Limits: Limits{MaxBytes: 4096}})
	if err != nil {
		t.Fatal(err)
	}
	body := envelope(SOAP11, "SendCompleteMessage", validSend(e, t))
	if len(body) < 4096 {
		t.Fatal("test body too small")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, newRequest(SOAP11, "SendCompleteMessage", body))
	f := parseResponse(t, SOAP11, "SendCompleteMessage", w).fault()
	if !strings.Contains(f, "too large") {
		t.Errorf("fault %q", f)
	}
	want(t, "messages", e.messageCount(), 0)
}

func TestGetWithoutWSDL(t *testing.T) {
	e := newEnv(t, SOAP11)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://h"+Path, nil))
	want(t, "status", w.Code, http.StatusOK)
	if !strings.Contains(w.Body.String(), "http://localhost/webservices/wfapi.asmx?WSDL") {
		t.Errorf("body %q", w.Body.String())
	}
}

// readAll reads every parameter the WSDL declares for the request's
// operation, with the accessor for its type, as the operations do.
func readAll(c *call) {
	for _, p := range c.decl {
		switch p.Type {
		case "s:long":
			c.long(p.Name)
		case "s:int":
			c.int(p.Name)
		case "s:boolean":
			c.bool(p.Name)
		case "s:string", "tns:Role", "tns:AddressType", "tns:ConditionType":
			c.str(p.Name)
		case "tns:ArrayOfString":
			c.strs(p.Name)
		case "tns:ArrayOfBoolean":
			c.bools(p.Name)
		case "tns:ArrayOfInt":
			c.ints(p.Name)
		case "tns:ArrayOfLong":
			c.longs(p.Name)
		case "tns:ArrayOfAnyType":
			c.anys(p.Name)
		default:
			item := strings.TrimPrefix(p.Type, "tns:ArrayOf")
			for _, n := range c.complexItems(p.Name, p.Type, item) {
				fieldStr(n, "Name")
				fieldBool(n, "IsMerge")
				fieldLong(n, "AddressType")
			}
		}
	}
}

// FuzzEnvelope feeds arbitrary bodies to the envelope decoder and the
// parameter readers of the operation they name: no panic, a bounded
// result, only clientError for bad values, and a well-formed answer
// (response or fault) for whatever text the request carried. That hostile
// input stores nothing is TestHostileInputStoresNothing's part.
func FuzzEnvelope(f *testing.F) {
	doc := fixture(f, "one.png")
	f.Add(envelope(SOAP11, "AuthenticateUser", `<userName>alice</userName><password>alice-password</password>`), false)
	f.Add(envelope(SOAP12, "ServerStatus", ``), true)
	f.Add(envelope(SOAP11, "SendCompleteMessage", sendXML(2, doc, "5550101")), false)
	f.Add(envelope(SOAP12, "SendMixedMode", `<userID>2</userID><priority>60</priority><documents><MsgDocument><Bytes>`+b64(doc)+`</Bytes></MsgDocument></documents><recipients><MsgRecipient><Address>1</Address><AddressType>2</AddressType></MsgRecipient></recipients>`), true)
	f.Add(envelope(SOAP11, "GetMessageList4", `<userList><long>2</long></userList><folderName>inbox</folderName><isDownloaded>false</isDownloaded><sortDescending>true</sortDescending><maxResults>5</maxResults>`), false)
	f.Add(envelope(SOAP11, "UpdateUser-advance", `<adminID>1</adminID><config><UserConfig><ConfigName>a</ConfigName><ConfigValue>b</ConfigValue></UserConfig></config>`), false)
	f.Add(envelope(SOAP11, "ActivateUsers", `<adminID>1</adminID><userIDList><long>2</long><long>3</long></userIDList>`), false)
	for _, h := range hostile {
		if len(h.body) < 4000 {
			f.Add(strings.ReplaceAll(h.body, "%s", `<userID>2</userID>`), h.version == SOAP12)
		}
	}
	// Small bombs: each trips one of the limits below.
	f.Add(envelope(SOAP11, "ServerStatus", `<x`+strings.Repeat(` a="1"`, 20)+`/>`), false)
	f.Add(envelope(SOAP11, "ServerStatus", strings.Repeat(`<x a="1" b="2" c="3"/>`, 30)), false)
	f.Add(envelope(SOAP11, "ServerStatus", `<x a="`+strings.Repeat("v", 300)+`"/><`+strings.Repeat("n", 80)+`/>`), false)
	f.Add(envelope(SOAP11, "ServerStatus", strings.Repeat("<!---->", 600)+"<![CDATA["+strings.Repeat("t", 300)+"]]>"), false)
	f.Add(`<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>`+envelope(SOAP11, "ServerStatus", `&b;`), false)
	ct, err := parseContract(wsdlText)
	if err != nil {
		f.Fatal(err)
	}
	lim := Limits{MaxBytes: 1 << 20, MaxDepth: 12, MaxElements: 400, MaxTokens: 1000, MaxAttrs: 64,
		MaxAttrsPerElement: 8, MaxNameBytes: 64, MaxAttrValueBytes: 256, MaxTextBytes: 16 << 10}
	f.Fuzz(func(t *testing.T, body string, v12 bool) {
		guess := SOAP11
		if v12 {
			guess = SOAP12
		}
		req, err := decodeEnvelope(strings.NewReader(body), "", lim, guess)
		var out []byte
		if err != nil {
			out, _ = encodeFault(req.Version, faultClient, err.Error())
		} else {
			op := req.Op.Name
			c := &call{op: op, decl: ct.Params[op], n: req.Op}
			readAll(c)
			if c.err != nil {
				var ce *clientError
				if !errors.As(c.err, &ce) {
					t.Fatalf("%s: reading parameters: %v", op, c.err)
				}
				out, _ = encodeFault(req.Version, faultClient, c.err.Error())
			} else {
				// Echo the first string parameter as the result.
				var s string
				for _, k := range req.Op.Kids {
					s = k.Text
					break
				}
				out = encodeResponse(req.Version, op, strResult(s))
			}
		}
		var n xnode
		if err := xml.Unmarshal(out, &n); err != nil {
			t.Fatalf("answer is not XML: %v\n%s", err, out)
		}
	})
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want, parsed string }{
		{"plain", "plain", "plain"},
		{`a&b<c>d"e'f`, `a&amp;b&lt;c&gt;d"e'f`, `a&b<c>d"e'f`},
		{"cr\r\nlf\ttab", "cr&#xD;\nlf\ttab", "cr\r\nlf\ttab"},
		{"nul\x00esc\x1b\uffff", "nul\ufffdesc\ufffd\ufffd", "nul\ufffdesc\ufffd\ufffd"},
		{"ünï😀", "ünï😀", "ünï😀"},
	} {
		var b bytes.Buffer
		escape(&b, tc.in)
		want(t, "escaped "+tc.in, b.String(), tc.want)
		var n xnode
		if err := xml.Unmarshal([]byte("<x>"+b.String()+"</x>"), &n); err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		want(t, "parsed "+tc.in, n.Text, tc.parsed)
	}
}
