package modem

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/modem/impair"
	"github.com/faxagent/faxagent/modem/v21"
	"github.com/faxagent/faxagent/t30"
)

// feed runs a lone terminal (no engine) over in and returns its events.
func feed(t *testing.T, in []int16, setup func(*Terminal)) []string {
	t.Helper()
	clock := t30.NewVirtualClock()
	term := NewTerminal(Config{Pumps: testPumps()}, clock)
	r := &recorder{clock: clock}
	term.SetHandler(r.h)
	if setup != nil {
		setup(term)
	}
	tx := make([]int16, BlockSamples)
	for off := 0; off < len(in); off += BlockSamples {
		term.Process(in[off:min(off+BlockSamples, len(in))], tx)
	}
	term.Process(make([]int16, 4000), tx)
	return r.evs
}

// TestHostileLine: noise, speech-like audio, DTMF, another modem's tones,
// random V.21 and a truncated burst never give the engine a frame with a
// good FCS, nor a V.21 carrier.
func TestHostileLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n = 8000 * 6
	sines := func(amp float64, fs ...float64) []int16 { return impair.Tones(n, amp, fs...) }
	noise := impair.Noise(rng, n, 5000)
	speech := impair.Speech(rng, n, 8000)
	randFSK := make([]int16, n)
	v21.NewTx(-12, func() int { return rng.IntN(2) }).Generate(randFSK)
	// A V.21 burst cut off in its first frame.
	clock := t30.NewVirtualClock()
	src := NewTerminal(Config{}, clock)
	src.StartTx(t30.Speed{Modem: t30.V21}, false)
	src.SendFrame([]byte{0xFF, 0x13, 0x80, 0x00, 0xEE, 0xF8, 0x80, 0x80, 0x91})
	src.StopTx()
	burst := make([]int16, 8000+600)
	for off := 0; off < len(burst); off += BlockSamples {
		src.Process(nil, burst[off:min(off+BlockSamples, len(burst))])
	}
	v29sig := make([]int16, n)
	v29tx, _ := DefaultPumps().tx(t30.Speed{Modem: t30.V29, Rate: 9600}, false, -12, func() int { return rng.IntN(2) })
	v29tx.Generate(v29sig)
	cases := map[string][]int16{
		"V.29 9600 (another modem)": v29sig,
		"silence":                   make([]int16, n), "white noise": noise, "speech-like": speech,
		"DTMF 1": sines(5000, 697, 1209), "DTMF D": sines(5000, 941, 1633),
		"2100 Hz + 1650 Hz": sines(5000, 2100, 1650), "V.21 random bits": randFSK,
		"truncated burst": burst, "full-scale square": sines(30000, 1750),
	}
	for name, in := range cases {
		for _, withHS := range []bool{false, true} {
			evs := feed(t, in, func(term *Terminal) {
				if withHS {
					term.SetRx(t30.Speed{Modem: t30.V17, Rate: 14400}, false)
				}
			})
			for _, e := range evs {
				if strings.Contains(e, "ok=true") || e == "carrier-up V.21" && name != "truncated burst" || e == "carrier-up V.17" {
					t.Errorf("%s (high-speed rx %v): %s", name, withHS, e)
				}
			}
		}
	}
}

// TestOwnEchoIgnored: a terminal hears its own V.21 burst back at -6 dB
// (a bad hybrid) and reports nothing of it.
func TestOwnEchoIgnored(t *testing.T) {
	for _, delay := range []int{1, 100, 250} {
		clock, a, _, ra, rb, _ := pair(t, LinkConfig{EchoA: impair.NewEcho(-6, delay).Add})
		a.StartTx(t30.Speed{Modem: t30.V21}, false)
		a.SendFrame([]byte{0xFF, 0x13, 0x80, 0x00, 0xEE})
		a.StopTx()
		runFor(clock, 3*time.Second)
		if len(ra.evs) != 1 || ra.evs[0] != "tx-done V.21" {
			t.Errorf("echo delay %d: A reported %q", delay, ra.evs)
		}
		if len(rb.frames) != 1 {
			t.Errorf("echo delay %d: B got %d frames", delay, len(rb.frames))
		}
	}
}

func FuzzTerminalRx(f *testing.F) {
	f.Add([]byte{0, 0x40, 0xFF, 0xBF, 1, 2, 3})
	f.Fuzz(func(t *testing.T, p []byte) {
		in := make([]int16, len(p)/2)
		for i := range in {
			in[i] = int16(binary.LittleEndian.Uint16(p[2*i:]))
		}
		clock := t30.NewVirtualClock()
		term := NewTerminal(Config{Pumps: testPumps()}, clock)
		term.SetHandler(func(t30.Event) {})
		term.SetRx(t30.Speed{Modem: t30.V29, Rate: 9600}, false)
		tx := make([]int16, BlockSamples)
		for off := 0; off < len(in); off += 37 {
			term.Process(in[off:min(off+37, len(in))], tx)
		}
	})
}

// TestHostileCall: a t30 session over a terminal whose line carries only
// noise, speech-like audio, another modem's signal or silence ends with
// "no fax" (T1), as a caller and as an answerer, and never panics.
func TestHostileCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	gen := map[string]func(out []int16){
		"silence": func(out []int16) { clear(out) },
		"white noise": func(out []int16) {
			for i := range out {
				out[i] = int16(rng.NormFloat64() * 4000)
			}
		},
		"V.21 random bits": func() func([]int16) {
			tx := v21.NewTx(-12, func() int { return rng.IntN(2) })
			return func(out []int16) { tx.Generate(out) }
		}(),
		"V.29 random bits": func() func([]int16) {
			tx, _ := DefaultPumps().tx(t30.Speed{Modem: t30.V29, Rate: 9600}, false, -12, func() int { return rng.IntN(2) })
			return func(out []int16) {
				if tx.Generate(out) < len(out) {
					clear(out)
				}
			}
		}(),
	}
	for name, g := range gen {
		for _, calling := range []bool{true, false} {
			clock := t30.NewVirtualClock()
			term := NewTerminal(Config{}, clock)
			cfg := t30.Config{Calling: calling, Transmit: calling, Sink: &t30.PageCollector{}}
			if calling {
				cfg.Document = t30.PagesDocument{testPage(100, 1)}
			}
			s, err := t30.NewSession(cfg, term, clock)
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			in, out := make([]int16, BlockSamples), make([]int16, BlockSamples)
			var tick func()
			tick = func() {
				g(in)
				term.Process(in, out)
				if !s.Done() {
					clock.AfterFunc(20*time.Millisecond, tick)
				}
			}
			clock.AfterFunc(20*time.Millisecond, tick)
			for !s.Done() && clock.Elapsed() < 5*time.Minute {
				clock.Step()
			}
			r := s.Result()
			if r.Code != t30.CodeNoFax {
				t.Errorf("%s, calling %v: %v (%v) after %v, want no fax (T1)", name, calling, r.Code, r.Err, clock.Elapsed())
			}
		}
	}
}
