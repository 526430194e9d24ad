package t38

import (
	"math/rand/v2"
	"time"

	"github.com/faxagent/faxagent/t30"
)

// PipeConfig describes an in-process datagram link: a fixed latency, random
// extra delay (which reorders), random loss and duplication.
type PipeConfig struct {
	Latency   time.Duration
	Jitter    time.Duration // extra delay, uniform in [0, Jitter)
	Loss      float64       // probability a datagram is dropped
	Duplicate float64       // probability a datagram arrives twice
	Seed      uint64
	// Tap, if set, sees every datagram an end sends (before impairment).
	Tap func(from int, datagram []byte)
}

// PipeStats counts what a pipe did in one direction.
type PipeStats struct {
	Sent, Dropped, Duplicated uint64
}

// Pipe is a pair of connected Transports timed by a t30.Clock (normally a
// VirtualClock), for running two Terminals against each other in tests and
// simulations.
type Pipe struct {
	clock t30.Clock
	cfg   PipeConfig
	rng   *rand.Rand
	ends  [2]PipeEnd
	stats [2]PipeStats
}

// PipeEnd is one end of a Pipe; it implements Transport.
type PipeEnd struct {
	p    *Pipe
	id   int
	recv func([]byte)
}

// NewPipe returns the two ends of a new pipe.
func NewPipe(clock t30.Clock, cfg PipeConfig) (*PipeEnd, *PipeEnd) {
	p := &Pipe{clock: clock, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851F42D4C957F2D))}
	for i := range p.ends {
		p.ends[i] = PipeEnd{p: p, id: i}
	}
	return &p.ends[0], &p.ends[1]
}

// Attach sets the terminal that receives what arrives at this end.
func (e *PipeEnd) Attach(t *Terminal) { e.recv = t.Receive }

// AttachFunc sets a function that receives what arrives at this end; it
// runs on the clock's loop and must not keep the slice.
func (e *PipeEnd) AttachFunc(f func([]byte)) { e.recv = f }

// Stats returns the counters of what this end sent.
func (e *PipeEnd) Stats() PipeStats { return e.p.stats[e.id] }

// Send implements Transport.
func (e *PipeEnd) Send(datagram []byte) error {
	p := e.p
	st := &p.stats[e.id]
	st.Sent++
	if p.cfg.Tap != nil {
		p.cfg.Tap(e.id, datagram)
	}
	if p.cfg.Loss > 0 && p.rng.Float64() < p.cfg.Loss {
		st.Dropped++
		return nil
	}
	copies := 1
	if p.cfg.Duplicate > 0 && p.rng.Float64() < p.cfg.Duplicate {
		copies = 2
		st.Duplicated++
	}
	other := &p.ends[1-e.id]
	d := append([]byte(nil), datagram...)
	for range copies {
		delay := p.cfg.Latency
		if p.cfg.Jitter > 0 {
			delay += time.Duration(p.rng.Int64N(int64(p.cfg.Jitter)))
		}
		p.clock.AfterFunc(delay, func() {
			if other.recv != nil {
				other.recv(d)
			}
		})
	}
	return nil
}
