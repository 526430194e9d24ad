package spandsp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/modem"
	"github.com/faxagent/faxagent/t30"
)

// TestAudioCPUPerPageVsSpanDSP sends the same 20-page TIFF over audio
// between two of our modem terminals (t30 sessions over a modem.Link) and
// between two SpanDSP fax terminals (faxpeer bench), both in virtual
// time, 160 samples each way per step, over interleaved rounds
// (FAXAGENT_BENCH_ROUNDS, default 7; which side goes first alternates), and
// reports the CPU time per page of each side, best and median, and the
// ratios. Each side's figure covers both ends of the call and the same
// work: reading the pages from send.tif, modulation, demodulation, T.30,
// T.4 coding, and writing the received pages to recv.tif. The modulation
// is V.17 14400 unless FAXAGENT_BENCH_MODEM says V29 or V27ter. It
// measures, so it runs only with FAXAGENT_BENCH=1 (bench/modem.sh).
func TestAudioCPUPerPageVsSpanDSP(t *testing.T) {
	if os.Getenv("FAXAGENT_BENCH") != "1" {
		t.Skip("set FAXAGENT_BENCH=1 to measure audio CPU per page against SpanDSP")
	}
	want, mask, set := t30.Speed{Modem: t30.V17, Rate: 14400}, 7, t30.SetV17|t30.SetV29|t30.SetV27ter
	switch os.Getenv("FAXAGENT_BENCH_MODEM") {
	case "V29":
		want, mask, set = t30.Speed{Modem: t30.V29, Rate: 9600}, 3, t30.SetV29|t30.SetV27ter
	case "V27ter":
		want, mask, set = t30.Speed{Modem: t30.V27ter, Rate: 4800}, 1, t30.SetV27ter
	}
	if _, ok := modem.DefaultPumps()[want.Modem]; !ok {
		t.Skipf("no %v pump in modem.DefaultPumps yet", want.Modem)
	}
	bin := audioBinary(t)
	doc, send, recv := benchDoc(t)
	ours, theirs := interleave(t, 7, doc, recv, func() time.Duration {
		out, err := exec.CommandContext(context.Background(), bin, "bench", send, recv, fmt.Sprintf("modems=%d", mask), "comp=6").Output()
		if err != nil {
			t.Fatal(err)
		}
		var spCPU, spVirtual float64
		var spPages, codeTx, codeRx, rate int
		if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "bench %g %d %d %d %g %d", &spCPU, &spPages, &codeTx, &codeRx, &spVirtual, &rate); err != nil {
			t.Fatalf("bench output %q: %v", out, err)
		}
		if spPages != benchPages || codeTx != 0 || codeRx != 0 || rate != want.Rate {
			t.Fatalf("SpanDSP run: %q", out)
		}
		return time.Duration(spCPU * float64(time.Second))
	}, func() time.Duration { return ourAudioBench(t, send, recv, benchPages, set, want) })
	benchLine(t, "modem", fmt.Sprintf("audio fax call, 20-page MR TIFF (1728x1100 standard), %v, both ends, virtual time", want),
		benchPages, ours, theirs,
		"both modem terminals in one process over modem.Link (160 samples per step each way): faxdoc reads send.tif (decoding every row), t30 sessions code MR, modulation and demodulation of every sample, tiff.Writer.WriteCoded writes each received page to recv.tif (the agent's path, no fsync); opening the file is not counted.",
		"faxpeer bench: two fax_state_t terminals in one process, 160 samples per step each way, t4_tx reads send.tif, t4_rx writes recv.tif; opening the files is not counted.")
}

// ourAudioBench runs one audio call between two of our modem terminals,
// TIFF to TIFF, and returns the process CPU time it took.
func ourAudioBench(t *testing.T, send, recv string, pages int, set t30.ModemSet, want t30.Speed) time.Duration {
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
	a := modem.NewTerminal(modem.Config{}, clock)
	b := modem.NewTerminal(modem.Config{}, clock)
	comp := []imaging.Compression{imaging.MR}
	st, err := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc, Compressions: comp, Modems: set}, a, clock)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := t30.NewSession(t30.Config{Sink: sink, Compressions: comp, Modems: set}, b, clock)
	if err != nil {
		t.Fatal(err)
	}
	l := modem.NewLink(clock, a, b, modem.LinkConfig{})
	l.Start()
	st.Start()
	sr.Start()
	for !(st.Done() && sr.Done()) && clock.Elapsed() < time.Hour {
		clock.Step()
	}
	l.Stop()
	if st.Result().Code != t30.OK || sink.pages != pages || st.Result().Speed != want {
		t.Fatalf("our run: %v %v, %d pages", st.Result().Code, st.Result().Speed, sink.pages)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return cpuTime(t) - c0
}
