package soap

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/internal/testutil"
)

// TestSameDocumentBothFrontDoors sends the same documents through SOAP and
// through the HTTP API (on one store) and compares the stored pages pixel
// by pixel: both front doors convert with the one intake, at submit.
func TestSameDocumentBothFrontDoors(t *testing.T) {
	testutil.NeedTool(t, "pdftoppm", "pdfinfo")
	e := newEnv(t, SOAP11)
	const token = "front-door-test-token"
	api, err := httpapi.New(httpapi.Options{Store: e.store, TempDir: t.TempDir(),
		Tokens: map[string]httpapi.Principal{token: {UserID: e.alice}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()

	dir := t.TempDir()
	png := filepath.Join(dir, "one.png")
	os.WriteFile(png, fixture(t, "one.png"), 0o600)
	pdf := filepath.Join(dir, "one.pdf")
	if _, err := faxdoc.Convert(context.Background(), []string{png}, faxdoc.Options{Resolution: imaging.Fine}, pdf, faxdoc.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	pdfBytes, _ := os.ReadFile(pdf)
	docs := map[string][]byte{
		"text.txt":  []byte("café naïve ✓\n\tTabbed line\f\nSecond page\n"),
		"one.png":   fixture(t, "one.png"),
		"three.tif": fixture(t, "three.tif"),
		"one.pdf":   pdfBytes,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			id := mustID(t, e.call("SendCompleteMessage", sendXML(e.alice, doc, "5550101")).result())
			soapPages := storedPages(t, e.store, e.message(id))

			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("to", "5550101")
			fw, _ := mw.CreateFormFile("file", name)
			fw.Write(doc)
			mw.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/messages", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("API submit: %s", resp.Status)
			}
			apiPages := storedPages(t, e.store, e.message(id+1))
			if len(soapPages) == 0 || len(soapPages) != len(apiPages) {
				t.Fatalf("SOAP stored %d pages, the API %d", len(soapPages), len(apiPages))
			}
			for i := range soapPages {
				a, b := soapPages[i], apiPages[i]
				if a.Width != b.Width || a.Height != b.Height || a.Resolution != b.Resolution || !bytes.Equal(a.Pix, b.Pix) {
					t.Fatalf("page %d differs: SOAP %dx%d %v, API %dx%d %v", i+1, a.Width, a.Height, a.Resolution, b.Width, b.Height, b.Resolution)
				}
			}
			if m := e.message(id); m.Documents[0].ContentType != "image/tiff" || m.Documents[0].Pages != len(soapPages) {
				t.Fatalf("SOAP stored %s with %d pages", m.Documents[0].ContentType, m.Documents[0].Pages)
			}
		})
	}
}

// storedPages decodes a message's stored documents.
func storedPages(t *testing.T, st core.Store, m core.MessageDetails) []*imaging.Page {
	t.Helper()
	var paths []string
	for _, d := range m.Documents {
		p, err := st.DocumentFile(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	r, err := faxdoc.Open(paths, faxdoc.Options{KeepResolution: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pages []*imaging.Page
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		pg, err := imaging.ReadPage(p, p.Width, p.Resolution, 0)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, pg)
	}
	return pages
}

// TestUseDefaultCP: useDefaultCP puts the default cover page first, filled
// from the message, and counts it in the pages; the API's cover field does
// the same, and refuses a template that does not exist.
func TestUseDefaultCP(t *testing.T) {
	e := newEnv(t, SOAP11)
	mixed := func(cp bool) string {
		return fmt.Sprintf(`<userID>%d</userID><senderName>José</senderName><subject>mixed</subject><note>Note for the cover</note><priority>50</priority><isOnHold>false</isOnHold><mss>false</mss><msf>false</msf><useDefaultNotify>false</useDefaultNotify><useDefaultCP>%v</useDefaultCP>`+
			`<documents><MsgDocument><Name>three.tif</Name><Bytes>%s</Bytes><IsMerge>false</IsMerge><RemoveFirstPage>false</RemoveFirstPage></MsgDocument></documents>`+
			`<recipients><MsgRecipient><Name>Dana</Name><CompName>Comp A</CompName><Address>5550101</Address><AddressType>2</AddressType><IsRRFOn>false</IsRRFOn><IsRRSOn>false</IsRRSOn></MsgRecipient></recipients>`, e.alice, cp, b64(fixture(t, "three.tif")))
	}
	id := mustID(t, e.call("SendMixedMode", mixed(true)).result())
	m := e.message(id)
	if len(m.Documents) != 2 || m.Documents[0].Name != "cover page" || m.Documents[0].Pages != 1 || m.Documents[1].Pages != 3 {
		t.Fatalf("documents %+v, want a one-page cover and the three pages", m.Documents)
	}
	pages := storedPages(t, e.store, m)
	if len(pages) != 4 || !hasInk(pages[0]) {
		t.Fatalf("%d pages stored; cover blank: %v", len(pages), len(pages) > 0 && !hasInk(pages[0]))
	}
	id = mustID(t, e.call("SendMixedMode", mixed(false)).result())
	if m := e.message(id); len(m.Documents) != 1 {
		t.Fatalf("without useDefaultCP: %d documents", len(m.Documents))
	}

	const token = "cover-test-token"
	covers := t.TempDir()
	os.WriteFile(filepath.Join(covers, "short.txt"), []byte("# {{Subject}}\nfor {{To}}, {{Pages}} pages\n"), 0o600)
	api, err := httpapi.New(httpapi.Options{Store: e.store, TempDir: t.TempDir(), CoverDir: covers,
		Tokens: map[string]httpapi.Principal{token: {UserID: e.alice}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	for _, tc := range []struct {
		cover string
		want  int
	}{{"default", http.StatusCreated}, {"short", http.StatusCreated}, {"nope", http.StatusBadRequest}, {"../etc/passwd", http.StatusBadRequest}} {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("to", "5550101")
		mw.WriteField("cover", tc.cover)
		mw.WriteField("subject", "Quarterly figures")
		fw, _ := mw.CreateFormFile("file", "three.tif")
		fw.Write(fixture(t, "three.tif"))
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/messages", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("cover %q: %s, want %d", tc.cover, resp.Status, tc.want)
		}
	}
}

func hasInk(p *imaging.Page) bool {
	for _, b := range p.Pix {
		if b != 0 {
			return true
		}
	}
	return false
}
