package spandsp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/t38"
)

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCPUPerPageVsSpanDSP sends the same 20-page document back to back
// between two of our T.38 terminals (t30 sessions over a t38.Pipe) and
// between two SpanDSP t38_terminals (t38peer bench), both in virtual time,
// and reports the CPU time per page of each and the ratio. It measures, so
// it runs only with FAXAGENT_BENCH=1:
//
//	FAXAGENT_BENCH=1 go test -run CPUPerPage -v ./testbench/interop/spandsp
func TestCPUPerPageVsSpanDSP(t *testing.T) {
	if os.Getenv("FAXAGENT_BENCH") != "1" {
		t.Skip("set FAXAGENT_BENCH=1 to measure CPU per page against SpanDSP")
	}
	bin := peerBinary(t)
	const pages = 20
	var doc t30.PagesDocument
	for i := 0; i < pages; i++ {
		doc = append(doc, testPage(1100, imaging.Standard, i+1))
	}
	dir := t.TempDir()
	send, recv := filepath.Join(dir, "send.tif"), filepath.Join(dir, "recv.tif")
	writeTIFF(t, send, doc, imaging.MR)

	// SpanDSP against SpanDSP
	out, err := exec.CommandContext(context.Background(), bin, "bench", send, recv, "version=2", "modems=7", "comp=6", "red=3").Output()
	if err != nil {
		t.Fatal(err)
	}
	var spCPU, spVirtual float64
	var spPages, codeTx, codeRx int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "bench %g %d %d %d %g", &spCPU, &spPages, &codeTx, &codeRx, &spVirtual); err != nil {
		t.Fatalf("bench output %q: %v", out, err)
	}
	if spPages != pages || codeTx != 0 || codeRx != 0 {
		t.Fatalf("SpanDSP run: %q", out)
	}

	// ours against ours
	runtime.GC()
	c0 := cpuTime(t)
	clock := t30.NewVirtualClock()
	ea, eb := t38.NewPipe(clock, t38.PipeConfig{})
	tc := t38.TerminalConfig{Version: 2, EC: t38.ECRedundancy, Redundancy: 3}
	ta, _ := t38.NewTerminal(tc, ea, clock)
	tb, _ := t38.NewTerminal(tc, eb, clock)
	ea.Attach(ta)
	eb.Attach(tb)
	sink := &t30.PageCollector{}
	comp := []imaging.Compression{imaging.MR}
	st, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc, Compressions: comp}, ta, clock)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := t30.NewSession(t30.Config{Sink: sink, Compressions: comp}, tb, clock)
	if err != nil {
		t.Fatal(err)
	}
	st.Start()
	sr.Start()
	if err := clock.Run(context.Background(), func() bool { return st.Done() && sr.Done() }); err != nil {
		t.Fatal(err)
	}
	ourCPU := cpuTime(t) - c0
	if st.Result().Code != t30.OK || len(sink.Pages) != pages {
		t.Fatalf("our run: %v, %d pages", st.Result(), len(sink.Pages))
	}
	sp := time.Duration(spCPU * float64(time.Second))
	t.Logf("20-page document, V.17 14400, MR, T.38 v2, redundancy 3, virtual time")
	t.Logf("ours:    %v CPU, %v per page (virtual call %v)", ourCPU, ourCPU/pages, clock.Elapsed().Round(time.Millisecond))
	t.Logf("SpanDSP: %v CPU, %v per page (virtual call %.1fs)", sp, sp/pages, spVirtual)
	t.Logf("ratio ours/SpanDSP: %.2fx", float64(ourCPU)/float64(sp))
}
