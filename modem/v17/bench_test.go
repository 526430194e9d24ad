package v17

import (
	"fmt"
	"math"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/modem/pump"
)

// checkSink compares bits with the expected ones as they come, without
// allocating (so the measurements are the receiver's, not a recorder's).
type checkSink struct {
	want    []byte
	n, errs int
	trained bool
}

func (c *checkSink) PutBit(b int) {
	if c.n >= len(c.want) || byte(b) != c.want[c.n] {
		c.errs++
	}
	c.n++
}

func (c *checkSink) Event(e pump.Event) {
	if e == pump.TrainingSucceeded {
		c.trained = true
	}
}

// BenchmarkTransmit: CPU per second of V.17 signal generated (ns/op is
// per 8000 samples).
func BenchmarkTransmit(b *testing.B) {
	for _, rate := range rates {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			buf := make([]int16, 8000)
			tx, _ := NewTransmitter(rate, false, func() int { return 1 })
			b.SetBytes(16000)
			b.ResetTimer()
			for range b.N {
				tx.Generate(buf)
			}
		})
	}
}

// BenchmarkReceive: CPU per second of V.17 signal received (training
// then data; ns/op is per 8000 samples).
func BenchmarkReceive(b *testing.B) {
	for _, rate := range rates {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			sig := ourTx(b, rate, []burst{{bits: randomBits(1, 10*rate)}}, 0)
			sig = sig[:len(sig)/8000*8000]
			rx, _ := NewReceiver(rate, &checkSink{})
			b.SetBytes(16000)
			b.ResetTimer()
			for i := range b.N {
				off := (i * 8000) % len(sig)
				if off == 0 {
					rx.Reset()
				}
				rx.Receive(sig[off : off+8000])
			}
		})
	}
}

// processCPU is this process's user and system CPU time.
func processCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCPUBesideSpanDSP measures CPU per second of signal, ours beside
// SpanDSP's, on the same samples: both receivers get SpanDSP's
// transmitter's 20 s of random data (long training), and the
// transmitters make the same amount of signal (SpanDSP's timed in the C
// peer with CLOCK_PROCESS_CPUTIME_ID, ours with getrusage). Each figure is
// the least of 3 interleaved runs; under load they still move, so they are
// reported, and the receive ratio is bounded loosely so a regression shows.
func TestCPUBesideSpanDSP(t *testing.T) {
	if testing.Short() {
		t.Skip("CPU measurement")
	}
	const seconds, reps = 20, 3
	var table strings.Builder
	fmt.Fprintf(&table, "rate   tx µs/s ours  SpanDSP   rx µs/s ours  SpanDSP\n")
	for _, rate := range rates {
		bursts := []burst{{bits: randomBits(uint64(rate)+3, seconds*rate)}}
		sig := spandspTx(t, rate, bursts)
		secs := float64(len(sig)) / 8000
		least := [4]float64{math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1)} // our tx, SpanDSP tx, our rx, SpanDSP rx
		for range reps {
			sink := &checkSink{want: bursts[0].bits}
			rx, _ := NewReceiver(rate, sink)
			c0 := processCPU(t)
			for i := 0; i < len(sig); i += 160 {
				rx.Receive(sig[i:min(i+160, len(sig))])
			}
			rx.Receive(make([]int16, 800))
			least[2] = min(least[2], float64(processCPU(t)-c0)/secs)
			// The turn-off's ones may follow the data.
			if !sink.trained || sink.n < len(sink.want) || sink.errs > sink.n-len(sink.want) {
				t.Errorf("%d: %d bits, %d wrong or extra", rate, sink.n, sink.errs)
			}
			least[3] = min(least[3], spandspRx(t, rate, bursts, sig, []int{0}).cpuNS/secs)

			out, err := exec.Command(peer(t), "bench", fmt.Sprint(rate), fmt.Sprint(seconds)).Output()
			if err != nil {
				t.Fatal(err)
			}
			var spTx, spRx float64
			var errs, nbits int
			if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "tx %g rx %g errors %d bits %d", &spTx, &spRx, &errs, &nbits); err != nil {
				t.Fatalf("%q: %v", out, err)
			}
			least[1] = min(least[1], spTx)
			tx, _ := NewTransmitter(rate, false, sliceSource(bursts[0].bits))
			buf := make([]int16, 160)
			c0 = processCPU(t)
			n := 0
			for {
				k := tx.Generate(buf)
				n += k
				if k < len(buf) {
					break
				}
			}
			least[0] = min(least[0], float64(processCPU(t)-c0)/(float64(n)/8000))
		}
		fmt.Fprintf(&table, "%5d  %12.0f  %7.0f   %12.0f  %7.0f\n", rate, least[0]/1e3, least[1]/1e3, least[2]/1e3, least[3]/1e3)
		if least[2] > 10*least[3] {
			t.Errorf("%d: our receiver took %.0f µs per second of signal, SpanDSP's %.0f", rate, least[2]/1e3, least[3]/1e3)
		}
	}
	t.Logf("\n%s", table.String())
}
