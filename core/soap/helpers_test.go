package soap

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/internal/testutil"
)

// env is a handler on a fresh SQLite store with an admin, two users and a
// second domain.
type env struct {
	t       testing.TB
	store   core.Store
	h       *Handler
	ver     Version
	admin   int64
	alice   int64
	bob     int64
	carol   int64 // in domain "sales", inactive
	salesID int64
	route   int64 // a route to bob, when addRoute made one
	clock   *testClock
	imports string
}

type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time { return c.t }

const adminPassword = "correct horse battery staple"

// postgresSchema makes a fresh schema dropped when the test ends, or skips
// (fails under CI=true) when PostgreSQL is not reachable.
func postgresSchema(tb testing.TB) string {
	tb.Helper()
	testutil.NeedPostgres(tb)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "faxagent_soap_test_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, testutil.PostgresURL())
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

func newEnv(tb testing.TB, ver Version) *env { return newEnvOn(tb, ver, "sqlite") }

// newEnvOn makes an env on the "sqlite" or "postgres" backend.
func newEnvOn(tb testing.TB, ver Version, backend string) *env {
	tb.Helper()
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	o := core.Options{DataDir: tb.TempDir(), AdminPassword: adminPassword, PasswordCost: 4,
		Now: clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if backend == "postgres" {
		o.DatabaseURL, o.Schema = testutil.PostgresURL(), postgresSchema(tb)
	}
	st, _, err := core.Open(ctx, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	e := &env{t: tb, store: st, ver: ver, clock: clock, imports: tb.TempDir()}
	admin, err := st.UserByName(ctx, core.AdminUser)
	if err != nil {
		tb.Fatal(err)
	}
	e.admin = admin.ID
	mk := func(name, domain string) int64 {
		u, err := st.CreateUser(ctx, core.NewUser{Username: name, Password: name + "-password", Domain: domain, FullName: "User " + name, Email: name + "@example.com"})
		if err != nil {
			tb.Fatal(err)
		}
		return u.ID
	}
	e.alice, e.bob = mk("alice", ""), mk("bob", "")
	e.carol = mk("carol", "sales")
	if err := st.SetUserActive(ctx, e.carol, false); err != nil {
		tb.Fatal(err)
	}
	ds, err := st.Domains(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, d := range ds {
		if d.Name == "sales" {
			e.salesID = d.ID
		}
	}
	h, err := NewHandler(Config{Store: st, ImportDir: e.imports, TempDir: tb.TempDir(), Now: clock.Now,
		Location: time.UTC, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	e.h = h
	return e
}

// envelope wraps a request body as a .NET SoapHttpClientProtocol (1.1) or
// a SOAP 1.2 client sends it.
func envelope(ver Version, op, inner string) string {
	if ver == SOAP12 {
		return `<?xml version="1.0" encoding="utf-8"?><soap12:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap12="http://www.w3.org/2003/05/soap-envelope"><soap12:Body><` +
			op + ` xmlns="http://faxcoreserver/services/">` + inner + `</` + op + `></soap12:Body></soap12:Envelope>`
	}
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><` +
		op + ` xmlns="http://faxcoreserver/services/">` + inner + `</` + op + `></soap:Body></soap:Envelope>`
}

func newRequest(ver Version, op, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://fax.example.com"+Path, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:4711"
	// The system administrator may act as anyone a request names.
	r.SetBasicAuth(core.AdminUser, adminPassword)
	if ver == SOAP12 {
		r.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="http://faxcoreserver/services/`+op+`"`)
	} else {
		r.Header.Set("Content-Type", "text/xml; charset=utf-8")
		r.Header.Set("SOAPAction", `"http://faxcoreserver/services/`+op+`"`)
	}
	return r
}

// xnode is a generic XML element, decoded independently of the handler.
type xnode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []xnode    `xml:",any"`
}

type response struct {
	t      testing.TB
	op     string
	status int
	ctype  string
	raw    []byte
	body   xnode   // the element in soap:Body
	header []xnode // the soap:Header blocks (ServerStatus only)
}

func (e *env) call(op, inner string) *response {
	e.t.Helper()
	return e.post(op, envelope(e.ver, op, inner))
}

func (e *env) post(op, body string) *response {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, newRequest(e.ver, op, body))
	return parseResponse(e.t, e.ver, op, w)
}

func parseResponse(t testing.TB, ver Version, op string, w *httptest.ResponseRecorder) *response {
	t.Helper()
	r := &response{t: t, op: op, status: w.Code, ctype: w.Header().Get("Content-Type"), raw: w.Body.Bytes()}
	var envl xnode
	if err := xml.Unmarshal(r.raw, &envl); err != nil {
		t.Fatalf("%s: response is not XML: %v\n%s", op, err, r.raw)
	}
	wantNS := ns11
	if ver == SOAP12 {
		wantNS = ns12
	}
	// Only ServerStatus answers carry a header (its figures).
	if op == "ServerStatus" && len(envl.Kids) == 2 && envl.Kids[0].XMLName == (xml.Name{Space: wantNS, Local: "Header"}) {
		r.header = envl.Kids[0].Kids
		envl.Kids = envl.Kids[1:]
	}
	if envl.XMLName != (xml.Name{Space: wantNS, Local: "Envelope"}) || len(envl.Kids) != 1 ||
		envl.Kids[0].XMLName != (xml.Name{Space: wantNS, Local: "Body"}) || len(envl.Kids[0].Kids) != 1 {
		t.Fatalf("%s: bad envelope:\n%s", op, r.raw)
	}
	r.body = envl.Kids[0].Kids[0]
	return r
}

// fault returns the fault reason, failing the test if the answer is not
// a fault.
func (r *response) fault() string {
	r.t.Helper()
	if r.body.XMLName.Local != "Fault" {
		r.t.Fatalf("%s: want a Fault, got:\n%s", r.op, r.raw)
	}
	if r.status != http.StatusInternalServerError && r.status != http.StatusBadRequest && r.status != http.StatusUnauthorized {
		r.t.Fatalf("%s: fault with HTTP status %d", r.op, r.status)
	}
	for _, k := range r.body.Kids {
		switch k.XMLName.Local {
		case "faultstring":
			return k.Text
		case "Reason":
			return k.Kids[0].Text
		}
	}
	r.t.Fatalf("%s: fault without a reason:\n%s", r.op, r.raw)
	return ""
}

// kids checks the response wrapper and returns its children, each checked
// to be in the service namespace.
func (r *response) kids() []xnode {
	r.t.Helper()
	if r.status != http.StatusOK {
		r.t.Fatalf("%s: HTTP %d:\n%s", r.op, r.status, r.raw)
	}
	if r.body.XMLName != (xml.Name{Space: Namespace, Local: r.op + "Response"}) {
		r.t.Fatalf("%s: response element %v:\n%s", r.op, r.body.XMLName, r.raw)
	}
	for _, k := range r.body.Kids {
		if k.XMLName.Space != Namespace {
			r.t.Fatalf("%s: %s not in the service namespace:\n%s", r.op, k.XMLName.Local, r.raw)
		}
	}
	return r.body.Kids
}

// result returns the text of <opResult>, which must be the only child.
func (r *response) result() string {
	r.t.Helper()
	k := r.kids()
	if len(k) != 1 || k[0].XMLName.Local != r.op+"Result" {
		r.t.Fatalf("%s: want only %sResult:\n%s", r.op, r.op, r.raw)
	}
	return k[0].Text
}

// strings returns the items of an ArrayOfString result; nil when the
// result element is absent.
func (r *response) strings() []string {
	r.t.Helper()
	k := r.kids()
	if len(k) == 0 {
		return nil
	}
	if len(k) != 1 || k[0].XMLName.Local != r.op+"Result" {
		r.t.Fatalf("%s: want only %sResult:\n%s", r.op, r.op, r.raw)
	}
	out := []string{}
	for _, s := range k[0].Kids {
		if s.XMLName != (xml.Name{Space: Namespace, Local: "string"}) {
			r.t.Fatalf("%s: array item %v:\n%s", r.op, s.XMLName, r.raw)
		}
		out = append(out, s.Text)
	}
	return out
}

// download returns the result string and the decoded <output>.
func (r *response) download() (string, []byte) {
	r.t.Helper()
	k := r.kids()
	if len(k) == 0 || k[0].XMLName.Local != r.op+"Result" || len(k) > 2 {
		r.t.Fatalf("%s: want %sResult and output:\n%s", r.op, r.op, r.raw)
	}
	if len(k) == 1 {
		return k[0].Text, nil
	}
	if k[1].XMLName.Local != "output" {
		r.t.Fatalf("%s: second child %s, want output", r.op, k[1].XMLName.Local)
	}
	b, err := base64.StdEncoding.DecodeString(k[1].Text)
	if err != nil {
		r.t.Fatalf("%s: output: %v", r.op, err)
	}
	return k[0].Text, b
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// sendXML is a SendCompleteMessage body as a .NET client sends it.
func sendXML(userID int64, doc []byte, recipients ...string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<userID>%d</userID><senderName>John Wick</senderName><senderCompName>Food Inc</senderCompName><subject>Test</subject><note>Note goes here</note><billingCode>B-7</billingCode><scheduleDate /><priority>70</priority><isOnHold>false</isOnHold><mss>false</mss><msf>false</msf>`, userID)
	b.WriteString(`<trackLabel><string>Label 1</string></trackLabel><trackValue><string>Value 1</string></trackValue><recpName>`)
	for i := range recipients {
		fmt.Fprintf(&b, `<string>R%d</string>`, i+1)
	}
	b.WriteString(`</recpName><recpCompName>`)
	for i := range recipients {
		fmt.Fprintf(&b, `<string>Comp %d</string>`, i+1)
	}
	b.WriteString(`</recpCompName><recpAddress>`)
	for _, r := range recipients {
		fmt.Fprintf(&b, `<string>%s</string>`, r)
	}
	b.WriteString(`</recpAddress><recpRawFax><boolean>false</boolean></recpRawFax><recpNotifyAddr><string /></recpNotifyAddr><recpIsRRFOn><boolean>false</boolean></recpIsRRFOn><recpIsRRSOn><boolean>false</boolean></recpIsRRSOn>`)
	fmt.Fprintf(&b, `<documentName><string>three.tif</string></documentName><documentPath><string /></documentPath><documentBytes><anyType xsi:type="xsd:base64Binary">%s</anyType></documentBytes><documentIsMerge><boolean>false</boolean></documentIsMerge>`, b64(doc))
	return b.String()
}
