package v21

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/faxagent/faxagent/modem/g711"
	"github.com/faxagent/faxagent/modem/hdlc"
	"github.com/faxagent/faxagent/modem/impair"
	"github.com/faxagent/faxagent/modem/pump"
)

// sink collects what a receiver reports, deframing the bits.
type sink struct {
	d      *hdlc.Deframer
	frames [][]byte
	bad    int
	events []pump.Event
	bits   int
}

func newSink() *sink {
	s := &sink{}
	s.d = hdlc.NewDeframer(256, 2, func(f []byte, ok bool) {
		if ok {
			s.frames = append(s.frames, bytes.Clone(f))
		} else {
			s.bad++
		}
	})
	return s
}

func (s *sink) PutBit(b int) {
	s.bits++
	s.d.PutBit(b)
}

func (s *sink) Event(e pump.Event) {
	s.events = append(s.events, e)
	if e == pump.CarrierUp {
		s.d.Reset()
	}
}

// burst returns the samples of a V.21 burst: 1 s of flags, the frames,
// then silence.
func burst(frames [][]byte) []int16 {
	var f hdlc.Framer
	f.Flags(Baud / 8) // one second
	for _, fr := range frames {
		f.Frame(fr)
	}
	tx := NewTx(DefaultLevel, f.Bit)
	var out []int16
	buf := make([]int16, 160)
	for {
		n := tx.Generate(buf)
		out = append(out, buf[:n]...)
		if n < len(buf) {
			break
		}
	}
	return append(out, make([]int16, 2000)...)
}

var dis = [][]byte{
	{0xFF, 0x03, 0x40, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x54, 0x4E, 0x45, 0x47, 0x41, 0x58, 0x41, 0x46, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20},
	{0xFF, 0x13, 0x80, 0x00, 0xEE, 0xF8, 0x80, 0x80, 0x91, 0x80, 0x80},
}

func receive(in []int16, ch *impair.Channel) *sink {
	s := newSink()
	rx := NewRx(s)
	for off := 0; off < len(in); off += 160 {
		blk := in[off:min(off+160, len(in))]
		if ch != nil {
			blk = ch.Process(blk)
		}
		rx.Receive(blk)
	}
	return s
}

// TestFramesThroughImpairments: both frames of a DIS burst arrive with a
// good FCS over each line, and the carrier is reported up and down once.
func TestFramesThroughImpairments(t *testing.T) {
	in := burst(dis)
	cases := []struct {
		name string
		cfg  *impair.Config
	}{
		{"clean", nil},
		{"µ-law", &impair.Config{G711: true, Law: g711.ULaw}},
		{"A-law", &impair.Config{G711: true, Law: g711.ALaw}},
		{"-25 dB gain", &impair.Config{GainDB: -25}},
		{"+100 ppm", &impair.Config{ClockPPM: 100}},
		{"-100 ppm", &impair.Config{ClockPPM: -100}},
		{"SNR 20", &impair.Config{SNR: 20, SignalDBm0: DefaultLevel}},
		{"SNR 12", &impair.Config{SNR: 12, SignalDBm0: DefaultLevel}},
		{"all at once", &impair.Config{GainDB: -10, SNR: 15, SignalDBm0: DefaultLevel - 10, G711: true, ClockPPM: 100}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 5; seed++ {
				var ch *impair.Channel
				if c.cfg != nil {
					cfg := *c.cfg
					cfg.Seed = seed
					ch = impair.New(cfg)
				}
				s := receive(in, ch)
				if len(s.frames) != 2 || !bytes.Equal(s.frames[0], dis[0]) || !bytes.Equal(s.frames[1], dis[1]) {
					t.Fatalf("seed %d: %d good frames, %d bad, %+v", seed, len(s.frames), s.bad, s.d.Stats())
				}
				want := []pump.Event{pump.CarrierUp, pump.TrainingSucceeded, pump.CarrierDown}
				if fmt.Sprint(s.events) != fmt.Sprint(want) {
					t.Fatalf("seed %d: events %v, want %v", seed, s.events, want)
				}
			}
		})
	}
}

// TestSNRThreshold reports the frame error rate of short frames against
// SNR and asserts the rate at 10 dB.
func TestSNRThreshold(t *testing.T) {
	fr := [][]byte{{0xFF, 0x13, 0x84, 0x01, 0x02}}
	in := burst(fr)
	for _, snr := range []float64{12, 8, 6, 4, 3, 2} {
		good := 0
		const n = 40
		for seed := uint64(1); seed <= n; seed++ {
			s := receive(in, impair.New(impair.Config{SNR: snr, SignalDBm0: DefaultLevel, Seed: seed}))
			if len(s.frames) == 1 {
				good++
			}
		}
		t.Logf("SNR %v dB: %d/%d frames", snr, good, n)
		if snr >= 6 && good < n-1 {
			t.Errorf("SNR %v dB: only %d/%d frames", snr, good, n)
		}
	}
}

// hostile signals: none may raise a frame with a good FCS.
func hostile(rng *rand.Rand) map[string][]int16 {
	const n = 8000 * 4
	sig := map[string][]int16{
		"white noise":       impair.Noise(rng, n, 3000),
		"silence":           make([]int16, n),
		"DTMF A (697+1633)": impair.Tones(n, 6000, 697, 1633),
		"DTMF 5":            impair.Tones(n, 6000, 770, 1336),
		"1650 Hz steady":    impair.Tones(n, 8000, 1650),
		"1850 Hz steady":    impair.Tones(n, 8000, 1850),
		"CNG":               impair.Tones(n, 8000, 1100),
		"CED":               impair.Tones(n, 8000, 2100),
		"speech-like":       impair.Speech(rng, n, 8000),
	}
	// FSK of random bits (a modem of the right kind saying nothing valid).
	tx := NewTx(DefaultLevel, func() int { return rng.IntN(2) })
	rnd := make([]int16, n)
	tx.Generate(rnd)
	sig["V.21 random bits"] = rnd
	// A burst cut in the middle of its frame.
	b := burst(dis[1:])
	cut := 8000 + 200
	sig["truncated burst"] = append(b[:cut:cut], make([]int16, 4000)...)
	return sig
}

func TestHostileInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for name, in := range hostile(rng) {
		s := receive(in, nil)
		if len(s.frames) != 0 {
			t.Errorf("%s: %d frames with a good FCS", name, len(s.frames))
		}
		t.Logf("%s: events %v, bits %d, bad frames %d", name, s.events, s.bits, s.bad)
	}
}

// TestSilenceBeforeAndBetween: two bursts with silence around them give
// two carriers and both frames.
func TestSilenceBeforeAndBetween(t *testing.T) {
	in := append(make([]int16, 3000), burst(dis[1:])...)
	in = append(in, burst(dis[:1])...)
	s := receive(in, nil)
	if len(s.frames) != 2 {
		t.Fatalf("%d frames in two bursts", len(s.frames))
	}
	if fmt.Sprint(s.events) != fmt.Sprint([]pump.Event{pump.CarrierUp, pump.TrainingSucceeded, pump.CarrierDown, pump.CarrierUp, pump.TrainingSucceeded, pump.CarrierDown}) {
		t.Fatalf("events %v", s.events)
	}
}

func FuzzRx(f *testing.F) {
	b := burst(dis[1:])
	seed := make([]byte, 2*len(b))
	for i, s := range b {
		binary.LittleEndian.PutUint16(seed[2*i:], uint16(s))
	}
	f.Add(seed)
	f.Add([]byte{0x00, 0x80, 0xFF, 0x7F})
	f.Fuzz(func(t *testing.T, p []byte) {
		in := make([]int16, len(p)/2)
		for i := range in {
			in[i] = int16(binary.LittleEndian.Uint16(p[2*i:]))
		}
		s := newSink()
		rx := NewRx(s)
		rx.Receive(in)
		rx.Reset()
		rx.Receive(in)
	})
}
