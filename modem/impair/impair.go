// Package impair puts the faults of a real telephone line on an 8 kHz
// sample stream, for the tests of the fax modems and the modem terminal:
// gain, additive white Gaussian noise at a set SNR, a G.711 round trip
// (µ-law or A-law), a sample-clock offset (by resampling), frame loss
// (20 ms frames replaced by silence, as a jitter buffer conceals a lost
// RTP packet), and an echo of the near end's own signal.
//
// It is test tooling: production code must not import it. It imports
// modem/g711 and the standard library.
package impair

import (
	"math"
	"math/rand/v2"

	"github.com/faxagent/faxagent/modem/g711"
)

// FrameSamples is the size of the frames that frame loss drops (20 ms).
const FrameSamples = 160

// amplitude0dBm0 is the peak of a 0 dBm0 sine in 16-bit linear samples.
const amplitude0dBm0 = 22786.0

// PowerDBm0 returns the mean square of a signal at level dBm0 in 16-bit
// linear samples.
func PowerDBm0(dBm0 float64) float64 {
	a := amplitude0dBm0 * math.Pow(10, dBm0/20)
	return a * a / 2
}

// Config describes one direction of a line. The zero value is a perfect
// line.
type Config struct {
	// GainDB is applied first (negative: loss).
	GainDB float64
	// SNR, if non-zero, adds white Gaussian noise SNR dB below
	// SignalDBm0 (the level the transmitter sends at).
	SNR        float64
	SignalDBm0 float64
	// NoiseWithSignal adds the noise only to blocks that carry a signal
	// (any non-zero sample): the SNR a demodulator sees during a carrier,
	// without a noise floor in the silences between carriers (which at
	// low SNR lies above the -43 dBm0 at which T.30 receivers take a
	// line for busy, and so tests carrier detection instead).
	NoiseWithSignal bool
	// G711 runs the samples through a G.711 encoder and decoder.
	G711 bool
	Law  g711.Law
	// ClockPPM is the far end's sample clock offset: +100 means the
	// samples arrive 100 ppm faster than they were made.
	ClockPPM float64
	// FrameLoss is the probability that a 20 ms frame is replaced by silence.
	FrameLoss float64
	// Seed seeds the noise and the frame loss.
	Seed uint64
}

// Channel applies a Config to a stream, block by block, keeping state
// across blocks (noise source, resampler phase, frame position).
type Channel struct {
	cfg   Config
	rng   *rand.Rand
	gain  float64
	sigma float64
	// resampler: the last input samples and the position of the next
	// output between hist[taps/2-1] and hist[taps/2]
	hist  [taps]float64
	have  int
	pos   float64
	step  float64
	frame int  // samples into the current 20 ms frame
	lost  bool // current frame is being dropped
	out   []int16
}

// New returns a channel for cfg.
func New(cfg Config) *Channel {
	c := &Channel{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5DEECE66D)), gain: math.Pow(10, cfg.GainDB/20)}
	if cfg.SNR != 0 {
		c.sigma = math.Sqrt(PowerDBm0(cfg.SignalDBm0 - cfg.SNR))
	}
	c.step = 1 + cfg.ClockPPM*1e-6
	return c
}

func clip(v float64) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(v))
}

// Process impairs a block and returns the result, which is valid until
// the next call. With a clock offset the result is a little shorter or
// longer than in (the far end's clock runs at another rate).
func (c *Channel) Process(in []int16) []int16 {
	c.out = c.out[:0]
	noise := c.sigma > 0
	if noise && c.cfg.NoiseWithSignal {
		noise = false
		for _, s := range in {
			if s != 0 {
				noise = true
				break
			}
		}
	}
	for _, s := range in {
		v := float64(s) * c.gain
		if noise {
			v += c.rng.NormFloat64() * c.sigma
		}
		if c.cfg.ClockPPM == 0 {
			c.emit(v)
			continue
		}
		c.resample(v)
	}
	return c.out
}

// Resampler: a windowed-sinc interpolator, taps input samples around the
// read position, the kernel tabulated at phases per sample.
const (
	taps   = 16
	phases = 256
)

// kernel[p][k] is the weight of input sample k-taps/2+1 for a read
// position p/phases past sample 0 (Blackman-windowed sinc, flat to within
// 0.05 dB up to 3.4 kHz).
var kernel = func() (k [phases + 1][taps]float64) {
	for p := range phases + 1 {
		t := float64(p) / phases
		for i := range taps {
			x := float64(i-taps/2+1) - t
			w := 0.42 + 0.5*math.Cos(math.Pi*x/(taps/2)) + 0.08*math.Cos(2*math.Pi*x/(taps/2))
			if math.Abs(x) >= taps/2 {
				w = 0
			}
			sinc := 1.0
			if x != 0 {
				sinc = math.Sin(math.Pi*x) / (math.Pi * x)
			}
			k[p][i] = sinc * w
		}
	}
	return k
}()

// resample feeds one input sample; outputs are read every step input
// samples.
func (c *Channel) resample(v float64) {
	copy(c.hist[:], c.hist[1:])
	c.hist[taps-1] = v
	if c.have < taps {
		c.have++
		if c.have < taps {
			return
		}
	}
	for c.pos < 1 {
		f := c.pos * phases
		p := int(f)
		a := f - float64(p)
		var y float64
		for i := range taps {
			w := kernel[p][i]*(1-a) + kernel[p+1][i]*a
			y += w * c.hist[i]
		}
		c.emit(y)
		c.pos += c.step
	}
	c.pos--
}

func (c *Channel) emit(v float64) {
	if c.cfg.FrameLoss > 0 {
		if c.frame == 0 {
			c.lost = c.rng.Float64() < c.cfg.FrameLoss
		}
		if c.frame++; c.frame == FrameSamples {
			c.frame = 0
		}
		if c.lost {
			v = 0
		}
	}
	s := clip(v)
	if c.cfg.G711 {
		if c.cfg.Law == g711.ALaw {
			s = g711.DecodeALaw(g711.EncodeALaw(s))
		} else {
			s = g711.DecodeULaw(g711.EncodeULaw(s))
		}
	}
	c.out = append(c.out, s)
}

// Echo returns a near end's own signal to it: delayed and attenuated,
// added to what it receives (a hybrid's reflection).
type Echo struct {
	gain float64
	line []int16 // delay line
	w    int
}

// NewEcho returns an echo at gainDB (for example -20) after delay samples.
func NewEcho(gainDB float64, delay int) *Echo {
	return &Echo{gain: math.Pow(10, gainDB/20), line: make([]int16, max(delay, 1))}
}

// Add adds the echo of own (what the near end sent, sample for sample in
// step with rx) to rx.
func (e *Echo) Add(rx, own []int16) {
	for i := range rx {
		var o int16
		if i < len(own) {
			o = own[i]
		}
		d := e.line[e.w]
		e.line[e.w] = o
		if e.w++; e.w == len(e.line) {
			e.w = 0
		}
		rx[i] = clip(float64(rx[i]) + e.gain*float64(d))
	}
}
