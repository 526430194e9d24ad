package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/internal/testutil"
)

// screenshotDir is where the browser test saves its screenshots:
// $FAXAGENT_ARTEFACTS if set, else the test's artifact directory (kept
// with go test -artifacts).
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("FAXAGENT_ARTEFACTS"); d != "" {
		d = filepath.Join(d, "console")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

// browser starts headless Chromium (Debian's chromium) with a fresh
// profile and nothing that reaches beyond this machine.
func browser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	chrome := testutil.Tool(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("metrics-recording-only", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelC := context.WithTimeout(ctx, 4*time.Minute)
	return ctx, func() { cancelC(); cancelB(); cancelA() }
}

// TestConsoleInBrowser drives the web console in headless Chromium against
// a running serve: log in, see the four loopback ports, disable one and see
// its state change, send a fax with a cover page from the page and watch its call and its
// completion arrive live (Server-Sent Events), open the received fax and
// check its page image pixel for pixel against netpbm's reading of the
// fax's TIFF, log out. Screenshots are saved at each step.
func TestConsoleInBrowser(t *testing.T) {
	bin := faxagentBinary(t)
	testutil.Tool(t, "tifftopnm")
	ctx, cancel := browser(t)
	defer cancel()
	dir := t.TempDir()
	s := startServe(t, dir, []string{bin, "serve", "--data", filepath.Join(dir, "faxagent-data")})
	letter, err := filepath.Abs("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	shots := screenshotDir(t)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			b, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), b, 0o644)
		})
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			if b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
				os.WriteFile(filepath.Join(shots, "failed.png"), b, 0o644)
			}
			t.Fatalf("%s: %v (screenshots in %s)", what, err, shots)
		}
	}
	// poll waits for a JavaScript condition (a call under load takes a
	// while: the bound is generous, the wait ends as soon as it holds).
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute))
	}

	run("log in",
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		shot("01-login"),
		chromedp.SendKeys(chromedp.CSS("#login-user"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#login-pass"), "e2e-admin-password"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#dashboard")),
		poll(`document.querySelectorAll('#ports tbody tr').length === 4`),
		poll(`document.querySelector('#live').classList.contains('on')`),
		shot("02-dashboard"),
	)

	// M0,1 sends; disabling it leaves M0,0 to send the fax below.
	const port = `#ports tr[data-port="M0,1"]`
	run("disable a port",
		poll(`document.querySelector('`+port+`').dataset.state === 'idle'`),
		chromedp.Click(chromedp.CSS(port+" .port-toggle")),
		poll(`document.querySelector('`+port+`').dataset.state === 'disabled'`),
		shot("03-port-disabled"),
	)
	var ports httpapi.Ports
	s.get("/api/v1/ports", &ports)
	for _, p := range ports.Ports {
		if (p.ID == "M0,1") != (p.State == "disabled") {
			t.Fatalf("after disabling M0,1 in the browser, the API shows %s %s", p.ID, p.State)
		}
	}

	// Send from the page; the dashboard shows the call page by page and
	// the message's status turns Completed without a reload.
	var sawCall string
	run("send a fax",
		chromedp.Click(chromedp.CSS(`.tab[data-view="send"]`)),
		chromedp.WaitVisible(chromedp.CSS("#send-form")),
		chromedp.SendKeys(chromedp.CSS("#send-to"), "5550103"),
		chromedp.SendKeys(chromedp.CSS("#send-subject"), "From the browser"),
		chromedp.SendKeys(chromedp.CSS("#send-note"), "Sent from the web console"),
		chromedp.Click(chromedp.CSS("#send-cover")),
		chromedp.SetUploadFiles(chromedp.CSS("#send-file"), []string{letter}),
		chromedp.Click(chromedp.CSS("#send-submit")),
		chromedp.WaitVisible(chromedp.CSS("#message-detail")),
		chromedp.Click(chromedp.CSS(`.tab[data-view="dashboard"]`)),
		poll(`[...document.querySelectorAll('#ports td.call')].some(td => td.textContent.startsWith('sending page 1 of 2'))`),
		into(&sawCall, chromedp.Evaluate[string](`[...document.querySelectorAll('#ports td.call')].map(td => td.textContent).join('|')`)),
		shot("04-sending"),
		chromedp.Click(chromedp.CSS(`.tab[data-view="messages"]`)),
		poll(`document.querySelector('#detail-status').dataset.status === 'Completed'`),
		shot("05-sent"),
	)
	t.Logf("live call seen: %s", sawCall)

	// The received copy: open it from the inbox and compare its page image.
	var inbox httpapi.List
	for i := 0; i < 600 && inbox.Total == 0; i++ { // the receiver's report may trail the sender's
		if s.get("/api/v1/messages?folder=inbox", &inbox); inbox.Total == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if inbox.Total != 1 {
		t.Fatalf("inbox: %+v", inbox)
	}
	inID := inbox.Messages[0].ID
	img1 := fmt.Sprintf(`#pages img[data-page="1"][src^="/console/api/messages/%d/pages/1"]`, inID)
	var natural, pageImages int
	var b64 string
	run("open the received fax",
		chromedp.Click(chromedp.CSS(`.folder[data-folder="inbox"]`)),
		poll(fmt.Sprintf(`document.querySelectorAll('#message-list tbody tr[data-message="%d"]').length === 1`, inID)),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#message-list tbody tr[data-message="%d"]`, inID))),
		poll(fmt.Sprintf(`(() => { const i = document.querySelector('%s'); return i && i.complete && i.naturalWidth > 0; })()`, img1)),
		into(&pageImages, chromedp.Evaluate[int](`document.querySelectorAll('#pages img').length`)),
		into(&natural, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelector('%s').naturalWidth`, img1))),
		into(&b64, chromedp.Evaluate[string](fmt.Sprintf(`fetch(document.querySelector('%s').src).then(r => r.arrayBuffer()).then(b => {
			let s = ''; const u = new Uint8Array(b); for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]); return btoa(s); })`, img1),
			chromedp.EvalAwaitPromise)),
		shot("06-received"),
	)
	if pageImages != 2 { // the cover page and the letter
		t.Fatalf("the received fax shows %d page images, want 2", pageImages)
	}
	if natural != 1728 {
		t.Fatalf("page image is %d pixels wide, want 1728", natural)
	}
	var tiff []byte
	s.get(fmt.Sprintf("/api/v1/messages/%d/document?format=tiff", inID), &tiff)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(shots, "received-page1.png"), raw, 0o644)
	testutil.PNGEqualsTIFF(t, raw, tiff)

	var status int
	run("log out",
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		into(&status, chromedp.Evaluate[int](`fetch('/console/api/session').then(r => r.status)`, chromedp.EvalAwaitPromise)),
		shot("07-logged-out"),
	)
	if status != 401 {
		t.Fatalf("session after logout: %d", status)
	}
	if os.Getenv("FAXAGENT_UPDATE_SCREENSHOT") == "1" {
		b, err := os.ReadFile(filepath.Join(shots, "04-sending.png"))
		if err == nil {
			err = os.WriteFile("../../docs/console.png", b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	s.stop()
}

// into runs a and stores its value in dst.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		v, err := a(ctx, tg)
		*dst = v
		return err
	})
}
