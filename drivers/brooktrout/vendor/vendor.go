// Package vendor is the one seam between faxagent and a Brooktrout board
// vendor's local service: the Service interface below is everything the
// plugin asks of the boards (board info, open a channel, place a call,
// answer, send a file, receive to a file, hang up, status, events), in
// board-neutral terms. Completion information arrives already mapped to
// t30 completion codes, with the vendor's own cause kept beside it.
//
// Exactly one implementation ships: package localsvc, which speaks the
// documented local protocol of drivers/brooktrout/PROTOCOL.md (the one the
// simulator testbench/btsim serves). Adapting faxagent to the real vendor
// service means writing one other implementation of Service; nothing else
// in the host or the plugin changes. The gRPC bridge between the host and
// the plugin implements Service too, on both of its sides.
//
// vendor imports t30 only; it must never import drivers, agent or core.
package vendor

import (
	"context"
	"errors"
	"time"

	"github.com/faxagent/faxagent/t30"
)

// Errors callers branch on.
var (
	// ErrUnavailable means the service (or the plugin process carrying
	// it) is gone: everything in flight on it is lost.
	ErrUnavailable = errors.New("brooktrout: service unavailable")
	// ErrChannel means the channel cannot do what was asked (not open,
	// down, in the wrong state).
	ErrChannel = errors.New("brooktrout: channel not usable")
)

// Service is a vendor's local board service. All methods may be called
// from any goroutine. Methods that run a call phase (Dial, Send, Receive)
// block until that phase is over; Hangup from another goroutine ends them.
type Service interface {
	// Boards lists the boards with their channels and opens every
	// channel, so that its incoming calls and events are delivered.
	Boards(ctx context.Context) ([]Board, error)
	// Dial places a call on a channel and returns once it was answered
	// (Connect.Code t30.OK) or failed (busy, no answer, ...).
	Dial(ctx context.Context, ch ChannelRef, number string, o DialOptions) (Connect, error)
	// Answer connects the ringing call on ch.
	Answer(ctx context.Context, ch ChannelRef) error
	// Send transmits the TIFF file at path (in the spool the service
	// shares) on ch's connected call and returns at completion.
	Send(ctx context.Context, ch ChannelRef, path string, o FaxOptions) (Completion, error)
	// Receive receives a fax on ch's connected call into a TIFF file at
	// path and returns at completion; the file holds the pages received
	// even when the call failed.
	Receive(ctx context.Context, ch ChannelRef, path string, o FaxOptions) (Completion, error)
	// Hangup ends ch's call (if any) with cause.
	Hangup(ctx context.Context, ch ChannelRef, cause int) error
	// Status reports a channel's state.
	Status(ctx context.Context, ch ChannelRef) (ChannelStatus, error)
	// Events delivers channel events. The channel is closed when the
	// service connection is lost or Close was called.
	Events() <-chan Event
	// Close releases the connection.
	Close() error
}

// ChannelRef names one channel of one board, both counted from 0.
type ChannelRef struct {
	Board, Channel int
}

// Board describes one board.
type Board struct {
	Index    int
	Model    string // "TR1034", "SR140", "btsim"
	Serial   string
	Channels []Channel
}

// Channel describes one channel of a board.
type Channel struct {
	Index  int
	Number string // the line's own telephone number
	Up     bool
}

// DialOptions refine Dial.
type DialOptions struct {
	CallerID    string
	RingTimeout time.Duration // 0: the service's default
}

// Connect is the outcome of call placement.
type Connect struct {
	Code      t30.Code // t30.OK: answered; CodeBusy, CodeNoAnswer, ...
	Cause     string   // the vendor's call-progress text
	CauseCode int      // and number
	Duration  time.Duration
}

// FaxOptions are the T.30 parameters handed to the board.
type FaxOptions struct {
	CSID    string // our TSI (sending) or CSI (receiving)
	Header  string // header line the board stamps (sending)
	MaxRate int    // 0: the board's maximum
	ECM     bool
}

// Completion is the board's completion information for one send or
// receive.
type Completion struct {
	Code       t30.Code
	Cause      string // vendor completion text
	CauseCode  int    // vendor completion number
	Pages      int    // pages confirmed (sending) or received (receiving)
	Rate       int    // bit/s of the last page carrier
	Modulation string // "V17", "V29", "V27", "V34" or ""
	ECM        bool
	RemoteCSID string
	Board      int
	Channel    int
	Err        string
	// Resolution and Compression are imaging.Resolution and
	// imaging.Compression values of the pages; Width in pixels.
	Resolution  int
	Compression int
	Width       int
	Duration    time.Duration
}

// ChannelState is a channel's state as the service sees it.
type ChannelState int

// Channel states.
const (
	ChannelClosed ChannelState = iota
	ChannelIdle
	ChannelRinging
	ChannelConnected
	ChannelSending
	ChannelReceiving
	ChannelDown
)

// ChannelStatus is the answer of Status.
type ChannelStatus struct {
	State  ChannelState
	Number string
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	EventRing         EventKind = iota + 1 // an inbound call rings on the channel
	EventPage                              // a page was confirmed (sending) or received
	EventUp                                // the channel is usable
	EventDown                              // the channel failed or its board went down
	EventRemoteHangup                      // the remote cleared the call
)

// Event is something that happened on a channel.
type Event struct {
	Kind    EventKind
	Ch      ChannelRef
	Calling string // EventRing
	Called  string // EventRing
	Page    int    // EventPage: 1-based page of this call
	Rate    int    // EventPage
	Err     string // EventDown
}
