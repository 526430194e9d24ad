package modem

import (
	"time"

	"github.com/faxagent/faxagent/t30"
)

// LinkConfig shapes the line between the two terminals of a Link. Every
// hook is optional.
type LinkConfig struct {
	// Block is the samples each terminal moves per tick (0: 160, 20 ms).
	Block int
	// AtoB and BtoA impair what one end sent before the other receives
	// it; the result may differ in length (clock offset). The slice they
	// return is copied before the next call.
	AtoB, BtoA func(in []int16) []int16
	// EchoA and EchoB add an end's own signal to what it receives
	// (rx, then the block that end sent).
	EchoA, EchoB func(rx, own []int16)
	// Tap, if set, sees every block an end (0: A, 1: B) sent.
	Tap func(end int, tx []int16)
}

// Link runs two terminals back to back on a clock: every tick each
// generates a block, which the other receives on the next tick. On a
// VirtualClock a whole call takes milliseconds of CPU.
type Link struct {
	clock    t30.Clock
	a, b     *Terminal
	cfg      LinkConfig
	period   time.Duration
	txA, txB []int16
	rxA, rxB []int16
	timer    t30.Timer
	stopped  bool
	tick     func()
}

// NewLink joins a and b; Start begins the ticks.
func NewLink(clock t30.Clock, a, b *Terminal, cfg LinkConfig) *Link {
	if cfg.Block <= 0 {
		cfg.Block = BlockSamples
	}
	l := &Link{clock: clock, a: a, b: b, cfg: cfg,
		period: time.Duration(cfg.Block) * time.Second / SampleRate,
		txA:    make([]int16, cfg.Block), txB: make([]int16, cfg.Block)}
	l.tick = l.run
	return l
}

// Start schedules the first tick.
func (l *Link) Start() { l.timer = l.clock.AfterFunc(l.period, l.tick) }

// Stop ends the ticks.
func (l *Link) Stop() {
	l.stopped = true
	if l.timer != nil {
		l.timer.Stop()
	}
}

func (l *Link) run() {
	if l.stopped {
		return
	}
	l.a.Process(l.rxA, l.txA)
	l.b.Process(l.rxB, l.txB)
	if l.cfg.Tap != nil {
		l.cfg.Tap(0, l.txA)
		l.cfg.Tap(1, l.txB)
	}
	l.rxB = pass(l.rxB, l.txA, l.cfg.AtoB)
	l.rxA = pass(l.rxA, l.txB, l.cfg.BtoA)
	if l.cfg.EchoA != nil {
		l.cfg.EchoA(l.rxA, l.txA)
	}
	if l.cfg.EchoB != nil {
		l.cfg.EchoB(l.rxB, l.txB)
	}
	if !l.stopped {
		l.timer = l.clock.AfterFunc(l.period, l.tick)
	}
}

func pass(dst, src []int16, f func([]int16) []int16) []int16 {
	if f != nil {
		src = f(src)
	}
	return append(dst[:0], src...)
}
