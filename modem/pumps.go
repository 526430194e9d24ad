package modem

import (
	"errors"
	"fmt"

	"github.com/faxagent/faxagent/modem/pump"
	"github.com/faxagent/faxagent/t30"
)

// PumpFactory makes the data pumps of one high-speed modulation.
type PumpFactory struct {
	// NewTx returns a transmitter at rate bit/s and level dBm0 that sends
	// its training (V.17: the short one when short is set) then src's bits.
	NewTx func(rate int, short bool, level float64, src pump.BitSource) (pump.Transmitter, error)
	// NewRx returns a receiver for rate (V.17: expecting the short
	// training when short is set) that reports to sink.
	NewRx func(rate int, short bool, sink pump.BitSink) (pump.Receiver, error)
}

// Pumps is the table of high-speed modulations a terminal can use.
type Pumps map[t30.Modem]PumpFactory

// ErrNoPump means the terminal has no data pump for a modulation.
var ErrNoPump = errors.New("modem: no data pump for this modulation")

// DefaultPumps returns the high-speed pumps built into faxagent.
func DefaultPumps() Pumps {
	return Pumps{}
}

func (p Pumps) tx(sp t30.Speed, short bool, level float64, src pump.BitSource) (pump.Transmitter, error) {
	f, ok := p[sp.Modem]
	if !ok || f.NewTx == nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPump, sp)
	}
	return f.NewTx(sp.Rate, short, level, src)
}

func (p Pumps) rx(sp t30.Speed, short bool, sink pump.BitSink) (pump.Receiver, error) {
	f, ok := p[sp.Modem]
	if !ok || f.NewRx == nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPump, sp)
	}
	return f.NewRx(sp.Rate, short, sink)
}
