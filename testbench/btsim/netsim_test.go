package btsim

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
)

const peerNumber = "5550100"

// netPeer is a loopback port on the simulator's network that receives
// or sends one call.
func netPeer(t *testing.T, net *loopback.Network) *loopback.Driver {
	t.Helper()
	d := loopback.New(net, loopback.DriverOptions{Board: 5, Numbers: []string{peerNumber}})
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// netSim is a simulator joined to a fresh loopback network with a peer
// port on it, and a client connected to the simulator.
func netSim(t *testing.T, cfg Config) (*Sim, *localsvc.Client, *loopback.Driver) {
	t.Helper()
	lnet := loopback.NewNetwork(loopback.Options{Mode: loopback.Virtual, Seed: 3})
	t.Cleanup(lnet.Close)
	cfg.Network = lnet
	s, c := dialSim(t, cfg)
	return s, c, netPeer(t, lnet)
}

type peerRx struct {
	res   drivers.Result
	pages []*t30.ReceivedPage
}

func receiveAt(ctx context.Context, d *loopback.Driver) <-chan peerRx {
	out := make(chan peerRx, 1)
	go func() {
		select {
		case c := <-d.Incoming():
			var col t30.PageCollector
			res, _ := c.Receive(ctx, drivers.ReceiveParams{CSID: "PEER"}, &col, nil)
			out <- peerRx{res, col.Pages}
		case <-ctx.Done():
			out <- peerRx{}
		}
	}()
	return out
}

// TestNetworkChannel drives a simulator joined to a loopback network
// through the local protocol: a channel's fax reaches a loopback port,
// and a fax from that port arrives in the channel's file (libtiff agrees
// it is the page sent).
func TestNetworkChannel(t *testing.T) {
	_, c, peer := netSim(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Boards(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.tif")
	doc := drivertest.Doc(3, imaging.WidthA4, 250, imaging.Fine, 77)
	writeDoc(t, src, doc)

	t.Run("channel to loopback port", func(t *testing.T) {
		ch := vendor.ChannelRef{Board: 1, Channel: 2}
		rx := receiveAt(ctx, peer)
		con, err := c.Dial(ctx, ch, peerNumber, vendor.DialOptions{})
		if err != nil || con.Code != t30.OK {
			t.Fatalf("dial %+v %v", con, err)
		}
		comp, err := c.Send(ctx, ch, src, vendor.FaxOptions{CSID: "BOARD", ECM: true, MaxRate: 9600})
		if err != nil {
			t.Fatal(err)
		}
		r := <-rx
		if comp.Code != t30.OK || comp.Pages != 3 || comp.RemoteCSID != "PEER" || comp.Rate != 9600 || comp.Modulation != "V17" ||
			!comp.ECM || comp.Board != 1 || comp.Channel != 2 || comp.Width != imaging.WidthA4 ||
			imaging.Resolution(comp.Resolution) != imaging.Fine {
			t.Errorf("completion %+v", comp)
		}
		if r.res.Code != t30.OK || r.res.RemoteIdent != "BOARD" || r.res.Speed.Rate != 9600 ||
			r.res.Info.CallingNumber != Number(1, 2) || r.res.Info.CalledNumber != peerNumber {
			t.Errorf("peer result %+v", r.res)
		}
		if len(r.pages) != 3 {
			t.Fatalf("peer got %d pages", len(r.pages))
		}
		for i, rp := range r.pages {
			pg, _, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
			if err != nil || !drivertest.Equal(doc[i], pg) {
				t.Errorf("page %d differs (%v)", i+1, err)
			}
		}
		if err := c.Hangup(ctx, ch, 0); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("loopback port to channel", func(t *testing.T) {
		ch := vendor.ChannelRef{Board: 0, Channel: 3}
		rxPath := filepath.Join(dir, "rx.tif")
		sent := make(chan drivers.Result, 1)
		go func() {
			call, err := peer.Dial(ctx, "M5,0", Number(0, 3), drivers.DialOptions{})
			if err != nil {
				sent <- drivers.DialResult(err, drivers.CallInfo{}, time.Now())
				return
			}
			r, _ := call.Send(ctx, doc, drivers.SendParams{CSID: "PEER"}, nil)
			sent <- r
		}()
		ring := waitEvent(t, c, vendor.EventRing)
		if ring.Ch != ch || ring.Calling != peerNumber || ring.Called != Number(0, 3) {
			t.Fatalf("ring %+v", ring)
		}
		if err := c.Answer(ctx, ch); err != nil {
			t.Fatal(err)
		}
		comp, err := c.Receive(ctx, ch, rxPath, vendor.FaxOptions{CSID: "BOARD", ECM: true})
		if err != nil {
			t.Fatal(err)
		}
		r := <-sent
		if comp.Code != t30.OK || comp.Pages != 3 || comp.RemoteCSID != "PEER" || comp.Rate != 14400 ||
			comp.Board != 0 || comp.Channel != 3 {
			t.Errorf("completion %+v", comp)
		}
		if r.Code != t30.OK || r.PagesConfirmed != 3 || r.RemoteIdent != "BOARD" {
			t.Errorf("peer result %+v", r)
		}
		if err := c.Hangup(ctx, ch, 0); err != nil {
			t.Fatal(err)
		}
		tiffcmp := testutil.Tool(t, "tiffcmp")
		if out, err := exec.Command(tiffcmp, "-t", src, rxPath).CombinedOutput(); err != nil {
			t.Fatalf("tiffcmp: %v\n%s", err, out)
		}
	})

	t.Run("loopback port to a channel in a call: busy", func(t *testing.T) {
		ch := vendor.ChannelRef{Board: 1, Channel: 3}
		if con, err := c.Dial(ctx, ch, "9005", vendor.DialOptions{}); err != nil || con.Code != t30.OK {
			t.Fatalf("dial %+v %v", con, err)
		}
		_, err := peer.Dial(ctx, "M5,0", Number(1, 3), drivers.DialOptions{})
		if r := drivers.DialResult(err, drivers.CallInfo{}, time.Now()); r.Code != t30.CodeBusy {
			t.Errorf("peer dialling a channel in a call: %v (%v), want busy", r.Code, err)
		}
		if err := c.Hangup(ctx, ch, 0); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("channel goes down mid-call", func(t *testing.T) {
		ch := vendor.ChannelRef{Board: 0, Channel: 0}
		long := filepath.Join(dir, "long.tif")
		ldoc := drivertest.Doc(10, imaging.WidthA4, 100, imaging.Standard, 78)
		writeDoc(t, long, ldoc)
		// Slow pages, so that the fault hits mid-call.
		s, c, peer := netSim(t, Config{PageTime: 20 * time.Millisecond})
		if _, err := c.Boards(ctx); err != nil {
			t.Fatal(err)
		}
		rx := receiveAt(ctx, peer)
		if con, err := c.Dial(ctx, ch, peerNumber, vendor.DialOptions{}); err != nil || con.Code != t30.OK {
			t.Fatalf("dial %+v %v", con, err)
		}
		go func() {
			for ev := range c.Events() {
				if ev.Kind == vendor.EventPage && ev.Ch == ch && ev.Page == 2 {
					s.SetChannelDown(0, 0, true)
					return
				}
			}
		}()
		comp, err := c.Send(ctx, ch, long, vendor.FaxOptions{ECM: true})
		if err != nil {
			t.Fatal(err)
		}
		r := <-rx
		if comp.Code != t30.CodeCallDropped || comp.CauseCode != 11 || comp.Pages < 2 || comp.Pages >= 10 {
			t.Errorf("completion %+v", comp)
		}
		if r.res.Code != t30.CodeCallDropped || r.res.PagesReceived < comp.Pages || len(r.pages) != r.res.PagesReceived {
			t.Errorf("peer result %v, %d pages", r.res.Code, r.res.PagesReceived)
		}
		for i, rp := range r.pages {
			pg, _, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
			if err != nil || !drivertest.Equal(ldoc[i], pg) {
				t.Errorf("page %d differs (%v)", i+1, err)
			}
		}
	})

	t.Run("channel goes down mid-reception", func(t *testing.T) {
		ch := vendor.ChannelRef{Board: 1, Channel: 1}
		ldoc := drivertest.Doc(10, imaging.WidthA4, 100, imaging.Standard, 79)
		s, c, peer := netSim(t, Config{PageTime: 20 * time.Millisecond})
		if _, err := c.Boards(ctx); err != nil {
			t.Fatal(err)
		}
		sent := make(chan drivers.Result, 1)
		go func() {
			call, err := peer.Dial(ctx, "M5,0", Number(1, 1), drivers.DialOptions{})
			if err != nil {
				sent <- drivers.DialResult(err, drivers.CallInfo{}, time.Now())
				return
			}
			r, _ := call.Send(ctx, ldoc, drivers.SendParams{}, nil)
			sent <- r
		}()
		waitEvent(t, c, vendor.EventRing)
		if err := c.Answer(ctx, ch); err != nil {
			t.Fatal(err)
		}
		go func() {
			for ev := range c.Events() {
				if ev.Kind == vendor.EventPage && ev.Ch == ch && ev.Page == 2 {
					s.SetChannelDown(1, 1, true)
					return
				}
			}
		}()
		rxPath := filepath.Join(dir, "rx-down.tif")
		comp, err := c.Receive(ctx, ch, rxPath, vendor.FaxOptions{ECM: true})
		if err != nil {
			t.Fatal(err)
		}
		r := <-sent
		if comp.Code != t30.CodeCallDropped || comp.CauseCode != 11 || comp.Pages < 2 || comp.Pages >= 10 {
			t.Errorf("completion %+v", comp)
		}
		if r.Code != t30.CodeCallDropped || r.PagesConfirmed > comp.Pages {
			t.Errorf("peer result %v, %d pages confirmed", r.Code, r.PagesConfirmed)
		}
		// The file holds the pages received before the fault.
		got := readPages(t, rxPath)
		if len(got) != comp.Pages {
			t.Fatalf("file has %d pages, completion says %d", len(got), comp.Pages)
		}
		for i, pg := range got {
			if !drivertest.Equal(ldoc[i], pg) {
				t.Errorf("page %d differs", i+1)
			}
		}
	})
}

// readPages decodes every page of a TIFF file.
func readPages(t *testing.T, path string) []*imaging.Page {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tiff.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []*imaging.Page
	for i := 0; i < r.NumPages(); i++ {
		pr, err := r.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		info := pr.Info()
		pg, err := imaging.ReadPage(pr, info.Width, info.Resolution, 0)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		out = append(out, pg)
	}
	return out
}

// TestStatusOf: an engine's completion code becomes the board status
// whose code (localsvc's table) is the same, or one of the same retry
// class where the board has no status of its own.
func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		code, back t30.Code
	}{
		{t30.OK, t30.OK},
		{t30.CodeBusy, t30.CodeBusy},
		{t30.CodeNoAnswer, t30.CodeNoAnswer},
		{t30.CodeBadNumber, t30.CodeNoAnswer},
		{t30.CodeNoFax, t30.CodeNoFax},
		{t30.CodeTrainFailed, t30.CodeTrainFailed},
		{t30.CodeIncompatible, t30.CodeIncompatible},
		{t30.CodePageRejected, t30.CodePageRejected},
		{t30.CodeCallDropped, t30.CodeCallDropped},
		{t30.CodeDCNUnexpected, t30.CodeDCNUnexpected},
		{t30.CodeDocument, t30.CodeDocument},
		{t30.CodeCancelled, t30.CodeCancelled},
		{t30.CodeProtocol, t30.CodeProtocol},
		{t30.CodeECMFailed, t30.CodeECMFailed},
		{t30.CodeT2Timeout, t30.CodeT2Timeout},
		{t30.CodeInternal, t30.CodeInternal},
	} {
		if got := localsvc.StatusCode(statusOf(tc.code)); got != tc.back {
			t.Errorf("%v: status %d reads back as %v, want %v", tc.code, statusOf(tc.code), got, tc.back)
		}
	}
}
