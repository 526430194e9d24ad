// Package pump is the contract between fax data pumps (the modulators and
// demodulators of modem/v21, modem/v27ter, modem/v29, modem/v17) and the
// code that drives them (the modem terminal in modem, tests, benchmarks).
//
// A data pump works on 8 kHz signed 16-bit linear samples. It never touches
// a clock, a goroutine or a network: the caller hands it sample buffers and
// it reports bits and carrier events through the callbacks it was built
// with, synchronously, from inside Generate or Receive. Bits are always in
// line order (the first bit on the line first).
//
// pump imports only the standard library; the pumps import only pump (and
// the standard library).
package pump

// SampleRate is the line sample rate of every pump, in samples per second.
const SampleRate = 8000

// EndOfData is what a BitSource returns when it has no more bits. A
// transmitter then finishes its carrier the way its recommendation says
// (for example V.17's and V.29's turn-off sequence) and Generate returns
// fewer samples than asked for once the carrier is over.
const EndOfData = -1

// BitSource gives a transmitter the next bit to send: 0, 1 or EndOfData.
type BitSource func() int

// Event is a change of a receiver's state.
type Event int

// Receiver events, reported through a BitSink's Event method.
const (
	// CarrierUp: energy of the expected kind appeared on the line.
	CarrierUp Event = iota + 1
	// TrainingSucceeded: the receiver trained and bits follow.
	// (V.21 reports it when it has synchronised on the signal.)
	TrainingSucceeded
	// TrainingFailed: a carrier came but the receiver could not train on it.
	TrainingFailed
	// CarrierDown: the carrier ended (or was lost).
	CarrierDown
)

func (e Event) String() string {
	switch e {
	case CarrierUp:
		return "carrier-up"
	case TrainingSucceeded:
		return "training-succeeded"
	case TrainingFailed:
		return "training-failed"
	case CarrierDown:
		return "carrier-down"
	}
	return "pump.Event(?)"
}

// BitSink takes what a receiver demodulates: each bit in line order, and
// its events. Bits come only between TrainingSucceeded and CarrierDown.
type BitSink interface {
	PutBit(bit int)
	Event(e Event)
}

// Transmitter turns bits into line samples.
type Transmitter interface {
	// Generate writes up to len(out) samples and returns how many it wrote.
	// It returns fewer than len(out) only when the carrier has ended (after
	// the source returned EndOfData and the recommendation's turn-off was
	// sent); it then keeps returning 0.
	Generate(out []int16) int
}

// Receiver turns line samples into bits and events.
type Receiver interface {
	// Receive consumes every sample of in.
	Receive(in []int16)
	// Reset readies the receiver for a new carrier (for example after the
	// terminal switched it to another rate).
	Reset()
}
