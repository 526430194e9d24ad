package spandsp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/modem"
	"github.com/faxagent/faxagent/t30"
)

// TestAudioCPUPerPageVsSpanDSP sends the same 20-page document over audio
// between two of our modem terminals (t30 sessions over a modem.Link) and
// between two SpanDSP fax terminals (faxpeer bench), both in virtual
// time, 160 samples each way per step, and reports the CPU time per page
// of each and the ratio. Each side's figure covers both ends of the call:
// modulation, demodulation, T.30 and T.4 coding (ours also the TIFF-free
// page model; SpanDSP reads and writes TIFF files). The modulation is
// V.17 14400 unless FAXAGENT_BENCH_MODEM says V29 or V27ter. It measures,
// so it runs only with FAXAGENT_BENCH=1 (bench/modem.sh).
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
	const pages = 20
	var doc t30.PagesDocument
	for i := range pages {
		doc = append(doc, testPage(1100, imaging.Standard, i+1))
	}
	dir := t.TempDir()
	send, recv := filepath.Join(dir, "send.tif"), filepath.Join(dir, "recv.tif")
	writeTIFF(t, send, doc, imaging.MR)
	reps := 3
	var ours, theirs []time.Duration
	for rep := range reps {
		// Interleaved: SpanDSP, then ours, each rep.
		out, err := exec.CommandContext(context.Background(), bin, "bench", send, recv, fmt.Sprintf("modems=%d", mask), "comp=6").Output()
		if err != nil {
			t.Fatal(err)
		}
		var spCPU, spVirtual float64
		var spPages, codeTx, codeRx, rate int
		if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "bench %g %d %d %d %g %d", &spCPU, &spPages, &codeTx, &codeRx, &spVirtual, &rate); err != nil {
			t.Fatalf("bench output %q: %v", out, err)
		}
		if spPages != pages || codeTx != 0 || codeRx != 0 || rate != want.Rate {
			t.Fatalf("SpanDSP run: %q", out)
		}
		theirs = append(theirs, time.Duration(spCPU*float64(time.Second)))

		runtime.GC()
		c0 := cpuTime(t)
		clock := t30.NewVirtualClock()
		a := modem.NewTerminal(modem.Config{}, clock)
		b := modem.NewTerminal(modem.Config{}, clock)
		sink := &t30.PageCollector{}
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
		cpu := cpuTime(t) - c0
		if st.Result().Code != t30.OK || len(sink.Pages) != pages || st.Result().Speed != want {
			t.Fatalf("our run: %v %v, %d pages", st.Result().Code, st.Result().Speed, len(sink.Pages))
		}
		ours = append(ours, cpu)
		t.Logf("rep %d: ours %v (virtual %v), SpanDSP %v (virtual %.1fs)", rep+1, cpu, clock.Elapsed().Round(time.Second), theirs[rep], spVirtual)
	}
	best := func(d []time.Duration) time.Duration {
		m := d[0]
		for _, x := range d {
			m = min(m, x)
		}
		return m
	}
	o, s := best(ours), best(theirs)
	t.Logf("%d-page document, %v, MR, audio, virtual time, best of %d", pages, want, reps)
	t.Logf("ours:    %v CPU per page (send plus receive)", o/pages)
	t.Logf("SpanDSP: %v CPU per page (send plus receive)", s/pages)
	t.Logf("ratio ours/SpanDSP: %.2fx", float64(o)/float64(s))
}
