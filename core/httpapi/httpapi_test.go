package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
)

const testToken = "test-token-0123456789abcdef"

type env struct {
	t       *testing.T
	store   core.Store
	dataDir string
	srv     *httptest.Server
	woken   int
	hungUp  []int64
}

// newEnv runs the API on a fresh SQLite store.
func newEnv(t *testing.T, maxUpload int64) *env {
	t.Helper()
	dir := t.TempDir()
	st, _, err := core.Open(context.Background(), core.Options{DataDir: dir, AdminPassword: "admin-pass-for-tests", PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, err := st.UserByName(context.Background(), core.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, dataDir: dir}
	s, err := New(Options{
		Store: st, Tokens: map[string]Principal{testToken: {UserID: admin.ID, Admin: true}},
		MaxUpload: maxUpload, TempDir: t.TempDir(),
		Ports: func() []Port {
			return []Port{{Agent: "a1", ID: "M0,0", Driver: "loopback", Number: "100", State: "idle", Licensed: true, Send: true}}
		},
		Destinations: func() []Destination {
			return []Destination{{Driver: "foip", Number: "5552002", Note: "T.38-less: audio", Until: time.Unix(2e9, 0)}}
		},
		Wake:         func() { e.woken++ },
		CancelActive: func(id int64) { e.hungUp = append(e.hungUp, id) },
		Metrics:      http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "faxagent_up 1\n") }),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) do(method, path, token string, body io.Reader, ctype string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func (e *env) getJSON(path string, want int, out any) {
	e.t.Helper()
	resp, b := e.do(http.MethodGet, path, testToken, nil, "")
	if resp.StatusCode != want {
		e.t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
}

type part struct {
	field, filename string
	body            []byte
}

func form(t *testing.T, parts ...part) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.filename != "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.field, p.filename))
			h.Set("Content-Type", "application/octet-stream")
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.field))
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func letter(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// letterTIFF is the letter as a two-page MH TIFF Class F file.
func letterTIFF(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "letter.png")
	os.WriteFile(src, letter(t), 0o600)
	out := filepath.Join(dir, "letter.tif")
	if err := convert(context.Background(), []string{src, src}, faxdoc.Options{Resolution: imaging.Fine}, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) submit(parts ...part) Message {
	e.t.Helper()
	body, ct := form(e.t, parts...)
	resp, b := e.do(http.MethodPost, "/api/v1/messages", testToken, body, ct)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("submit: %d %s", resp.StatusCode, b)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// stored counts the messages in every folder and the files in the spool.
func (e *env) stored() (msgs, files int) {
	e.t.Helper()
	for _, f := range core.Folders() {
		_, n, err := e.store.Messages(context.Background(), core.MessageQuery{Folder: f})
		if err != nil {
			e.t.Fatal(err)
		}
		msgs += n
	}
	filepath.WalkDir(e.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), "faxagent.db") {
			files++
		}
		return nil
	})
	return msgs, files
}

func TestAuthRequired(t *testing.T) {
	e := newEnv(t, 0)
	m := e.submit(part{"to", "", []byte("5550100")}, part{"file", "letter.png", letter(t)})
	endpoints := []struct{ method, path string }{
		{"POST", "/api/v1/messages"},
		{"GET", "/api/v1/messages?folder=outbox"},
		{"GET", fmt.Sprintf("/api/v1/messages/%d", m.ID)},
		{"POST", fmt.Sprintf("/api/v1/messages/%d/cancel", m.ID)},
		{"POST", fmt.Sprintf("/api/v1/messages/%d/retry", m.ID)},
		{"GET", fmt.Sprintf("/api/v1/messages/%d/document", m.ID)},
		{"GET", "/api/v1/ports"},
		{"GET", "/api/v1/nothing"},
	}
	for _, ep := range endpoints {
		for _, tok := range []string{"", "wrong-token-0123456789abcdef", testToken + "x"} {
			resp, b := e.do(ep.method, ep.path, tok, nil, "")
			var er Error
			if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal(b, &er) != nil || er.Error == "" {
				t.Errorf("%s %s token %q: %d %s, want 401 with a JSON error", ep.method, ep.path, tok, resp.StatusCode, b)
			}
		}
	}
	// The message is untouched: nothing was cancelled.
	d, err := e.store.Message(context.Background(), m.ID)
	if err != nil || d.Folder != core.FolderOutbox || d.Jobs[0].State != core.JobQueued {
		t.Fatalf("message after unauthorised requests: %v %+v", err, d.Message)
	}
	// Health, readiness and metrics need no token.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if resp, b := e.do("GET", p, "", nil, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, b)
		}
	}
}

func TestSubmitAndGet(t *testing.T) {
	e := newEnv(t, 0)
	m := e.submit(
		part{"to", "", []byte("5550100")}, part{"to", "", []byte("+1 (303) 555-0101, 5550102")},
		part{"priority", "", []byte("high")}, part{"preset", "", []byte("group:sales")},
		part{"resolution", "", []byte("superfine")}, part{"header", "", []byte("%d FROM %c")},
		part{"retries", "", []byte("4")}, part{"subject", "", []byte("Quarterly")},
		part{"file", "letter.png", letter(t)}, part{"file", "two pages.tif", letterTIFF(t)},
	)
	if e.woken != 1 {
		t.Errorf("Wake called %d times, want 1", e.woken)
	}
	var got Message
	e.getJSON(fmt.Sprintf("/api/v1/messages/%d", m.ID), http.StatusOK, &got)
	if got.ID != m.ID || got.Folder != "outbox" || got.Direction != "outbound" || got.Subject != "Quarterly" ||
		got.Priority != core.PriorityHigh || got.Preset != "group:sales" || got.Resolution != "superfine" ||
		got.Header != "%d FROM %c" || got.MaxAttempts != 5 {
		t.Errorf("message: %+v", got)
	}
	if len(got.Jobs) != 3 || got.Jobs[1].Fax != "+1 (303) 555-0101" && got.Jobs[1].Fax != "+13035550101" {
		t.Fatalf("jobs: %+v", got.Jobs)
	}
	for _, j := range got.Jobs {
		if j.State != "queued" || j.MaxAttempts != 5 || j.Attempts == nil {
			t.Errorf("job %+v", j)
		}
	}
	if len(got.Documents) != 2 || got.Documents[0].Name != "letter.png" || got.Documents[0].Pages != 1 ||
		got.Documents[0].ContentType != "image/tiff" || got.Documents[1].Pages != 2 || got.Documents[1].ContentType != "image/tiff" {
		t.Errorf("documents: %+v", got.Documents)
	}
	e.getJSON("/api/v1/messages/999", http.StatusNotFound, nil)
	e.getJSON("/api/v1/messages/abc", http.StatusBadRequest, nil)
}

func TestSubmitBadInputStoresNothing(t *testing.T) {
	big := bytes.Repeat([]byte{0}, 300<<10)
	tif := letterTIFF(t)
	truncated := tif[:len(tif)/3]
	garbled := append([]byte(nil), tif...)
	for i := 200; i < len(garbled)-200; i += 7 {
		garbled[i] ^= 0xA5
	}
	to := part{"to", "", []byte("5550100")}
	cases := []struct {
		name   string
		parts  []part
		status int
	}{
		{"oversized upload", []part{to, {"file", "big.png", append(letter(t), big...)}}, http.StatusRequestEntityTooLarge},
		{"truncated TIFF", []part{to, {"file", "a.tif", truncated}}, http.StatusBadRequest},
		{"garbled TIFF", []part{to, {"file", "a.tif", garbled}}, http.StatusBadRequest},
		{"not a document", []part{to, {"file", "a.bin", []byte("\x00\x01\x02\x03binary")}}, http.StatusBadRequest},
		{"text not UTF-8", []part{to, {"file", "a.txt", []byte("caf\xe9 cr\xe8me\n")}}, http.StatusBadRequest},
		{"empty text", []part{to, {"file", "a.txt", []byte("\n\n")}}, http.StatusBadRequest},
		{"TIFF magic only", []part{to, {"file", "a.tif", []byte("II*\x00\xff\xff\xff\x7f")}}, http.StatusBadRequest},
		{"parent path", []part{to, {"file", "../../etc/letter.png", letter(t)}}, http.StatusBadRequest},
		{"absolute path", []part{to, {"file", "/tmp/letter.png", letter(t)}}, http.StatusBadRequest},
		{"windows path", []part{to, {"file", `C:\fax\letter.png`, letter(t)}}, http.StatusBadRequest},
		{"dot file", []part{to, {"file", ".letter.png", letter(t)}}, http.StatusBadRequest},
		{"empty file name", []part{to, {"file", "", letter(t)}, {"x", "", nil}}, http.StatusBadRequest},
		{"no file", []part{to}, http.StatusBadRequest},
		{"no recipient", []part{{"file", "letter.png", letter(t)}}, http.StatusBadRequest},
		{"bad number", []part{{"to", "", []byte("call me")}, {"file", "letter.png", letter(t)}}, http.StatusBadRequest},
		{"bad priority", []part{to, {"priority", "", []byte("urgent")}, {"file", "letter.png", letter(t)}}, http.StatusBadRequest},
		{"bad retries", []part{to, {"retries", "", []byte("99")}, {"file", "letter.png", letter(t)}}, http.StatusBadRequest},
		{"bad resolution", []part{to, {"resolution", "", []byte("ultrafine")}, {"file", "letter.png", letter(t)}}, http.StatusBadRequest},
		{"bad preset", []part{to, {"preset", "", []byte("desk:3")}, {"file", "letter.png", letter(t)}}, http.StatusBadRequest},
		{"unknown field", []part{to, {"colour", "", []byte("red")}, {"file", "letter.png", letter(t)}}, http.StatusBadRequest},
		{"field twice", []part{to, {"subject", "", []byte("a")}, {"subject", "", []byte("b")}, {"file", "letter.png", letter(t)}}, http.StatusBadRequest},
		// A good file after a bad one: nothing of either is kept.
		{"good then corrupt", []part{to, {"file", "letter.png", letter(t)}, {"file", "b.tif", truncated}}, http.StatusBadRequest},
	}
	e := newEnv(t, 256<<10)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, ct := form(t, c.parts...)
			resp, b := e.do(http.MethodPost, "/api/v1/messages", testToken, body, ct)
			var er Error
			if resp.StatusCode != c.status || json.Unmarshal(b, &er) != nil || er.Error == "" {
				t.Fatalf("%d %s, want %d with a JSON error", resp.StatusCode, b, c.status)
			}
			if msgs, files := e.stored(); msgs != 0 || files != 0 {
				t.Fatalf("stored %d messages and %d files after a refused submission", msgs, files)
			}
		})
	}
	// Not multipart at all.
	resp, _ := e.do(http.MethodPost, "/api/v1/messages", testToken, strings.NewReader(`{"to":"1"}`), "application/json")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("JSON body: %d", resp.StatusCode)
	}
	if e.woken != 0 {
		t.Errorf("Wake called %d times for refused submissions", e.woken)
	}
}

func TestListPaging(t *testing.T) {
	e := newEnv(t, 0)
	var ids []int64
	for i := 0; i < 5; i++ {
		ids = append(ids, e.submit(part{"to", "", []byte("5550100")}, part{"file", "letter.png", letter(t)}).ID)
	}
	seen := map[int64]bool{}
	for _, pg := range []struct{ offset, limit, n int }{{0, 2, 2}, {2, 2, 2}, {4, 2, 1}, {6, 2, 0}} {
		var l List
		e.getJSON(fmt.Sprintf("/api/v1/messages?folder=Outbox&offset=%d&limit=%d", pg.offset, pg.limit), http.StatusOK, &l)
		if l.Total != 5 || len(l.Messages) != pg.n || l.Folder != "outbox" || l.Offset != pg.offset || l.Limit != pg.limit {
			t.Fatalf("page %+v: total %d, %d messages", pg, l.Total, len(l.Messages))
		}
		for _, m := range l.Messages {
			if seen[m.ID] {
				t.Fatalf("message %d on two pages", m.ID)
			}
			seen[m.ID] = true
		}
	}
	if len(seen) != len(ids) {
		t.Fatalf("pages showed %d of %d messages", len(seen), len(ids))
	}
	var l List
	e.getJSON("/api/v1/messages?folder=inbox", http.StatusOK, &l)
	if l.Total != 0 || l.Messages == nil {
		t.Errorf("inbox: %+v", l)
	}
	for _, q := range []string{"folder=spam", "folder=../outbox", "limit=0", "limit=1001", "offset=-1", "limit=x"} {
		e.getJSON("/api/v1/messages?"+q, http.StatusBadRequest, nil)
	}
}

func TestCancelAndRetry(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	m := e.submit(part{"to", "", []byte("5550100")}, part{"to", "", []byte("5550101")}, part{"file", "letter.png", letter(t)})
	// One job is in a call: cancel flags it and tells the agent.
	cj, err := e.store.Claim(ctx, core.Claim{Agent: "a1", Max: 1, Lease: time.Minute})
	if err != nil || len(cj) != 1 {
		t.Fatalf("claim: %v %d", err, len(cj))
	}
	resp, b := e.do(http.MethodPost, fmt.Sprintf("/api/v1/messages/%d/cancel", m.ID), testToken, nil, "")
	var cr CancelResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &cr) != nil || cr.Cancelled != 1 || cr.Flagged != 1 {
		t.Fatalf("cancel: %d %s", resp.StatusCode, b)
	}
	if len(e.hungUp) != 1 || e.hungUp[0] != cj[0].ID {
		t.Errorf("agent told to hang up %v, want [%d]", e.hungUp, cj[0].ID)
	}
	// The agent ends the call as cancelled.
	if _, err := e.store.Report(ctx, core.Report{Lease: cj[0].Lease, Key: "k1", Outcome: core.OutcomeCancelled}); err != nil {
		t.Fatal(err)
	}
	var got Message
	e.getJSON(fmt.Sprintf("/api/v1/messages/%d", m.ID), http.StatusOK, &got)
	if got.Folder != "cancelled" || got.Jobs[0].State != "cancelled" || got.Jobs[1].State != "cancelled" {
		t.Fatalf("after cancel: folder %s, jobs %+v", got.Folder, got.Jobs)
	}
	resp, _ = e.do(http.MethodPost, fmt.Sprintf("/api/v1/messages/%d/cancel", m.ID), testToken, nil, "")
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("second cancel: %d, want 409", resp.StatusCode)
	}

	// A failed job is retried with a fresh budget.
	m2 := e.submit(part{"to", "", []byte("5550102")}, part{"retries", "", []byte("0")}, part{"file", "letter.png", letter(t)})
	cj, err = e.store.Claim(ctx, core.Claim{Agent: "a1", Max: 1, Lease: time.Minute})
	if err != nil || len(cj) != 1 || cj[0].MessageID != m2.ID {
		t.Fatalf("claim: %v %+v", err, cj)
	}
	if _, err := e.store.Report(ctx, core.Report{Lease: cj[0].Lease, Key: "k2", Outcome: core.OutcomeFailed, ErrorID: 2, ErrorText: "busy"}); err != nil {
		t.Fatal(err)
	}
	woken := e.woken
	resp, b = e.do(http.MethodPost, fmt.Sprintf("/api/v1/messages/%d/retry", m2.ID), testToken, nil, "")
	var rr RetryResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &rr) != nil || rr.Requeued != 1 {
		t.Fatalf("retry: %d %s", resp.StatusCode, b)
	}
	if e.woken != woken+1 {
		t.Errorf("retry did not wake the agent")
	}
	e.getJSON(fmt.Sprintf("/api/v1/messages/%d", m2.ID), http.StatusOK, &got)
	if got.Jobs[0].State != "queued" || len(got.Jobs[0].Attempts) != 1 || got.Jobs[0].Attempts[0].Key != "k2" {
		t.Fatalf("after retry: %+v", got.Jobs[0])
	}
	for _, p := range []string{"/api/v1/messages/999/cancel", "/api/v1/messages/999/retry"} {
		if resp, _ := e.do(http.MethodPost, p, testToken, nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestJobProgress: the live progress an agent reports shows in the job
// JSON while the call runs, and is gone once the attempt ended.
func TestJobProgress(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	m := e.submit(part{"to", "", []byte("5550100")}, part{"to", "", []byte("5550101")}, part{"file", "letter.png", letter(t)})
	raw := func() []map[string]any {
		t.Helper()
		var got struct {
			Jobs []map[string]any `json:"jobs"`
		}
		e.getJSON(fmt.Sprintf("/api/v1/messages/%d", m.ID), http.StatusOK, &got)
		if len(got.Jobs) != 2 {
			t.Fatalf("%d jobs", len(got.Jobs))
		}
		return got.Jobs
	}
	want := func(step string, jobs []map[string]any, i int, sent, total float64, inCall bool) {
		t.Helper()
		p, ok := jobs[i]["progress"].(map[string]any)
		if !ok || p["pages_sent"] != sent || p["pages_total"] != total || p["in_call"] != inCall || len(p) != 3 {
			t.Errorf("%s: job %d progress %v, want %v/%v in_call %v", step, i, jobs[i]["progress"], sent, total, inCall)
		}
	}
	jobs := raw()
	want("queued", jobs, 0, 0, 0, false)
	cj, err := e.store.Claim(ctx, core.Claim{Agent: "a1", Max: 1, Lease: time.Minute})
	if err != nil || len(cj) != 1 {
		t.Fatalf("claim: %v %d", err, len(cj))
	}
	want("claimed", raw(), 0, 0, 0, true)
	if err := e.store.Progress(ctx, cj[0].Lease, 3, 5); err != nil {
		t.Fatal(err)
	}
	jobs = raw()
	want("page 3", jobs, 0, 3, 5, true)
	want("page 3", jobs, 1, 0, 0, false)
	var typed Message
	e.getJSON(fmt.Sprintf("/api/v1/messages/%d", m.ID), http.StatusOK, &typed)
	if typed.Jobs[0].Progress != (Progress{PagesSent: 3, PagesTotal: 5, InCall: true}) {
		t.Errorf("typed progress %+v", typed.Jobs[0].Progress)
	}
	if _, err := e.store.Report(ctx, core.Report{Lease: cj[0].Lease, Key: "k1", Outcome: core.OutcomeDone}); err != nil {
		t.Fatal(err)
	}
	want("done", raw(), 0, 0, 0, false)
}

func TestDownload(t *testing.T) {
	e := newEnv(t, 0)
	m := e.submit(part{"to", "", []byte("5550100")}, part{"file", "letter.png", letter(t)}, part{"file", "two.tif", letterTIFF(t)})
	for _, c := range []struct{ format, ctype, magic string }{
		{"", "image/tiff", "II*\x00"}, {"tiff", "image/tiff", "II*\x00"}, {"pdf", "application/pdf", "%PDF-"},
	} {
		resp, b := e.do(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d/document?format=%s", m.ID, c.format), testToken, nil, "")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.ctype || !bytes.HasPrefix(b, []byte(c.magic)) {
			t.Fatalf("format %q: %d %s %q", c.format, resp.StatusCode, resp.Header.Get("Content-Type"), b[:min(len(b), 16)])
		}
		out := filepath.Join(t.TempDir(), "doc."+map[string]string{"": "tif", "tiff": "tif", "pdf": "pdf"}[c.format])
		os.WriteFile(out, b, 0o600)
		if c.format == "pdf" {
			testutil.NeedTool(t, "pdfinfo")
			info, err := exec.Command("pdfinfo", out).Output()
			if err != nil || !strings.Contains(string(info), "Pages:           3") {
				t.Fatalf("pdfinfo: %v\n%s", err, info)
			}
			continue
		}
		r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil || r.NumPages() != 3 {
			t.Fatalf("TIFF: %v", err)
		}
		testutil.NeedTool(t, "tiffinfo")
		if info, err := exec.Command("tiffinfo", out).CombinedOutput(); err != nil || strings.Count(string(info), "TIFF Directory") != 3 {
			t.Fatalf("tiffinfo: %v\n%s", err, info)
		}
	}
	var got Message
	e.getJSON(fmt.Sprintf("/api/v1/messages/%d", m.ID), http.StatusOK, &got)
	if !got.Downloaded {
		t.Error("message not marked downloaded")
	}
	for _, q := range []string{"format=png", "format=../x"} {
		e.getJSON(fmt.Sprintf("/api/v1/messages/%d/document?%s", m.ID, q), http.StatusBadRequest, nil)
	}
	e.getJSON("/api/v1/messages/999/document", http.StatusNotFound, nil)
}

func TestPortsHealthMetrics(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	now := time.Now()
	a1, err := e.store.EnrolAgent(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Heartbeat(ctx, core.AgentInfo{ID: a1.ID, Host: "h", Ports: 4, Licensed: 4, Started: now, Heartbeat: now}); err != nil {
		t.Fatal(err)
	}
	var p Ports
	e.getJSON("/api/v1/ports", http.StatusOK, &p)
	if len(p.Ports) != 1 || p.Ports[0].ID != "M0,0" || p.Ports[0].State != "idle" || len(p.Agents) != 1 || p.Agents[0].Ports != 4 ||
		p.Agents[0].ID != core.FirstAgentID || p.Agents[0].Name != "a1" {
		t.Fatalf("ports: %+v", p)
	}
	if len(p.Destinations) != 1 || p.Destinations[0].Number != "5552002" || p.Destinations[0].Note != "T.38-less: audio" {
		t.Fatalf("destinations: %+v", p.Destinations)
	}

	// A remote agent's ports show as its heartbeat reported them.
	br, err := e.store.EnrolAgent(ctx, "branch")
	if err != nil {
		t.Fatal(err)
	}
	states := []core.PortState{
		{ID: "M0,0", No: 1, Driver: "foip", State: "sending", Status: core.PortBusy, Licensed: true, Send: true},
		{ID: "M0,1", No: 2, Driver: "foip", State: "down", Status: core.PortDown, Licensed: true, Receive: true},
	}
	if err := e.store.Heartbeat(ctx, core.AgentInfo{ID: br.ID, Host: "bh", Ports: 2, Licensed: 2, Busy: 1, PortStates: states, Started: now}); err != nil {
		t.Fatal(err)
	}
	p = Ports{}
	e.getJSON("/api/v1/ports", http.StatusOK, &p)
	var remote []Port
	for _, pt := range p.Ports {
		if pt.Remote {
			remote = append(remote, pt)
		}
	}
	if len(p.Ports) != 3 || len(remote) != 2 ||
		remote[0].AgentID != br.ID || remote[0].Agent != "branch" || remote[0].ID != "M0,0" || remote[0].Status != "busy" || remote[0].State != "sending" || !remote[0].Send || remote[0].Receive ||
		remote[1].ID != "M0,1" || remote[1].Status != "down" || remote[1].Send || !remote[1].Receive {
		t.Fatalf("ports with a remote agent: %+v", p.Ports)
	}
	resp, b := e.do("GET", "/metrics", "", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "faxagent_up 1") {
		t.Errorf("metrics: %d %s", resp.StatusCode, b)
	}
	resp, b = e.do("GET", "/readyz", "", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "ready") {
		t.Errorf("readyz: %d %s", resp.StatusCode, b)
	}
}

func TestReadyzFailing(t *testing.T) {
	dir := t.TempDir()
	st, _, err := core.Open(context.Background(), core.Options{DataDir: dir, AdminPassword: "admin-pass-for-tests", PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(Options{Store: st, Ready: func(context.Context) error { return fmt.Errorf("store down") }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "store down") {
		t.Fatalf("readyz: %d %s", rec.Code, rec.Body)
	}
	if _, err := New(Options{Store: st, Tokens: map[string]Principal{"short": {}}}); err == nil {
		t.Error("a short token was accepted")
	}
}

func TestParsePreset(t *testing.T) {
	for _, c := range []struct {
		in   string
		want core.Preset
		ok   bool
	}{
		{"port:M0,1", core.Preset{Type: core.PresetPort, Value: "M0,1"}, true},
		{"group:sales", core.Preset{Type: core.PresetGroup, Value: "sales"}, true},
		{"agent-2/port:M0,3", core.Preset{Agent: "agent-2", Type: core.PresetPort, Value: "M0,3"}, true},
		{"port:", core.Preset{}, false},
		{"desk:1", core.Preset{}, false},
		{"/port:M0,1", core.Preset{}, false},
		{"M0,1", core.Preset{}, false},
	} {
		got, err := ParsePreset(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParsePreset(%q) = %+v, %v", c.in, got, err)
		}
	}
}

// FuzzSubmitFields feeds arbitrary form fields to the parser: it must
// return a submission or an error, never panic, and a submission it
// returns has recipients with valid numbers.
func FuzzSubmitFields(f *testing.F) {
	f.Add("to", "5550100", "priority", "high", "preset", "port:M0,1")
	f.Add("to", "+1 (303) 555-0101, 5550102", "retries", "3", "schedule", "2026-01-02T03:04:05Z")
	f.Add("to", "", "resolution", "superfine", "hold", "true")
	f.Add("to", "5550100", "preset", "a/group:x", "header", "%d %t")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		fields := map[string][]string{}
		fields[k1] = append(fields[k1], v1)
		fields[k2] = append(fields[k2], v2)
		fields[k3] = append(fields[k3], v3)
		sub, _, err := parseSubmission(fields)
		if err != nil {
			return
		}
		if len(sub.Recipients) == 0 {
			t.Fatal("a submission without recipients was accepted")
		}
		for _, r := range sub.Recipients {
			if _, err := core.NormalizeFax(r.Fax); err != nil {
				t.Fatalf("recipient %q accepted: %v", r.Fax, err)
			}
		}
	})
}

// A PDF is rasterised with pdftoppm and stored as fax pages; a broken one
// is refused and nothing is stored.
func TestSubmitPDF(t *testing.T) {
	testutil.NeedTool(t, "pdftoppm")
	dir := t.TempDir()
	src := filepath.Join(dir, "letter.png")
	os.WriteFile(src, letter(t), 0o600)
	pdfPath := filepath.Join(dir, "two.pdf")
	if err := convert(context.Background(), []string{src, src}, faxdoc.Options{Resolution: imaging.Fine}, pdfPath); err != nil {
		t.Fatal(err)
	}
	pdf, err := os.ReadFile(pdfPath)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, 0)
	for _, bad := range [][]byte{[]byte("%PDF-1.4\ngarbage\n"), pdf[:len(pdf)/2]} {
		body, ct := form(t, part{"to", "", []byte("5550100")}, part{"file", "bad.pdf", bad})
		resp, b := e.do(http.MethodPost, "/api/v1/messages", testToken, body, ct)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "PDF") {
			t.Fatalf("broken PDF: %d %s", resp.StatusCode, b)
		}
		if msgs, files := e.stored(); msgs != 0 || files != 0 {
			t.Fatalf("stored %d messages and %d files after a broken PDF", msgs, files)
		}
	}
	m := e.submit(part{"to", "", []byte("5550100")}, part{"file", "two.pdf", pdf})
	if len(m.Documents) != 1 || m.Documents[0].Pages != 2 || m.Documents[0].ContentType != "image/tiff" || m.Documents[0].Name != "two.pdf" {
		t.Fatalf("documents: %+v", m.Documents)
	}
}

func TestSubmitText(t *testing.T) {
	var text strings.Builder
	for i := 1; i <= 150; i++ {
		fmt.Fprintf(&text, "Line %d\tof the letter, with a tab.\r\n", i)
	}
	text.WriteString(strings.Repeat("word ", 60) + "\n")
	e := newEnv(t, 0)
	m := e.submit(part{"to", "", []byte("5550100")}, part{"file", "letter.txt", []byte(text.String())})
	d := m.Documents
	if len(d) != 1 || d[0].Pages < 3 || d[0].ContentType != "image/tiff" {
		t.Fatalf("documents: %+v", d)
	}
	resp, b := e.do(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d/document", m.ID), testToken, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil || r.NumPages() != d[0].Pages {
		t.Fatalf("TIFF: %v, %d pages, want %d", err, r.NumPages(), d[0].Pages)
	}
	// The pages carry ink: the first page decodes with black pixels in
	// its text area.
	pr, err := r.Page(0)
	if err != nil {
		t.Fatal(err)
	}
	page, err := imaging.ReadPage(pr, imaging.WidthA4, imaging.Fine, 10000)
	if err != nil {
		t.Fatal(err)
	}
	black := 0
	for y := 0; y < page.Height; y++ {
		for x := 0; x < page.Width; x++ {
			if page.Black(x, y) {
				black++
			}
		}
	}
	if black < 10000 {
		t.Fatalf("first page has %d black pixels", black)
	}
}

func TestPublicMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: message 9999", core.ErrNotFound), "message 9999 not found"},
		{fmt.Errorf("message 7: %w", core.ErrNotFound), "message 7 not found"},
		{fmt.Errorf("%w: message 5 is not on hold", core.ErrState), "message 5 is not on hold"},
		{fmt.Errorf("%w: user bob", core.ErrExists), "user bob already exists"},
		{fmt.Errorf("%w: 99 bytes", core.ErrTooLarge), "document too large: 99 bytes"},
		{core.ErrUnknownFolder, "unknown folder"},
	}
	for _, tc := range tests {
		if got := publicMessage(tc.err); got != tc.want {
			t.Errorf("publicMessage(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestSubmitHeaderTokens: FaxCore's header tokens are accepted; an unknown
// token (%P) is refused at submit and nothing is stored.
func TestSubmitHeaderTokens(t *testing.T) {
	e := newEnv(t, 0)
	for _, bad := range []string{"Page %P", "50%", "%x"} {
		body, ct := form(t, part{"to", "", []byte("5550100")}, part{"header", "", []byte(bad)}, part{"file", "a.png", letter(t)})
		resp, b := e.do(http.MethodPost, "/api/v1/messages", testToken, body, ct)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "header") {
			t.Fatalf("header %q: %d %s", bad, resp.StatusCode, b)
		}
	}
	if msgs, files := e.stored(); msgs != 0 || files != 0 {
		t.Fatalf("stored %d messages and %d files", msgs, files)
	}
	e.submit(part{"to", "", []byte("5550100")}, part{"header", "", []byte("%d %t %-23c -> % -25n %r %s %p")}, part{"file", "a.png", letter(t)})
}
