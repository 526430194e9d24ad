package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/core/worklimit"
	"github.com/faxagent/faxagent/imaging/bombs"
	"github.com/faxagent/faxagent/internal/testutil"
)

// limitServer is an API on e's store with options changed by mod, called
// in this process (so that its allocations can be measured).
func limitServer(t *testing.T, e *env, mod func(*Options)) *Server {
	t.Helper()
	admin, err := e.store.UserByName(context.Background(), core.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Store: e.store, Tokens: map[string]Principal{testToken: {UserID: admin.ID, Admin: true}},
		TempDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func submitRequest(t *testing.T, ctx context.Context, file []byte) *http.Request {
	body, ctype := form(t, part{field: "to", body: []byte("5550101")}, part{field: "file", filename: "doc", body: file})
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/messages", body)
	r.Header.Set("Content-Type", ctype)
	r.Header.Set("Authorization", "Bearer "+testToken)
	return r
}

// TestSubmitBombsRefused: the files of issue 13 are refused with 413 from
// their headers, with bounded memory, and nothing is stored. (The 16-bit
// 10000x10000 PNG took 1.6 GB here; the 300 huge pages ~70 s of CPU.)
func TestSubmitBombsRefused(t *testing.T) {
	e := newEnv(t, 0)
	s := limitServer(t, e, nil)
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"16-bit PNG 10000x10000", bombs.PNG(10000, 10000, true)},
		{"TIFF declaring 5000 pages", bombs.TIFF(5000, 1728, 2292)},
		{"TIFF of 300 huge pages sharing one strip", bombs.TIFF(300, 1728, 20000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			alloc := testutil.Allocated(func() { s.ServeHTTP(w, submitRequest(t, context.Background(), tc.file)) })
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			t.Logf("%d-byte file: allocated %d MiB: %s", len(tc.file), alloc>>20, strings.TrimSpace(w.Body.String()))
			// The upload itself is copied a few times (multipart, temp file).
			if alloc > 64<<20 {
				t.Errorf("allocated %d MiB refusing it", alloc>>20)
			}
			if msgs, files := e.stored(); msgs != 0 || files != 0 {
				t.Errorf("stored %d messages, %d files", msgs, files)
			}
		})
	}
}

// slowDoc is a document within the limits whose conversion takes long:
// 100 bilevel pages 1000 pixels wide (not a fax width: each is decoded
// and scaled to 1728 x 8640).
func slowDoc() []byte { return bombs.TIFF(100, 1000, 5000) }

// TestSubmitConversionBudget: a conversion over its time budget is
// stopped and refused (413), and nothing is stored.
func TestSubmitConversionBudget(t *testing.T) {
	e := newEnv(t, 0)
	s := limitServer(t, e, func(o *Options) { o.ConversionTimeout = 50 * time.Millisecond })
	w := httptest.NewRecorder()
	s.ServeHTTP(w, submitRequest(t, context.Background(), slowDoc()))
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "longer than the budget") {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if msgs, files := e.stored(); msgs != 0 || files != 0 {
		t.Errorf("stored %d messages, %d files", msgs, files)
	}
}

// TestSubmitClientGoneStoresNothing: when the client goes away the
// conversion stops and no message is stored (before, it ran to the end and
// stored the message, which a retrying client then sent twice).
func TestSubmitClientGoneStoresNothing(t *testing.T) {
	e := newEnv(t, 0)
	s := limitServer(t, e, nil)
	ctx, cancel := context.WithCancel(context.Background())
	r := submitRequest(t, ctx, slowDoc())
	r.Body = testutil.CancelAtEnd(r.Body, r.ContentLength, cancel)
	done := make(chan struct{})
	go func() {
		s.ServeHTTP(httptest.NewRecorder(), r)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		// Not a timing assertion: the whole conversion takes minutes here.
		t.Fatal("the conversion went on after the client left")
	}
	if msgs, files := e.stored(); msgs != 0 || files != 0 {
		t.Errorf("stored %d messages, %d files", msgs, files)
	}
}

// TestConversionCap: with every conversion slot taken, a submission or a
// download gets 503 with Retry-After at once; with a slot free it works.
func TestConversionCap(t *testing.T) {
	e := newEnv(t, 0)
	sem := worklimit.NewSemaphore(1)
	sem.RetryAfter = 3 * time.Second
	s := limitServer(t, e, func(o *Options) { o.Conversions = sem })
	release, err := sem.TryAcquire()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, submitRequest(t, context.Background(), letterTIFF(t)))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "3" {
		t.Fatalf("busy: status %d, Retry-After %q: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if msgs, _ := e.stored(); msgs != 0 {
		t.Fatalf("stored %d messages while busy", msgs)
	}
	release()
	w = httptest.NewRecorder()
	s.ServeHTTP(w, submitRequest(t, context.Background(), letterTIFF(t)))
	if w.Code != http.StatusCreated {
		t.Fatalf("with a free slot: status %d: %s", w.Code, w.Body)
	}
	if sem.InUse() != 0 {
		t.Errorf("%d slots still taken", sem.InUse())
	}
}
