package v17

import (
	"math/rand/v2"
	"testing"

	"github.com/faxagent/faxagent/modem/pump"
)

var rates = []int{14400, 12000, 9600, 7200}

func randomBits(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 17))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(2))
	}
	return b
}

// sliceSource sends bits, then EndOfData.
func sliceSource(bits []byte) pump.BitSource {
	i := 0
	return func() int {
		if i == len(bits) {
			return pump.EndOfData
		}
		i++
		return int(bits[i-1])
	}
}

// ourTx returns our transmitter's samples for the bursts, each followed by
// gap samples of silence.
func ourTx(t testing.TB, rate int, bursts []burst, gap int) []int16 {
	t.Helper()
	var out []int16
	buf := make([]int16, 160)
	for _, b := range bursts {
		tx, err := NewTransmitter(rate, b.short, sliceSource(b.bits))
		if err != nil {
			t.Fatal(err)
		}
		for {
			n := tx.Generate(buf)
			out = append(out, buf[:n]...)
			if n < len(buf) {
				break
			}
		}
		out = append(out, make([]int16, gap)...)
	}
	return out
}

// checkBits reports whether got holds want after at most maxLead leading
// ones (what is left of segment 4), bit-exact; trailing bits (the
// turn-off's ones) are ignored.
func checkBits(got, want []byte, maxLead int) (lead int, errs int) {
	best, bestLead := -1, 0
	for off := 0; off <= maxLead && off <= len(got); off++ {
		if off > 0 && got[off-1] != 1 {
			break
		}
		e := 0
		for i, w := range want {
			if off+i >= len(got) || got[off+i] != w {
				e++
			}
		}
		if best < 0 || e < best {
			best, bestLead = e, off
		}
		if e == 0 {
			break
		}
	}
	return bestLead, best
}

// recorder is a pump.BitSink keeping events and, per trained carrier,
// its bits.
type recorder struct {
	events []pump.Event
	bits   [][]byte
	cur    []byte
	stray  int // bits outside training-succeeded..carrier-down
}

func (r *recorder) PutBit(b int) {
	if r.cur == nil {
		r.stray++
		return
	}
	r.cur = append(r.cur, byte(b))
}

func (r *recorder) Event(e pump.Event) {
	r.events = append(r.events, e)
	switch e {
	case pump.TrainingSucceeded:
		r.cur = []byte{}
	case pump.CarrierDown:
		if r.cur != nil {
			r.bits = append(r.bits, r.cur)
		}
		r.cur = nil
	}
}

// ourRx runs our receiver over samples in 160-sample frames.
func ourRx(t testing.TB, rate int, samples []int16) *recorder {
	t.Helper()
	rec := &recorder{}
	rx, err := NewReceiver(rate, rec)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(samples); i += 160 {
		rx.Receive(samples[i:min(i+160, len(samples))])
	}
	rx.Receive(make([]int16, 800)) // let the last carrier end
	return rec
}

// maxLead is how many of segment 4's ones a receiver may pass on before
// the data: none, ours and SpanDSP's both start at the first data bit.
const maxLead = 0
