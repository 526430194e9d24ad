package t30

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

// protocolMinimum is the shortest a call can be by the book: the mandated
// tones and silences, every V.21 frame with its 1 s preamble at 300 bit/s,
// training times, the 1.5 s TCF and the page bits at the rate, with no
// idle time at all. It is computed from the coded pages independently of
// the engine.
func protocolMinimum(t testing.TB, doc PagesDocument, rx Config, sp Speed, comp imaging.Compression, ecm bool, frameSize int) time.Duration {
	v21 := func(frames ...Frame) time.Duration {
		d := V21Preamble
		for _, f := range frames {
			d += BitsDuration(HDLCBits(f.Marshal()), 300)
		}
		return d
	}
	gap := GapBetweenCarriers
	caps := rx.localCaps()
	dis, _ := caps.AppendFIF(nil, false)
	dcs := make([]byte, 4)
	d := 200*time.Millisecond + 2600*time.Millisecond // silence + shortest CED (T.30: 2.6 to 4 s)
	d += gap + v21(Frame{FCF: FCFDIS, Info: dis})
	d += gap + v21(Frame{FCF: FCFDCS, Info: dcs[:len(dcsFIF(t, sp, ecm))]})
	d += gap + TrainingTime(sp, false) + TCFDuration
	d += gap + v21(Frame{FCF: FCFCFR})
	for i, p := range doc {
		data, err := imaging.EncodePage(p, imaging.EncodeOptions{Compression: comp, Width: p.Width, K: p.Resolution.K(), BitOrder: imaging.LSBFirst})
		if err != nil {
			t.Fatal(err)
		}
		post := FCFMPS
		if i == len(doc)-1 {
			post = FCFEOP
		}
		if !ecm {
			d += gap + TrainingTime(sp, true) + BitsDuration(int64(len(data))*8, sp.Rate)
			d += gap + v21(Frame{FCF: post}) + gap + v21(Frame{FCF: FCFMCF})
			continue
		}
		nframes := (len(data) + frameSize - 1) / frameSize
		for blk := 0; blk*256 < nframes; blk++ {
			var bits int64
			for n := blk * 256; n < min(nframes, (blk+1)*256); n++ {
				fr := append([]byte{0xFF, 0x03, 0x06, byte(n % 256)}, data[n*frameSize:min(len(data), (n+1)*frameSize)]...)
				bits += HDLCBits(fr)
			}
			bits += 3 * HDLCBits([]byte{0xFF, 0x03, 0x86})
			d += gap + TrainingTime(sp, true) + BitsDuration(bits, sp.Rate)
			d += gap + v21(Frame{FCF: FCFPPS, Info: make([]byte, 4)}) + gap + v21(Frame{FCF: FCFMCF})
		}
	}
	d += gap + v21(Frame{FCF: FCFDCN})
	return d
}

func dcsFIF(t testing.TB, sp Speed, ecm bool) []byte {
	c := Caps{ReceiveFax: true, Speed: sp, Fine: true, MR: true, ECM: ecm, Length: LengthUnlimited}
	b, err := c.AppendFIF(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVirtualDurationNearProtocolMinimum(t *testing.T) {
	doc := textDoc(5, 1728, 2200, imaging.Fine)
	for _, ecm := range []bool{false, true} {
		tx := Config{Document: doc, ECM: ecm, Compressions: []imaging.Compression{imaging.MR}}
		rx := Config{ECM: ecm}
		c := runCall(t, tx, rx, LineModel{})
		if c.tx.Code != OK {
			t.Fatal(c.tx.Code, c.tx.Err)
		}
		minimum := protocolMinimum(t, doc, rx, c.tx.Speed, imaging.MR, ecm, 256)
		got := c.clock.Elapsed()
		ratio := float64(got) / float64(minimum)
		t.Logf("ECM=%v: virtual %v, protocol minimum %v, ratio %.4f", ecm, got, minimum, ratio)
		if ratio < 1 || ratio > 1.03 {
			t.Fatalf("ECM=%v: virtual %v vs minimum %v (ratio %.4f), want within 3%%", ecm, got, minimum, ratio)
		}
	}
}

func benchmarkCall(b *testing.B, ecm bool) {
	doc := textDoc(20, 1728, 2200, imaging.Fine)
	tx := Config{Document: doc, ECM: ecm, Compressions: []imaging.Compression{imaging.MR}}
	rx := Config{ECM: ecm}
	var virtual time.Duration
	var sp Speed
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		clock := NewVirtualClock()
		a, e := NewLinePair(clock, LineModel{})
		t1 := tx
		t1.Calling, t1.Transmit = true, true
		r1 := rx
		r1.Sink = &PageCollector{}
		st, _ := NewSession(t1, a, clock)
		sr, _ := NewSession(r1, e, clock)
		st.Start()
		sr.Start()
		if err := clock.Run(context.Background(), func() bool { return st.Done() && sr.Done() }); err != nil {
			b.Fatal(err)
		}
		if st.Result().Code != OK || sr.Result().PagesReceived != 20 {
			b.Fatal(st.Result().Code, st.Result().Err)
		}
		virtual = clock.Elapsed()
		sp = st.Result().Speed
	}
	cpu := cpuTime() - cpu0
	minimum := protocolMinimum(b, doc, rx, sp, imaging.MR, ecm, 256)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*20), "ns/page")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*20), "cpu-ns/page")
	b.ReportMetric(virtual.Seconds(), "virtual-s/call")
	b.ReportMetric(minimum.Seconds(), "minimum-s/call")
	b.ReportMetric(float64(virtual)/float64(minimum), "virtual/minimum")
}

// BenchmarkCall20Pages: a 20-page call of text pages (fine, MR, V.17
// 14400) sender and receiver back to back in virtual time, coding and
// decoding included.
func BenchmarkCall20Pages(b *testing.B) {
	b.Run("ECM=off", func(b *testing.B) { benchmarkCall(b, false) })
	b.Run("ECM=on", func(b *testing.B) { benchmarkCall(b, true) })
}

// cpuTime is the process's user+system CPU time (all threads, GC included),
// comparable with SpanDSP's CLOCK_PROCESS_CPUTIME_ID in t38bench.c.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
