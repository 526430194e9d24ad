package soap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/worklimit"
	"github.com/faxagent/faxagent/imaging/bombs"
	"github.com/faxagent/faxagent/internal/testutil"
)

// repeatReader yields prefix, then unit n times, then suffix, without
// holding the whole body: hostile bodies of many megabytes cost the test
// nothing.
func repeatReader(prefix, unit string, n int, suffix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), &repeat{unit: unit, n: n}, strings.NewReader(suffix))
}

type repeat struct {
	unit string
	n, i int // units left, offset in the current one
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	w := 0
	for w < len(p) && r.n > 0 {
		c := copy(p[w:], r.unit[r.i:])
		w += c
		r.i += c
		if r.i == len(r.unit) {
			r.i = 0
			r.n--
		}
	}
	return w, nil
}

// TestXMLBombsRefusedWithBoundedMemory sends the bodies of issue 13 (a
// 70 MB body with 6 million attributes cost ~850 MB) and their relatives;
// each is refused with "too large" having allocated a small fraction of
// its size.
func TestXMLBombsRefusedWithBoundedMemory(t *testing.T) {
	e := newEnv(t, SOAP11)
	base := e.messageCount()
	const bound = 64 << 20
	pre, post, _ := strings.Cut(envelope(SOAP11, "SendCompleteMessage", "\x00"), "\x00")
	h, err := NewHandler(Config{Store: e.store, Limits: Limits{MaxBytes: 200 << 20, MaxTextBytes: 1 << 20},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		h         *Handler
		body      io.Reader
		wantFault string
	}{
		// 6M attributes on one element, ~70 MB: refused at the 65th.
		{"attributes on one element", e.h, repeatReader(pre+"<userID", ` a0123="xyz"`, 6_000_000, ">1</userID>"+post), "more than 64 attributes"},
		// 60 attributes on each of 100000 elements: the document total.
		{"attributes in total", e.h, repeatReader(pre, "<x"+strings.Repeat(` a="b"`, 60)+"/>", 100_000, post), "more than 4096 attributes"},
		{"attribute value", e.h, repeatReader(pre+`<userID a="`, "x", 60<<20, `">1</userID>`+post), "attribute value longer"},
		{"name", e.h, repeatReader(pre+"<u", "u", 60<<20, ">1</u>"+post), "name longer"},
		{"text", h, repeatReader(pre+"<userID>", "1", 60<<20, "</userID>"+post), "text longer"},
		{"text in pieces", h, repeatReader(pre+"<userID>", "<!---->1111111111111111", 1<<20, "</userID>"+post), "text is longer"},
		{"comment", e.h, repeatReader(pre+"<!--", "x", 60<<20, "-->"+post), "comment longer than 4096"},
		{"processing instruction", e.h, repeatReader(`<?xml version="1.0"`, " ", 60<<20, "?>"+pre[strings.Index(pre, "?>")+2:]+post), "processing instruction longer"},
		// Tokens: comments are tokens, and none is an element.
		{"tokens", h, repeatReader(pre, "<!---->", 3_000_000, post), "more than 1000000 XML tokens"},
		{"DTD", e.h, repeatReader(`<!DOCTYPE x [`, `<!ENTITY a "aaaaaaaaaa">`, 1_000_000, "]>"+pre+post), "DTD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(SOAP11, "SendCompleteMessage", "")
			r.Body = io.NopCloser(tc.body)
			w := httptest.NewRecorder()
			got := testutil.Allocated(func() { tc.h.ServeHTTP(w, r) })
			f := parseResponse(t, SOAP11, "SendCompleteMessage", w).fault()
			if !strings.Contains(f, tc.wantFault) {
				t.Errorf("fault %q, want %q", f, tc.wantFault)
			}
			t.Logf("allocated %d KiB; fault %q", got>>10, f)
			if got > bound {
				t.Errorf("allocated %d MiB refusing it, want < %d MiB", got>>20, bound>>20)
			}
			want(t, "messages", e.messageCount(), base)
		})
	}
}

// TestGuardPassesWellFormedXML: what the guard recognises (comments,
// CDATA, quoted '>' and '<' look-alikes, processing instructions) does not
// trip it on valid requests.
func TestGuardPassesWellFormedXML(t *testing.T) {
	bodies := []string{
		envelope(SOAP11, "AuthenticateUser", `<userName a="x>y" b='"'>alice</userName><!-- a - comment - no, -> --><password><![CDATA[alice]>-password]]]></password>`),
		`<?xml version="1.0" encoding="utf-8" ?>` + "\n<!-- c -->\n" + envelope(SOAP12, "ServerStatus", ``)[strings.Index(envelope(SOAP12, "ServerStatus", ``), "?>")+2:],
		envelope(SOAP11, "ServerStatus", `<![CDATA[]]><!----><x:y xmlns:x="urn:x" x:a = "1"	x:b='2'/>`),
	}
	for i, b := range bodies {
		if _, err := decodeEnvelope(strings.NewReader(b), "", Limits{}, SOAP11); err != nil {
			t.Errorf("body %d: %v\n%s", i, err, b)
		}
		if _, err := decodeEnvelope(strings.NewReader(b), "", Limits{MaxAttrsPerElement: 3, MaxAttrs: 8}, SOAP11); err != nil {
			t.Errorf("body %d with tight limits: %v", i, err)
		}
	}
	_, err := decodeEnvelope(strings.NewReader(bodies[0]), "", Limits{MaxAttrs: 4}, SOAP11)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("5 attributes with MaxAttrs 4: %v", err)
	}
}

// TestImportFIFORefused: a FIFO (or a directory, or a device) in the
// import directory is refused without opening it; before, os.Open of a
// FIFO with no writer blocked the request forever.
func TestImportFIFORefused(t *testing.T) {
	e := newEnv(t, SOAP11)
	if err := syscall.Mkfifo(filepath.Join(e.imports, "fifo.tif"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Mkdir(filepath.Join(e.imports, "dir.tif"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fifo.tif", "dir.tif"} {
		t.Run(name, func(t *testing.T) {
			inner := fmt.Sprintf(`<userID>%d</userID><priority>0</priority><isOnHold>true</isOnHold><mss>false</mss><msf>false</msf><recpAddress><string>5550101</string></recpAddress><documentPath><string>%s</string></documentPath>`, e.alice, name)
			done := make(chan *response, 1)
			go func() {
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, newRequest(SOAP11, "SendCompleteMessage", envelope(SOAP11, "SendCompleteMessage", inner)))
				done <- parseResponse(t, SOAP11, "SendCompleteMessage", w)
			}()
			select {
			case r := <-done:
				if f := r.fault(); !strings.Contains(f, "not a regular file") {
					t.Errorf("fault %q", f)
				}
			case <-time.After(time.Minute):
				// Not a timing assertion: a blocked open never returns.
				t.Fatal("the request hangs on the FIFO")
			}
			want(t, "messages", e.messageCount(), 0)
		})
	}
}

// TestSOAPDocumentBombsRefused: the documents of issue 13 sent through
// SendCompleteMessage are refused with a Client fault from their headers,
// with bounded memory, and nothing is stored (the 16-bit PNG took 2.37 GB
// here; the TIFF declaring 5000 pages was stored as a 5000-page message).
func TestSOAPDocumentBombsRefused(t *testing.T) {
	e := newEnv(t, SOAP11)
	for _, tc := range []struct {
		name string
		doc  []byte
	}{
		{"16-bit PNG 10000x10000", bombs.PNG(10000, 10000, true)},
		{"TIFF declaring 5000 pages", bombs.TIFF(5000, 1728, 2292)},
		{"TIFF of 300 huge pages sharing one strip", bombs.TIFF(300, 1728, 20000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := envelope(SOAP11, "SendCompleteMessage", sendXML(e.alice, tc.doc, "5550101"))
			w := httptest.NewRecorder()
			alloc := testutil.Allocated(func() { e.h.ServeHTTP(w, newRequest(SOAP11, "SendCompleteMessage", body)) })
			f := parseResponse(t, SOAP11, "SendCompleteMessage", w).fault()
			if !strings.Contains(f, "too large") {
				t.Errorf("fault %q", f)
			}
			t.Logf("%d-byte document: allocated %d MiB; fault %q", len(tc.doc), alloc>>20, f)
			// The request is copied a few times: body, text, base64, file.
			if alloc > 64<<20 {
				t.Errorf("allocated %d MiB refusing it", alloc>>20)
			}
			want(t, "messages", e.messageCount(), 0)
		})
	}
}

// handlerWith is e's handler configuration changed by mod.
func handlerWith(t *testing.T, e *env, mod func(*Config)) *Handler {
	t.Helper()
	cfg := e.h.cfg
	mod(&cfg)
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSOAPConversionCap: with every conversion slot taken, a send gets
// HTTP 503 with Retry-After and a Server fault, and stores nothing; with
// a slot free it is stored.
func TestSOAPConversionCap(t *testing.T) {
	e := newEnv(t, SOAP11)
	sem := worklimit.NewSemaphore(1)
	sem.RetryAfter = 4 * time.Second
	h := handlerWith(t, e, func(c *Config) { c.Conversions = sem })
	release, err := sem.TryAcquire()
	if err != nil {
		t.Fatal(err)
	}
	body := envelope(SOAP11, "SendCompleteMessage", validSend(e, t))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, newRequest(SOAP11, "SendCompleteMessage", body))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "4" {
		t.Fatalf("busy: status %d, Retry-After %q: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	want(t, "messages", e.messageCount(), 0)
	release()
	w = httptest.NewRecorder()
	h.ServeHTTP(w, newRequest(SOAP11, "SendCompleteMessage", body))
	if id, err := parseLong(parseResponse(t, SOAP11, "SendCompleteMessage", w).result()); err != nil || id <= 0 {
		t.Fatalf("with a free slot: %s", w.Body)
	}
	want(t, "messages", e.messageCount(), 1)
}

// TestSOAPConversionBudgetAndClientGone: a picture whose conversion runs
// over the time budget is refused; one whose client went away is not
// stored.
func TestSOAPConversionBudgetAndClientGone(t *testing.T) {
	e := newEnv(t, SOAP11)
	doc := bombs.PNG(3000, 3000, false)
	body := envelope(SOAP11, "SendCompleteMessage", sendXML(e.alice, doc, "5550101"))

	h := handlerWith(t, e, func(c *Config) { c.ConversionTimeout = time.Millisecond })
	w := httptest.NewRecorder()
	h.ServeHTTP(w, newRequest(SOAP11, "SendCompleteMessage", body))
	if f := parseResponse(t, SOAP11, "SendCompleteMessage", w).fault(); !strings.Contains(f, "longer than the budget") {
		t.Errorf("over the budget: fault %q", f)
	}
	want(t, "messages", e.messageCount(), 0)

	ctx, cancel := context.WithCancel(context.Background())
	r := newRequest(SOAP11, "SendCompleteMessage", body).WithContext(ctx)
	r.Body = testutil.CancelAtEnd(r.Body, int64(len(body)), cancel)
	e.h.ServeHTTP(httptest.NewRecorder(), r)
	want(t, "messages", e.messageCount(), 0)
}
