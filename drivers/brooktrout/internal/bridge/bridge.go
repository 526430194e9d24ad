// Package bridge carries vendor.Service across the go-plugin gRPC
// connection between the host (drivers/brooktrout) and the plugin process
// (cmd/faxagent-brooktrout): a server that exposes any vendor.Service and
// a client that is one, so that neither side sees gRPC. It also holds the
// versioned handshake both sides must agree on.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/faxagent/faxagent/drivers/brooktrout/internal/pb"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/t30"
)

// ProtocolVersion is the plugin protocol version. Raise it with every
// incompatible change to brooktrout.proto.
const ProtocolVersion = 1

// PluginName is the name the service is dispensed under.
const PluginName = "board"

// Handshake returns the go-plugin handshake for a protocol version.
func Handshake(version uint) plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  version,
		MagicCookieKey:   "FAXAGENT_BROOKTROUT_PLUGIN",
		MagicCookieValue: "7d1f0c52-brooktrout-bridge",
	}
}

// Plugin is the go-plugin GRPCPlugin of the board service. The plugin
// process sets Impl; the host leaves it nil.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl vendor.Service
	Log  *slog.Logger
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterBoardServer(s, &server{svc: p.Impl})
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *Plugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return NewClient(pb.NewBoardClient(c), p.Log), nil
}

// toStatus turns a vendor error into a gRPC status.
func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, vendor.ErrChannel):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, vendor.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// fromStatus turns a gRPC error back into a vendor error.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.FailedPrecondition:
		return fmt.Errorf("%w: %s", vendor.ErrChannel, st.Message())
	case codes.Canceled:
		return fmt.Errorf("%w: %s", context.Canceled, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("%w: %s", context.DeadlineExceeded, st.Message())
	}
	// Unavailable, and also Internal and Unknown, which a dying
	// transport yields mid-stream: callers treat the plugin as lost.
	return fmt.Errorf("%w: plugin: %s", vendor.ErrUnavailable, st.Message())
}

func ref(r *pb.ChannelRef) vendor.ChannelRef {
	return vendor.ChannelRef{Board: int(r.GetBoard()), Channel: int(r.GetChannel())}
}

func pbRef(r vendor.ChannelRef) *pb.ChannelRef {
	return &pb.ChannelRef{Board: int32(r.Board), Channel: int32(r.Channel)}
}

// server exposes a vendor.Service over gRPC (plugin side).
type server struct {
	pb.UnimplementedBoardServer
	svc vendor.Service
}

func (s *server) Boards(ctx context.Context, _ *pb.BoardsRequest) (*pb.BoardsReply, error) {
	bs, err := s.svc.Boards(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.BoardsReply{}
	for _, b := range bs {
		pbb := &pb.BoardInfo{Index: int32(b.Index), Model: b.Model, Serial: b.Serial}
		for _, c := range b.Channels {
			pbb.Channels = append(pbb.Channels, &pb.Channel{Index: int32(c.Index), Number: c.Number, Up: c.Up})
		}
		out.Boards = append(out.Boards, pbb)
	}
	return out, nil
}

func (s *server) Dial(ctx context.Context, r *pb.DialRequest) (*pb.DialReply, error) {
	c, err := s.svc.Dial(ctx, ref(r.GetRef()), r.GetNumber(), vendor.DialOptions{
		CallerID: r.GetCallerId(), RingTimeout: time.Duration(r.GetRingTimeoutMs()) * time.Millisecond})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DialReply{Code: int32(c.Code), Cause: c.Cause, CauseCode: int32(c.CauseCode),
		DurationMs: c.Duration.Milliseconds()}, nil
}

func (s *server) Answer(ctx context.Context, r *pb.ChannelRef) (*pb.Empty, error) {
	return &pb.Empty{}, toStatus(s.svc.Answer(ctx, ref(r)))
}

func faxOptions(r *pb.FaxRequest) vendor.FaxOptions {
	return vendor.FaxOptions{CSID: r.GetCsid(), Header: r.GetHeader(), MaxRate: int(r.GetMaxRate()), ECM: r.GetEcm()}
}

func pbCompletion(c vendor.Completion) *pb.Completion {
	return &pb.Completion{
		Code: int32(c.Code), Cause: c.Cause, CauseCode: int32(c.CauseCode), Pages: int32(c.Pages),
		Rate: int32(c.Rate), Modulation: c.Modulation, Ecm: c.ECM, RemoteCsid: c.RemoteCSID,
		Board: int32(c.Board), Channel: int32(c.Channel), Error: c.Err,
		Resolution: int32(c.Resolution), Compression: int32(c.Compression), Width: int32(c.Width),
		DurationMs: c.Duration.Milliseconds(),
	}
}

func (s *server) Send(ctx context.Context, r *pb.FaxRequest) (*pb.Completion, error) {
	c, err := s.svc.Send(ctx, ref(r.GetRef()), r.GetPath(), faxOptions(r))
	if err != nil {
		return nil, toStatus(err)
	}
	return pbCompletion(c), nil
}

func (s *server) Receive(ctx context.Context, r *pb.FaxRequest) (*pb.Completion, error) {
	c, err := s.svc.Receive(ctx, ref(r.GetRef()), r.GetPath(), faxOptions(r))
	if err != nil {
		return nil, toStatus(err)
	}
	return pbCompletion(c), nil
}

func (s *server) Hangup(ctx context.Context, r *pb.HangupRequest) (*pb.Empty, error) {
	return &pb.Empty{}, toStatus(s.svc.Hangup(ctx, ref(r.GetRef()), int(r.GetCause())))
}

func (s *server) Status(ctx context.Context, r *pb.ChannelRef) (*pb.ChannelStatus, error) {
	st, err := s.svc.Status(ctx, ref(r))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ChannelStatus{State: int32(st.State), Number: st.Number}, nil
}

var kinds = map[vendor.EventKind]pb.Event_Kind{
	vendor.EventRing: pb.Event_RING, vendor.EventPage: pb.Event_PAGE, vendor.EventUp: pb.Event_UP,
	vendor.EventDown: pb.Event_DOWN, vendor.EventRemoteHangup: pb.Event_REMOTE_HANGUP,
}

func (s *server) Events(_ *pb.EventsRequest, stream pb.Board_EventsServer) error {
	for {
		select {
		case ev, ok := <-s.svc.Events():
			if !ok {
				return status.Error(codes.Unavailable, "board service connection lost")
			}
			err := stream.Send(&pb.Event{Kind: kinds[ev.Kind], Ref: pbRef(ev.Ch), Calling: ev.Calling,
				Called: ev.Called, Page: int32(ev.Page), Rate: int32(ev.Rate), Error: ev.Err})
			if err != nil {
				return err
			}
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
	}
}

// Client is a vendor.Service reached over gRPC (host side).
type Client struct {
	c      pb.BoardClient
	log    *slog.Logger
	events chan vendor.Event
	cancel context.CancelFunc
}

var _ vendor.Service = (*Client)(nil)

// NewClient starts the event stream and returns the client.
func NewClient(c pb.BoardClient, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cl := &Client{c: c, log: log, events: make(chan vendor.Event, 1024), cancel: cancel}
	go cl.stream(ctx)
	return cl
}

func (c *Client) stream(ctx context.Context) {
	defer close(c.events)
	st, err := c.c.Events(ctx, &pb.EventsRequest{})
	if err != nil {
		c.log.Warn("brooktrout plugin event stream", "err", err)
		return
	}
	for {
		ev, err := st.Recv()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Info("brooktrout plugin event stream ended", "err", err)
			}
			return
		}
		var k vendor.EventKind
		for vk, pk := range kinds {
			if pk == ev.GetKind() {
				k = vk
			}
		}
		if k == 0 {
			continue
		}
		select {
		case c.events <- vendor.Event{Kind: k, Ch: ref(ev.GetRef()), Calling: ev.GetCalling(), Called: ev.GetCalled(),
			Page: int(ev.GetPage()), Rate: int(ev.GetRate()), Err: ev.GetError()}:
		default:
			c.log.Warn("brooktrout event dropped: nobody reads events")
		}
	}
}

// Boards implements vendor.Service.
func (c *Client) Boards(ctx context.Context) ([]vendor.Board, error) {
	r, err := c.c.Boards(ctx, &pb.BoardsRequest{})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	var out []vendor.Board
	for _, b := range r.GetBoards() {
		vb := vendor.Board{Index: int(b.GetIndex()), Model: b.GetModel(), Serial: b.GetSerial()}
		for _, ch := range b.GetChannels() {
			vb.Channels = append(vb.Channels, vendor.Channel{Index: int(ch.GetIndex()), Number: ch.GetNumber(), Up: ch.GetUp()})
		}
		out = append(out, vb)
	}
	return out, nil
}

// Dial implements vendor.Service.
func (c *Client) Dial(ctx context.Context, ch vendor.ChannelRef, number string, o vendor.DialOptions) (vendor.Connect, error) {
	r, err := c.c.Dial(ctx, &pb.DialRequest{Ref: pbRef(ch), Number: number, CallerId: o.CallerID,
		RingTimeoutMs: o.RingTimeout.Milliseconds()})
	if err != nil {
		return vendor.Connect{}, fromStatus(ctx, err)
	}
	return vendor.Connect{Code: t30.Code(r.GetCode()), Cause: r.GetCause(), CauseCode: int(r.GetCauseCode()),
		Duration: time.Duration(r.GetDurationMs()) * time.Millisecond}, nil
}

// Answer implements vendor.Service.
func (c *Client) Answer(ctx context.Context, ch vendor.ChannelRef) error {
	_, err := c.c.Answer(ctx, pbRef(ch))
	return fromStatus(ctx, err)
}

func completion(r *pb.Completion) vendor.Completion {
	return vendor.Completion{
		Code: t30.Code(r.GetCode()), Cause: r.GetCause(), CauseCode: int(r.GetCauseCode()),
		Pages: int(r.GetPages()), Rate: int(r.GetRate()), Modulation: r.GetModulation(), ECM: r.GetEcm(),
		RemoteCSID: r.GetRemoteCsid(), Board: int(r.GetBoard()), Channel: int(r.GetChannel()), Err: r.GetError(),
		Resolution: int(r.GetResolution()), Compression: int(r.GetCompression()), Width: int(r.GetWidth()),
		Duration: time.Duration(r.GetDurationMs()) * time.Millisecond,
	}
}

func pbFax(ch vendor.ChannelRef, path string, o vendor.FaxOptions) *pb.FaxRequest {
	return &pb.FaxRequest{Ref: pbRef(ch), Path: path, Csid: o.CSID, Header: o.Header, MaxRate: int32(o.MaxRate), Ecm: o.ECM}
}

// Send implements vendor.Service.
func (c *Client) Send(ctx context.Context, ch vendor.ChannelRef, path string, o vendor.FaxOptions) (vendor.Completion, error) {
	r, err := c.c.Send(ctx, pbFax(ch, path, o))
	if err != nil {
		return vendor.Completion{}, fromStatus(ctx, err)
	}
	return completion(r), nil
}

// Receive implements vendor.Service.
func (c *Client) Receive(ctx context.Context, ch vendor.ChannelRef, path string, o vendor.FaxOptions) (vendor.Completion, error) {
	r, err := c.c.Receive(ctx, pbFax(ch, path, o))
	if err != nil {
		return vendor.Completion{}, fromStatus(ctx, err)
	}
	return completion(r), nil
}

// Hangup implements vendor.Service.
func (c *Client) Hangup(ctx context.Context, ch vendor.ChannelRef, cause int) error {
	_, err := c.c.Hangup(ctx, &pb.HangupRequest{Ref: pbRef(ch), Cause: int32(cause)})
	return fromStatus(ctx, err)
}

// Status implements vendor.Service.
func (c *Client) Status(ctx context.Context, ch vendor.ChannelRef) (vendor.ChannelStatus, error) {
	r, err := c.c.Status(ctx, pbRef(ch))
	if err != nil {
		return vendor.ChannelStatus{}, fromStatus(ctx, err)
	}
	return vendor.ChannelStatus{State: vendor.ChannelState(r.GetState()), Number: r.GetNumber()}, nil
}

// Events implements vendor.Service.
func (c *Client) Events() <-chan vendor.Event { return c.events }

// Close implements vendor.Service: it ends the event stream (the process
// itself is the host's to stop).
func (c *Client) Close() error {
	c.cancel()
	return nil
}
