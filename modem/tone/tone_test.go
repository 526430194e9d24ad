package tone

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/faxagent/faxagent/modem/g711"
	"github.com/faxagent/faxagent/modem/impair"
	"github.com/faxagent/faxagent/modem/v21"
)

func gen(k Kind, n int, rev bool) []int16 {
	out := make([]int16, n)
	NewGen(k, DefaultLevel, rev).Generate(out)
	return out
}

// cng returns bursts of the CNG cadence.
func cng(bursts int) []int16 {
	var out []int16
	g := NewGen(CNG, DefaultLevel, false)
	for range bursts {
		on := make([]int16, CNGOn)
		g.Generate(on)
		out = append(out, on...)
		out = append(out, make([]int16, CNGOff)...)
	}
	return out
}

func detect(in []int16, ch *impair.Channel, offset int) []Detection {
	var got []Detection
	d := NewDetector(func(x Detection) { got = append(got, x) })
	in = append(make([]int16, offset), in...)
	for off := 0; off < len(in); off += 160 {
		blk := in[off:min(off+160, len(in))]
		if ch != nil {
			blk = ch.Process(blk)
		}
		d.Receive(blk)
	}
	return got
}

// TestGeneratorSpectrum: the generated tones are at their frequency, at the
// level asked for, and CED's reversals come every 450 ms.
func TestGeneratorSpectrum(t *testing.T) {
	for _, k := range []Kind{CNG, CED} {
		x := gen(k, 8000, false)
		var re, im, p float64
		for i, s := range x {
			re += float64(s) * math.Cos(2*math.Pi*k.Freq()*float64(i)/8000)
			im += float64(s) * math.Sin(2*math.Pi*k.Freq()*float64(i)/8000)
			p += float64(s) * float64(s)
		}
		amp := 2 * math.Hypot(re, im) / 8000
		level := 20 * math.Log10(amp/amplitude0dBm0)
		if math.Abs(level-DefaultLevel) > 0.1 || math.Hypot(re, im)*2/8000 < 0.99*math.Sqrt(2*p/8000) {
			t.Errorf("%v: level %.2f dBm0", k, level)
		}
	}
	x := gen(CED, 8000, true)
	// The sample just after a reversal is the negative of the continued sine.
	g := NewGen(CED, DefaultLevel, false)
	plain := make([]int16, 8000)
	g.Generate(plain)
	for i := range 8000 {
		want := plain[i]
		if (i/ReversalEvery)%2 == 1 {
			want = -want
		}
		if d := int(x[i]) - int(want); d < -1 || d > 1 {
			t.Fatalf("sample %d: %d, want %d", i, x[i], want)
		}
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		in   []int16
		want string
	}{
		{"CNG cadence, 3 bursts", cng(3), "[{CNG 0} {CNG 0} {CNG 0}]"},
		{"CED 3 s", gen(CED, 24000, false), "[{CED 0}]"},
		{"CED with reversals", gen(CED, 24000, true), "[{CED 1}]"},
		{"CNG 250 ms (too short)", gen(CNG, 2000, false), "[]"},
		{"CED 300 ms (too short)", gen(CED, 2400, false), "[]"},
	}
	for _, c := range cases {
		for _, imp := range []struct {
			name string
			cfg  *impair.Config
		}{
			{"clean", nil},
			{"µ-law, SNR 10", &impair.Config{G711: true, SNR: 10, SignalDBm0: DefaultLevel}},
			{"A-law, -20 dB, +100 ppm", &impair.Config{G711: true, Law: g711.ALaw, GainDB: -20, ClockPPM: 100}},
		} {
			for _, off := range []int{0, 37, 80} {
				var ch *impair.Channel
				if imp.cfg != nil {
					ch = impair.New(*imp.cfg)
				}
				if got := fmt.Sprint(detect(c.in, ch, off)); got != c.want {
					t.Errorf("%s, %s, offset %d: %s, want %s", c.name, imp.name, off, got, c.want)
				}
			}
		}
	}
}

func TestNoFalseTone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 8000 * 5
	sum := func(fs ...float64) []int16 { return impair.Tones(n, 5000, fs...) }
	noise := impair.Noise(rng, n, 4000)
	speech := impair.Speech(rng, n, 8000)
	v21sig := make([]int16, n)
	v21.NewTx(-12, func() int { return rng.IntN(2) }).Generate(v21sig)
	for name, in := range map[string][]int16{
		"noise": noise, "speech-like": speech, "V.21": v21sig, "silence": make([]int16, n),
		"DTMF 1 (697+1209)": sum(697, 1209), "DTMF with 1100 Hz": sum(1100, 1336), "2100 Hz + 1100 Hz": sum(2100, 1100),
		"1000 Hz": sum(1000), "2300 Hz": sum(2300),
	} {
		if got := detect(in, nil, 0); len(got) != 0 {
			t.Errorf("%s: detected %v", name, got)
		}
	}
}

func FuzzDetector(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, p []byte) {
		in := make([]int16, len(p)/2)
		for i := range in {
			in[i] = int16(uint16(p[2*i]) | uint16(p[2*i+1])<<8)
		}
		d := NewDetector(func(Detection) {})
		d.Receive(in)
		d.Receive(in)
	})
}
