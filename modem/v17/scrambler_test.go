package v17

import (
	"math/rand/v2"
	"testing"
)

// TestScrambleWord: scrambling and descrambling a symbol's bits at once
// equals doing it bit by bit.
func TestScrambleWord(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := scrambler{reg: scramblerSeed}, scrambler{reg: scramblerSeed}
	c, d := scrambler{}, scrambler{}
	for n := range 20000 {
		k := 1 + rng.IntN(8)
		q := rng.IntN(1 << k)
		want := 0
		for i := range k {
			want |= a.scramble(q>>i&1) << i
		}
		if got := b.scrambleWord(q, k); got != want || a.reg != b.reg {
			t.Fatalf("symbol %d: scrambleWord(%#x, %d) = %#x, reg %#x; bit by bit %#x, reg %#x", n, q, k, got, b.reg, want, a.reg)
		}
		want = 0
		for i := range k {
			want |= c.descramble(q>>i&1) << i
		}
		if got := d.descrambleWord(q, k); got != want || c.reg != d.reg {
			t.Fatalf("symbol %d: descrambleWord(%#x, %d) = %#x; bit by bit %#x", n, q, k, got, want)
		}
	}
}
