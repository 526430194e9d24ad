package modem

import (
	"errors"
	"fmt"

	"github.com/faxagent/faxagent/modem/pump"
	"github.com/faxagent/faxagent/modem/v17"
	"github.com/faxagent/faxagent/modem/v27ter"
	"github.com/faxagent/faxagent/modem/v29"
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

// DefaultPumps returns the high-speed pumps built into faxagent: V.27 ter
// (2400, 4800), V.29 (7200, 9600) and V.17 (7200 to 14400, long and short
// training; its receiver tells the two apart itself). They send at the
// level asked for (0: their default, -14 dBm0).
func DefaultPumps() Pumps {
	return Pumps{
		t30.V27ter: {
			NewTx: func(rate int, _ bool, level float64, src pump.BitSource) (pump.Transmitter, error) {
				tx, err := v27ter.NewTransmitter(rate, src)
				if err == nil && level != 0 {
					tx.SetLevel(level)
				}
				return tx, err
			},
			NewRx: func(rate int, _ bool, sink pump.BitSink) (pump.Receiver, error) {
				return v27ter.NewReceiver(rate, sink)
			},
		},
		t30.V29: {
			NewTx: func(rate int, _ bool, level float64, src pump.BitSource) (pump.Transmitter, error) {
				tx, err := v29.NewTransmitter(rate, src)
				if err == nil && level != 0 {
					tx.SetLevel(level)
				}
				return tx, err
			},
			NewRx: func(rate int, _ bool, sink pump.BitSink) (pump.Receiver, error) {
				return v29.NewReceiver(rate, sink)
			},
		},
		t30.V17: {
			NewTx: func(rate int, short bool, level float64, src pump.BitSource) (pump.Transmitter, error) {
				tx, err := v17.NewTransmitter(rate, short, src)
				if err == nil && level != 0 {
					tx.SetLevel(level)
				}
				return tx, err
			},
			NewRx: func(rate int, _ bool, sink pump.BitSink) (pump.Receiver, error) {
				return v17.NewReceiver(rate, sink)
			},
		},
	}
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
