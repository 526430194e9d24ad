package soap

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// Encoders written here from the definitions, independently of the
// handler's decoders (golang.org/x/text).
func latin1(t *testing.T, s string) []byte {
	var b []byte
	for _, r := range s {
		if r > 0xFF {
			t.Fatalf("%q is not Latin-1", r)
		}
		b = append(b, byte(r))
	}
	return b
}

func utf16Bytes(s string, order binary.ByteOrder, bom bool) []byte {
	u := utf16.Encode([]rune(s))
	if bom {
		u = append([]uint16{0xFEFF}, u...)
	}
	b := make([]byte, 2*len(u))
	for i, c := range u {
		order.PutUint16(b[2*i:], c)
	}
	return b
}

// TestRequestCharsets sends CreateNewUser1 with a name outside ASCII in
// the character sets .NET clients use; the name is stored as sent.
// Unknown character sets are a Client fault and create nobody.
func TestRequestCharsets(t *testing.T) {
	const name = "Hans Müller"
	const desc = "Größe ½ ÿ"
	for _, c := range []struct {
		name    string
		ver     Version
		ctype   string // charset parameter of the Content-Type
		decl    string // encoding of the XML declaration; "-" none
		encode  func(t *testing.T, s string) []byte
		refused string // part of the fault reason; "" accepted
	}{
		{name: "latin-1 declared", decl: "ISO-8859-1", encode: latin1},
		{name: "latin-1 by content type", ctype: "iso-8859-1", decl: "-", encode: latin1},
		{name: "latin-1 both", ctype: "ISO-8859-1", decl: "iso-8859-1", encode: latin1},
		{name: "latin-1 soap 1.2", ver: SOAP12, ctype: "iso-8859-1", decl: "-", encode: latin1},
		{name: "latin1 label", decl: "latin1", encode: latin1},
		{name: "windows-1252", ctype: "windows-1252", decl: "windows-1252", encode: latin1},
		{name: "utf-16le bom", ctype: "utf-16", decl: "utf-16", encode: func(_ *testing.T, s string) []byte { return utf16Bytes(s, binary.LittleEndian, true) }},
		{name: "utf-16be bom", decl: "UTF-16", encode: func(_ *testing.T, s string) []byte { return utf16Bytes(s, binary.BigEndian, true) }},
		{name: "utf-16le bom soap 1.2", ver: SOAP12, ctype: "utf-16", decl: "-", encode: func(_ *testing.T, s string) []byte { return utf16Bytes(s, binary.LittleEndian, true) }},
		{name: "utf-16le no bom", decl: "utf-16", encode: func(_ *testing.T, s string) []byte { return utf16Bytes(s, binary.LittleEndian, false) }},
		{name: "utf-16be by content type", ctype: "utf-16be", decl: "-", encode: func(_ *testing.T, s string) []byte { return utf16Bytes(s, binary.BigEndian, false) }},
		{name: "utf-8 bom", ctype: "utf-8", decl: "utf-8", encode: func(_ *testing.T, s string) []byte { return append([]byte{0xEF, 0xBB, 0xBF}, s...) }},
		{name: "utf-8 undeclared", decl: "-", encode: func(_ *testing.T, s string) []byte { return []byte(s) }},
		{name: "unknown content type charset", ctype: "koi8-r", decl: "-", encode: latin1, refused: `unsupported character set "koi8-r"`},
		{name: "unknown declared charset", decl: "EBCDIC-CP-US", encode: latin1, refused: `unsupported character set "EBCDIC-CP-US"`},
		{name: "utf-16 declared in single bytes", decl: "UTF-16", encode: latin1, refused: "no byte order mark"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ver := c.ver
			if ver == 0 {
				ver = SOAP11
			}
			e := newEnv(t, ver)
			inner := `<userID>` + id(e.admin) + `</userID><domainName /><userName>mueller</userName><password>mueller-pw-1</password><role>StandardUser</role><isExternalAuth>false</isExternalAuth><isActive>true</isActive><displayName>` + name + `</displayName><firstName>Hans</firstName><middleName /><lastName>Müller</lastName><companyName /><preferAddrType>Email</preferAddrType><email /><fax /><rawFax /><desc>` + desc + `</desc>`
			doc := envelope(ver, "CreateNewUser1", inner)
			_, doc, _ = strings.Cut(doc, "?>") // a declaration of our own
			if c.decl != "-" {
				doc = `<?xml version="1.0" encoding="` + c.decl + `"?>` + doc
			}
			r := httptest.NewRequest(http.MethodPost, "http://fax.example.com"+Path, strings.NewReader(string(c.encode(t, doc))))
			r.RemoteAddr = "192.0.2.1:4711"
			ct := "text/xml"
			if ver == SOAP12 {
				ct = `application/soap+xml; action="http://faxcoreserver/services/CreateNewUser1"`
			} else {
				r.Header.Set("SOAPAction", `"http://faxcoreserver/services/CreateNewUser1"`)
			}
			if c.ctype != "" {
				ct += "; charset=" + c.ctype
			}
			r.Header.Set("Content-Type", ct)
			r.SetBasicAuth("admin", adminPassword)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			res := parseResponse(t, ver, "CreateNewUser1", w)
			u, err := e.store.UserByName(context.Background(), "mueller")
			if c.refused != "" {
				if got := res.fault(); !strings.Contains(got, c.refused) {
					t.Errorf("fault %q, want it to say %q", got, c.refused)
				}
				if err == nil {
					t.Errorf("user created from a refused request")
				}
				return
			}
			want(t, "result", res.result(), id(u.ID))
			if err != nil {
				t.Fatal(err)
			}
			want(t, "full name", u.FullName, name)
			p := e.profile(u.ID)
			want(t, "last name", p.LastName, "Müller")
			want(t, "description", p.Description, desc)
		})
	}
}

// FuzzEnvelopeCharset decodes envelopes in every character set: no panic,
// and what is accepted is valid UTF-8 text.
func FuzzEnvelopeCharset(f *testing.F) {
	doc := envelope(SOAP11, "AuthenticateUser", `<userName>Müller</userName><password>pw</password>`)
	_, bare, _ := strings.Cut(doc, "?>")
	f.Add([]byte(doc), "")
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?>`+bare), "")
	f.Add([]byte(bare), "iso-8859-1")
	f.Add(utf16Bytes(`<?xml version="1.0" encoding="utf-16"?>`+bare, binary.LittleEndian, true), "utf-16")
	f.Add(utf16Bytes(bare, binary.BigEndian, true), "")
	f.Add(utf16Bytes(bare, binary.LittleEndian, false), "utf-16le")
	f.Add([]byte(bare), "koi8-r")
	f.Fuzz(func(t *testing.T, body []byte, charset string) {
		req, err := decodeEnvelope(strings.NewReader(string(body)), charset, Limits{MaxBytes: 1 << 20}, SOAP11)
		if err != nil {
			return
		}
		var walk func(n *node)
		walk = func(n *node) {
			if !utf8.ValidString(n.Text) || !utf8.ValidString(n.Name) {
				t.Fatalf("accepted text is not UTF-8: %q %q", n.Name, n.Text)
			}
			for _, k := range n.Kids {
				walk(k)
			}
		}
		walk(req.Op)
	})
}
