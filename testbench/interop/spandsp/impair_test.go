package spandsp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/t38"
	"github.com/faxagent/faxagent/testbench/impair"
)

// lossyLink is the impairment of both directions in TestRealTimeUDPLossWithSpanDSP:
// 10 % random loss, a little duplication and reordering, and some delay
// with jitter (which reorders too when it exceeds the packet spacing).
var lossyLink = impair.Impairment{
	Drop: 0.10, Duplicate: 0.02, Reorder: 0.05, MaxHold: 60 * time.Millisecond,
	Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond,
}

// udpCall is the outcome of one real-time call through the proxy.
type udpCall struct {
	name    string
	weSend  bool
	ecm     bool
	err     error // setup failure or hang
	elapsed time.Duration
	ours    *t30.Result
	theirs  *PeerResult
	term    t38.TerminalStats
	aToB    impair.Stats // our datagrams towards SpanDSP
	bToA    impair.Stats
	doc     []*imaging.Page
	got     []*imaging.Page // pages as received by the receiving side
	badRows []int           // our receiver's concealed rows per page
	// reportOnly: log the outcome, assert only that both sides ended.
	reportOnly bool
}

// runUDPCallThroughProxy runs one page in real time between our terminal
// (proxy side A) and SpanDSP (side B), with T.38 version 2 and UDPTL
// redundancy depth red on both sides. It never calls t.Fatal (it runs in a
// goroutine); failures are in the result.
func runUDPCallThroughProxy(bin, dir string, weSend, ecm bool, red int, seed uint64) (c udpCall) {
	c.weSend, c.ecm = weSend, ecm
	c.doc = t30.PagesDocument{testPage(1100, imaging.Standard, 11)}
	file := filepath.Join(dir, "fax.tif")
	if !weSend {
		if err := writeTIFFFile(file, c.doc, imaging.MR); err != nil {
			c.err = err
			return c
		}
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		c.err = err
		return c
	}
	defer conn.Close()
	peerPort, err := freePort()
	if err != nil {
		c.err = err
		return c
	}
	lo := net.IPv4(127, 0, 0, 1)
	proxy, err := impair.New(impair.Config{
		A: conn.LocalAddr().(*net.UDPAddr), B: &net.UDPAddr{IP: lo, Port: peerPort},
		AToB: lossyLink, BToA: lossyLink, Seed: seed,
	})
	if err != nil {
		c.err = err
		return c
	}
	defer proxy.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ecmOpt := "ecm=0"
	if ecm {
		ecmOpt = "ecm=1"
	}
	peer, err := StartTerminalUDP(ctx, bin, peerPort, proxy.AddrB().Port, !weSend, file, "version=2", fmt.Sprintf("red=%d", red), ecmOpt, "timeout=170")
	if err != nil {
		c.err = err
		return c
	}
	defer peer.Close()

	clock := t30.NewWallClock()
	tr := t38.NewUDPTransport(conn, proxy.AddrA())
	term, err := t38.NewTerminal(t38.TerminalConfig{Version: 2, EC: t38.ECRedundancy, Redundancy: red}, tr, clock)
	if err != nil {
		c.err = err
		return c
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = tr.Serve(ctx, term) }()
	sink := &t30.PageCollector{}
	cfg := t30.Config{Calling: weSend, Transmit: weSend, ECM: ecm, Compressions: []imaging.Compression{imaging.MR}}
	if os.Getenv("T38DEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if weSend {
		cfg.Document = t30.PagesDocument(c.doc)
	} else {
		cfg.Sink = sink
	}
	sess, err := t30.NewSession(cfg, term, clock)
	if err != nil {
		c.err = err
		return c
	}
	clock.AfterFunc(0, sess.Start)
	var theirs *PeerResult
	var peerErr error
	go func() {
		select {
		case res := <-peer.End():
			clock.AfterFunc(0, func() { theirs = res })
		case err := <-peer.Err():
			clock.AfterFunc(0, func() { peerErr = err })
			cancel()
		case <-ctx.Done():
		}
	}()
	start := time.Now()
	err = clock.Run(ctx, func() bool { return sess.Done() && theirs != nil })
	c.elapsed = time.Since(start)
	cancel()
	wg.Wait()
	c.term = term.Stats()
	c.aToB, c.bToA = proxy.Stats(impair.AToB), proxy.Stats(impair.BToA)
	if err != nil || peerErr != nil {
		c.err = fmt.Errorf("no end: run %v, peer %v (ours done %v, SpanDSP %v)", err, peerErr, sess.Done(), theirs)
		return c
	}
	ours := sess.Result()
	c.ours, c.theirs = &ours, theirs
	if weSend {
		if theirs.PagesRx > 0 {
			pages, err := readTIFFFile(file)
			if err != nil {
				c.err = err
				return c
			}
			c.got = pages
		}
		return c
	}
	for _, rp := range sink.Pages {
		p, st, err := imaging.DecodePage(rp.Data, rp.DecodeOptions(), rp.Resolution)
		if err != nil {
			c.err = fmt.Errorf("decoding our received page: %w", err)
			return c
		}
		c.got = append(c.got, p)
		c.badRows = append(c.badRows, st.BadRows)
	}
	return c
}

// writeTIFFFile and readTIFFFile are writeTIFF and readTIFF for use off the
// test goroutine: errors are returned, not reported.
func writeTIFFFile(path string, pages []*imaging.Page, comp imaging.Compression) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := tiff.NewWriter(f, tiff.WriterOptions{Compression: comp})
	for _, p := range pages {
		pw, err := w.NewPage(tiff.PageSpec{Width: p.Width, Resolution: p.Resolution, Rows: p.Height})
		if err != nil {
			return err
		}
		for y := 0; y < p.Height; y++ {
			if err := pw.WriteRow(p.Row(y)); err != nil {
				return err
			}
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Close()
}

func readTIFFFile(path string) ([]*imaging.Page, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("reading SpanDSP's TIFF: %w", err)
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

// freePort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// TestRealTimeUDPLossWithSpanDSP puts the impair proxy between our
// terminal and SpanDSP's, both over UDP in real time, with 10 % random
// loss, 2 % duplicates, 5 % reordering and 20–30 ms delay in each
// direction.
//
//   - ECM, UDPTL redundancy depth 3 on both sides, both directions: the
//     page arrives complete and pixel-equal and both result codes are OK.
//   - Non-ECM, depth 3, both directions: reported, not asserted beyond the
//     call ending with a result on both sides (no hang). Data lost beyond
//     what redundancy recovers becomes bad rows.
//   - Both modes again with depth 1, reported only: about 1 % of the
//     packets stay lost, so ECM needs PPRs and non-ECM pages get bad rows.
//
// Each call takes about 35 s of real time, so it runs under CI=true or
// FAXAGENT_REALTIME=1. The calls run at once, in goroutines rather
// than t.Parallel subtests: go test runs only GOMAXPROCS parallel subtests
// at a time (2 in CI), and these calls mostly wait on the wall clock.
func TestRealTimeUDPLossWithSpanDSP(t *testing.T) {
	testutil.NeedRealtime(t, "real-time UDP calls take ~35 s each")
	bin := peerBinary(t)
	type call struct {
		name       string
		weSend     bool
		ecm        bool
		red        int
		reportOnly bool
	}
	calls := []call{
		{"redundancy 3/ECM/we send", true, true, 3, false},
		{"redundancy 3/ECM/SpanDSP sends", false, true, 3, false},
		{"redundancy 3/non-ECM/we send", true, false, 3, true},
		{"redundancy 3/non-ECM/SpanDSP sends", false, false, 3, true},
		// Depth 1 lets about 1 % of the packets through lost, so that the
		// report shows what loss does to each mode (PPRs, bad rows).
		{"redundancy 1/ECM/we send", true, true, 1, true},
		{"redundancy 1/ECM/SpanDSP sends", false, true, 1, true},
		{"redundancy 1/non-ECM/we send", true, false, 1, true},
		{"redundancy 1/non-ECM/SpanDSP sends", false, false, 1, true},
	}
	results := make([]udpCall, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		dir := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runUDPCallThroughProxy(bin, dir, c.weSend, c.ecm, c.red, uint64(i+1))
			results[i].name, results[i].reportOnly = c.name, c.reportOnly
		}()
	}
	wg.Wait()
	for _, r := range results {
		t.Run(r.name, func(t *testing.T) {
			t.Logf("proxy our→SpanDSP %+v", r.aToB)
			t.Logf("proxy SpanDSP→our %+v", r.bToA)
			t.Logf("our terminal %+v", r.term)
			if r.err != nil {
				t.Fatal(r.err)
			}
			ours, theirs := r.ours, r.theirs
			t.Logf("real time %v: ours %v (%v) %v ECM %v PPRs %d bad rows %v; SpanDSP %d %q tx %d rx %d bad rows %d rate %d ECM %v",
				r.elapsed.Round(time.Second), ours.Code, ours.Err, ours.Speed, ours.ECM, ours.PPRs, r.badRows,
				theirs.Code, theirs.Text, theirs.PagesTx, theirs.PagesRx, theirs.BadRows, theirs.BitRate, theirs.ECM)
			// The impairment must have happened, both ways.
			if r.aToB.Dropped == 0 || r.bToA.Dropped == 0 {
				t.Errorf("no loss applied: %+v / %+v", r.aToB, r.bToA)
			}
			equal := len(r.got) == 1 && pagesEqual(r.got[0], r.doc[0])
			if r.reportOnly {
				t.Logf("outcome: ours %v, SpanDSP %q, pages arrived %d, pixel-equal %v", ours.Code, theirs.Text, len(r.got), equal)
				return
			}
			if ours.Code != t30.OK || !theirs.OK() {
				t.Fatalf("ECM call failed: ours %v (%v), SpanDSP %d %s", ours.Code, ours.Err, theirs.Code, theirs.Text)
			}
			if !ours.ECM || !theirs.ECM {
				t.Fatalf("ECM not used: ours %v, SpanDSP %v", ours.ECM, theirs.ECM)
			}
			if !equal {
				t.Fatalf("page did not arrive pixel-equal (%d pages)", len(r.got))
			}
		})
	}
}
