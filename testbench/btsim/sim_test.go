package btsim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
)

func dialSim(t *testing.T, cfg Config) (*Sim, *localsvc.Client) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "sim.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := localsvc.Dial(ctx, "unix:"+sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func waitEvent(t *testing.T, c *localsvc.Client, k vendor.EventKind) vendor.Event {
	t.Helper()
	tm := time.NewTimer(10 * time.Second)
	defer tm.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatal("events closed")
			}
			if ev.Kind == k {
				return ev
			}
		case <-tm.C:
			t.Fatalf("no event %v", k)
		}
	}
}

func TestBoards(t *testing.T) {
	_, c := dialSim(t, Config{Boards: 3, Channels: 2})
	bs, err := c.Boards(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 || c.Service() != "btsim" {
		t.Fatalf("%d boards from %q", len(bs), c.Service())
	}
	for _, b := range bs {
		if len(b.Channels) != 2 || b.Model == "" {
			t.Fatalf("board %+v", b)
		}
		for _, ch := range b.Channels {
			if !ch.Up || ch.Number != Number(b.Index, ch.Index) {
				t.Errorf("channel %+v", ch)
			}
		}
	}
	st, err := c.Status(context.Background(), vendor.ChannelRef{Board: 2, Channel: 1})
	if err != nil || st.State != vendor.ChannelIdle || st.Number != "7201" {
		t.Errorf("status %+v %v", st, err)
	}
	if _, err := c.Status(context.Background(), vendor.ChannelRef{Board: 5}); !errors.Is(err, vendor.ErrChannel) {
		t.Errorf("status of a missing board: %v", err)
	}
}

// writeDoc writes pages as a TIFF Class F file (MH).
func writeDoc(t *testing.T, path string, pages t30.PagesDocument) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := tiff.NewWriter(f, tiff.WriterOptions{})
	for _, pg := range pages {
		pw, err := w.NewPage(tiff.PageSpec{Width: pg.Width, Resolution: pg.Resolution})
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < pg.Height; y++ {
			if err := pw.WriteRow(pg.Row(y)); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestChannelToChannel sends a multi-page TIFF between two channels, by
// file copy and as a real T.30 call; libtiff's tiffcmp checks the
// received file against the one sent.
func TestChannelToChannel(t *testing.T) {
	fine, err := filepath.Abs(filepath.Join(t.TempDir(), "fine.tif"))
	if err != nil {
		t.Fatal(err)
	}
	writeDoc(t, fine, drivertest.Doc(3, imaging.WidthA4, 400, imaging.Fine, 42))
	fixture, err := filepath.Abs("testdata/multipage.tif")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		copyOnly bool
		src      string
		width    int
		rate     int
		mod      string
		comp     imaging.Compression
	}{
		{"copy, fixture of 120 pixels", true, fixture, 120, 9600, "V29", imaging.MMR},
		{"T.30, A4 fine", false, fine, imaging.WidthA4, 9600, "V29", imaging.MMR},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := dialSim(t, Config{CopyOnly: tc.copyOnly})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.Boards(ctx); err != nil {
				t.Fatal(err)
			}
			rxPath := filepath.Join(t.TempDir(), "rx.tif")
			a, b := vendor.ChannelRef{Board: 0, Channel: i}, vendor.ChannelRef{Board: 1, Channel: 1}
			dialed := make(chan vendor.Connect, 1)
			go func() {
				con, err := c.Dial(ctx, a, Number(1, 1), vendor.DialOptions{})
				if err != nil {
					con.Code = t30.CodeInternal
				}
				dialed <- con
			}()
			ring := waitEvent(t, c, vendor.EventRing)
			if ring.Ch != b || ring.Calling != Number(0, i) || ring.Called != Number(1, 1) {
				t.Fatalf("ring %+v", ring)
			}
			if st, _ := c.Status(ctx, b); st.State != vendor.ChannelRinging {
				t.Errorf("callee state %v", st.State)
			}
			if err := c.Answer(ctx, b); err != nil {
				t.Fatal(err)
			}
			if con := <-dialed; con.Code != t30.OK {
				t.Fatalf("dial %+v", con)
			}
			rx := make(chan vendor.Completion, 1)
			go func() {
				comp, _ := c.Receive(ctx, b, rxPath, vendor.FaxOptions{CSID: "CALLEE", ECM: true})
				rx <- comp
			}()
			comp, err := c.Send(ctx, a, tc.src, vendor.FaxOptions{CSID: "CALLER", ECM: true, MaxRate: 9600})
			if err != nil {
				t.Fatal(err)
			}
			rcomp := <-rx
			if comp.Code != t30.OK || comp.Pages != 3 || comp.RemoteCSID != "CALLEE" || comp.Rate != tc.rate ||
				comp.Modulation != tc.mod || !comp.ECM || comp.Board != 0 || comp.Channel != i || comp.Width != tc.width ||
				imaging.Compression(comp.Compression) != tc.comp {
				t.Errorf("sender completion %+v", comp)
			}
			if rcomp.Code != t30.OK || rcomp.Pages != 3 || rcomp.RemoteCSID != "CALLER" || rcomp.Board != 1 || rcomp.Channel != 1 {
				t.Errorf("receiver completion %+v", rcomp)
			}
			if err := c.Hangup(ctx, a, 0); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, c, vendor.EventRemoteHangup)
			if s.Completed() != 1 {
				t.Errorf("completed %d", s.Completed())
			}
			// The received file has the pages, checked by us and by libtiff.
			data, err := os.ReadFile(rxPath)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := tiff.Open(bytes.NewReader(data), int64(len(data)))
			if err != nil || doc.NumPages() != 3 {
				t.Fatalf("received file: %v", err)
			}
			tiffcmp := testutil.Tool(t, "tiffcmp")
			if out, err := exec.Command(tiffcmp, "-t", tc.src, rxPath).CombinedOutput(); err != nil {
				t.Fatalf("tiffcmp: %v\n%s", err, out)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	s, c := dialSim(t, Config{PageTime: 30 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Boards(ctx); err != nil {
		t.Fatal(err)
	}
	a := vendor.ChannelRef{Board: 1, Channel: 0}
	con, err := c.Dial(ctx, a, "9005", vendor.DialOptions{})
	if err != nil || con.Code != t30.OK {
		t.Fatalf("dial %+v %v", con, err)
	}
	src, _ := filepath.Abs("testdata/multipage.tif")
	done := make(chan vendor.Completion, 1)
	go func() {
		comp, _ := c.Send(ctx, a, src, vendor.FaxOptions{})
		done <- comp
	}()
	waitEvent(t, c, vendor.EventPage)
	s.SetBoardDown(1, true)
	comp := <-done
	if comp.Code != t30.CodeCallDropped || comp.Pages < 1 || comp.Pages > 2 {
		t.Errorf("completion after the board went down: %+v", comp)
	}
	ev := waitEvent(t, c, vendor.EventDown)
	if ev.Ch.Board != 1 {
		t.Errorf("down event %+v", ev)
	}
	if _, err := c.Dial(ctx, a, "9005", vendor.DialOptions{}); !errors.Is(err, vendor.ErrChannel) {
		t.Errorf("dial on a down board: %v", err)
	}
	s.SetBoardDown(1, false)
	waitEvent(t, c, vendor.EventUp)
	if st, _ := c.Status(ctx, a); st.State != vendor.ChannelIdle {
		t.Errorf("state after recovery %v", st.State)
	}
}

// FuzzServe sends arbitrary bytes to the simulator as a client would:
// it must neither panic nor hang.
func FuzzServe(f *testing.F) {
	hello, _ := (&localsvc.Msg{Type: localsvc.TypeHello, ID: 1, Version: 1}).Marshal()
	open, _ := (&localsvc.Msg{Type: localsvc.TypeOpen, ID: 2, Board: 1, Channel: 3}).Marshal()
	dial, _ := (&localsvc.Msg{Type: localsvc.TypeDial, ID: 3, Board: 1, Channel: 3, Number: "9001"}).Marshal()
	send, _ := (&localsvc.Msg{Type: localsvc.TypeSend, ID: 4, Board: 1, Channel: 3, Path: "/nonexistent.tif"}).Marshal()
	f.Add(hello)
	f.Add(append(append(append([]byte{}, open...), dial...), send...))
	f.Add([]byte{0, 0, 0, 7, 1, 0xC0, 0, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New(Config{Boards: 2, Channels: 4})
		defer s.Close()
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() {
			s.ServeConn(a)
			close(done)
		}()
		go func() { _, _ = io.Copy(io.Discard, b) }()
		go func() {
			_, _ = b.Write(data)
			b.Close()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("ServeConn did not return after the client left")
		}
	})
}
