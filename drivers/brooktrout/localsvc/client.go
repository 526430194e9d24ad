// Package localsvc speaks the local service protocol of
// drivers/brooktrout/PROTOCOL.md: the codec (Msg, ReadFrame, WriteMsg),
// the status table that maps the service's completion statuses to t30
// codes, and Client, the one implementation of vendor.Service. This is the
// file set to replace (with another vendor.Service) to drive the real
// vendor service; the simulator testbench/btsim serves this protocol.
//
// localsvc imports t30 and drivers/brooktrout/vendor only; it must never
// import drivers, agent or core.
package localsvc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
)

// Client is a connection to a local service. It implements vendor.Service.
type Client struct {
	conn net.Conn
	log  *slog.Logger

	wmu sync.Mutex // serialises frame writes
	bw  *bufio.Writer

	mu      sync.Mutex
	nextID  uint32
	pending map[uint32]chan reply
	err     error // set once the connection is lost
	events  chan vendor.Event
	done    chan struct{}
	service string
}

type reply struct {
	m   Msg
	err error
}

var _ vendor.Service = (*Client)(nil)

// SplitAddr splits "unix:/path" or "tcp:127.0.0.1:7000" into a network
// and an address; a bare path is a unix socket.
func SplitAddr(addr string) (network, address string) {
	switch {
	case strings.HasPrefix(addr, "unix:"):
		return "unix", addr[len("unix:"):]
	case strings.HasPrefix(addr, "tcp:"):
		return "tcp", addr[len("tcp:"):]
	}
	return "unix", addr
}

// Dial connects to the service at addr (see SplitAddr) and exchanges
// HELLO.
func Dial(ctx context.Context, addr string, log *slog.Logger) (*Client, error) {
	network, address := SplitAddr(addr)
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", vendor.ErrUnavailable, err)
	}
	c := NewClient(conn, log)
	m, err := c.call(ctx, Msg{Type: TypeHello, Version: Version})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("localsvc: hello: %w", err)
	}
	if m.Version != Version {
		c.Close()
		return nil, fmt.Errorf("%w: service speaks version %d", ErrVersion, m.Version)
	}
	c.service = m.Model
	return c, nil
}

// NewClient runs the protocol over an established connection without the
// HELLO exchange (tests).
func NewClient(conn net.Conn, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		conn: conn, log: log, bw: bufio.NewWriter(conn),
		pending: map[uint32]chan reply{},
		events:  make(chan vendor.Event, 1024),
		done:    make(chan struct{}),
	}
	go c.readLoop()
	return c
}

// Service is the service's name from HELLO.
func (c *Client) Service() string { return c.service }

// Done is closed when the connection is lost or closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is up).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Client) readLoop() {
	r := bufio.NewReader(c.conn)
	var buf []byte
	var err error
	for {
		var body []byte
		body, err = ReadFrame(r, buf)
		if err != nil {
			break
		}
		buf = body
		var m Msg
		if derr := m.Unmarshal(body); derr != nil {
			// A well-framed body we cannot decode: fail the request it
			// answers if its ID is readable, and carry on.
			c.log.Warn("brooktrout service sent a malformed message", "err", derr)
			if len(body) >= headerLen {
				id := uint32(body[2])<<24 | uint32(body[3])<<16 | uint32(body[4])<<8 | uint32(body[5])
				c.deliver(id, reply{err: derr})
			}
			continue
		}
		if m.Type.IsEvent() {
			c.event(&m)
			continue
		}
		c.deliver(m.ID, reply{m: m})
	}
	c.fail(fmt.Errorf("%w: %w", vendor.ErrUnavailable, err))
}

func (c *Client) deliver(id uint32, r reply) {
	c.mu.Lock()
	ch := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ch == nil {
		if r.err == nil {
			c.log.Warn("brooktrout service answered an unknown request", "id", id, "type", r.m.Type)
		}
		return
	}
	ch <- r
}

func (c *Client) event(m *Msg) {
	ev := vendor.Event{Ch: vendor.ChannelRef{Board: m.Board, Channel: m.Channel}}
	switch m.Type {
	case TypeEvRing:
		ev.Kind, ev.Calling, ev.Called = vendor.EventRing, m.Calling, m.Called
	case TypeEvPage:
		ev.Kind, ev.Page, ev.Rate = vendor.EventPage, m.Page, m.Rate
	case TypeEvUp:
		ev.Kind = vendor.EventUp
	case TypeEvDown:
		ev.Kind, ev.Err = vendor.EventDown, m.Error
	case TypeEvRemoteHangup:
		ev.Kind = vendor.EventRemoteHangup
	}
	select {
	case c.events <- ev:
	default:
		c.log.Warn("brooktrout event dropped: nobody reads events", "kind", ev.Kind)
	}
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pend := c.pending
	c.pending = map[uint32]chan reply{}
	c.mu.Unlock()
	for _, ch := range pend {
		ch <- reply{err: err}
	}
	close(c.events)
	close(c.done)
}

// call sends a request and waits for its response. A TypeError response
// becomes an error wrapping vendor.ErrChannel.
func (c *Client) call(ctx context.Context, m Msg) (Msg, error) {
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return Msg{}, err
	}
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	m.ID = c.nextID
	c.pending[m.ID] = ch
	c.mu.Unlock()

	c.wmu.Lock()
	err := WriteMsg(c.bw, &m)
	if err == nil {
		err = c.bw.Flush()
	}
	c.wmu.Unlock()
	if err != nil {
		c.mu.Lock()
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if errors.Is(err, ErrMalformed) {
			return Msg{}, err
		}
		return Msg{}, fmt.Errorf("%w: %w", vendor.ErrUnavailable, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return Msg{}, r.err
		}
		if r.m.Type == TypeError {
			return r.m, fmt.Errorf("%w: %s (status %d)", vendor.ErrChannel, r.m.Error, r.m.Status)
		}
		return r.m, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, m.ID)
		c.mu.Unlock()
		return Msg{}, ctx.Err()
	}
}

func expect(m Msg, t Type) error {
	if m.Type != t {
		return fmt.Errorf("%w: %v answered with %v", ErrMalformed, m.ID, m.Type)
	}
	return nil
}

// Boards implements vendor.Service: BOARD_INFO for board 0 gives the
// number of boards, then one BOARD_INFO per further board, STATUS and
// OPEN per channel.
func (c *Client) Boards(ctx context.Context) ([]vendor.Board, error) {
	var out []vendor.Board
	for b := 0; ; b++ {
		m, err := c.call(ctx, Msg{Type: TypeBoardInfo, Board: b})
		if err != nil {
			return nil, fmt.Errorf("localsvc: board info %d: %w", b, err)
		}
		if err := expect(m, TypeOK); err != nil {
			return nil, err
		}
		if m.Boards > 64 || m.Channels > 256 {
			return nil, fmt.Errorf("%w: %d boards of %d channels", ErrMalformed, m.Boards, m.Channels)
		}
		bd := vendor.Board{Index: b, Model: m.Model, Serial: m.Serial}
		for ch := 0; ch < m.Channels; ch++ {
			ref := vendor.ChannelRef{Board: b, Channel: ch}
			om, err := c.call(ctx, Msg{Type: TypeOpen, Board: b, Channel: ch})
			up := err == nil
			if err != nil && !errors.Is(err, vendor.ErrChannel) {
				return nil, fmt.Errorf("localsvc: open %v: %w", ref, err)
			}
			bd.Channels = append(bd.Channels, vendor.Channel{Index: ch, Number: om.Number, Up: up && om.State != int(vendor.ChannelDown)})
		}
		out = append(out, bd)
		if b+1 >= m.Boards {
			return out, nil
		}
	}
}

// Dial implements vendor.Service.
func (c *Client) Dial(ctx context.Context, ch vendor.ChannelRef, number string, o vendor.DialOptions) (vendor.Connect, error) {
	m, err := c.call(ctx, Msg{Type: TypeDial, Board: ch.Board, Channel: ch.Channel, Number: number,
		CallerID: o.CallerID, TimeoutMS: int(o.RingTimeout / time.Millisecond)})
	if err != nil {
		return vendor.Connect{}, err
	}
	if err := expect(m, TypeOK); err != nil {
		return vendor.Connect{}, err
	}
	cause := m.Cause
	if cause == "" {
		cause = StatusText(m.Status)
	}
	return vendor.Connect{Code: StatusCode(m.Status), Cause: cause, CauseCode: m.Status,
		Duration: time.Duration(m.DurationMS) * time.Millisecond}, nil
}

// Answer implements vendor.Service.
func (c *Client) Answer(ctx context.Context, ch vendor.ChannelRef) error {
	m, err := c.call(ctx, Msg{Type: TypeAnswer, Board: ch.Board, Channel: ch.Channel})
	if err != nil {
		return err
	}
	return expect(m, TypeOK)
}

func (c *Client) fax(ctx context.Context, t Type, ch vendor.ChannelRef, path string, o vendor.FaxOptions) (vendor.Completion, error) {
	m, err := c.call(ctx, Msg{Type: t, Board: ch.Board, Channel: ch.Channel, Path: path,
		CSID: o.CSID, Header: o.Header, Rate: o.MaxRate, ECM: o.ECM})
	if err != nil {
		return vendor.Completion{}, err
	}
	if err := expect(m, TypeCompletion); err != nil {
		return vendor.Completion{}, err
	}
	cause := m.Cause
	if cause == "" {
		cause = StatusText(m.Status)
	}
	return vendor.Completion{
		Code: StatusCode(m.Status), Cause: cause, CauseCode: m.Status,
		Pages: m.Pages, Rate: m.Rate, Modulation: m.Modulation, ECM: m.ECM,
		RemoteCSID: m.RemoteCSID, Board: m.Board, Channel: m.Channel, Err: m.Error,
		Resolution: m.Resolution, Compression: m.Compression, Width: m.Width,
		Duration: time.Duration(m.DurationMS) * time.Millisecond,
	}, nil
}

// Send implements vendor.Service.
func (c *Client) Send(ctx context.Context, ch vendor.ChannelRef, path string, o vendor.FaxOptions) (vendor.Completion, error) {
	return c.fax(ctx, TypeSend, ch, path, o)
}

// Receive implements vendor.Service.
func (c *Client) Receive(ctx context.Context, ch vendor.ChannelRef, path string, o vendor.FaxOptions) (vendor.Completion, error) {
	return c.fax(ctx, TypeReceive, ch, path, o)
}

// Hangup implements vendor.Service.
func (c *Client) Hangup(ctx context.Context, ch vendor.ChannelRef, cause int) error {
	m, err := c.call(ctx, Msg{Type: TypeHangup, Board: ch.Board, Channel: ch.Channel, HangupCause: cause})
	if err != nil {
		return err
	}
	return expect(m, TypeOK)
}

// Status implements vendor.Service.
func (c *Client) Status(ctx context.Context, ch vendor.ChannelRef) (vendor.ChannelStatus, error) {
	m, err := c.call(ctx, Msg{Type: TypeStatus, Board: ch.Board, Channel: ch.Channel})
	if err != nil {
		return vendor.ChannelStatus{}, err
	}
	if err := expect(m, TypeOK); err != nil {
		return vendor.ChannelStatus{}, err
	}
	if m.State > int(vendor.ChannelDown) {
		return vendor.ChannelStatus{}, fmt.Errorf("%w: channel state %d", ErrMalformed, m.State)
	}
	return vendor.ChannelStatus{State: vendor.ChannelState(m.State), Number: m.Number}, nil
}

// Events implements vendor.Service.
func (c *Client) Events() <-chan vendor.Event { return c.events }

// Close implements vendor.Service.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.done
	return err
}
