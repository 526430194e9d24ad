package spandspmodem

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/modem/impair"
	"github.com/faxagent/faxagent/modem/pump"
	"github.com/faxagent/faxagent/modem/v27ter"
	"github.com/faxagent/faxagent/modem/v29"
)

var (
	peerOnce sync.Once
	peerBin  string
	peerErr  error
	peerDir  string
)

// peer builds the SpanDSP modem peer once per test binary, or ends the
// test (skip, or fail under CI=true) when it cannot be built.
func peer(t testing.TB) Peer {
	t.Helper()
	peerOnce.Do(func() {
		dir, err := tempDir()
		if err != nil {
			peerErr = err
			return
		}
		peerDir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		peerBin, peerErr = Build(ctx, dir)
	})
	if peerErr != nil {
		testutil.Missing(t, "SpanDSP modem peer: %v", peerErr)
	}
	return Peer{Bin: peerBin}
}

// modemCase is one modem at one rate.
type modemCase struct {
	modem string
	rate  int
}

func (c modemCase) String() string { return c.modem + "/" + itoa(c.rate) }

var allRates = []modemCase{
	{"v27ter", 2400}, {"v27ter", 4800}, {"v29", 7200}, {"v29", 9600},
}

// ourTx and ourRx build faxagent's pumps for a case.
func ourTx(t testing.TB, c modemCase, src pump.BitSource) pump.Transmitter {
	t.Helper()
	var tx pump.Transmitter
	var err error
	switch c.modem {
	case "v27ter":
		tx, err = v27ter.NewTransmitter(c.rate, src)
	case "v29":
		tx, err = v29.NewTransmitter(c.rate, src)
	default:
		t.Fatalf("no modem %s", c.modem)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func ourRx(t testing.TB, c modemCase, sink pump.BitSink) pump.Receiver {
	t.Helper()
	var rx pump.Receiver
	var err error
	switch c.modem {
	case "v27ter":
		rx, err = v27ter.NewReceiver(c.rate, sink)
	case "v29":
		rx, err = v29.NewReceiver(c.rate, sink)
	default:
		t.Fatalf("no modem %s", c.modem)
	}
	if err != nil {
		t.Fatal(err)
	}
	return rx
}

// side is who transmits or receives.
type side int

const (
	ours side = iota
	spandsp
)

func (s side) String() string {
	if s == ours {
		return "ours"
	}
	return "SpanDSP"
}

func randomBits(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 99))
	b := make([]int, n)
	for i := range b {
		b[i] = rng.IntN(2)
	}
	return b
}

// transmit has one side send bits; it returns the samples with 250 ms of
// silence before and after, and the transmitter's CPU time.
func transmit(t testing.TB, who side, c modemCase, bits []int) ([]int16, time.Duration) {
	t.Helper()
	lead := make([]int16, 2000)
	if who == spandsp {
		s, cpu, err := peer(t).Tx(context.Background(), c.modem, c.rate, bits)
		if err != nil {
			t.Fatal(err)
		}
		return append(append(lead, s...), make([]int16, 2000)...), cpu
	}
	i := 0
	tx := ourTx(t, c, func() int {
		if i == len(bits) {
			return pump.EndOfData
		}
		i++
		return bits[i-1]
	})
	// Room for the whole signal, so no growth happens inside the timing.
	out := append(make([]int16, 0, len(lead)+len(bits)*8000/c.rate+3*8000), lead...)
	buf := make([]int16, 160)
	var cpu cpuMeter
	cpu.start()
	for {
		n := tx.Generate(buf)
		out = append(out, buf[:n]...)
		if n < len(buf) {
			break
		}
	}
	cpu.stop()
	return append(out, make([]int16, 2000)...), cpu.total
}

// collector is a pump.BitSink that records like Received.
type collector struct{ r Received }

func (c *collector) PutBit(b int) { c.r.Bits = append(c.r.Bits, b) }
func (c *collector) Event(e pump.Event) {
	c.r.Events += map[pump.Event]string{pump.CarrierUp: "U", pump.TrainingSucceeded: "T", pump.TrainingFailed: "F", pump.CarrierDown: "D"}[e]
	c.r.Offsets = append(c.r.Offsets, len(c.r.Bits))
}

// receive has one side demodulate samples.
func receive(t testing.TB, who side, c modemCase, samples []int16) (Received, time.Duration) {
	t.Helper()
	if who == spandsp {
		r, cpu, err := peer(t).Rx(context.Background(), c.modem, c.rate, samples)
		if err != nil {
			t.Fatal(err)
		}
		return r, cpu
	}
	col := &collector{}
	rx := ourRx(t, c, col)
	col.r.Bits = make([]int, 0, len(samples)) // no growth inside the timing
	var cpu cpuMeter
	cpu.start()
	for len(samples) > 0 {
		n := min(len(samples), 160)
		rx.Receive(samples[:n])
		samples = samples[n:]
	}
	cpu.stop()
	return col.r, cpu.total
}

// bitErrors counts the errors of got against want: got's bits after the
// first training success, aligned on want within a few bits (a receiver
// may pass on some of the segment-5 ones); missing bits count as errors.
func bitErrors(r Received, want []int) int {
	ti := strings.IndexByte(r.Events, 'T')
	if ti < 0 {
		return len(want)
	}
	got := r.Bits[r.Offsets[ti]:]
	best := len(want)
	for lag := 0; lag <= 64 && lag < len(got); lag++ {
		errs := 0
		for i, w := range want {
			if i+lag >= len(got) || got[i+lag] != w {
				errs++
				if errs >= best {
					break
				}
			}
		}
		if errs < best {
			best = errs
			if best == 0 {
				break
			}
		}
	}
	return best
}

// impaired runs samples through a line.
func impaired(samples []int16, cfg impair.Config) []int16 {
	ch := impair.New(cfg)
	var out []int16
	for len(samples) > 0 {
		n := min(len(samples), 160)
		out = append(out, ch.Process(samples[:n])...)
		samples = samples[n:]
	}
	return out
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
