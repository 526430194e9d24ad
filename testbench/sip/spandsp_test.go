package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/foip"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/testbench/interop/spandsp"
)

// mediaRange finds an even port P with P, P+1 and P+2 free on 127.0.0.1:
// a driver with the media range P..P+2 takes P for RTP, P+1 for RTCP and
// P+2 for UDPTL, so the UDPTL port is known before the call.
func mediaRange(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		_ = c.Close()
		p -= p % 2
		if p+2 > 65535 {
			continue
		}
		free := true
		for q := p; q <= p+2 && free; q++ {
			c, err := net.ListenPacket("udp4", hostPort(q))
			if err != nil {
				free = false
				continue
			}
			_ = c.Close()
		}
		if free {
			return p
		}
	}
	t.Fatal("no three free consecutive UDP ports")
	return 0
}

// readTIFF decodes every page of a TIFF file written by SpanDSP.
// peerGotPage waits for sipp to end its scenario, stops the SpanDSP peer
// and checks that the one page it stored in file is pixel-equal to sent.
func peerGotPage(t *testing.T, s *sipp, d *foip.Driver, peer interface{ Close() error }, file string, sent *imaging.Page) {
	t.Helper()
	s.wait(t, d)
	if err := peer.Close(); err != nil {
		t.Fatalf("SpanDSP peer exit: %v", err)
	}
	got, err := readTIFF(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !drivertest.Equal(got[0], sent) {
		t.Fatalf("SpanDSP's TIFF holds %d pages; not pixel-equal to the page sent", len(got))
	}
}

func readTIFF(path string) ([]*imaging.Page, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("SpanDSP's TIFF: %w", err)
	}
	var pages []*imaging.Page
	for i := 0; i < r.NumPages(); i++ {
		pr, err := r.Page(i)
		if err != nil {
			return nil, err
		}
		info := pr.Info()
		p, err := imaging.ReadPage(pr, info.Width, info.Resolution, 0)
		if err != nil {
			return nil, fmt.Errorf("SpanDSP's page %d: %w", i+1, err)
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// TestSpanDSPOverSIP sends a one-page fax from our FoIP driver to SpanDSP's
// T.38 terminal behind a SIP front: sipp (uas_t38_spandsp.xml) answers our
// INVITE with audio and our T.38 re-INVITE with an m=image pointing at the
// SpanDSP peer's UDPTL port, so the T.38 call runs between our t38
// terminal and SpanDSP in real time. Our result must be OK, SpanDSP's too,
// and the page SpanDSP wrote to its TIFF must equal the page sent, pixel
// for pixel. A call lasts ~35 s, so this runs under CI=true or
// FAXAGENT_REALTIME=1, like the other real-time interop tests; ECM on and
// off run in parallel.
func TestSpanDSPOverSIP(t *testing.T) {
	testutil.NeedRealtime(t, "real-time T.38 call with SpanDSP takes ~35 s")
	testutil.NeedTool(t, "sipp")
	t.Parallel()
	bin, err := spandsp.Build(context.Background(), t.TempDir())
	if errors.Is(err, spandsp.ErrNoToolchain) {
		testutil.Missing(t, "SpanDSP peer (libspandsp-dev, gcc) not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ecm  drivers.ECMMode
	}{
		{"ECM", drivers.ECMOn},
		{"noECM", drivers.ECMOff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			media := mediaRange(t)
			udptl := media + 2
			peerPort := freeUDP(t)
			sp := freeUDP(t)
			s := startSipp(t, "uas_t38_spandsp.xml", sp, "-key", "spandsp_port", strconv.Itoa(peerPort), "-timeout", "120s")
			d := openDriver(t, foip.Config{Number: "1001", Listen: hostPort(0), Peer: hostPort(sp),
				ReinviteOut: 100 * time.Millisecond, RTPPortMin: media, RTPPortMax: media + 2})

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			file := filepath.Join(t.TempDir(), "received.tif")
			peer, err := spandsp.StartTerminalUDP(ctx, bin, peerPort, udptl, false, file, "version=2", "red=3", "ecm=1", "timeout=100")
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()

			doc := drivertest.Doc(1, imaging.WidthA4, 400, imaging.Fine, 11)
			c, err := d.Dial(ctx, d.Ports()[0].ID, "5552002", drivers.DialOptions{RingTimeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("dial: %v\n%s", err, s.trace())
			}
			r, err := c.Send(ctx, doc, drivers.SendParams{CSID: "FAXAGENT", ECM: tc.ecm}, nil)
			var theirs *spandsp.PeerResult
			select {
			case theirs = <-peer.End():
			case err := <-peer.Err():
				t.Fatalf("SpanDSP peer: %v", err)
			case <-ctx.Done():
				t.Fatal("SpanDSP peer did not end its call")
			}
			st := c.(foip.MediaStats).Stats()
			t.Logf("ours: %v (%v) speed %v ECM %v; SpanDSP: %d %s rate %d ECM %v; UDPTL %+v",
				r.Code, err, r.Speed, r.ECM, theirs.Code, theirs.Text, theirs.BitRate, theirs.ECM, st.UDPTL)
			if err != nil || r.Code != t30.OK || r.PagesConfirmed != 1 {
				t.Fatalf("send: %v, code %v, %d pages confirmed; want OK, 1", err, r.Code, r.PagesConfirmed)
			}
			if want := tc.ecm == drivers.ECMOn; r.ECM != want || theirs.ECM != want {
				t.Errorf("ECM: ours %v, SpanDSP %v; want %v", r.ECM, theirs.ECM, want)
			}
			if !theirs.OK() || theirs.PagesRx != 1 {
				t.Fatalf("SpanDSP: %s, %d pages received", theirs.Text, theirs.PagesRx)
			}
			if st.T38Version != 2 || st.UDPTL.Delivered == 0 {
				t.Errorf("no T.38 media counted: %+v", st)
			}
			peerGotPage(t, s, d, peer, file, doc[0]) // sipp saw our BYE after the fax
		})
	}
}
