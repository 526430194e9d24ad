package spandsp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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

// TestCPUPerPageVsSpanDSP sends the same 20-page TIFF back to back between
// two of our T.38 terminals (t30 sessions over a t38.Pipe) and between two
// SpanDSP t38_terminals (t38peer bench), both in virtual time, over
// several interleaved rounds (FAXAGENT_BENCH_ROUNDS, default 9; which side
// goes first alternates), and reports the CPU time per page of each side,
// best and median, and the ratios. Both sides do the same work: read the
// pages from send.tif, code them, run T.30 over T.38 (redundancy 3) at
// both ends, decode nothing, and write the received pages to recv.tif. It
// measures, so it runs only with FAXAGENT_BENCH=1 (bench/t38.sh):
//
//	FAXAGENT_BENCH=1 go test -run CPUPerPage -v ./testbench/interop/spandsp
func TestCPUPerPageVsSpanDSP(t *testing.T) {
	if os.Getenv("FAXAGENT_BENCH") != "1" {
		t.Skip("set FAXAGENT_BENCH=1 to measure CPU per page against SpanDSP")
	}
	bin := peerBinary(t)
	doc, send, recv := benchDoc(t)
	ours, theirs := interleave(t, 9, doc, recv,
		func() time.Duration { return spandspT38Bench(t, bin, send, recv, benchPages) },
		func() time.Duration { return ourT38Bench(t, send, recv, benchPages) })
	benchLine(t, "t38", "T.38 call, 20-page MR TIFF (1728x1100 standard), V.17 14400, T.38 v2, redundancy 3, both ends, virtual time",
		benchPages, ours, theirs,
		"both terminals in one process: faxdoc reads send.tif (decoding every row), t30 sessions code MR, t38 terminals with UDPTL redundancy 3 over an in-memory pipe, tiff.Writer.WriteCoded writes each received page to recv.tif (the agent's path, no fsync); opening the file is not counted.",
		"t38peer bench: two t38_terminals in one process, t4_tx reads send.tif, t4_rx writes recv.tif, UDPTL redundancy 3 handed over in memory; opening the files is not counted.")
}

// spandspT38Bench runs one SpanDSP call and returns its CPU time.
func spandspT38Bench(t *testing.T, bin, send, recv string, pages int) time.Duration {
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
	return time.Duration(spCPU * float64(time.Second))
}

// ourT38Bench runs one call between two of our terminals, TIFF to TIFF,
// and returns the process CPU time it took.
func ourT38Bench(t *testing.T, send, recv string, pages int) time.Duration {
	doc, err := openTIFFDoc(send)
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	sink, err := createTIFFSink(recv)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	c0 := cpuTime(t)
	clock := t30.NewVirtualClock()
	ea, eb := t38.NewPipe(clock, t38.PipeConfig{})
	tc := t38.TerminalConfig{Version: 2, EC: t38.ECRedundancy, Redundancy: 3}
	ta, _ := t38.NewTerminal(tc, ea, clock)
	tb, _ := t38.NewTerminal(tc, eb, clock)
	ea.Attach(ta)
	eb.Attach(tb)
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
	if st.Result().Code != t30.OK || sink.pages != pages {
		t.Fatalf("our run: %v (%v), %d pages", st.Result().Code, st.Result().Err, sink.pages)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return cpuTime(t) - c0
}
