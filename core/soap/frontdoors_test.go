package soap

import (
	"bytes"
	"context"
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
	testutil.NeedTool(t, "pdftoppm")
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
