package impair

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/faxagent/faxagent/modem/g711"
)

func sine(n int, f, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*f*float64(i)/8000))
	}
	return out
}

func power(x []int16) float64 {
	var p float64
	for _, s := range x {
		p += float64(s) * float64(s)
	}
	return p / float64(len(x))
}

func TestNoiseLevel(t *testing.T) {
	c := New(Config{SNR: 20, SignalDBm0: -10, Seed: 1})
	out := c.Process(make([]int16, 80000))
	got := 10 * math.Log10(power(out)/PowerDBm0(0))
	if math.Abs(got-(-30)) > 0.2 {
		t.Fatalf("noise at %.2f dBm0, want -30", got)
	}
}

func TestGainAndG711(t *testing.T) {
	in := sine(8000, 1000, 10000)
	out := New(Config{GainDB: -6, G711: true, Law: g711.ALaw}).Process(in)
	ratio := 10 * math.Log10(power(out)/power(in))
	if math.Abs(ratio-(-6)) > 0.1 {
		t.Fatalf("gain %.2f dB, want -6", ratio)
	}
	for _, s := range out {
		if g711.DecodeALaw(g711.EncodeALaw(s)) != s {
			t.Fatalf("%d is not an A-law value", s)
		}
	}
}

// TestClockOffset: +100 ppm turns 1 s into 0.9999 s and shifts a tone's
// frequency by 100 ppm; the resampled tone stays clean.
func TestClockOffset(t *testing.T) {
	for _, ppm := range []float64{100, -100} {
		c := New(Config{ClockPPM: ppm})
		var n int
		in := sine(80000, 1800, 10000)
		for off := 0; off < len(in); off += 160 {
			n += len(c.Process(in[off : off+160]))
		}
		want := 80000 / (1 + ppm*1e-6)
		if math.Abs(float64(n)-want) > taps+2 { // the interpolator holds taps samples
			t.Fatalf("%v ppm: %d samples out of 80000, want %.0f", ppm, n, want)
		}
	}
	// Frequency and purity: correlate the output against the shifted tone.
	c := New(Config{ClockPPM: 100})
	out := append([]int16(nil), c.Process(sine(16000, 1800, 10000))...)
	f := 1800 * (1 + 100e-6)
	var re, im float64
	for i, s := range out[10:] {
		re += float64(s) * math.Cos(2*math.Pi*f*float64(i)/8000)
		im += float64(s) * math.Sin(2*math.Pi*f*float64(i)/8000)
	}
	amp := 2 * math.Hypot(re, im) / float64(len(out)-10)
	if amp < 9800 || amp > 10100 {
		t.Fatalf("resampled tone amplitude %.0f, want 10000", amp)
	}
}

func TestFrameLoss(t *testing.T) {
	c := New(Config{FrameLoss: 0.5, Seed: 3})
	out := c.Process(sine(160*1000, 1000, 10000))
	lost := 0
	for f := 0; f < 1000; f++ {
		if power(out[f*160:(f+1)*160]) == 0 {
			lost++
		}
	}
	if lost < 430 || lost > 570 {
		t.Fatalf("%d of 1000 frames lost at 50 %%", lost)
	}
}

func TestEcho(t *testing.T) {
	e := NewEcho(-20, 100)
	own := sine(1000, 1000, 10000)
	rx := make([]int16, 1000)
	e.Add(rx, own)
	for i := 0; i < 100; i++ {
		if rx[i] != 0 {
			t.Fatalf("echo before its delay at %d", i)
		}
	}
	if d := int(rx[150]) - int(own[50])/10; d < -1 || d > 1 {
		t.Fatalf("echo sample %d, want %d", rx[150], own[50]/10)
	}
}

func TestNoiseWithSignal(t *testing.T) {
	c := New(Config{SNR: 10, SignalDBm0: -10, NoiseWithSignal: true, Seed: 2})
	if p := power(c.Process(make([]int16, 160))); p != 0 {
		t.Fatalf("noise in a silent block: %v", p)
	}
	if p := power(c.Process(sine(160, 1000, 1000))); p < power(sine(160, 1000, 1000))*2 {
		t.Fatalf("no noise with the signal: %v", p)
	}
}

func TestSignals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	if p := math.Sqrt(power(Noise(rng, 80000, 1000))); math.Abs(p-1000) > 20 {
		t.Errorf("noise RMS %.0f, want 1000", p)
	}
	d := Tones(8000, 5000, 697, 1209)
	if p := power(d); math.Abs(p-2*5000*5000/2) > 1e5 {
		t.Errorf("DTMF power %.0f", p)
	}
	s := Speech(rng, 16000, 8000)
	var peak int16
	for _, x := range s {
		peak = max(peak, x, -x)
	}
	if peak < 3000 || peak == math.MaxInt16 {
		t.Errorf("speech peak %d", peak)
	}
}

// Band passes the middle of the band and cuts below and above it.
func TestBand(t *testing.T) {
	level := func(hz float64) float64 {
		in := make([]int16, 8000)
		for i := range in {
			in[i] = int16(10000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
		}
		out := Band(in, 300, 3400, 4)[4000:] // past the filters' start
		var p float64
		for _, s := range out {
			p += float64(s) * float64(s)
		}
		return 10 * math.Log10(p/float64(len(out))/(10000*10000/2))
	}
	for _, c := range []struct{ hz, lo, hi float64 }{
		{1000, -0.5, 0.5}, {300, -6.5, -5.5}, {3400, -6.5, -5.5}, {100, -100, -30}, {3900, -100, -20},
	} {
		if l := level(c.hz); l < c.lo || l > c.hi {
			t.Errorf("%v Hz: %.1f dB, want %v to %v", c.hz, l, c.lo, c.hi)
		}
	}
}
