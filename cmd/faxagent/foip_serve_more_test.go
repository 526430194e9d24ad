package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/testbench/kamailio"
)

// TestFoIPTrunkConfig: the foip section's trunk-mode keys, their
// environment variables and flags (file < environment < flags, the
// password from the environment only), and the errors of a half-configured
// trunk.
func TestFoIPTrunkConfig(t *testing.T) {
	file := writeConfig(t, `
agent:
  foip:
    listen: 127.0.0.1:5070
    registrar: 127.0.0.1:5060
    username: "1001"
    password: from-file
    register_expiry: 90s
    register_retry: 2s
    inbound_user: pbx
    inbound_password: pbx-secret
    realm: fax.example
    session_expires: 10m
    channels: 4
`)
	c, err := loadConfig([]string{"--config", file}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Agent.Foip
	if f.Registrar != "127.0.0.1:5060" || f.Username != "1001" || f.Password != "from-file" || f.RegisterExpiry != 90*time.Second ||
		f.RegisterRetry != 2*time.Second || f.InboundUser != "pbx" || f.InboundPassword != "pbx-secret" || f.Realm != "fax.example" ||
		f.SessionExpires != 10*time.Minute || f.Peer != "" || f.Channels != 4 {
		t.Fatalf("foip from the file: %+v", f)
	}
	d, ids, err := newFoip(f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("newFoip in trunk mode: %v", err)
	}
	if len(ids) != 4 || ids[0] != "M1,0" || ids[3] != "M1,3" || len(d.Ports()) != 4 {
		t.Fatalf("trunk ports %v, driver ports %d", ids, len(d.Ports()))
	}

	env := map[string]string{"FAXAGENT_CONFIG": file, "FAXAGENT_FOIP_REGISTRAR": "127.0.0.1:5061",
		"FAXAGENT_FOIP_USERNAME": "2002", "FAXAGENT_FOIP_PASSWORD": "from-env"}
	c, err = loadConfig(nil, envOf(env))
	if f := c.Agent.Foip; err != nil || f.Registrar != "127.0.0.1:5061" || f.Username != "2002" || f.Password != "from-env" {
		t.Fatalf("foip from the environment: %v %+v", err, f)
	}
	c, err = loadConfig([]string{"--foip-registrar", "127.0.0.1:5062", "--foip-username", "3003"}, envOf(env))
	if f := c.Agent.Foip; err != nil || f.Registrar != "127.0.0.1:5062" || f.Username != "3003" || f.Password != "from-env" {
		t.Fatalf("foip from the flags: %v %+v", err, f)
	}
	// Only flags and the environment, no file: a complete trunk.
	c, err = loadConfig([]string{"--foip-listen", "127.0.0.1:5070", "--foip-registrar", "127.0.0.1:5060", "--foip-username", "4004"},
		envOf(map[string]string{"FAXAGENT_FOIP_PASSWORD": "pw"}))
	if f := c.Agent.Foip; err != nil || f.Username != "4004" || f.Password != "pw" {
		t.Fatalf("foip from flags alone: %v %+v", err, f)
	}
	if _, err := loadConfig([]string{"--foip-password", "x"}, envOf(nil)); err == nil {
		t.Error("a --foip-password flag is taken; the password belongs in the environment")
	}

	listen := []string{"--foip-listen", "127.0.0.1:5070"}
	for _, tc := range []struct {
		name, file string
		args       []string
		want       string
	}{
		{"registrar without username", "", append([]string{"--foip-registrar", "127.0.0.1:5060"}, listen...), "needs a username"},
		{"peer and registrar", "", append([]string{"--foip-registrar", "127.0.0.1:5060", "--foip-username", "1", "--foip-peer", "127.0.0.1:5062"}, listen...), "not both"},
		{"registrar without listen", "", []string{"--foip-registrar", "127.0.0.1:5060", "--foip-username", "1"}, "without a listen"},
		{"neither peer nor registrar", "", listen, "registrar"},
		{"negative expiry", "agent: {foip: {register_expiry: -1s}}\n", append([]string{"--foip-registrar", "127.0.0.1:5060", "--foip-username", "1"}, listen...), "register_expiry"},
		{"unknown key", "agent: {foip: {registrer: 127.0.0.1:5060}}\n", nil, "registrer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeConfig(t, tc.file)}, args...)
			}
			_, err := loadConfig(args, envOf(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// checkSentAttempt checks A's message 1 completed in one attempt on the
// FoIP trunk with every TransmissionDetails field filled in.
func checkSentAttempt(t *testing.T, a *server, to string, pages int, ecm bool) httpapi.Attempt {
	t.Helper()
	var m httpapi.Message
	a.get("/api/v1/messages/1", &m)
	if m.Status != "Completed" || len(m.Jobs) != 1 || len(m.Jobs[0].Attempts) != 1 {
		t.Fatalf("message: %+v", m)
	}
	at := m.Jobs[0].Attempts[0]
	if at.Outcome != "done" || at.Direction != "outbound" || at.TransmitStatus != 0 || at.TransmitStatusDef == "" ||
		!strings.HasPrefix(at.BoardID, "M1,") || at.FaxProtocol == "" || at.TransmitSpeed < 2400 ||
		at.PageSent != pages || at.PageCount != pages || at.StartPageNo != 1 || at.CalledNumber != to ||
		at.CompressionMode == "" || at.FaxResolution == "" || at.CallDuration <= 0 || at.TransmitDuration <= 0 ||
		at.TransmitDuration > at.CallDuration || at.RemoteCSID == "" || at.FaxAgentID == "" || at.ServerIP == "" ||
		at.AttemptNo != 1 || at.Completed == nil || at.ErrorID != 0 {
		t.Fatalf("attempt lacks TransmissionDetails: %+v", at)
	}
	// MMR needs ECM: it is used exactly when ECM was negotiated.
	if (at.CompressionMode == "MMR") != ecm {
		t.Errorf("compression %s with ECM %v", at.CompressionMode, ecm)
	}
	return at
}

// checkInbox waits for the one fax in b's inbox and checks it holds the
// pages of want (netpbm's decoding of the sent TIFF) pixel for pixel and
// was received on the trunk for number.
func checkInbox(t *testing.T, b *server, dir, number string, pages int, want []byte) {
	t.Helper()
	var inbox httpapi.List
	for i := 0; i < 100; i++ {
		if b.get("/api/v1/messages?folder=inbox", &inbox); inbox.Total > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if inbox.Total != 1 {
		t.Fatalf("inbox: %+v", inbox)
	}
	var in httpapi.Message
	b.get(fmt.Sprintf("/api/v1/messages/%d", inbox.Messages[0].ID), &in)
	if len(in.Received) != 1 || in.Received[0].PageCount != pages || in.Received[0].CalledNumber != number ||
		!strings.HasPrefix(in.Received[0].BoardID, "M1,") {
		t.Fatalf("received: %+v", in)
	}
	var doc []byte
	b.get(fmt.Sprintf("/api/v1/messages/%d/document?format=tiff", in.ID), &doc)
	got := filepath.Join(dir, "got.tif")
	if err := os.WriteFile(got, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if g := pbm(t, got); !bytes.Equal(g, want) {
		t.Fatalf("received pages differ from the sent ones (%d vs %d bytes of PBM)", len(g), len(want))
	}
}

// TestFoIPServeKamailio: two serve processes with their FoIP trunks in
// trunk mode register (digest auth, the password from
// FAXAGENT_FOIP_PASSWORD) with Kamailio, and A sends a one-page fax to the
// number B registered (and both re-register every 3 s, their 4 s expiry
// running out during the call): the INVITE is challenged and routed by the
// registrar, the page arrives in B's inbox pixel-equal, and A's attempt
// has complete TransmissionDetails.
func TestFoIPServeKamailio(t *testing.T) {
	t.Parallel()
	bin := faxagentBinary(t)
	testutil.NeedTool(t, "tifftopnm")
	p := kamailio.Start(t)
	letter, err := filepath.Abs("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	tif := filepath.Join(t.TempDir(), "letter.tif")
	if out, err := exec.Command(bin, "convert", letter, "-o", tif, "--resolution", "fine").CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, out)
	}
	want := pbm(t, tif)

	const numA, numB = "1001", "2002"
	dirA, dirB := t.TempDir(), t.TempDir()
	// A short expiry: the trunks re-register (at 3/4 of it) all through the call.
	cfg := "agent:\n  foip:\n    register_expiry: 4s\n    register_retry: 500ms\n    t38:\n      reinvite_out: 200ms\n"
	cfgA, cfgB := filepath.Join(dirA, "a.yaml"), filepath.Join(dirB, "b.yaml")
	for _, f := range []string{cfgA, cfgB} {
		if err := os.WriteFile(f, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	serve := func(dir, cfg, num string) *server {
		return startServe(t, dir, []string{bin, "serve", "--config", cfg, "--pacing", "none",
			"--foip-listen", fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t)), "--foip-registrar", p.Addr, "--foip-username", num},
			"FAXAGENT_FOIP_PASSWORD="+kamailio.Password)
	}
	b := serve(dirB, cfgB, numB)
	a := serve(dirA, cfgA, numA)
	p.WaitLog(t, 15*time.Second, "challenge REGISTER "+numA+" (401)", "registered "+numA, "registered "+numB)

	out, err := runIn(dirA, []string{bin, "send", "--to", numB, "--preset", "group:foip", "--header", "-",
		"--retries", "0", "--wait", "--timeout", "3m", tif})
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	at := checkSentAttempt(t, a, numB, 1, true)
	t.Logf("through kamailio: port %s protocol %s speed %d compression %s resolution %s call %.1fs",
		at.BoardID, at.FaxProtocol, at.TransmitSpeed, at.CompressionMode, at.FaxResolution, at.CallDuration)
	checkInbox(t, b, dirB, numB, 1, want)
	// The call went through the proxy: challenged, routed by the
	// location lookup, the T.38 re-INVITE and the BYE record-routed.
	p.WaitLog(t, 5*time.Second, "challenge INVITE "+numA+" (407)", "INVITE "+numA+" -> "+numB, "in-dialog INVITE", "in-dialog BYE")
	// Both re-registered before the expiry they asked for ran out, again
	// and again during the call (which takes more than 4 s).
	for _, n := range []string{numA, numB} {
		if c := strings.Count(p.Log(), "registered "+n+" ->"); c < 3 {
			t.Errorf("%s registered %d times, want re-registrations every 3 s", n, c)
		}
	}
	a.stop()
	b.stop()
}

// tenPages writes n distinct pages as PNGs (the sample letter with a black
// bar at a different height on each page) and converts them to a fax TIFF.
func tenPages(t *testing.T, bin, dir string, n int) string {
	t.Helper()
	f, err := os.Open("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	r := src.Bounds()
	args := []string{"convert"}
	for i := range n {
		img := image.NewGray(r)
		draw.Draw(img, r, src, r.Min, draw.Src)
		y := r.Min.Y + (i+1)*r.Dy()/(n+2)
		draw.Draw(img, image.Rect(r.Min.X+r.Dx()/10, y, r.Min.X+r.Dx()/10+(i+1)*r.Dx()/(2*n), y+r.Dy()/60),
			image.NewUniform(color.Black), image.Point{}, draw.Src)
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprintf("page%02d.png", i+1))
		if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, name)
	}
	tif := filepath.Join(dir, "pages.tif")
	if out, err := exec.Command(bin, append(args, "-o", tif, "--resolution", "fine")...).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, out)
	}
	return tif
}

// TestFoIPServeTenPagesBothWays: two serve processes whose trunks (peer
// mode, two channels each) point at each other send each other a ten-page
// fax at the same time, so each trunk sends on one channel while it
// receives on the other; with ECM and without (both trunks' ports refuse
// it), the cases in parallel: every page arrives pixel-equal in the
// other's inbox, and both attempt records are complete (MMR exactly with
// ECM).
func TestFoIPServeTenPagesBothWays(t *testing.T) {
	t.Parallel() // real-time T.38 calls mostly wait
	bin := faxagentBinary(t)
	testutil.NeedTool(t, "tifftopnm")
	const pages = 10
	tif := tenPages(t, bin, t.TempDir(), pages)
	want := pbm(t, tif)
	if n := bytes.Count(want, []byte("P4\n")); n != pages {
		t.Fatalf("netpbm decodes %d pages of the %d-page TIFF", n, pages)
	}

	for _, tc := range []struct {
		name       string
		noECM      bool
		numA, numB string
	}{{"ecm", false, "5556100", "5557100"}, {"no-ecm", true, "5556200", "5557200"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tenPagesBothWays(t, bin, tif, want, pages, tc.noECM, "", tc.numA, tc.numB)
		})
	}
}

// TestFoIPServeAudioBothWays: two serve processes whose trunks have the
// T.38 policy never fax each other three pages at the same time over
// G.711 audio, through the soft modems: every page arrives pixel-equal,
// and both attempt records say audio.
func TestFoIPServeAudioBothWays(t *testing.T) {
	t.Parallel() // real-time audio calls mostly wait
	bin := faxagentBinary(t)
	testutil.NeedTool(t, "tifftopnm")
	const pages = 3
	tif := tenPages(t, bin, t.TempDir(), pages)
	want := pbm(t, tif)
	tenPagesBothWays(t, bin, tif, want, pages, false, "never", "5556300", "5557300")
}

// tenPagesBothWays runs two serve processes (T.38 policy policy, "" for
// the default) that fax each other the pages of tif at once.
func tenPagesBothWays(t *testing.T, bin, tif string, want []byte, pages int, noECM bool, policy, numA, numB string) {
	pa, pb := freeUDPPort(t), freeUDPPort(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	serve := func(dir, num string, listen, peer int) *server {
		cfg := filepath.Join(dir, "foip.yaml")
		text := fmt.Sprintf("agent:\n  foip:\n    number: %q\n    channels: 2\n    t38:\n      no_ecm: %v\n      policy: %q\n", num, noECM, policy)
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return startServe(t, dir, []string{bin, "serve", "--config", cfg, "--pacing", "none",
			"--foip-listen", fmt.Sprintf("127.0.0.1:%d", listen), "--foip-peer", fmt.Sprintf("127.0.0.1:%d", peer)})
	}
	a := serve(dirA, numA, pa, pb)
	b := serve(dirB, numB, pb, pa)

	start := time.Now()
	var wg sync.WaitGroup
	outs, errs := make([]string, 2), make([]error, 2)
	for i, s := range []struct{ dir, to string }{{dirA, numB}, {dirB, numA}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = runIn(s.dir, []string{bin, "send", "--to", s.to, "--preset", "group:foip", "--header", "-",
				"--retries", "0", "--wait", "--timeout", "6m", tif})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("send %d: %v\n%s", i, err, outs[i])
		}
	}
	t.Logf("both ways, %d pages each, no_ecm %v: %.0f s", pages, noECM, time.Since(start).Seconds())
	for _, s := range []struct {
		from, to *server
		dir, num string
	}{{a, b, dirB, numB}, {b, a, dirA, numA}} {
		at := checkSentAttempt(t, s.from, s.num, pages, !noECM)
		t.Logf("to %s: port %s media %s protocol %s speed %d compression %s call %.1fs, packets lost %d", s.num, at.BoardID, at.Media,
			at.FaxProtocol, at.TransmitSpeed, at.CompressionMode, at.CallDuration, at.PacketsLost)
		if wantMedia := map[string]string{"": "T.38", "never": "audio"}[policy]; at.Media != wantMedia {
			t.Errorf("attempt media %q, want %q", at.Media, wantMedia)
		}
		checkInbox(t, s.to, s.dir, s.num, pages, want)
	}
	a.stop()
	b.stop()
}
