package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/core/httpapi"
	"github.com/faxagent/faxagent/internal/testutil"
)

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// pbm converts page 1 of a TIFF to a plain bitmap with netpbm's tifftopnm
// (an independent decoder).
func pbm(t *testing.T, tiff string) []byte {
	t.Helper()
	out, err := exec.Command("tifftopnm", tiff).Output()
	if err != nil {
		t.Fatalf("tifftopnm %s: %v", tiff, err)
	}
	return out
}

// TestFoIPServe runs two serve processes whose FoIP trunks point at each
// other over SIP/T.38 on 127.0.0.1 and sends a one-page fax from A to the
// number of B's trunk, with ECM and T.38 offered in the first INVITE, and
// without ECM (A's ports refuse it) and T.38 reached by re-INVITE: B's
// inbox holds the page pixel for pixel as sent (compared with netpbm), and
// A's attempt names the FoIP port, the protocol and the speed.
func TestFoIPServe(t *testing.T) {
	t.Parallel() // real-time T.38 calls mostly wait; other tests may run meanwhile
	bin := faxagentBinary(t)
	if _, err := exec.LookPath("tifftopnm"); err != nil {
		testutil.Missing(t, "tifftopnm (netpbm) is missing")
	}
	letter, err := filepath.Abs("../../testdata/sample/letter.png")
	if err != nil {
		t.Fatal(err)
	}
	tif := filepath.Join(t.TempDir(), "letter.tif")
	if out, err := exec.Command(bin, "convert", letter, "-o", tif, "--resolution", "fine").CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, out)
	}
	want := pbm(t, tif)

	for _, tc := range []struct {
		name  string
		noECM bool
		start string // how A's calls reach T.38
	}{{"ecm", false, "invite"}, {"no-ecm", true, "reinvite"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pa, pb := freeUDPPort(t), freeUDPPort(t)
			dirA, dirB := t.TempDir(), t.TempDir()
			const numB = "5557000"
			cfgB := filepath.Join(dirB, "b.yaml")
			if err := os.WriteFile(cfgB, []byte("agent:\n  foip:\n    number: \""+numB+"\"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfgA := filepath.Join(dirA, "a.yaml")
			if err := os.WriteFile(cfgA, []byte(fmt.Sprintf("agent:\n  foip:\n    number: \"5556000\"\n    t38:\n      no_ecm: %v\n      start: %s\n", tc.noECM, tc.start)), 0o600); err != nil {
				t.Fatal(err)
			}
			b := startServe(t, dirB, []string{bin, "serve", "--config", cfgB, "--pacing", "none",
				"--foip-listen", fmt.Sprintf("127.0.0.1:%d", pb), "--foip-peer", fmt.Sprintf("127.0.0.1:%d", pa)})
			a := startServe(t, dirA, []string{bin, "serve", "--config", cfgA, "--pacing", "none",
				"--foip-listen", fmt.Sprintf("127.0.0.1:%d", pa), "--foip-peer", fmt.Sprintf("127.0.0.1:%d", pb)})

			out, err := runIn(dirA, []string{bin, "send", "--to", numB, "--preset", "group:foip", "--header", "-",
				"--retries", "0", "--wait", tif})
			if err != nil {
				t.Fatalf("send: %v\n%s", err, out)
			}
			var m httpapi.Message
			a.get("/api/v1/messages/1", &m)
			if m.Status != "Completed" || len(m.Jobs) != 1 || len(m.Jobs[0].Attempts) != 1 {
				t.Fatalf("message: %+v", m)
			}
			at := m.Jobs[0].Attempts[0]
			if at.Outcome != "done" || at.TransmitStatus != 0 || at.BoardID != "M1,0" || at.FaxProtocol == "" ||
				at.TransmitSpeed < 2400 || at.PageSent != 1 || at.PageCount != 1 || at.CalledNumber != numB ||
				at.CompressionMode == "" || at.FaxResolution == "" || at.CallDuration <= 0 || at.RemoteCSID == "" {
				t.Fatalf("attempt: %+v", at)
			}
			// MMR needs ECM: it is used exactly when ECM was negotiated.
			if (at.CompressionMode == "MMR") == tc.noECM {
				t.Errorf("compression %s with no_ecm %v", at.CompressionMode, tc.noECM)
			}
			var metrics []byte
			a.get("/metrics", &metrics)
			for _, w := range []string{`faxagent_license_ports_licensed{driver="foip"} 1`, `faxagent_license_ports_licensed{driver="loopback"} 4`,
				`faxagent_calls_total{code="0",direction="outbound",driver="foip",result="success"} 1`} {
				if !bytes.Contains(metrics, []byte(w)) {
					t.Errorf("A's metrics lack %s", w)
				}
			}
			t.Logf("attempt: port %s protocol %s speed %d compression %s resolution %s call %.1fs",
				at.BoardID, at.FaxProtocol, at.TransmitSpeed, at.CompressionMode, at.FaxResolution, at.CallDuration)

			var inbox httpapi.List
			for i := 0; i < 100; i++ {
				if b.get("/api/v1/messages?folder=inbox", &inbox); inbox.Total > 0 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if inbox.Total != 1 {
				t.Fatalf("B's inbox: %+v", inbox)
			}
			var in httpapi.Message
			b.get(fmt.Sprintf("/api/v1/messages/%d", inbox.Messages[0].ID), &in)
			if len(in.Received) != 1 || in.Received[0].PageCount != 1 || in.Received[0].CalledNumber != numB ||
				in.Received[0].BoardID != "M1,0" {
				t.Fatalf("received: %+v", in)
			}
			var doc []byte
			b.get(fmt.Sprintf("/api/v1/messages/%d/document?format=tiff", in.ID), &doc)
			got := filepath.Join(dirB, "got.tif")
			if err := os.WriteFile(got, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			if g := pbm(t, got); !bytes.Equal(g, want) {
				t.Fatalf("received page differs from the sent one (%d vs %d bytes of PBM; headers %q vs %q)",
					len(g), len(want), firstLine(g), firstLine(want))
			}
			a.stop()
			b.stop()
		})
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b[:min(len(b), 40)]), "\n")
	return s
}
