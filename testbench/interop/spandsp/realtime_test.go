package spandsp

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/t38"
)

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestRealTimeUDPWithSpanDSP sends one page in real time over UDP on
// 127.0.0.1 between our terminal (t30 session on the wall clock) and a
// SpanDSP terminal in another process, once in each direction. A real-time
// call lasts about 40 s, so this runs under CI=true or FAXAGENT_REALTIME=1.
func TestRealTimeUDPWithSpanDSP(t *testing.T) {
	testutil.NeedRealtime(t, "real-time UDP calls take ~40 s each")
	bin := peerBinary(t)
	for _, weSend := range []bool{true, false} {
		name := "we send"
		if !weSend {
			name = "SpanDSP sends"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := t30.PagesDocument{testPage(1100, imaging.Standard, 9)}
			file := filepath.Join(t.TempDir(), "fax.tif")
			if !weSend {
				writeTIFF(t, file, doc, imaging.MR)
			}
			conn, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ourPort := conn.LocalAddr().(*net.UDPAddr).Port
			peerPort := freeUDPPort(t)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			peer, err := StartTerminalUDP(ctx, bin, peerPort, ourPort, !weSend, file, "version=2", "red=3", "timeout=170")
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()

			clock := t30.NewWallClock()
			tr := t38.NewUDPTransport(conn, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: peerPort})
			term, err := t38.NewTerminal(t38.TerminalConfig{Version: 2, EC: t38.ECRedundancy}, tr, clock)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); _ = tr.Serve(ctx, term) }()
			sink := &t30.PageCollector{}
			cfg := t30.Config{Calling: weSend, Transmit: weSend, Compressions: []imaging.Compression{imaging.MR}}
			if os.Getenv("T38DEBUG") != "" {
				cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			if weSend {
				cfg.Document = doc
			} else {
				cfg.Sink = sink
			}
			sess, err := t30.NewSession(cfg, term, clock)
			if err != nil {
				t.Fatal(err)
			}
			clock.AfterFunc(0, sess.Start)
			// The peer's result is handed to the clock's loop, which also
			// wakes Run to check the done condition.
			var theirs *PeerResult
			go func() {
				select {
				case res := <-peer.End():
					clock.AfterFunc(0, func() { theirs = res })
				case err := <-peer.Err():
					t.Error(err)
					cancel()
				case <-ctx.Done():
				}
			}()
			start := time.Now()
			err = clock.Run(ctx, func() bool { return sess.Done() && theirs != nil })
			cancel()
			wg.Wait()
			if err != nil {
				t.Fatalf("run: %v (ours done %v %v, SpanDSP %v); terminal %+v", err, sess.Done(), sess.Result(), theirs, term.Stats())
			}
			ours := sess.Result()
			t.Logf("real time %v: ours %v %v; SpanDSP %d %s rate %d; terminal %+v",
				time.Since(start).Round(time.Second), ours.Code, ours.Speed, theirs.Code, theirs.Text, theirs.BitRate, term.Stats().UDPTL)
			if ours.Code != t30.OK || !theirs.OK() {
				t.Fatalf("call failed: ours %v (%v), SpanDSP %s", ours.Code, ours.Err, theirs.Text)
			}
			var got []*imaging.Page
			if weSend {
				got = readTIFF(t, file)
			} else {
				for _, rp := range sink.Pages {
					p, _, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, p)
				}
			}
			if len(got) != 1 || !pagesEqual(got[0], doc[0]) {
				t.Fatalf("page did not arrive pixel-equal (%d pages)", len(got))
			}
		})
	}
}

func pagesEqual(a, b *imaging.Page) bool {
	return a.Width == b.Width && a.Height == b.Height && string(a.Pix) == string(b.Pix)
}
