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
